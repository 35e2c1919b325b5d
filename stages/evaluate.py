"""evaluate: generate on the persona-disjoint test split with the untrained, SFT and GRPO models and
score format compliance, emotion accuracy and the five rubric dimensions (1-5), overall and on the
hard subset. Writes the metrics, a Markdown table and every prediction."""

from __future__ import annotations

import json
import random
from pathlib import Path

from stages.core.evaluation.generation import generate
from stages.core.evaluation.metrics import aggregate, score_example
from stages.core.format import ResponseFormat
from stages.core.io import read_jsonl, write_jsonl, write_text
from stages.core.modeling import load_checkpoint, set_threads
from stages.core.rewards import DIMENSIONS, build_judge
from stages.core.stage import stage_main
from stages.core.tracking import log_artifact

SUBSETS = {"eval": lambda r: True, "eval_hard": lambda r: r["difficulty"] == "hard",
           "eval_easy": lambda r: r["difficulty"] == "easy"}
COLUMNS = ["format_compliance", "emotion_acc", *DIMENSIONS, "judge_coverage"]


def checkpoint(cfg, name: str) -> str:
    return {"base": cfg.paths.base_model, "sft": cfg.paths.sft_model, "grpo": cfg.paths.grpo_model}[name]


def sample(examples: list[dict], n: int | None, seed: int) -> list[dict]:
    """A fixed, seeded subset, identical for every model so the comparison is paired."""
    if n is None or n >= len(examples):
        return examples
    return sorted(random.Random(seed).sample(examples, n), key=lambda ex: ex["id"])


def markdown_table(metrics: dict[str, float], models: list[str]) -> str:
    head = ["model", "subset", "n", *COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for subset in SUBSETS:
        for m in models:
            key = f"{subset}/{m}"
            if f"{key}/n" not in metrics:
                continue
            cells = [f"{metrics[f'{key}/{c}']:.3f}" if f"{key}/{c}" in metrics else "–" for c in COLUMNS]
            lines.append(f"| {m} | {subset} | {int(metrics[f'{key}/n'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run(cfg) -> dict[str, float]:
    set_threads()
    fmt = ResponseFormat.from_config(cfg.format)
    judge = build_judge(cfg.judge.backend)
    examples = sample(read_jsonl(Path(cfg.paths.partitioned) / "test.jsonl"), cfg.evaluate.max_examples, cfg.seed)
    ev = cfg.evaluate
    metrics: dict[str, float] = {}
    predictions = []
    for name in ev.models:
        model, tokenizer = load_checkpoint(checkpoint(cfg, name), cfg.model.dtype)
        outputs = generate(model, tokenizer, [ex["prompt"] for ex in examples], batch_size=ev.batch_size,
                           max_new_tokens=ev.max_new_tokens, do_sample=ev.do_sample, seed=cfg.seed,
                           desc=f"evaluate {name}")
        rows = [score_example(fmt, judge, ex, out) for ex, out in zip(examples, outputs)]
        predictions += [{"model": name, **row} for row in rows]
        for subset, keep in SUBSETS.items():
            for key, value in aggregate([r for r in rows if keep(r)]).items():
                metrics[f"{subset}/{name}/{key}"] = value

    reports = Path(cfg.paths.reports)
    write_jsonl(reports / "predictions.jsonl", predictions)
    table = markdown_table(metrics, list(ev.models))
    write_text(reports / "eval.md", "# Evaluation on held-out personas\n\n" + table + "\nSettings: "
               + json.dumps({"judge": cfg.judge.backend, "max_new_tokens": ev.max_new_tokens,
                             "do_sample": ev.do_sample, "examples": len(examples)}) + "\n")
    for path in ("predictions.jsonl", "eval.md"):
        log_artifact(reports / path, "reports")
    print(table)
    return metrics


main = stage_main("evaluate", run, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
