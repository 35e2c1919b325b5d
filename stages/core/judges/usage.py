"""Usage accounting of a judge: the chat client's call stats plus items and cache hits, as metrics."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, fields

from ..chat import CallStats


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Usage(CallStats):
    items: int = 0              # replies asked to score
    cache_hits: int = 0
    # failures (kind -> count: timeout, http_429, invalid_answer, ...) and the rest come from CallStats

    def add(self, other: Usage) -> None:
        """Count ``other`` in too: every field, counters and latencies included."""
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, Counter):
                mine.update(theirs)
            elif isinstance(mine, list):
                mine += theirs
            else:
                setattr(self, f.name, mine + theirs)

    def metrics(self, prefix: str = "judge_usage/") -> dict[str, float]:
        """The counts as metrics; none for a judge that was asked nothing (the embedded judge)."""
        if not self.items:
            return {}
        out = {"requests": self.requests, "retries": self.retries, "items": self.items,
               "cache_hits": self.cache_hits, "prompt_tokens": self.prompt_tokens,
               "completion_tokens": self.completion_tokens, "failures": sum(self.failures.values()),
               "latency_p50_s": percentile(self.latencies_s, 50),
               "latency_p95_s": percentile(self.latencies_s, 95)}
        out.update({f"failures_{k}": v for k, v in self.failures.items()})
        return {f"{prefix}{k}": float(v) for k, v in out.items()}
