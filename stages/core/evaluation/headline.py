"""The headline of an evaluation: the few values a reader compares across runs.

metrics/evaluate.json holds every value (~800: per subset, model, metric, interval and comparison);
``dvc exp show`` lists the headline file only (dvc.yaml declares it the evaluate stage's metric, the
full file a plain output), and the MLflow parent run of the pipeline gets the same values.
"""

from __future__ import annotations

# [ours] evaluate.headline's default, kept here for configs that predate it; a key a run does not
# produce (a model not in evaluate.models) is left out, not an error.
DEFAULT_HEADLINE = [
    "eval/sft/format_compliance",
    "eval/grpo/format_compliance",
    "eval/sft/emotion_acc",
    "eval/grpo/emotion_acc",
    "eval_hard/sft/emotion_acc",
    "eval_hard/grpo/emotion_acc",
    "eval/grpo_vs_sft/emotion_acc_delta",
    "eval/grpo_vs_sft/emotion_acc_p",
    "eval_hard/grpo_vs_sft/emotion_acc_delta",
    "eval_hard/grpo_vs_sft/emotion_acc_p",
    "eval/majority/emotion_acc",
    "eval/bow/emotion_acc",
    "eval_hard/majority/emotion_acc",
    "eval_hard/bow/emotion_acc",
    "eval/sft/reward",
    "eval/grpo/reward",
    "eval/grpo_vs_sft/reward_delta",
    "eval/grpo_vs_sft/reward_p",
]

MAX_HEADLINE = 24   # a table column each in `dvc exp show`: more is no longer a headline


def headline(metrics: dict[str, float], keys: list[str]) -> dict[str, float]:
    """``keys`` of ``metrics`` that are there, in their order."""
    return {k: float(metrics[k]) for k in keys if k in metrics}


HEADLINE_FILE = "headline.json"   # under paths.metrics
