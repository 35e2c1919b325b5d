"""partition: split the training examples into easy (-> sft) and hard (-> grpo) by dialogue.

partition.method=trace applies the paper's rule to each dialogue's FAIL/PASS/SOLVED trace;
partition.method=rollouts re-estimates difficulty for data without traces (the released KardiaBench)
by sampling completions from a reference policy and scoring them (stages/core/rollouts.py, cached).
The test examples get the same kind of label, so evaluate can report the hard subset separately.
partition.method=random / all_sft / all_grpo are the no-curriculum ablations
(stages/core/curriculum.py); their test examples are labelled by ``partition.reference`` (trace, or
rollouts for data without traces), the rule of the curriculum row they are compared with, so every
row of the table reports the same hard subset.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

from stages.core.charts import bar_png
from stages.core.curriculum import ABLATIONS, difficulty, histogram, trace_rates
from stages.core.io import read_jsonl, write_jsonl, write_text
from stages.core.stage import stage_main

UNSCORED = "unscored"  # rollouts with max_contexts: examples whose dialogue was not sampled
# What each partition method returns: train and test with a "difficulty" each, its metrics, and the
# train split's resolution rate per dialogue (the difficulty histogram).
Labelled = tuple[list[dict], list[dict], dict[str, float], dict[str, float]]


def label_by_trace(train: list[dict], test: list[dict], cfg) -> Labelled:
    p = cfg.partition
    missing = next((ex for ex in train + test if not ex.get("trace")), None)
    if missing is not None:
        raise RuntimeError(f"example {missing['id']} (dialogue {missing['dialogue_id']}) has no FAIL/PASS/SOLVED "
                           "trace (the released KardiaBench has none): use partition=rollouts (partition.method="
                           "rollouts, and partition.reference=rollouts for the no-curriculum ablations)")

    def label(examples):
        return [{**ex, "difficulty": difficulty(ex["trace"], p.max_fail_rate, p.min_solved_rate)} for ex in examples]
    return label(train), label(test), {}, trace_resolution(train)


def trace_resolution(examples: list[dict]) -> dict[str, float]:
    """Per dialogue, the share of the reviewer's decisions that were not FAIL: the trace's analogue
    of the rollouts' resolution rate, so the difficulty histogram means the same for every method."""
    return {ex["dialogue_id"]: 1 - trace_rates(ex["trace"])["FAIL"] for ex in examples}


def rollout_label(dialogue: str, rates: dict[str, float], seen: set[str], easy_min_rate: float) -> str:
    """easy / hard by the dialogue's resolution rate; the bootstrap slice (``seen``) is easy, unscored."""
    if dialogue in seen:
        return "easy"
    if dialogue not in rates:
        return UNSCORED
    return "easy" if rates[dialogue] >= easy_min_rate else "hard"


def label_by_rollouts(train: list[dict], test: list[dict], cfg, splits=("train", "test")) -> Labelled:
    """The rollout rule on ``splits`` (the others come back unlabelled). With policy=bootstrap the
    warm-up is trained (or read from its cache) first; its slice's dialogues go to easy unscored."""
    from stages.core import bootstrap, rollouts

    ro = cfg.partition.rollouts
    metrics: dict[str, float] = {}
    policy, seen = None, set()
    if ro.policy == "bootstrap":
        policy, seen, metrics = bootstrap.ensure(cfg, train)
    labelled, train_rates = {"train": train, "test": test}, {}
    for split, examples in list(labelled.items()):
        if split not in splits:
            continue
        contexts = rollouts.select_contexts([ex for ex in examples if ex["dialogue_id"] not in seen],
                                            ro.max_contexts, cfg.seed)
        entry, generated = rollouts.load_or_sample(cfg, contexts, policy)
        rates, summary = rollouts.resolution(cfg, contexts, entry)
        train_rates = rates if split == "train" else train_rates
        metrics |= {f"partition/rollouts/{split}_{k}": v for k, v in summary.items()}
        metrics[f"partition/rollouts/{split}_contexts"] = len(contexts)
        metrics[f"partition/rollouts/{split}_generated"] = float(generated)
        labelled[split] = [{**ex, "difficulty": rollout_label(ex["dialogue_id"], rates, seen, ro.easy_min_rate)}
                           for ex in examples]
    return labelled["train"], labelled["test"], metrics, train_rates


def label_by_ablation(train: list[dict], test: list[dict], cfg) -> Labelled:
    """A no-curriculum split of the training dialogues; the test split labelled by partition.reference.
    With reference=rollouts the training split is rolled out only where random needs its easy share."""
    p = cfg.partition
    reference = None
    if p.reference == "rollouts":
        need_train = p.method == "random" and p.easy_fraction is None
        ref_train, test, metrics, rates = label_by_rollouts(train, test, cfg, ("train", "test") if need_train else ("test",))
        reference = {ex["dialogue_id"]: ex["difficulty"] for ex in ref_train if ex["difficulty"] != UNSCORED} \
            if need_train else None
    else:
        _, test, metrics, _ = label_by_trace([], test, cfg)
        rates = trace_resolution(train)
    by_dialogue = ABLATIONS[p.method](train, p, cfg.seed, reference=reference)
    return [{**ex, "difficulty": by_dialogue[ex["dialogue_id"]]} for ex in train], test, metrics, rates


def write_histogram(rates: dict[str, float], bins: int, path: Path) -> dict[str, float]:
    """plots/partition_difficulty.csv (dialogues per resolution-rate bin) and the same counts as metrics."""
    hist = histogram(list(rates.values()), bins)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(hist[0]))
    writer.writeheader()
    writer.writerows(hist)
    write_text(path, buf.getvalue())
    bar_png([{**h, "bin": f"{h['bin_low']:.2f}-{h['bin_high']:.2f}"} for h in hist], "bin", "dialogues",
            path.with_suffix(".png"), "partition: dialogues per resolution-rate bin (low = hard)")
    return {f"partition/hist_{k:02d}": h["dialogues"] for k, h in enumerate(hist)}


METHODS = {"trace": label_by_trace, "rollouts": label_by_rollouts, **dict.fromkeys(ABLATIONS, label_by_ablation)}


def run(cfg) -> dict[str, float]:
    src, out = Path(cfg.paths.prepared), Path(cfg.paths.partitioned)
    train, test, extra, rates = METHODS[cfg.partition.method](read_jsonl(src / "train.jsonl"),
                                                               read_jsonl(src / "test.jsonl"), cfg)
    extra |= write_histogram(rates, cfg.partition.histogram_bins, Path(cfg.paths.plots) / "partition_difficulty.csv")
    easy = [ex for ex in train if ex["difficulty"] == "easy"]
    hard = [ex for ex in train if ex["difficulty"] == "hard"]
    # An empty side is fine only where its stage is disabled (the all_sft / all_grpo ablations).
    if (not easy and cfg.sft.enabled) or (not hard and cfg.grpo.enabled):
        raise RuntimeError(f"partition ({cfg.partition.method}) left {len(easy)} easy and {len(hard)} hard examples: "
                           "adjust partition.max_fail_rate / partition.min_solved_rate (trace) or "
                           "partition.rollouts.resolve_threshold / easy_min_rate / policy (rollouts)")
    write_jsonl(out / "easy.jsonl", easy)
    write_jsonl(out / "hard.jsonl", hard)
    write_jsonl(out / "test.jsonl", test)
    dialogues = {d: Counter() for d in ("easy", "hard")}
    for ex in easy + hard:
        dialogues[ex["difficulty"]][ex["dialogue_id"]] += 1
    test_hard = sum(ex["difficulty"] == "hard" for ex in test)
    return {
        "partition/easy_examples": len(easy), "partition/hard_examples": len(hard),
        "partition/easy_dialogues": len(dialogues["easy"]), "partition/hard_dialogues": len(dialogues["hard"]),
        "partition/hard_fraction": len(hard) / (len(easy) + len(hard)),
        "partition/hard_dialogue_fraction": len(dialogues["hard"]) / (len(dialogues["easy"]) + len(dialogues["hard"])),
        "partition/test_hard_examples": test_hard, "partition/test_easy_examples": sum(ex["difficulty"] == "easy" for ex in test),
        **extra,
    }


main = stage_main("partition", run, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
