"""BLEU, ROUGE-L, Distinct-n, macro-F1 and corpus-statistic bootstrap: definitions checked by hand."""

import numpy as np
import pytest

from stages.core.evaluation.emotion import NO_SPAN, OTHER, confusion_records, macro_f1_statistic
from stages.core.evaluation.statistics import (
    bootstrap_statistic,
    paired_bootstrap_statistic,
    resample_weights,
)
from stages.core.evaluation.text_metrics import bleu_statistic, distinct_statistic, rouge_l, words

ONE = np.ones((1, 3), dtype=np.float32)


def test_distinct_is_corpus_level_distinct_over_total():
    texts = ["I hear you.", "I hear you.", "That is hard"]
    # unigrams: i hear you . | i hear you . | that is hard -> 7 distinct of 11
    assert distinct_statistic(texts, 1)(ONE)[0] == pytest.approx(7 / 11)
    # bigrams: (i hear)(hear you)(you .) x2 + (that is)(is hard) -> 5 distinct of 8
    assert distinct_statistic(texts, 2)(ONE)[0] == pytest.approx(5 / 8)
    # weights are draw counts: drawing only the third reply twice repeats its n-grams
    assert distinct_statistic(texts, 1)(np.array([[0, 0, 2]], dtype=np.float32))[0] == pytest.approx(3 / 6)
    assert distinct_statistic(["", ""], 2)(np.ones((1, 2), dtype=np.float32))[0] == 0.0


def test_bleu_matches_sacrebleu_corpus_score():
    import sacrebleu

    hyps = ["the cat sat on the mat", "hello there friend", "completely different"]
    refs = ["the cat sat on a mat", "hello there my friend", "nothing alike here"]
    ours = bleu_statistic(hyps, refs)(ONE)[0]
    assert ours == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert bleu_statistic(refs, refs)(ONE)[0] == pytest.approx(100.0)


def test_rouge_l_and_words():
    assert rouge_l("I hear you", "I hear you") == pytest.approx(1.0)
    assert rouge_l("", "I hear you") == 0.0
    assert 0 < rouge_l("I really hear you", "I hear you") < 1
    assert words("  two\nwords ") == 2


def test_macro_f1_over_gold_labels():
    gold = ["sad", "sad", "angry", "joyful"]
    pred = ["sad", "angry", "angry", None]
    # sad: tp1 fn1 -> 2/3; angry: tp1 fp1 -> 2/3; joyful: fn1 -> 0 => mean 4/9
    stat = macro_f1_statistic(gold, pred)
    assert stat(np.ones((1, 4), dtype=np.float32))[0] == pytest.approx(4 / 9)
    assert stat(np.array([[1, 0, 1, 0]], dtype=np.float32))[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="outside the 32 labels"):
        macro_f1_statistic(["meh"], ["sad"])


def test_confusion_records_for_dvc_template():
    assert confusion_records(["sad", "sad", "angry"], ["sad", None, "vibes"]) == [
        {"actual": "sad", "predicted": "sad"}, {"actual": "sad", "predicted": NO_SPAN},
        {"actual": "angry", "predicted": OTHER}]


def test_resample_weights_are_draw_counts():
    w = resample_weights(7, 50, seed=3)
    assert w.shape == (50, 7) and np.all(w.sum(axis=1) == 7)
    assert np.array_equal(w, resample_weights(7, 50, seed=3))


def test_bootstrap_statistic_of_a_mean_matches_its_values():
    x = np.arange(30, dtype=float)

    def mean(weights):
        return weights @ x / weights.sum(axis=1)

    value, low, high = bootstrap_statistic(mean, 30, seed=0)
    assert value == pytest.approx(14.5) and low < value < high
    diff = paired_bootstrap_statistic(mean, lambda w: mean(w) + 1.0, 30, seed=0)
    assert diff["delta"] == pytest.approx(1.0) and diff["low"] == pytest.approx(1.0) and diff["p_value"] < 0.01


def test_recentring_keeps_a_resampling_biased_statistic_around_its_value():
    texts = [f"reply number {i} with words" for i in range(50)]
    stat = distinct_statistic(texts, 1)
    raw = bootstrap_statistic(stat, 50, seed=0)
    fixed = bootstrap_statistic(stat, 50, seed=0, recentre=True)
    assert raw[2] < raw[0]                      # duplicates push every resample below the corpus value
    assert fixed[1] < fixed[0] < fixed[2]


def test_vectorised_bleu_equals_sacrebleu_on_random_statistics():
    from sacrebleu.metrics import BLEU

    from stages.core.evaluation.text_metrics import bleu_from_stats

    rng = np.random.default_rng(0)
    rows = []
    for _ in range(300):
        total = rng.integers(0, 40, size=4)
        total[rng.random(4) < 0.1] = 0
        correct = np.minimum(total, rng.integers(0, 20, size=4)) * (rng.random(4) > 0.3)
        rows.append([rng.integers(0, 60), rng.integers(1, 60), *correct, *total])
    rows = np.array(rows, dtype=float)
    bleu = BLEU()
    expected = [bleu._compute_score_from_stats([int(x) for x in r]).score for r in rows]
    assert bleu_from_stats(rows) == pytest.approx(expected, abs=1e-9)
