"""Emotion classification quality over the 32 labels: macro-F1 and the confusion matrix.

A prediction is the normalised emotion span. A reply without a parseable emotion span predicts
``NO_SPAN``; a span that is not one of the 32 labels predicts ``OTHER``. Both count as wrong for every
class (a false negative of the gold class, a false positive of none of the 32).

**Macro-F1** is the unweighted mean of per-label F1 = 2·TP / (2·TP + FP + FN) over the labels that
occur as gold in the evaluated examples (sklearn's ``labels=<gold labels>`` convention: a label with
no gold example has no defined recall). It is written as a function of per-example draw counts, like
the corpus metrics of ``text.py``, so it gets a bootstrap interval and paired differences.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..labels import EMOTION_SET, EMOTIONS

NO_SPAN, OTHER = "(no span)", "(other)"
INDEX = {label: i for i, label in enumerate(EMOTIONS)}


def predicted_label(pred: str | None) -> str:
    if pred is None:
        return NO_SPAN
    return pred if pred in EMOTION_SET else OTHER


def _one_hot(labels: Sequence[str]) -> np.ndarray:
    out = np.zeros((len(labels), len(EMOTIONS)), dtype=np.float32)
    for i, label in enumerate(labels):
        if label in INDEX:
            out[i, INDEX[label]] = 1.0
    return out


def macro_f1_statistic(gold: Sequence[str], pred: Sequence[str | None]):
    unknown = sorted({g for g in gold if g not in INDEX})
    if unknown:
        raise ValueError(f"gold emotions outside the 32 labels: {unknown}")
    g, p = _one_hot(gold), _one_hot([predicted_label(x) for x in pred])
    hit = g * p

    def statistic(weights: np.ndarray) -> np.ndarray:
        tp, n_gold, n_pred = weights @ hit, weights @ g, weights @ p
        present = n_gold > 0
        f1 = np.divide(2 * tp, n_gold + n_pred, out=np.zeros_like(tp), where=present)
        return (f1 * present).sum(axis=1) / np.maximum(present.sum(axis=1), 1)
    return statistic


def confusion_records(gold: Sequence[str], pred: Sequence[str | None]) -> list[dict[str, str]]:
    """One {actual, predicted} record per example: the data format of DVC's ``confusion`` template."""
    return [{"actual": a, "predicted": predicted_label(b)} for a, b in zip(gold, pred, strict=True)]
