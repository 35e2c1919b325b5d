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

A model's rows may hold several replies per example (evaluate.sampled: consecutive rows numbered by
``sample``, 0 first). The example stays the unit: its value is the mean over its replies, the bootstrap resamples
examples (all replies of a drawn example come along, corpus metrics included), and the paired test of
a binary metric is the bootstrap's, McNemar's only where both models gave one reply per example.
"""

from __future__ import annotations

from statistics import mean

import numpy as np

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


def by_example(rows: list[dict]) -> list[list[dict]]:
    """``rows`` grouped by example: a row with ``sample`` > 0 is another reply to the example before it
    (one row each when greedy: no ``sample``)."""
    groups: list[list[dict]] = []
    for r in rows:
        if groups and r.get("sample", 0) > 0:
            groups[-1].append(r)
        else:
            groups.append([r])
    return groups


def example_values(groups: list[list[dict]], metric: str) -> list[float | None]:
    """Per example, the mean of ``metric`` over its replies that have a value; None where none has."""
    out = []
    for group in groups:
        values = [v for r in group if (v := value(r, metric)) is not None]
        out.append(mean(values) if values else None)
    return out


def corpus_statistics(rows: list[dict]) -> dict:
    """The corpus-level metrics of a model's rows, each a function of per-example draw counts."""
    responses = [r["response"] for r in rows]
    stats = {
        "emotion_macro_f1": macro_f1_statistic([r["emotion_gold"] for r in rows], [r["emotion_pred"] for r in rows]),
        "bleu": bleu_statistic(responses, [r["reference"] for r in rows]),
        "distinct_1": distinct_statistic(responses, 1),
        "distinct_2": distinct_statistic(responses, 2),
    }
    sizes = [len(g) for g in by_example(rows)]
    if len(sizes) == len(rows):
        return stats
    # an example drawn w times by the bootstrap brings each of its replies w times
    return {k: (lambda w, stat=stat: stat(np.repeat(w, sizes, axis=1))) for k, stat in stats.items()}


def aggregate(rows: list[dict], seed: int) -> dict[str, float]:
    """Mean (or corpus value) and 95 % bootstrap interval of every metric over examples, and judge
    coverage (share of replies scored); a rubric dimension is absent if the judge scored nothing."""
    if not rows:
        return {}
    groups = by_example(rows)
    out = {"n": float(len(groups)), "judge_coverage": mean(r["scores"] is not None for r in rows)}
    for metric in PER_EXAMPLE:
        if metric in DIMENSIONS:
            out[f"{metric}_coverage"] = mean(value(r, metric) is not None for r in rows)
        values = [v for v in example_values(groups, metric) if v is not None]
        if values:
            out[metric], out[f"{metric}_low"], out[f"{metric}_high"] = bootstrap_ci(values, seed=seed)
    for metric, statistic in corpus_statistics(rows).items():
        out[metric], out[f"{metric}_low"], out[f"{metric}_high"] = bootstrap_statistic(
            statistic, len(groups), seed=seed, recentre=metric in RECENTRED)
    return out


def compare(rows_a: list[dict], rows_b: list[dict], seed: int) -> dict[str, float]:
    """Paired differences b - a over the examples both models were scored on (same examples, same order)."""
    groups_a, groups_b = by_example(rows_a), by_example(rows_b)
    ids_a, ids_b = [g[0].get("id") for g in groups_a], [g[0].get("id") for g in groups_b]
    if ids_a != ids_b:
        raise ValueError(f"a paired comparison needs the same examples in the same order: {len(ids_a)} "
                         f"examples ({ids_a[:3]}...) against {len(ids_b)} ({ids_b[:3]}...)")
    one_reply = len(groups_a) == len(rows_a) and len(groups_b) == len(rows_b)
    out = {}

    def record(metric: str, diff: dict[str, float]) -> None:
        out.update({f"{metric}_delta": diff["delta"], f"{metric}_delta_low": diff["low"],
                    f"{metric}_delta_high": diff["high"], f"{metric}_p": diff["p_value"]})

    for metric in PER_EXAMPLE:
        pairs = [(va, vb) for va, vb in zip(example_values(groups_a, metric), example_values(groups_b, metric))
                 if va is not None and vb is not None]
        if not pairs:
            continue
        a, b = zip(*pairs)
        record(metric, paired_bootstrap(a, b, seed=seed))
        if metric in BINARY and one_reply:  # exact test for yes/no outcomes
            out[f"{metric}_p"] = mcnemar([x == 1.0 for x in a], [x == 1.0 for x in b])["p_value"]
    if rows_a:
        stats_a, stats_b = corpus_statistics(rows_a), corpus_statistics(rows_b)
        for metric in CORPUS:
            record(metric, paired_bootstrap_statistic(stats_a[metric], stats_b[metric], len(groups_a), seed=seed,
                                                      recentre=metric in RECENTRED))
    return out
