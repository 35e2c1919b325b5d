"""The ``paths`` group: every input/output path (conf/paths; dvc.yaml templates them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Paths:
    corpus: str
    rejects: str
    prepared: str
    partitioned: str
    base_model: str
    sft_model: str
    grpo_model: str
    checkpoints: str
    metrics: str
    plots: str
    eval_plots: str
    reports: str
    paper_numbers: str
    mlflow_db: str
    judge_cache: str
    rollouts_cache: str
    synthesized: str
    prompts: str
