"""What SFT and GRPO share: load the policy, train with a TRL trainer (resuming a crashed run from its
persistent checkpoints), prove the weights moved, save a plain checkpoint atomically (with evaluate's
generation settings, the default system prompt and a model card: model_card.py), and turn the
trainer's log history into plot series."""

from __future__ import annotations

import csv
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import torch
from datasets import Dataset

from . import checkpoints
from .charts import line_png
from .config import params_hash
from .distributed import is_main, trained_model
from .io import atomic_path, read_jsonl
from .model_card import dress, training_card
from .modeling import (
    apply_lora,
    load_checkpoint,
    merge_lora,
    parameter_fingerprint,
    save_checkpoint,
    set_threads,
)
from .tracking import git_commit, log_artifact, log_dataset, set_tags
from .trainer_logs import compact_logs

log = logging.getLogger("kardia")


def load_examples(path: str | Path, max_examples: int | None, columns: list[str]) -> Dataset:
    return examples_dataset(read_jsonl(path), path, max_examples, columns)


def examples_dataset(examples: list[dict], path: str | Path, max_examples: int | None,
                     columns: list[str]) -> Dataset:
    """The first ``max_examples`` of ``examples`` (read from ``path``) with ``columns`` only."""
    if not examples:
        raise RuntimeError(f"{path} holds no examples")
    if max_examples:
        examples = examples[:max_examples]
    return Dataset.from_list([{c: ex[c] for c in columns} for ex in examples])


def fit(cfg, stage: str, init_path: str, data_path: str | Path, out_path: str,
        make_trainer: Callable[[object, object, str], object]) -> tuple[list[dict], dict[str, float]]:
    """Train the checkpoint at ``init_path`` on ``data_path`` with ``make_trainer(model, tokenizer,
    output_dir)`` and save the result to ``out_path``. The trainer's output_dir is the run's persistent
    checkpoint directory: if a crashed run with the same settings left a checkpoint there, training
    resumes from it. Returns the trainer's log history and weight-change metrics."""
    set_threads()
    log_dataset(data_path, f"{stage}-{Path(data_path).stem}", "training")   # MLflow: name, digest, schema
    model, tokenizer = load_checkpoint(init_path, cfg.model.dtype)
    # the main process alone saves and reports the weight change: one CPU copy of the weights, not one per rank
    before = parameter_fingerprint(model) if is_main() else None
    model = apply_lora(model, cfg.model.lora)
    output_dir = checkpoints.run_dir(cfg, stage, init_path, data_path)  # the same directory on every rank
    trainer = make_trainer(model, tokenizer, str(output_dir))
    compact_logs(trainer, stage)   # one short line per logging step; every value still goes to MLflow
    resume = checkpoints.resume_point(stage, output_dir)
    if resume:
        set_tags({"resumed_from": Path(resume).name})
    trainer.train(resume_from_checkpoint=resume)
    # TRL writes completion tables only for wandb/trackio and to disk: hand them to MLflow.
    log_artifact(output_dir / "completions", "completions")
    metrics = {"train/enabled": 1.0, "train/steps": trainer.state.global_step}
    model = trained_model(trainer, lambda: apply_lora(load_checkpoint(init_path, cfg.model.dtype)[0], cfg.model.lora),
                          merge_lora)   # every rank: gathers shards under ZeRO-3 / FSDP
    if model is not None:
        after = parameter_fingerprint(model)
        save_trained(cfg, stage, model, tokenizer, init_path, data_path, out_path, metrics)
        checkpoints.finish(output_dir)
        delta = torch.linalg.vector_norm(after - before).item()
        metrics["train/weight_change"] = delta / max(torch.linalg.vector_norm(before).item(), 1e-12)
    return trainer.state.log_history, metrics


def save_trained(cfg, stage: str, model, tokenizer, init_path: str, data_path: str | Path, out_path: str,
                 metrics: dict[str, float]) -> None:
    """Save the trained checkpoint atomically with what its users need (model_card.py): evaluate's
    generation settings, the default system prompt in the chat template, and the model card."""
    card = training_card(cfg, stage, init_path, data_path, metrics, git_commit(), params_hash(cfg))
    save_checkpoint(model, tokenizer, out_path, extras=lambda directory: dress(directory, card, cfg.evaluate, cfg.format))


def skip(stage: str, init_path: str, out_path: str, series_path: str | Path, columns: list[str],
         charts: dict[str, tuple[str, list[str]]] | None = None) -> dict[str, float]:
    """A disabled stage (``<stage>.enabled: false``, the SFT-only / GRPO-only ablations): its input
    checkpoint becomes its output unchanged, so the DVC graph stays fixed and evaluate still compares
    base / sft / grpo; the empty loss/reward series keeps the declared plot output in place."""
    log.warning("stage %s is disabled (%s.enabled=false): copying %s to %s unchanged", stage, stage, init_path, out_path)
    if is_main():
        with atomic_path(out_path, is_dir=True) as tmp:
            shutil.copytree(init_path, tmp, dirs_exist_ok=True)
    write_series(series_path, [], dict.fromkeys(columns, ""), charts)
    set_tags({"skipped": "true", "skipped_reason": f"{stage}.enabled=false: {out_path} is a copy of {init_path}"})
    return {"train/enabled": 0.0, "train/steps": 0, "train/weight_change": 0.0}


def write_series(path: str | Path, history: list[dict], columns: dict[str, str],
                 charts: dict[str, tuple[str, list[str]]] | None = None) -> list[dict]:
    """Write the logged steps of ``history`` as CSV rows {'step', <our name>: value}, and each of
    ``charts`` ({file stem: (title, our names)}) as a PNG line chart beside it (stages/core/charts.py).

    ``columns`` maps our metric names to the trainer's log keys; steps missing every key are skipped.
    """
    rows = []
    for entry in history:
        if not any(key in entry for key in columns.values()):
            continue
        rows.append({"step": entry["step"], **{name: entry.get(key, "") for name, key in columns.items()}})
    if not is_main():   # every rank holds the same gathered history; one writes it
        return rows
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["step", *columns])
        writer.writeheader()
        writer.writerows(rows)
    log_artifact(path, "plots")
    for stem, (title, names) in (charts or {}).items():
        png = Path(path).parent / f"{stem}.png"
        line_png(rows, "step", [n for n in names if n in columns], png, title,
                 empty="no logged steps (stage disabled)" if not history else "no values logged")
        log_artifact(png, "plots")
    return rows


def window_mean(rows: list[dict], key: str, first: bool, fraction: float = 0.25) -> float:
    """Mean of ``key`` over the first or last ``fraction`` of logged rows (at least one row)."""
    values = [float(r[key]) for r in rows if r.get(key) not in ("", None)]
    if not values:
        raise RuntimeError(f"the trainer logged no {key!r}")
    n = max(1, int(len(values) * fraction))
    window = values[:n] if first else values[-n:]
    return sum(window) / len(window)
