"""Per-example scores, their aggregates with 95 % bootstrap intervals, and paired model comparisons.

Rubric dimensions are reported on the paper's 1-5 scale, averaged over the answers the judge scored,
with coverage (share of answers scored: ``judge_coverage`` overall and ``<dimension>_coverage``)
beside them so a judge outage cannot pass for a score. Every model is scored on the same examples, so
two models are compared *paired*: a paired bootstrap interval of the difference for every metric, and
McNemar's exact test for the binary ones.

``reward`` is the run's training objective, Σ λ_i r_i over ``reward.names`` with the rubric term from
the evaluation judge, on held-out examples: what GRPO was asked to raise, as one number per reply.

Two kinds of metric:
- per-example means (``PER_EXAMPLE``): format compliance, emotion accuracy, the five rubric
  dimensions, the λ-weighted reward, ROUGE-L, response length; intervals from ``bootstrap_ci``;
- corpus-level statistics (``CORPUS``): emotion macro-F1, BLEU, Distinct-1/2 (definitions in
  ``emotion.py`` and ``text.py``); intervals from ``bootstrap_statistic``.
"""

from __future__ import annotations

from statistics import mean

from ..format import ResponseFormat
from ..judges import DIMENSIONS, judge_many
from ..labels import normalize_emotion
from ..rewards import reward_terms, weighted_reward
from .emotion import macro_f1_statistic
from .statistics import (
    bootstrap_ci,
    bootstrap_statistic,
    mcnemar,
    paired_bootstrap,
    paired_bootstrap_statistic,
)
from .text_metrics import bleu_statistic, distinct_statistic, rouge_l, words

PER_EXAMPLE = ("format_compliance", "emotion_acc", *DIMENSIONS, "reward", "rouge_l", "response_words")
CORPUS = ("emotion_macro_f1", "bleu", "distinct_1", "distinct_2")
METRICS = PER_EXAMPLE + CORPUS
# Corpus metrics that resampling with replacement biases (duplicated replies repeat their n-grams):
# their intervals use the bootstrap spread around the observed value (statistics.bootstrap_statistic).
RECENTRED = frozenset({"distinct_1", "distinct_2"})
BINARY = {"format_compliance": "format_ok", "emotion_acc": "emotion_ok"}
# The six axes of the paper's radar figure: emotion accuracy and the five rubric dimensions.
RADAR_AXES = ("emotion_acc", *DIMENSIONS)


def score_examples(fmt: ResponseFormat, judge, examples: list[dict], outputs: list[str],
                   reward=None) -> list[dict]:
    """One row per (example, output): format, emotion and the judge's rubric scores (one batch call), and
    the λ-weighted reward of ``reward`` (the ``reward`` config group: names, weights) when given."""
    judged = judge_many(judge, fmt, outputs, [ex["persona"] for ex in examples], [ex["context"] for ex in examples])
    rows = [score_example(fmt, ex, out, j) for ex, out, j in zip(examples, outputs, judged, strict=True)]
    if reward is not None:   # each term by the very reward function GRPO trained with (rewards.REWARDS)
        names = list(reward.names)
        for r, terms in zip(rows, reward_terms(names, fmt, judge, examples, outputs, judged), strict=True):
            r["reward"] = weighted_reward(terms, names, list(reward.weights))
    return rows


def score_example(fmt: ResponseFormat, example: dict, output: str, judgement) -> dict:
    """The prediction record of one example: parsed spans, gold labels, scores and judge reasons
    (``judgement`` None: the judge failed or abstained)."""
    parsed = fmt.parse(output)
    spans = parsed.spans or {}
    # spans exist only for a valid turn, so format_ok / emotion_ok are exactly the format and emotion rewards
    predicted = normalize_emotion(spans["emotion"]) if "emotion" in spans else None
    response = fmt.response_text(output)
    return {
        "id": example["id"],
        "dialogue_id": example.get("dialogue_id"),
        "turn": example.get("turn"),
        "difficulty": example.get("difficulty"),
        "context": example.get("context"),
        "output": output,
        "format_ok": parsed.ok,
        "format_error": parsed.error,
        "spans": spans,
        "response": response,
        "reference": example["reference"],
        "emotion_gold": example["emotion"],
        "emotion_pred": predicted,
        "emotion_ok": predicted == example["emotion"],
        "scores": judgement.scores if judgement is not None else None,
        "judge_reasons": judgement.reasons if judgement is not None else None,
        "rouge_l": rouge_l(response, example["reference"]),
        "response_words": float(words(response)),
    }


def value(row: dict, metric: str) -> float | None:
    """One example's value of a per-example metric; None where the judge did not score it."""
    if metric in BINARY:
        return float(row[BINARY[metric]])
    if metric in DIMENSIONS:
        scores = row["scores"]
        return None if scores is None or scores.get(metric) is None else float(scores[metric])
    if metric == "reward":  # None: a term abstained, or the rows were scored without a reward config
        return row.get("reward")
    return float(row[metric])


def corpus_statistics(rows: list[dict]) -> dict:
    """The corpus-level metrics of a model's rows, each a function of per-example draw counts."""
    responses = [r["response"] for r in rows]
    return {
        "emotion_macro_f1": macro_f1_statistic([r["emotion_gold"] for r in rows], [r["emotion_pred"] for r in rows]),
        "bleu": bleu_statistic(responses, [r["reference"] for r in rows]),
        "distinct_1": distinct_statistic(responses, 1),
        "distinct_2": distinct_statistic(responses, 2),
    }


def aggregate(rows: list[dict], seed: int) -> dict[str, float]:
    """Mean (or corpus value) and 95 % bootstrap interval of every metric, and judge coverage;
    a rubric dimension is absent if the judge scored nothing."""
    if not rows:
        return {}
    out = {"n": float(len(rows)), "judge_coverage": mean(r["scores"] is not None for r in rows)}
    for metric in PER_EXAMPLE:
        values = [v for r in rows if (v := value(r, metric)) is not None]
        if metric in DIMENSIONS:
            out[f"{metric}_coverage"] = len(values) / len(rows)
        if values:
            out[metric], out[f"{metric}_low"], out[f"{metric}_high"] = bootstrap_ci(values, seed=seed)
    for metric, statistic in corpus_statistics(rows).items():
        out[metric], out[f"{metric}_low"], out[f"{metric}_high"] = bootstrap_statistic(
            statistic, len(rows), seed=seed, recentre=metric in RECENTRED)
    return out


def compare(rows_a: list[dict], rows_b: list[dict], seed: int) -> dict[str, float]:
    """Paired differences b - a over the examples both models were scored on (same order)."""
    out = {}

    def record(metric: str, diff: dict[str, float]) -> None:
        out.update({f"{metric}_delta": diff["delta"], f"{metric}_delta_low": diff["low"],
                    f"{metric}_delta_high": diff["high"], f"{metric}_p": diff["p_value"]})

    for metric in PER_EXAMPLE:
        pairs = [(va, vb) for ra, rb in zip(rows_a, rows_b, strict=True)
                 if (va := value(ra, metric)) is not None and (vb := value(rb, metric)) is not None]
        if not pairs:
            continue
        a, b = zip(*pairs)
        record(metric, paired_bootstrap(a, b, seed=seed))
        if metric in BINARY:  # exact test for yes/no outcomes
            out[f"{metric}_p"] = mcnemar([x == 1.0 for x in a], [x == 1.0 for x in b])["p_value"]
    if rows_a:
        stats_a, stats_b = corpus_statistics(rows_a), corpus_statistics(rows_b)
        for metric in CORPUS:
            record(metric, paired_bootstrap_statistic(stats_a[metric], stats_b[metric], len(rows_a), seed=seed,
                                                      recentre=metric in RECENTRED))
    return out
