"""Uncertainty and significance for the evaluate stage's model comparisons (stdlib + numpy only).

``bootstrap_ci`` answers "how precisely do we know one model's score?". It resamples the per-example
values with replacement and reports the percentile interval of the resampled means. Use it for the
error bar beside any single aggregate (format compliance, emotion accuracy, a rubric dimension); it
makes no normality assumption, so it suits bounded 1-5 scores and 0/1 accuracies alike. Do not decide
"A beats B" from whether two such intervals overlap: that ignores that both models saw the same
examples, and is far too conservative.

``paired_bootstrap`` answers "is model B's mean score different from model A's on these examples?".
It resamples example *indices* and applies the same draw to both models, i.e. it bootstraps the
per-example differences ``b[i] - a[i]``. Per-example difficulty, which dominates the spread of either
model's scores, cancels in the difference, so the paired interval is much tighter than two separate
ones. Use it for any continuous or averaged per-example score (rubric scores, rewards), and for
accuracies when an interval of the improvement is wanted. Its p-value is found by inverting the
percentile interval: twice the share of resampled deltas on the far side of 0 (capped at 1), with the
usual +1 in numerator and denominator so a finite number of resamples never reports p = 0. Hence p is
at most ``1 - confidence`` exactly when the reported interval excludes 0 (up to quantile
interpolation), and it cannot go below ``2 / (n_resamples + 1)``.

``mcnemar`` answers "does B get right a different set of examples than A, more often than chance?"
for paired yes/no outcomes (emotion label correct, format valid). Only discordant examples carry
information; under the null each one is equally likely to favour either model, so the count is
Binomial(n_discordant, 1/2). The exact two-sided test is used because evaluation sets give few
discordant pairs, where the chi-square approximation is unreliable. Prefer it to
``paired_bootstrap`` for binary outcomes: it is exact and needs no resampling.

``bootstrap_statistic`` does the same for *corpus-level* statistics that are not a mean of
per-example values (corpus BLEU, Distinct-n, macro-F1): a resample is represented by how many times
each example was drawn (a weight vector), and the statistic is computed from those weights. The
point estimate is the statistic at weight 1 for every example.

All functions are deterministic: the bootstrap ones draw from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Resamples are drawn in blocks of at most this many indices (32 MB of int64), so memory stays bounded
# on large test sets while the usual case (2000 x a few hundred) is still a single vectorised draw.
_BLOCK_ELEMENTS = 1 << 22


def _as_values(values: Sequence[float], name: str) -> np.ndarray:
    """``values`` as a 1-D float array (bools become 0/1), or ValueError saying what is wrong."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} is empty: need at least one per-example value")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains non-finite values (NaN or inf) at indices "
                         f"{np.flatnonzero(~np.isfinite(x))[:10].tolist()}")
    return x


def _check_paired(a: np.ndarray, b: np.ndarray) -> None:
    if a.size != b.size:
        raise ValueError(f"paired inputs must score the same examples: len(a)={a.size} != len(b)={b.size}")


def _check_params(n_resamples: int, confidence: float) -> None:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")


def _index_blocks(n: int, n_resamples: int, seed: int):
    """(start, stop, idx): the with-replacement index draws of resamples start..stop-1, block by block."""
    rng = np.random.default_rng(seed)
    rows = max(1, _BLOCK_ELEMENTS // n)
    for start in range(0, n_resamples, rows):
        stop = min(start + rows, n_resamples)
        yield start, stop, rng.integers(0, n, size=(stop - start, n))


def _resampled_means(x: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Means of ``n_resamples`` with-replacement resamples of ``x`` (each the size of ``x``)."""
    out = np.empty(n_resamples)
    for start, stop, idx in _index_blocks(x.size, n_resamples, seed):
        out[start:stop] = x[idx].mean(axis=1)
    return out


def resample_weights(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """(n_resamples, n) counts: how often each of n examples appears in each with-replacement resample.
    The same index draws as ``bootstrap_ci`` makes for the same seed and n."""
    out = np.empty((n_resamples, n), dtype=np.float32)
    for start, stop, idx in _index_blocks(n, n_resamples, seed):
        offsets = (np.arange(stop - start) * n)[:, None]
        out[start:stop] = np.bincount((idx + offsets).ravel(), minlength=(stop - start) * n).reshape(-1, n)
    return out


def _quantiles(boot: np.ndarray, confidence: float) -> tuple[float, float]:
    """The equal-tailed percentile interval of the resampled values."""
    alpha = 1.0 - confidence
    low, high = np.quantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def _percentile_interval(x: np.ndarray, boot: np.ndarray, confidence: float) -> tuple[float, float]:
    low, high = _quantiles(boot, confidence)
    # A resample's mean lies within [min, max] of the data; clipping only removes summation rounding,
    # which is what makes the interval of a constant sample collapse exactly onto the constant.
    lo, hi = float(x.min()), float(x.max())
    return float(np.clip(low, lo, hi)), float(np.clip(high, lo, hi))


def _mean(x: np.ndarray) -> float:
    # For a constant sample return the value itself: np.mean may be off by an ulp after summation.
    return float(x[0]) if np.all(x == x[0]) else float(x.mean())


def bootstrap_ci(values: Sequence[float], *, n_resamples: int = 2000, confidence: float = 0.95,
                 seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap CI of the mean of per-example values."""
    _check_params(n_resamples, confidence)
    x = _as_values(values, "values")
    boot = _resampled_means(x, n_resamples, seed)
    low, high = _percentile_interval(x, boot, confidence)
    return _mean(x), low, high


def _recentred(boot: np.ndarray, value: float, recentre: bool) -> np.ndarray:
    # A statistic that resampling itself biases (Distinct-n: a reply drawn twice repeats all its
    # n-grams, so every resample looks less diverse than the corpus) is bootstrapped for its spread
    # only: the resampled values are shifted so their mean is the observed value.
    if not recentre:
        return boot
    return np.full_like(boot, value) if np.all(boot == boot[0]) else boot - boot.mean() + value


def bootstrap_statistic(statistic, n: int, *, n_resamples: int = 2000, confidence: float = 0.95,
                        seed: int = 0, recentre: bool = False) -> tuple[float, float, float]:
    """(value, low, high): percentile bootstrap CI of a corpus-level statistic of n examples.

    ``statistic(weights)`` maps a (k, n) array of per-example draw counts to k values; it is called once
    with all-ones weights (the point estimate) and once with the resampled counts. ``recentre``: use the
    bootstrap for the spread only, centred on the observed value (for statistics biased by duplicates).
    """
    _check_params(n_resamples, confidence)
    if n < 1:
        raise ValueError("bootstrap_statistic needs at least one example")
    value = float(statistic(np.ones((1, n), dtype=np.float32))[0])
    boot = _recentred(np.asarray(statistic(resample_weights(n, n_resamples, seed)), dtype=float), value, recentre)
    return value, *_quantiles(boot, confidence)


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, n_resamples: int = 2000,
                     confidence: float = 0.95, seed: int = 0) -> dict[str, float]:
    """Paired comparison of two models on the same examples (a[i] and b[i] score example i).
    Returns {"delta": mean(b) - mean(a), "low": ..., "high": ... (CI of delta, resampling example indices jointly),
             "p_value": two-sided bootstrap p-value of delta == 0}.

    The p-value inverts the percentile CI (see the module docstring):
    ``min(1, 2 * (1 + #{delta* on the far side of 0}) / (1 + n_resamples))``, where resampled deltas
    exactly equal to 0 count on both sides, so ties make the test conservative, never liberal.
    """
    _check_params(n_resamples, confidence)
    xa, xb = _as_values(a, "a"), _as_values(b, "b")
    _check_paired(xa, xb)
    # Resampling indices jointly for both models is the same as resampling the per-example differences.
    d = xb - xa
    boot = _resampled_means(d, n_resamples, seed)
    low, high = _percentile_interval(d, boot, confidence)
    return {"delta": _mean(d), "low": low, "high": high, "p_value": _bootstrap_p(boot)}


def _bootstrap_p(boot: np.ndarray) -> float:
    """Two-sided p of delta == 0 by inverting the percentile interval (see the module docstring)."""
    at_or_below = int(np.count_nonzero(boot <= 0.0))
    at_or_above = int(np.count_nonzero(boot >= 0.0))
    return min(1.0, 2.0 * (1 + min(at_or_below, at_or_above)) / (1 + boot.size))


def paired_bootstrap_statistic(statistic_a, statistic_b, n: int, *, n_resamples: int = 2000,
                               confidence: float = 0.95, seed: int = 0, recentre: bool = False) -> dict[str, float]:
    """``paired_bootstrap`` for corpus-level statistics: both models' statistics are computed on the
    same resampled examples and their difference b - a is bootstrapped (``recentre``: as in
    ``bootstrap_statistic``)."""
    _check_params(n_resamples, confidence)
    ones = np.ones((1, n), dtype=np.float32)
    delta = float(statistic_b(ones)[0] - statistic_a(ones)[0])
    weights = resample_weights(n, n_resamples, seed)
    boot = np.asarray(statistic_b(weights), dtype=float) - np.asarray(statistic_a(weights), dtype=float)
    boot = _recentred(boot, delta, recentre)
    low, high = _quantiles(boot, confidence)
    return {"delta": delta, "low": low, "high": high, "p_value": _bootstrap_p(boot)}


def _as_outcomes(values: Sequence[bool], name: str) -> np.ndarray:
    """``values`` as a 1-D bool array; numbers are accepted only if they are exactly 0 or 1."""
    x = _as_values(values, name)
    if not np.all((x == 0.0) | (x == 1.0)):
        raise ValueError(f"{name} must hold binary outcomes (bool or 0/1), got values "
                         f"{np.unique(x[(x != 0.0) & (x != 1.0)])[:10].tolist()}")
    return x == 1.0


def _binom_half_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2), exact: integer arithmetic, a single rounding at the end."""
    term, total = 1, 1  # C(n, 0)
    for i in range(1, k + 1):
        term = term * (n - i + 1) // i  # C(n, i) from C(n, i-1); the division is always exact
        total += term
    return total / (1 << n)  # Python's int/int true division stays exact-then-rounded for huge ints


def mcnemar(a: Sequence[bool], b: Sequence[bool]) -> dict[str, float]:
    """Exact two-sided McNemar test for paired binary outcomes (e.g. emotion correct).
    Returns {"b_only": #(b right, a wrong), "a_only": #(a right, b wrong), "p_value": exact binomial two-sided}.

    Counts are returned as floats, like the other metrics of the evaluate stage.
    """
    xa, xb = _as_outcomes(a, "a"), _as_outcomes(b, "b")
    _check_paired(xa, xb)
    b_only = int(np.count_nonzero(xb & ~xa))
    a_only = int(np.count_nonzero(xa & ~xb))
    n = a_only + b_only
    # n = 0: no discordant pair, no evidence of a difference; the formula below also gives 1 (2 * 1 capped).
    p_value = min(1.0, 2.0 * _binom_half_cdf(min(a_only, b_only), n))
    return {"b_only": float(b_only), "a_only": float(a_only), "p_value": p_value}
