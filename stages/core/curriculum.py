"""The paper's curriculum rule: which dialogues are easy (-> SFT) and which hard (-> GRPO).

From the reviewer's FAIL/PASS/SOLVED decisions over a dialogue [paper]:
    easy  if  pFAIL < pPASS + pSOLVED  or  pFAIL + pPASS < pSOLVED,   else hard.
Frequencies sum to 1, so this is ``pFAIL < max_fail_rate or pSOLVED > min_solved_rate`` with both
thresholds 0.5 in the paper; exposing them lets a sweep move the boundary.
"""

from __future__ import annotations

import math
from collections import Counter

DECISIONS = ("FAIL", "PASS", "SOLVED")


def trace_rates(trace: list[str]) -> dict[str, float]:
    if not trace:
        raise ValueError("empty FAIL/PASS/SOLVED trace")
    unknown = set(trace) - set(DECISIONS)
    if unknown:
        raise ValueError(f"unknown reviewer decisions {sorted(unknown)} in trace {trace}")
    counts = Counter(trace)
    return {d: counts[d] / len(trace) for d in DECISIONS}


def is_easy(trace: list[str], max_fail_rate: float = 0.5, min_solved_rate: float = 0.5) -> bool:
    p = trace_rates(trace)
    return p["FAIL"] < max_fail_rate or p["SOLVED"] > min_solved_rate


def difficulty(trace: list[str], max_fail_rate: float = 0.5, min_solved_rate: float = 0.5) -> str:
    return "easy" if is_easy(trace, max_fail_rate, min_solved_rate) else "hard"


# --- Curriculum ablations: which dialogues go to SFT (easy) and which to GRPO (hard) -------------
# Each method maps the training examples to one label per dialogue. The test split is labelled by
# the reference rule (partition.reference: trace or rollouts, stages/partition.py), so every
# ablation row reports the same "hard" subset as the curriculum row.

def _by_dialogue(examples: list[dict]) -> list[str]:
    """Dialogue ids in first-seen order (stable, so a seeded shuffle is reproducible)."""
    return list(dict.fromkeys(ex["dialogue_id"] for ex in examples))


def trace_labels(examples: list[dict], p, seed: int) -> dict[str, str]:
    """The paper's rule on each dialogue's reviewer trace."""
    return {ex["dialogue_id"]: difficulty(ex["trace"], p.max_fail_rate, p.min_solved_rate) for ex in examples}


def random_labels(examples: list[dict], p, seed: int, reference: dict[str, str] | None = None) -> dict[str, str]:
    """No curriculum, same proportions: a seeded random split of the dialogues. The easy share is
    ``p.easy_fraction`` or, when null, the share of dialogues the reference rule makes easy under the
    same thresholds (``reference``: its label per dialogue; None: the trace rule), so the row changes
    *which* dialogues each stage sees and not *how many*."""
    import random

    ids = _by_dialogue(examples)
    if p.easy_fraction is None:
        rule = reference if reference is not None else trace_labels(examples, p, seed)
        fraction = sum(v == "easy" for v in rule.values()) / len(rule)
    else:
        fraction = p.easy_fraction
    random.Random(seed).shuffle(ids)
    n_easy = round(fraction * len(ids))
    return {d: "easy" if i < n_easy else "hard" for i, d in enumerate(ids)}


def all_sft_labels(examples: list[dict], p, seed: int, reference: dict[str, str] | None = None) -> dict[str, str]:
    """No curriculum, one stage: every training dialogue is SFT data; GRPO gets none (disabled)."""
    return dict.fromkeys(_by_dialogue(examples), "easy")


def all_grpo_labels(examples: list[dict], p, seed: int, reference: dict[str, str] | None = None) -> dict[str, str]:
    """No curriculum, one stage: every training dialogue is a GRPO prompt; SFT gets none (disabled)."""
    return dict.fromkeys(_by_dialogue(examples), "hard")


ABLATIONS = {"random": random_labels, "all_sft": all_sft_labels, "all_grpo": all_grpo_labels}


# The thresholds each rule reads (params.yaml keys). A no-curriculum ablation reads its reference rule's
# (test labels, random's easy share); a knob of the other rule changes nothing (experiments/sweep.py refuses it).
THRESHOLD_KNOBS = {"trace": ("partition.max_fail_rate", "partition.min_solved_rate"),
                   "rollouts": ("partition.rollouts.resolve_threshold", "partition.rollouts.easy_min_rate")}


def threshold_rule(p) -> str:
    """The rule whose THRESHOLD_KNOBS a partition config (``cfg.partition``) reads."""
    return p.method if p.method in THRESHOLD_KNOBS else p.reference


def ignored_knobs(p, keys) -> dict[str, str]:
    """Of ``keys``, the threshold knobs the configured rule ignores: {key: why, and what to move instead}."""
    rule = threshold_rule(p)
    active = " / ".join(THRESHOLD_KNOBS[rule])
    return {key: f"partition.method={p.method} (reference {p.reference}) uses the {rule} rule, which does not read "
                 f"{key}: move {active} instead"
            for other, knobs in THRESHOLD_KNOBS.items() if other != rule for key in keys if key in knobs}


def histogram(rates: list[float], bins: int) -> list[dict]:
    """Counts of resolution rates in ``bins`` equal bins over [0, 1] (1.0 falls in the last)."""
    counts = [0] * bins
    for r in rates:
        counts[min(bins - 1, math.floor(r * bins))] += 1
    return [{"bin_low": round(k / bins, 4), "bin_high": round((k + 1) / bins, 4), "dialogues": c}
            for k, c in enumerate(counts)]
