"""Reference-based and diversity metrics of the visible reply (the response span).

Definitions, as reported in reports/eval.md:

- **BLEU**: sacrebleu's corpus BLEU (0-100; 13a tokenisation, 4-grams, exponential smoothing, one
  reference: the gold response span), from n-gram statistics summed over a model's replies.
- **ROUGE-L**: rouge-score's ROUGE-L F-measure (0-1, no stemming) of each reply against the gold
  response, averaged over examples.
- **Distinct-n** (Li et al., 2016), *corpus level*: the number of distinct n-grams over all replies
  of a model divided by the total number of n-grams over those replies (0-1). Tokens are lowercased
  words and punctuation marks (``TOKEN`` below). Being a ratio over the whole corpus, not a mean of
  per-reply values, its interval comes from ``bootstrap_statistic`` (resampling replies), recentred on
  the observed value because a reply drawn twice repeats its n-grams and biases every resample down.
- **Response length**: whitespace-separated words of the reply, averaged over examples.

Corpus-level metrics are written as functions of per-example draw counts (``weights``, shape (k, n)),
so the same code gives the point estimate, the bootstrap interval and paired differences.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache, lru_cache

import numpy as np

TOKEN = re.compile(r"\w+|[^\w\s]")
Statistic = Callable[[np.ndarray], np.ndarray]


def words(text: str) -> int:
    return len(text.split())


@cache
def _rouge():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(hypothesis: str, reference: str) -> float:
    """ROUGE-L F-measure of one reply against its reference (0 when either is empty)."""
    return float(_rouge().score(reference, hypothesis)["rougeL"].fmeasure)


@cache
def _bleu():
    from sacrebleu.metrics import BLEU

    return BLEU()


@lru_cache(maxsize=64)  # the same replies are scored by aggregate() and by each paired compare()
def _bleu_stats(hypotheses: tuple[str, ...], references: tuple[str, ...]) -> np.ndarray:
    return np.asarray(_bleu()._extract_corpus_statistics(list(hypotheses), [list(references)]), dtype=np.float64)


def bleu_statistic(hypotheses: Sequence[str], references: Sequence[str]) -> Statistic:
    """Corpus BLEU as a function of per-example weights: sacrebleu's sufficient statistics of each
    reply (lengths, matched and total n-grams) are weighted and summed, then scored with sacrebleu's
    formula (``BLEU.compute_bleu``, default ``exp`` smoothing) vectorised over resamples; a unit test
    checks it equals sacrebleu. (``_extract_corpus_statistics`` is what sacrebleu's own paired
    bootstrap uses; the version is pinned in pyproject.toml.)"""
    stats = _bleu_stats(tuple(hypotheses), tuple(references))

    def statistic(weights: np.ndarray) -> np.ndarray:
        return bleu_from_stats(weights.astype(np.float64) @ stats)
    return statistic


def bleu_from_stats(summed: np.ndarray) -> np.ndarray:
    """sacrebleu's corpus BLEU (exp smoothing, 4-grams) of each row [sys_len, ref_len, correct_1..4,
    total_1..4] of summed statistics, in numpy (the per-row Python call dominated the bootstrap)."""
    order = _bleu().max_ngram_order
    summed = np.rint(summed)
    sys_len, ref_len = summed[:, 0], summed[:, 1]
    correct, total = summed[:, 2:2 + order], summed[:, 2 + order:]
    with np.errstate(divide="ignore", invalid="ignore"):
        bp = np.where(sys_len < ref_len, np.where(sys_len > 0, np.exp(1 - ref_len / sys_len), 0.0), 1.0)
        log_p = np.zeros_like(correct)
        smooth = np.ones(len(summed))
        alive = np.ones(len(summed), dtype=bool)   # sacrebleu stops at the first order with no n-grams
        for n in range(order):
            alive &= total[:, n] > 0
            zero = alive & (correct[:, n] == 0)
            smooth = np.where(zero, smooth * 2, smooth)
            p = np.where(zero, 100.0 / (smooth * total[:, n]), 100.0 * correct[:, n] / total[:, n])
            log_p[:, n] = np.where(alive, np.log(np.where(alive, p, 1.0)), -9999999999.0)  # sacrebleu's my_log(0)
    score = bp * np.exp(log_p.sum(axis=1) / order)
    return np.where(correct.any(axis=1), score, 0.0)


def _ngrams(text: str, n: int) -> list[tuple[str, ...]]:
    tokens = TOKEN.findall(text.lower())
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def distinct_statistic(texts: Sequence[str], n: int) -> Statistic:
    """Corpus Distinct-n as a function of per-example weights: an n-gram counts as present in a
    resample if any drawn reply contains it; the denominator is the weighted total n-gram count."""
    vocab: dict[tuple[str, ...], int] = {}
    rows, cols, totals = [], [], np.zeros(len(texts))
    for i, text in enumerate(texts):
        grams = _ngrams(text, n)
        totals[i] = len(grams)
        for g in set(grams):
            rows.append(i)
            cols.append(vocab.setdefault(g, len(vocab)))
    presence = np.zeros((len(texts), max(1, len(vocab))), dtype=np.float32)
    presence[rows, cols] = 1.0

    def statistic(weights: np.ndarray) -> np.ndarray:
        distinct = np.count_nonzero(weights @ presence, axis=1)
        total = weights.astype(np.float64) @ totals
        return np.divide(distinct, total, out=np.zeros(len(total)), where=total > 0)
    return statistic
