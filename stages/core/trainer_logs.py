"""What the sft and grpo trainers print: one compact line per logging step, and TRL's rich completion
tables only on request (``grpo.print_completions``).

The Trainer prints every logged value as one Python dict per step (GRPO: ~40 keys, 1.2k characters),
and TRL's GRPOTrainer adds a rich table of sampled completions per step (most of a GRPO log). The full
values still reach MLflow (the Trainer's MLflow callback), the log history (plots/*.csv) and, for
completions, ``<output_dir>/completions/*.parquet`` logged to MLflow by the stage.
"""

from __future__ import annotations

from unittest import mock

from transformers import PrinterCallback, ProgressCallback

# (trainer key, shown as), in this order, where logged; rewards/<name>/mean come after `reward`.
SHOWN = (("loss", "loss"), ("reward", "reward"), ("kl", "kl"), ("completions/mean_length", "len"),
         ("mean_token_accuracy", "acc"), ("grad_norm", "grad_norm"), ("learning_rate", "lr"),
         ("train_loss", "train_loss"), ("train_runtime", "runtime_s"))
MAX_LINE = 200


def _value(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def compact_line(stage: str, step: int, max_steps: int, logs: dict) -> str:
    """``<stage> step N/M: loss=… reward=… r/format=… …``, at most MAX_LINE characters."""
    parts = []
    for key, name in SHOWN:
        if logs.get(key) is not None:
            parts.append(f"{name}={_value(logs[key])}")
        if key == "reward":
            parts += [f"r/{k.split('/')[1]}={_value(v)}" for k, v in logs.items()
                      if k.startswith("rewards/") and k.endswith("/mean") and v is not None]
    line = f"{stage} step {step}/{max_steps}: " + " ".join(parts)
    return line if len(line) <= MAX_LINE else line[:MAX_LINE - 1] + "…"


class CompactProgress(ProgressCallback):
    """The Trainer's progress bar, with a compact line per logging step instead of the dict."""

    def __init__(self, stage: str):
        super().__init__()
        self.stage = stage

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and self.training_bar is not None and logs:
            self.training_bar.write(compact_line(self.stage, state.global_step, state.max_steps, logs))


class CompactPrinter(PrinterCallback):
    """``disable_tqdm=True``: a compact line per logging step instead of the dict."""

    def __init__(self, stage: str):
        self.stage = stage

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_local_process_zero and logs:
            print(compact_line(self.stage, state.global_step, state.max_steps, logs), flush=True)


def compact_logs(trainer, stage: str) -> None:
    """Replace the Trainer's printing callbacks with the compact ones (the others stay)."""
    for old, new in ((ProgressCallback, CompactProgress), (PrinterCallback, CompactPrinter)):
        if trainer.pop_callback(old) is not None:
            trainer.add_callback(new(stage))


def without_completion_tables(trainer_class: type) -> type:
    """``trainer_class`` (a GRPOTrainer) with TRL's rich completion tables silenced; the completions
    are still written to parquet with ``log_completions``."""
    import trl.trainer.grpo_trainer as grpo_module

    class Quiet(trainer_class):
        def log(self, logs, start_time=None):
            with mock.patch.object(grpo_module, "print_prompt_completions_sample", lambda *a, **k: None):
                super().log(logs, start_time)

    Quiet.__name__ = Quiet.__qualname__ = trainer_class.__name__
    return Quiet
