"""Bootstrap intervals, the paired bootstrap and the exact McNemar test, on known answers."""

import math
import time

import numpy as np
import pytest

from stages.core.evaluation.statistics import bootstrap_ci, mcnemar, paired_bootstrap


def discordant(a_only, b_only, both=0, neither=0):
    """Paired outcomes with the given counts of each (a, b) cell."""
    a = [True] * a_only + [False] * b_only + [True] * both + [False] * neither
    b = [False] * a_only + [True] * b_only + [True] * both + [False] * neither
    return a, b


# --- mcnemar -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("a_only, b_only, expected", [
    (0, 10, 2 * 0.5**10),                # all discordant pairs favour b
    (10, 0, 2 * 0.5**10),                # symmetric
    (5, 5, 1.0),                         # equal counts: 2 * P(X<=5) > 1, capped
    (0, 0, 1.0),                         # no discordant pair: no evidence
    (1, 5, 2 * (1 + 6) / 2**6),          # n=6, k=1: 2 * (C(6,0) + C(6,1)) / 64
    (2, 8, 2 * (1 + 10 + 45) / 2**10),   # n=10, k=2
    (0, 1, 1.0),                         # a single discordant pair is never significant
])
def test_mcnemar_known_answers(a_only, b_only, expected):
    a, b = discordant(a_only, b_only, both=3, neither=2)
    out = mcnemar(a, b)
    assert out["a_only"] == a_only and out["b_only"] == b_only
    assert out["p_value"] == pytest.approx(expected, rel=1e-12)


def test_mcnemar_ignores_concordant_pairs_and_accepts_0_1():
    a, b = discordant(2, 8, both=50, neither=30)
    assert mcnemar(a, b)["p_value"] == pytest.approx(2 * 56 / 1024, rel=1e-12)
    as_ints = mcnemar([int(x) for x in a], [float(x) for x in b])
    assert as_ints == mcnemar(a, b)


def test_mcnemar_large_n_is_exact_and_finite():
    # n = 2000 discordant pairs: 2**2000 overflows a float, the exact integer path must not.
    p = mcnemar(*discordant(1000, 1000))["p_value"]
    assert p == 1.0
    p = mcnemar(*discordant(900, 1100))["p_value"]
    # Normal approximation with continuity correction: z = 199 / sqrt(2000) ~ 4.45 -> p ~ 8.6e-6.
    assert p == pytest.approx(8.6e-6, rel=0.05)


def test_mcnemar_rejects_non_binary_values():
    with pytest.raises(ValueError, match="binary"):
        mcnemar([0, 1, 2], [0, 1, 1])


# --- bootstrap_ci ------------------------------------------------------------------------------------

def test_bootstrap_ci_contains_true_mean_of_large_normal_sample():
    x = np.random.default_rng(1).normal(3.0, 1.0, size=2000)
    mean, low, high = bootstrap_ci(x)
    assert mean == pytest.approx(x.mean())
    assert low < 3.0 < high
    # Half-width ~ 1.96 / sqrt(2000) ~ 0.044.
    assert 0.06 < high - low < 0.12


def test_bootstrap_ci_width_shrinks_like_one_over_sqrt_n():
    rng = np.random.default_rng(2)
    _, lo_small, hi_small = bootstrap_ci(rng.normal(size=100))
    _, lo_big, hi_big = bootstrap_ci(rng.normal(size=1600))
    ratio = (hi_small - lo_small) / (hi_big - lo_big)
    assert 3.0 < ratio < 5.3  # sqrt(1600 / 100) = 4


@pytest.mark.parametrize("value", [3.7, 1.0, True, 0.1])
def test_bootstrap_ci_of_a_constant_is_degenerate(value):
    assert bootstrap_ci([value] * 400) == (float(value),) * 3


def test_bootstrap_ci_accepts_bools():
    mean, low, high = bootstrap_ci([True] * 30 + [False] * 70)
    assert mean == pytest.approx(0.3)
    assert 0.0 <= low < 0.3 < high <= 1.0


def test_bootstrap_ci_confidence_widens_interval():
    x = np.random.default_rng(3).normal(size=300)
    _, lo90, hi90 = bootstrap_ci(x, confidence=0.90)
    _, lo99, hi99 = bootstrap_ci(x, confidence=0.99)
    assert lo99 < lo90 and hi90 < hi99


# --- paired_bootstrap --------------------------------------------------------------------------------

def test_paired_bootstrap_detects_clear_improvement():
    rng = np.random.default_rng(4)
    a = rng.normal(3.0, 1.0, size=400)
    b = a + 0.5 + rng.normal(0.0, 0.5, size=400)
    out = paired_bootstrap(a, b)
    assert out["delta"] == pytest.approx(b.mean() - a.mean())
    assert 0.0 < out["low"] < out["delta"] < out["high"]
    assert out["p_value"] < 0.01
    # Floor of the +1-corrected p-value: a finite bootstrap never claims p = 0.
    assert out["p_value"] == pytest.approx(2 / 2001)


def test_paired_bootstrap_detects_clear_degradation():
    rng = np.random.default_rng(5)
    a = rng.normal(3.0, 1.0, size=400)
    out = paired_bootstrap(a, a - 0.5 + rng.normal(0.0, 0.5, size=400))
    assert out["low"] < out["high"] < 0.0
    assert out["p_value"] < 0.01


def test_paired_bootstrap_identical_inputs():
    a = np.random.default_rng(6).uniform(1, 5, size=200)
    assert paired_bootstrap(a, a) == {"delta": 0.0, "low": 0.0, "high": 0.0, "p_value": 1.0}


def test_paired_bootstrap_no_effect_is_not_significant():
    rng = np.random.default_rng(7)
    a = rng.normal(3.0, 1.0, size=400)
    noise = rng.normal(0.0, 0.5, size=400)
    out = paired_bootstrap(a, a + noise - noise.mean())  # noisy per example, no effect on the mean
    assert out["delta"] == pytest.approx(0.0, abs=1e-12)
    assert out["low"] < 0.0 < out["high"]
    assert out["p_value"] > 0.5


def test_pairing_matters():
    # Per-example difficulty dominates both models' spread; b is a little better on every example.
    rng = np.random.default_rng(8)
    difficulty = rng.uniform(1.0, 5.0, size=200)
    a = difficulty + rng.normal(0.0, 0.1, size=200)
    b = difficulty + 0.2 + rng.normal(0.0, 0.1, size=200)
    _, _, a_high = bootstrap_ci(a)
    _, b_low, _ = bootstrap_ci(b)
    assert b_low < a_high  # the separate intervals overlap ...
    out = paired_bootstrap(a, b)
    assert out["low"] > 0.0  # ... yet the paired interval excludes 0
    assert out["p_value"] < 0.01


def test_p_value_agrees_with_the_interval():
    # Inverting the percentile CI: p <= 1 - confidence exactly when the interval excludes 0.
    rng = np.random.default_rng(9)
    a = rng.normal(size=150)
    for shift in np.linspace(0.0, 0.4, 9):
        out = paired_bootstrap(a, a + shift + rng.normal(0.0, 1.0, size=150), seed=3)
        excludes = out["low"] > 0.0 or out["high"] < 0.0
        if abs(out["p_value"] - 0.05) > 0.005:  # away from the quantile-interpolation boundary
            assert excludes == (out["p_value"] < 0.05), (shift, out)


def test_paired_bootstrap_accepts_bools():
    a, b = discordant(5, 40, both=100, neither=55)
    out = paired_bootstrap(a, b)
    assert out["delta"] == pytest.approx(35 / 200)
    assert out["low"] > 0.0 and out["p_value"] < 0.01


# --- determinism and speed ---------------------------------------------------------------------------

def test_deterministic_under_seed():
    rng = np.random.default_rng(10)
    a, b = rng.normal(size=300), rng.normal(size=300)
    assert bootstrap_ci(a, seed=5) == bootstrap_ci(a, seed=5)
    assert paired_bootstrap(a, b, seed=5) == paired_bootstrap(list(a), list(b), seed=5)
    assert bootstrap_ci(a, seed=5) != bootstrap_ci(a, seed=6)
    assert paired_bootstrap(a, b, seed=5) != paired_bootstrap(a, b, seed=6)


def test_blocked_resampling_handles_large_inputs():
    # 2000 x 5000 indices exceed one block: results must still be sane and deterministic.
    x = np.random.default_rng(11).normal(size=5000)
    first = bootstrap_ci(x, seed=1)
    assert first == bootstrap_ci(x, seed=1)
    assert first[1] < first[0] < first[2]


def test_paired_bootstrap_is_fast():
    rng = np.random.default_rng(12)
    a, b = rng.uniform(1, 5, size=400), rng.uniform(1, 5, size=400)
    paired_bootstrap(a, b)  # warm-up
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        paired_bootstrap(a, b)
        best = min(best, time.perf_counter() - start)
    assert best < 0.05


# --- errors ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda: bootstrap_ci([]),
    lambda: paired_bootstrap([], []),
    lambda: mcnemar([], []),
])
def test_empty_input_raises(call):
    with pytest.raises(ValueError, match="empty"):
        call()


@pytest.mark.parametrize("call", [
    lambda: paired_bootstrap([1.0, 2.0, 3.0], [1.0, 2.0]),
    lambda: mcnemar([True, False, True], [True, False]),
])
def test_mismatched_lengths_name_both(call):
    with pytest.raises(ValueError, match=r"len\(a\)=3 != len\(b\)=2"):
        call()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_values_raise(bad):
    with pytest.raises(ValueError, match="non-finite"):
        bootstrap_ci([1.0, bad, 2.0])
    with pytest.raises(ValueError, match="non-finite"):
        paired_bootstrap([1.0, 2.0, 3.0], [1.0, bad, 2.0])


@pytest.mark.parametrize("kwargs", [
    {"n_resamples": 0}, {"n_resamples": -5}, {"n_resamples": 2.5}, {"n_resamples": True},
    {"confidence": 0.0}, {"confidence": 1.0}, {"confidence": 95},
])
def test_bad_parameters_raise(kwargs):
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], **kwargs)
    with pytest.raises(ValueError):
        paired_bootstrap([1.0, 2.0], [2.0, 3.0], **kwargs)


def test_two_dimensional_input_raises():
    with pytest.raises(ValueError, match="1-D"):
        bootstrap_ci([[1.0, 2.0], [3.0, 4.0]])
