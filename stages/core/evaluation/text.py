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
    reply (lengths, matched and total n-grams), weighted and summed, then scored by sacrebleu.
    (``_extract_corpus_statistics`` / ``_compute_score_from_stats`` are what sacrebleu's own paired
    bootstrap uses; the version is pinned in pyproject.toml.)"""
    bleu = _bleu()
    stats = _bleu_stats(tuple(hypotheses), tuple(references))

    def statistic(weights: np.ndarray) -> np.ndarray:
        summed = weights.astype(np.float64) @ stats
        return np.array([bleu._compute_score_from_stats(row.tolist()).score for row in summed.round().astype(np.int64)])
    return statistic


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
