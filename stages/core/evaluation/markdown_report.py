"""The Markdown report of the evaluate stage (reports/eval.md), from its flat metrics dict."""

from __future__ import annotations

import json

from ..judges import DIMENSIONS

PAPER_TABLE = ("format_compliance", "emotion_acc", "emotion_macro_f1", *DIMENSIONS, "reward")
TEXT_TABLE = ("bleu", "rouge_l", "distinct_1", "distinct_2", "response_words")

DEFINITIONS = """Definitions: format = all spans present, in order, non-empty; emotion acc = exact match of
the normalised emotion span with the gold label; macro-F1 = mean per-label F1 over the labels that
occur as gold (a reply without an emotion span predicts no label); rubric dimensions = the evaluation
judge's 1-5 scores of the response span, averaged over the answers it scored, `cov` = share of answers
scored; reward = the run's λ-weighted training reward Σ λ_i r_i (format, emotion match, rubric in
[0, 1] from the evaluation judge) per reply, what GRPO maximised; BLEU = sacrebleu corpus BLEU (0-100) of the response span against the gold response; ROUGE-L =
mean ROUGE-L F-measure (rouge-score); Distinct-n = distinct n-grams / all n-grams over all replies of
a model (corpus level, lowercased word and punctuation tokens); length = words per reply. Intervals:
95 % percentile bootstrap over examples (2000 resamples; corpus metrics recomputed per resample; for
Distinct-n, whose resamples are biased down by duplicated replies, the bootstrap spread is centred on
the observed value)."""


def interval(metrics: dict[str, float], key: str, digits: int = 3) -> str:
    """'mean [low, high]' of a metric, or a dash where it was not measured."""
    if key not in metrics:
        return "–"
    f = f"{{:.{digits}f}}"
    cell = f"{f.format(metrics[key])} [{f.format(metrics[f'{key}_low'])}, {f.format(metrics[f'{key}_high'])}]"
    metric = key.rsplit("/", 1)[1]
    if metric in DIMENSIONS:
        cell += f" cov {metrics[f'{key}_coverage']:.2f}"
    return cell


def difference(metrics: dict[str, float], key: str) -> str:
    if f"{key}_delta" not in metrics:
        return "–"
    return (f"{metrics[f'{key}_delta']:+.3f} [{metrics[f'{key}_delta_low']:+.3f}, "
            f"{metrics[f'{key}_delta_high']:+.3f}] p={metrics[f'{key}_p']:.3f}")


def _table(metrics, subsets, models, columns, digits=3) -> list[str]:
    lines = ["| model | subset | n | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 3)]
    for subset in subsets:
        for m in models:
            key = f"{subset}/{m}"
            if f"{key}/n" in metrics:
                cells = [interval(metrics, f"{key}/{c}", 2 if c in ("bleu", "response_words") else digits)
                         for c in columns]
                lines.append(f"| {m} | {subset} | {int(metrics[f'{key}/n'])} | " + " | ".join(cells) + " |")
    return lines


def _diff_table(metrics, subsets, pairs, columns) -> list[str]:
    lines = ["| comparison | subset | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 2)]
    for subset in subsets:
        for a, b in pairs:
            cells = [difference(metrics, f"{subset}/{b}_vs_{a}/{c}") for c in columns]
            lines.append(f"| {b} vs {a} | {subset} | " + " | ".join(cells) + " |")
    return lines


def _reference_table(metrics, subsets, models, references) -> list[str]:
    """Emotion accuracy of the models beside the label-only reference rows, one column per subset."""
    lines = ["| row | " + " | ".join(subsets) + " |", "|" + "---|" * (len(subsets) + 1)]
    for name in [*references, *models]:
        lines.append(f"| {name} | " + " | ".join(interval(metrics, f"{s}/{name}/emotion_acc") for s in subsets) + " |")
    return lines


def paper_table(metrics: dict[str, float], subsets: list[str], models: list[str]) -> str:
    """The table of the paper's axes (mean [95 % interval]) for ``models``, as Markdown."""
    return "\n".join(_table(metrics, subsets, models, PAPER_TABLE))


def markdown_report(metrics: dict[str, float], subsets: list[str], models: list[str],
                    pairs: list[tuple[str, str]], settings: dict, references: list[str] = ()) -> str:
    lines = ["# Evaluation on held-out personas", "",
             ("Mean and 95 % bootstrap interval per model (same examples for every model). A `_sampled` row "
              "scores replies sampled at the temperature in the settings below, several per example, averaged "
              "per example; the other rows score one greedy reply."), "",
             "## The paper's axes", "", *_table(metrics, subsets, models, PAPER_TABLE), "",
             "## Emotion accuracy against label-only references", "",
             ("`majority`: the most common training label for every example (no emotion learned); `bow`: "
              "TF-IDF word 1-2-grams of the dialogue context + logistic regression trained on the training "
              "split, a simple non-neural ceiling of the learnable signal."), "",
             *_reference_table(metrics, subsets, models, references), "",
             "## Reference overlap, diversity, length", "", *_table(metrics, subsets, models, TEXT_TABLE), "",
             "## Paired differences", "",
             ("Later minus earlier model: delta [95 % interval], p (McNemar exact for format / emotion "
              "accuracy of one reply per example, paired bootstrap otherwise; corpus metrics recomputed on the same resampled examples "
              "for both models)."), "",
             *_diff_table(metrics, subsets, pairs, PAPER_TABLE), "",
             *_diff_table(metrics, subsets, pairs, TEXT_TABLE), "",
             DEFINITIONS, "",
             "Settings: " + json.dumps(settings, sort_keys=True)]
    return "\n".join(lines) + "\n"
