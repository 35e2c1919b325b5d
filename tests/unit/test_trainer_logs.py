"""The logs a user reads: one short line per training logging step, TRL's completion tables only on
request, and a stage-done line that stays short with ~800 metrics."""

import trl.trainer.grpo_trainer as grpo_module
from transformers import PrinterCallback, ProgressCallback

from stages.core.stage import metrics_summary
from stages.core.trainer_logs import (
    MAX_LINE,
    CompactPrinter,
    CompactProgress,
    compact_line,
    compact_logs,
    without_completion_tables,
)

GRPO_LOGS = {"loss": -0.0008068, "grad_norm": 0.06822, "learning_rate": 0.0002, "num_tokens": 14930.0,
             "completions/mean_length": 86.75, "rewards/format/mean": 0.91, "rewards/format/std": 0.1,
             "rewards/emotion/mean": 0.25, "rewards/rubric/mean": 0.5, "reward": 0.55, "reward_std": 0.2,
             "kl": 0.0012, "entropy": 1.9, **{f"judge/{d}": 3.0 for d in ("relevance", "fluency", "empathy")},
             "epoch": 0.05}


def test_one_compact_line_per_step():
    line = compact_line("grpo", 2, 20, GRPO_LOGS)
    assert line.startswith("grpo step 2/20: loss=-0.0008068 reward=0.55 r/format=0.91 r/emotion=0.25 r/rubric=0.5 kl=")
    assert "\n" not in line and len(line) <= MAX_LINE and "judge/" not in line
    assert compact_line("sft", 900, 900, {"train_runtime": 160.2, "train_loss": 2.5}) == \
        "sft step 900/900: train_loss=2.5 runtime_s=160.2"
    assert len(compact_line("x", 1, 1, {"loss": 1.0, **{f"rewards/r{i}/mean": 0.5 for i in range(100)}})) == MAX_LINE


class _Trainer:
    def __init__(self, callbacks):
        self.callbacks = list(callbacks)

    def pop_callback(self, cls):
        for cb in self.callbacks:
            if isinstance(cb, cls):
                self.callbacks.remove(cb)
                return cb
        return None

    def add_callback(self, cb):
        self.callbacks.append(cb)


def test_compact_logs_replaces_the_dict_printers_only():
    other = object()
    trainer = _Trainer([other, ProgressCallback()])
    compact_logs(trainer, "sft")
    assert trainer.callbacks[0] is other and isinstance(trainer.callbacks[1], CompactProgress)
    trainer = _Trainer([PrinterCallback()])
    compact_logs(trainer, "grpo")
    assert [type(cb) for cb in trainer.callbacks] == [CompactPrinter]


def test_completion_tables_are_silenced_but_the_trainer_still_logs():
    printed, logged = [], []

    class Base:
        def log(self, logs, start_time=None):
            grpo_module.print_prompt_completions_sample(["p"], ["c"], {}, [0.0], 1, 1)
            logged.append(logs)

    original = grpo_module.print_prompt_completions_sample
    grpo_module.print_prompt_completions_sample = lambda *a, **k: printed.append(a)
    try:
        quiet = without_completion_tables(Base)
        quiet().log({"loss": 1.0})
        assert printed == [] and logged == [{"loss": 1.0}] and quiet.__name__ == "Base"
        Base().log({"loss": 2.0})
        assert len(printed) == 1   # patched for the call only
    finally:
        grpo_module.print_prompt_completions_sample = original


def test_stage_done_line_stays_short_with_hundreds_of_metrics():
    few = {"train/steps": 20, "train/loss_end": 1.25}
    assert metrics_summary(few, "metrics/sft.json") == "train/loss_end=1.25, train/steps=20"
    many = {f"eval/grpo/metric_{i:03d}": i / 7 for i in range(789)}
    line = metrics_summary(many, "metrics/evaluate.json")
    assert len(line) < 250 and line.endswith("more in metrics/evaluate.json)")
