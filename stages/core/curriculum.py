"""The paper's curriculum rule: which dialogues are easy (-> SFT) and which hard (-> GRPO).

From the reviewer's FAIL/PASS/SOLVED decisions over a dialogue [paper]:
    easy  if  pFAIL < pPASS + pSOLVED  or  pFAIL + pPASS < pSOLVED,   else hard.
Frequencies sum to 1, so this is ``pFAIL < max_fail_rate or pSOLVED > min_solved_rate`` with both
thresholds 0.5 in the paper; exposing them lets a sweep move the boundary.
"""

from __future__ import annotations

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
