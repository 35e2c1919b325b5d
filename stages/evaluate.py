"""evaluate: generate on the persona-disjoint test split with the untrained, SFT and GRPO models and
score format compliance, emotion accuracy and the five rubric dimensions (1-5), overall and on the
hard subset. Writes the metrics, a Markdown table and every prediction."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

from stages.core.evaluation.generation import generate
from stages.core.evaluation.metrics import METRICS, aggregate, compare, score_examples
from stages.core.format import ResponseFormat
from stages.core.io import read_jsonl, write_jsonl, write_text
from stages.core.judges import build_judge, judge_settings
from stages.core.modeling import load_checkpoint, set_threads
from stages.core.stage import stage_main
from stages.core.tracking import log_artifact

SUBSETS = {"eval": lambda r: True, "eval_hard": lambda r: r["difficulty"] == "hard",
           "eval_easy": lambda r: r["difficulty"] == "easy"}


def checkpoint(cfg, name: str) -> str:
    return {"base": cfg.paths.base_model, "sft": cfg.paths.sft_model, "grpo": cfg.paths.grpo_model}[name]


def sample(examples: list[dict], n: int | None, seed: int) -> list[dict]:
    """A fixed, seeded subset, identical for every model so the comparison is paired."""
    if n is None or n >= len(examples):
        return examples
    return sorted(random.Random(seed).sample(examples, n), key=lambda ex: ex["id"])


def interval(metrics: dict[str, float], key: str) -> str:
    """'mean [low, high]' of a metric, or a dash where it was not measured."""
    if key not in metrics:
        return "–"
    return f"{metrics[key]:.3f} [{metrics[f'{key}_low']:.3f}, {metrics[f'{key}_high']:.3f}]"


def difference(metrics: dict[str, float], key: str) -> str:
    if f"{key}_delta" not in metrics:
        return "–"
    return (f"{metrics[f'{key}_delta']:+.3f} [{metrics[f'{key}_delta_low']:+.3f}, "
            f"{metrics[f'{key}_delta_high']:+.3f}] p={metrics[f'{key}_p']:.3f}")


def markdown_report(metrics: dict[str, float], models: list[str], pairs: list[tuple[str, str]]) -> str:
    head = ["model", "subset", "n", *METRICS, "judge_coverage"]
    lines = ["Mean and 95 % bootstrap interval per model (same examples for every model).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for subset in SUBSETS:
        for m in models:
            key = f"{subset}/{m}"
            if f"{key}/n" in metrics:
                cells = [interval(metrics, f"{key}/{c}") for c in METRICS]
                lines.append(f"| {m} | {subset} | {int(metrics[f'{key}/n'])} | " + " | ".join(cells)
                             + f" | {metrics[f'{key}/judge_coverage']:.2f} |")
    lines += ["", ("Paired differences (later minus earlier model): delta [95 % interval], p "
                   "(McNemar exact for format/emotion, paired bootstrap otherwise)."), "",
              "| comparison | subset | " + " | ".join(METRICS) + " |", "|" + "---|" * (len(METRICS) + 2)]
    for subset in SUBSETS:
        for a, b in pairs:
            cells = [difference(metrics, f"{subset}/{b}_vs_{a}/{c}") for c in METRICS]
            lines.append(f"| {b} vs {a} | {subset} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run(cfg) -> dict[str, float]:
    set_threads()
    fmt = ResponseFormat.from_config(cfg.format)
    judge = build_judge(cfg.eval_judge, cfg.paths.judge_cache)
    if cfg.eval_judge.preflight:
        judge.preflight()
    examples = sample(read_jsonl(Path(cfg.paths.partitioned) / "test.jsonl"), cfg.evaluate.max_examples, cfg.seed)
    ev = cfg.evaluate
    metrics: dict[str, float] = {}
    predictions, rows = [], {}
    for name in ev.models:
        model, tokenizer = load_checkpoint(checkpoint(cfg, name), cfg.model.dtype)
        outputs = generate(model, tokenizer, [ex["prompt"] for ex in examples], batch_size=ev.batch_size,
                           max_new_tokens=ev.max_new_tokens, do_sample=ev.do_sample, seed=cfg.seed,
                           desc=f"evaluate {name}")
        rows[name] = score_examples(fmt, judge, examples, outputs)
        predictions += [{"model": name, **row} for row in rows[name]]
    pairs = list(itertools.pairwise(ev.models))  # base -> sft -> grpo: what each training stage added
    for subset, keep in SUBSETS.items():
        for name in ev.models:
            for key, value in aggregate([r for r in rows[name] if keep(r)], cfg.seed).items():
                metrics[f"{subset}/{name}/{key}"] = value
        for a, b in pairs:
            chosen = [i for i, r in enumerate(rows[a]) if keep(r)]
            diff = compare([rows[a][i] for i in chosen], [rows[b][i] for i in chosen], cfg.seed)
            metrics.update({f"{subset}/{b}_vs_{a}/{k}": v for k, v in diff.items()})

    reports = Path(cfg.paths.reports)
    write_jsonl(reports / "predictions.jsonl", predictions)
    table = markdown_report(metrics, list(ev.models), pairs)
    write_text(reports / "eval.md", "# Evaluation on held-out personas\n\n" + table + "\nSettings: "
               + json.dumps({"eval_judge": judge_settings(cfg.eval_judge),
                             "training_judge": judge_settings(cfg.judge), "max_new_tokens": ev.max_new_tokens,
                             "do_sample": ev.do_sample, "examples": len(examples)}) + "\n")
    for path in ("predictions.jsonl", "eval.md"):
        log_artifact(reports / path, "reports")
    print(table)
    return {**metrics, **(judge.usage.metrics() if judge.usage.items else {})}


main = stage_main("evaluate", run, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
