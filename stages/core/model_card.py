"""What a saved checkpoint carries for the people who use it, written into the stage's own output
directory before it is renamed into place (``modeling.save_checkpoint(..., extras=...)``):

* ``generation_config.json`` with the evaluation's decoding settings (``evaluate.max_new_tokens``,
  ``evaluate.do_sample``): ``model.generate(**inputs)`` decodes as evaluate did, not 20 tokens;
* the project's system prompt as the chat template's default: a conversation without a system
  message gets ``format.system_prompt`` with an empty persona;
* a Hugging Face model card, ``README.md``: YAML front matter (base model, data and its sha256,
  reward weights, rubric version, judge, license, tags, the reproducing command) and the same facts
  as prose.

The evaluation table cannot be in that card: evaluate runs after the checkpoint is saved, and a
stage never writes another stage's DVC output. ``evaluation_card`` builds the card of the evaluated
model (this card plus the table with intervals and a ``model-index``) as evaluate's own output,
``reports/model_card.md``; publish that file as the model's README.md.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import yaml
from omegaconf import OmegaConf

from .format import ResponseFormat

# The default-system preamble is marked so saving again (sft -> grpo) replaces it instead of stacking.
_BEGIN, _END = "{#- kardia: default system prompt -#}", "{#- kardia: end -#}"
CARD = "README.md"
TAGS = ["kardia", "empathetic-dialogue", "emotional-support", "trl"]


def default_system_prompt(format_cfg) -> str:
    """``format.system_prompt`` with no persona: what a user gets without writing a system message."""
    return ResponseFormat.from_config(format_cfg).system_prompt("").strip()


def with_default_system(template: str, system: str) -> str:
    """``template`` preceded by a Jinja preamble that inserts ``system`` as the first message when the
    conversation has none; a conversation that starts with a system message renders as before."""
    if template.startswith(_BEGIN) and _END in template:
        template = template.split(_END, 1)[1]
    literal = json.dumps(system)   # a JSON string is a valid Jinja string literal
    return (_BEGIN + "{%- if not messages or messages[0]['role'] != 'system' %}"
            "{%- set messages = [{'role': 'system', 'content': " + literal + "}] + messages %}"
            "{%- endif %}" + _END + template)


def generation_settings(ev) -> dict:
    """The decoding settings of the evaluate stage, as GenerationConfig fields. Greedy decoding clears
    the sampling knobs (a hub backbone's temperature / top_p / top_k), as evaluate's generate does."""
    out = {"max_new_tokens": int(ev.max_new_tokens), "do_sample": bool(ev.do_sample)}
    if not ev.do_sample:
        out.update(temperature=None, top_p=None, top_k=None)
    return out


def dress(directory: str | Path, card: str, ev, format_cfg) -> None:
    """Write generation_config.json, the default system prompt and the card into a saved checkpoint
    directory (the temporary one of an atomic save)."""
    from transformers import AutoTokenizer, GenerationConfig

    directory = Path(directory)
    generation = GenerationConfig.from_pretrained(directory)
    generation.update(**generation_settings(ev))
    generation.save_pretrained(directory)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    tokenizer.chat_template = with_default_system(tokenizer.chat_template, default_system_prompt(format_cfg))
    tokenizer.save_pretrained(directory)
    (directory / CARD).write_text(card, encoding="utf-8")


def sha256(path: str | Path) -> str:
    """What `sha256sum` prints for the file: the training data's exact revision."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _front_matter(meta: dict) -> str:
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100) + "---\n"


def read_card(path: str | Path) -> tuple[dict, str]:
    """(metadata, body) of a model card; ({}, text) without front matter."""
    text = Path(path).read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}, text
    head, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(head) or {}, body


def training_card(cfg, stage: str, init_path: str, data_path: str | Path, metrics: dict[str, float],
                  commit: str, params_hash: str) -> str:
    """The model card of the checkpoint ``stage`` saves: training facts only (see module doc)."""
    from .judges import judge_settings, load_rubric

    hub = cfg.model.source == "hub"
    data = cfg.data
    dataset = {"source": data.source, "file": Path(data_path).as_posix(), "sha256": sha256(data_path)}
    if data.get("hf_dataset"):
        dataset.update(hf_dataset=data.hf_dataset, revision=data.get("revision"))
    kardia = {
        "stage": stage,
        "init_checkpoint": init_path,
        "backbone": cfg.model.name,
        "data": dataset,
        "format": cfg.format.style,
        "default_system_prompt": default_system_prompt(cfg.format),
        "generation": {k: v for k, v in generation_settings(cfg.evaluate).items() if v is not None},
        "git_commit": commit,
        "params_hash": params_hash,
        "train_steps": int(metrics.get("train/steps", 0)),
    }
    if stage == "grpo":
        rubric = load_rubric(cfg.judge.rubric)
        kardia.update(reward={"names": list(cfg.reward.names), "weights": list(cfg.reward.weights)},
                      rubric={"name": rubric.name, "version": rubric.version},
                      judge=judge_settings(cfg.judge))
    # `dvc exp run` names its experiment in DVC_EXP_NAME; its params live in that experiment's ref
    exp = os.environ.get("DVC_EXP_NAME")
    command = (f"git checkout {commit} && dvc exp apply {exp} && dvc repro {stage}" if exp
               else f"git checkout {commit} && dvc repro {stage}")
    kardia["reproduce"] = command
    meta = {
        "base_model": cfg.model.name_or_path if hub else init_path,
        "datasets": [data.hf_dataset] if data.get("hf_dataset") else [],
        "license": cfg.model.license,
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "tags": [*TAGS, stage],
        "kardia": kardia,
    }
    trainer = OmegaConf.to_yaml(cfg[stage].trainer).rstrip()
    title = f"kardia-{cfg.model.name}-{stage}"
    what = ("supervised fine-tuning on the easy split (assistant turns only)" if stage == "sft" else
            "GRPO on the hard split, reward r = " + " + ".join(
                f"{w:.3g}·{n}" for n, w in zip(cfg.reward.names, cfg.reward.weights, strict=True)))
    body = f"""
# {title}

A Kardia-R1 empathetic-dialogue model: {cfg.model.name} backbone, {what}, starting from
`{init_path}`. Every answer is four spans (understanding, reasoning, emotion, response; format
`{cfg.format.style}`); the user sees the response span.

## Use

```python
from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("{Path(cfg.paths[f'{stage}_model']).as_posix()}")
model = AutoModelForCausalLM.from_pretrained("{Path(cfg.paths[f'{stage}_model']).as_posix()}")
messages = [{{"role": "user", "content": "I failed my driving test again today."}}]
inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
print(tokenizer.decode(model.generate(**inputs)[0, inputs["input_ids"].shape[1]:]))
```

Without a system message the chat template inserts the project's system prompt
(`{default_system_prompt(cfg.format)!r}`); to give a persona, send your own system message:
`format.system_prompt` with the user's profile in place of `{{persona}}`. `generation_config.json`
holds evaluate's decoding settings ({", ".join(f"{k}={v}" for k, v in kardia["generation"].items())}).

## Training

- data: {dataset["source"]} `{dataset["file"]}` (sha256 `{dataset["sha256"][:16]}…`)
- steps: {kardia["train_steps"]}; git commit `{commit}`; params hash `{params_hash}`
{"- rubric: " + kardia["rubric"]["name"] + " (version " + kardia["rubric"]["version"] + "); judge: " + kardia["judge"]
 if stage == "grpo" else "- no reward model (SFT)"}

`{stage}.trainer` (passed to TRL):

```yaml
{trainer}
```

## Reproduce

```bash
{command}
```

## Evaluation

The evaluate stage scores this checkpoint on held-out personas after it is saved; its card with the
table (`reports/model_card.md`) and `reports/eval.md` hold the numbers.
"""
    return _front_matter(meta) + body


def evaluation_card(model_card: str | Path, model: str, metrics: dict[str, float], table: str,
                    settings: dict, dataset: str) -> str:
    """The card of the evaluated ``model``: its training card (from its checkpoint) with a
    ``model-index`` of the headline metrics and the evaluation table with intervals."""
    from .evaluation.markdown_report import PAPER_TABLE

    path = Path(model_card)
    meta, body = read_card(path) if path.exists() else ({}, f"\n# {model}\n")
    results = [{"type": key, "name": key, "value": round(metrics[f"eval/{model}/{key}"], 4)}
               for key in PAPER_TABLE if f"eval/{model}/{key}" in metrics]
    meta["model-index"] = [{"name": f"kardia-{model}", "results": [{
        "task": {"type": "text-generation", "name": "empathetic dialogue"},
        "dataset": {"name": dataset, "type": dataset, "split": "test (held-out personas)"},
        "metrics": results}]}]
    marker = "\n## Evaluation\n"
    body = body.split(marker, 1)[0].rstrip() + "\n"
    settings_lines = "\n".join(f"- {k}: {json.dumps(v, ensure_ascii=False)}" for k, v in sorted(settings.items()))
    return (_front_matter(meta) + body + marker + "\nMean and 95 % bootstrap interval per model, same held-out "
            "examples for every model (the full report with paired differences: `reports/eval.md`).\n\n"
            + table + "\n\nSettings:\n\n" + settings_lines + "\n")
