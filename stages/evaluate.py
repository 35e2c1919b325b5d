"""evaluate: generate on the persona-disjoint test split with the untrained, SFT and GRPO models (and any
OpenAI-compatible baselines; greedy, plus sampled rows: evaluate.sampled) and score format compliance,
emotion accuracy / macro-F1, the five rubric dimensions (1-5) with judge coverage, BLEU, ROUGE-L,
Distinct-1/2 and length, overall and on the hard / easy subsets, with paired comparisons. Writes the
metrics, a Markdown report, every prediction, our numbers beside the paper's, the radar chart, the
emotion confusion matrices and the final model's card with the evaluation table (reports/model_card.md)."""

from __future__ import annotations

import itertools
import logging
import random
from pathlib import Path

from stages.core.charts import confusion_png
from stages.core.config.evaluate import sampled_rows
from stages.core.evaluation.backends import BACKENDS, generate_api, preflight_api
from stages.core.evaluation.emotion import confusion_records
from stages.core.evaluation.headline import HEADLINE_FILE, headline
from stages.core.evaluation.label_baselines import label_baselines
from stages.core.evaluation.markdown_report import markdown_report, paper_table
from stages.core.evaluation.metrics import RADAR_AXES, aggregate, compare, score_examples
from stages.core.evaluation.paper import load_paper, render
from stages.core.evaluation.plots import radar_png
from stages.core.evaluation.statistics import bootstrap_ci
from stages.core.format import ResponseFormat
from stages.core.io import read_jsonl, write_json, write_jsonl, write_text
from stages.core.judges import build_judge, judge_settings
from stages.core.model_card import CARD, evaluation_card
from stages.core.modeling import set_threads
from stages.core.stage import StageFailed, stage_main
from stages.core.tracking import log_artifact, log_dataset, log_model, log_parent_metrics

log = logging.getLogger("kardia")

SUBSETS = {"eval": lambda r: True, "eval_hard": lambda r: r["difficulty"] == "hard",
           "eval_easy": lambda r: r["difficulty"] == "easy"}


def checkpoint(cfg, name: str) -> str:
    return {"base": cfg.paths.base_model, "sft": cfg.paths.sft_model, "grpo": cfg.paths.grpo_model}[name]


def sample(examples: list[dict], n: int | None, seed: int) -> list[dict]:
    """A fixed, seeded subset, identical for every model so the comparison is paired."""
    if n is None or n >= len(examples):
        return examples
    return sorted(random.Random(seed).sample(examples, n), key=lambda ex: ex["id"])


def generate_all(cfg, prompts: list[list[dict]]) -> dict[str, list[str]]:
    """Completions of every evaluated model: our checkpoints on ``evaluate.backend``, then the baselines,
    then ``evaluate.sampled.samples`` sampled replies per prompt (in a row, prompt by prompt) of each model
    in both ``evaluate.models`` and ``evaluate.sampled.models``."""
    ev, sampled = cfg.evaluate, cfg.evaluate.sampled
    generate = BACKENDS[ev.backend]
    outputs = {name: generate(checkpoint(cfg, name), cfg.model.dtype, prompts, ev, cfg.seed, f"evaluate {name}")
               for name in ev.models}
    for baseline in ev.api_baselines:
        outputs[baseline.name] = generate_api(baseline, prompts, ev, cfg.seed)
    repeated = [p for p in prompts for _ in range(sampled.samples)]
    for row, name in sampled_rows(ev).items():
        outputs[row] = generate(checkpoint(cfg, name), cfg.model.dtype, repeated, ev, cfg.seed, f"evaluate {row}",
                                sampled=sampled)
    return outputs


def comparisons(ev) -> list[tuple[str, str]]:
    """(a, b) pairs reported as b - a: base -> sft -> grpo (what each training stage added), our last
    model against each baseline, and the same training steps between the sampled rows."""
    pairs = list(itertools.pairwise(ev.models))
    if ev.models:
        pairs += [(b.name, ev.models[-1]) for b in ev.api_baselines]
    return pairs + list(itertools.pairwise(sampled_rows(ev)))


def run(cfg) -> dict[str, float]:
    set_threads()
    ev = cfg.evaluate
    fmt = ResponseFormat.from_config(cfg.format)
    judge = build_judge(cfg.eval_judge, cfg.paths.judge_cache, "eval_judge")
    if cfg.eval_judge.preflight:
        judge.preflight()  # fail in seconds, not after generating with every model
    for baseline in ev.api_baselines:
        preflight_api(baseline, ev)
    partitioned = Path(cfg.paths.partitioned)
    examples = sample(read_jsonl(partitioned / "test.jsonl"), ev.max_examples, cfg.seed)
    log_dataset(partitioned / "test.jsonl", "test", "evaluation")
    outputs = generate_all(cfg, [ex["prompt"] for ex in examples])
    sampled = sampled_rows(ev)
    rows = {}
    for name, outs in outputs.items():
        k = ev.sampled.samples if name in sampled else 1
        rows[name] = score_examples(fmt, judge, [ex for ex in examples for _ in range(k)], outs, cfg.reward)
        if k > 1:
            for i, r in enumerate(rows[name]):
                r["sample"] = i % k
    models, pairs = list(rows), comparisons(ev)
    single = [m for m in models if m not in sampled]   # one reply per example: charts, card

    metrics: dict[str, float] = {}
    for subset, keep in SUBSETS.items():
        for name in models:
            for key, value in aggregate([r for r in rows[name] if keep(r)], cfg.seed).items():
                metrics[f"{subset}/{name}/{key}"] = value
        for a, b in pairs:
            diff = compare([r for r in rows[a] if keep(r)], [r for r in rows[b] if keep(r)], cfg.seed)
            metrics.update({f"{subset}/{b}_vs_{a}/{k}": v for k, v in diff.items()})
    references = label_baselines(read_jsonl(partitioned / "easy.jsonl") + read_jsonl(partitioned / "hard.jsonl"),
                                 examples, cfg.seed)
    for name, predicted in references.items():
        hits = [float(p == ex["emotion"]) for p, ex in zip(predicted, examples, strict=True)]
        for subset, keep in SUBSETS.items():
            chosen = [h for h, ex in zip(hits, examples) if keep(ex)]
            if chosen:
                key = f"{subset}/{name}/emotion_acc"
                metrics[key], metrics[f"{key}_low"], metrics[f"{key}_high"] = bootstrap_ci(chosen, seed=cfg.seed)

    reports, plots = Path(cfg.paths.reports), Path(cfg.paths.eval_plots)
    write_jsonl(reports / "predictions.jsonl", ({"model": name, **r} for name in models for r in rows[name]))
    settings = {"backend": ev.backend, "eval_judge": judge_settings(cfg.eval_judge),
                "training_judge": judge_settings(cfg.judge), "max_new_tokens": ev.max_new_tokens,
                "do_sample": ev.do_sample, "batch_size": ev.batch_size, "examples": len(examples),
                "sampled": {"rows": list(sampled), "samples": ev.sampled.samples,
                            "temperature": ev.sampled.temperature, "top_k": ev.sampled.top_k,
                            "top_p": ev.sampled.top_p, "max_new_tokens": ev.sampled.max_new_tokens},
                "seed": cfg.seed, "system_prompt": cfg.format.system_prompt,
                "api_baselines": [{"name": b.name, "model": b.model, "base_url": b.base_url}
                                  for b in ev.api_baselines]}
    report = markdown_report(metrics, list(SUBSETS), models, pairs, settings, list(references))
    write_text(reports / "eval.md", report)
    if ev.models:   # the final checkpoint's card with this table: evaluate's output, not the checkpoint's
        final = ev.models[-1]
        write_text(reports / "model_card.md", evaluation_card(
            Path(checkpoint(cfg, final)) / CARD, final, metrics, paper_table(metrics, list(SUBSETS), [final]),
            settings, cfg.data.get("hf_dataset") or f"kardia-{cfg.data.source}"))
    write_text(reports / "paper_vs_ours.md", render(load_paper(Path(cfg.paths.paper_numbers)), [
        {"name": "this run", "metrics": metrics}], "eval", judge_settings(cfg.eval_judge), cfg.data.source, cfg.model.name))
    for name in single:
        records = confusion_records([r["emotion_gold"] for r in rows[name]], [r["emotion_pred"] for r in rows[name]])
        write_json(plots / f"confusion_{name}.json", records)   # the data, for DVC's confusion template online
        confusion_png(records, plots / f"confusion_{name}.png", f"{name}: emotion, actual vs predicted "
                      f"({len(records)} held-out examples)")
    radar_png({m: {a: metrics[f"eval/{m}/{a}"] for a in RADAR_AXES if f"eval/{m}/{a}" in metrics} for m in single},
              plots / "radar.png", f"{len(examples)} held-out examples, judge: {judge_settings(cfg.eval_judge)}")
    log_artifact(reports, "reports")
    log_artifact(plots, "plots")
    if ev.models:   # the final checkpoint, as an MLflow model of this run (tracking.log_model)
        log_model(checkpoint(cfg, ev.models[-1]), ev.models[-1], cfg.tracking.log_model)
    # not printed here: `make pipeline` prints it once, after DVC (which may skip this stage) is done
    log.info("report: %s; model card with the evaluation: %s", reports / "eval.md", reports / "model_card.md")

    low = {m: metrics[f"eval/{m}/judge_coverage"] for m in models
           if metrics[f"eval/{m}/judge_coverage"] < ev.min_judge_coverage}
    if low:
        raise StageFailed(
            "judge coverage below evaluate.min_judge_coverage="
            f"{ev.min_judge_coverage:.2f} for " + ", ".join(f"{m} ({c:.2f})" for m, c in low.items())
            + f": rubric scores would average a judge-chosen subset. Report and predictions are in {reports}; "
            f"check the evaluation judge ({judge_settings(cfg.eval_judge)}) and re-run.")
    # the few values `dvc exp show` lists (dvc.yaml: the stage's metric; evaluate.json is its detail)
    top = headline(metrics, list(ev.headline))
    write_json(Path(cfg.paths.metrics) / HEADLINE_FILE, top)
    log_parent_metrics(top)
    return {**metrics, **judge.usage.metrics()}


main = stage_main("evaluate", run, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
