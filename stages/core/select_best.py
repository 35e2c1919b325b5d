"""GRPO's best checkpoint (``grpo.select_best``): the paper reports the best RL checkpoint, so every
``every_steps`` optimizer steps and at the end of training the policy answers a held-out dev slice of
the hard prompts greedily, the run's own reward functions score the answers, and the weights of the
step with the best dev metric become ``models/grpo``.

* The dev slice is a fixed, seeded sample of the hard split, held out of GRPO's training prompts
  (``split_dev``): training sees ``dev_examples`` fewer prompts.
* The metric is ``reward`` (r = Σ λ_i r_i, the sum GRPO maximises) or one term of it (``emotion``,
  ``format``, ``rubric``): its mean over the dev answers the reward scored (a judge that abstains
  leaves an answer out, as in training).
* ``Selection`` keeps the maximum; a tie keeps the earliest step (fewer updates away from SFT).
* The best weights are kept on the main process as a CPU copy of the state dict (the trainer's
  optimizer state is not needed to save a model). Every process of one-process, DDP and ZeRO-2 runs
  holds the whole model; ZeRO-3 and FSDP shard it and are refused at config time (config/load.py).
* Evaluation forks the RNG, so training draws the same samples with selection on or off.
* The kept weights are not persisted: a run resumed from a trainer checkpoint (checkpoints.py)
  chooses among the steps after the one it resumed from, and says so in its log.
"""

from __future__ import annotations

import logging
import math
import random
import sys
from dataclasses import dataclass, field

import torch
from transformers import TrainerCallback

from .distributed import is_main
from .generation import generate
from .rewards import weighted_reward

log = logging.getLogger("kardia")


def split_dev(examples: list[dict], n: int, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, dev): ``n`` examples drawn with ``seed`` are the dev slice, the rest (in file order)
    the training prompts. Refuses a dev slice that would leave no training prompts."""
    if n >= len(examples):
        raise ValueError(f"grpo.select_best.dev_examples={n} leaves none of the {len(examples)} hard "
                         "prompts for training: lower it")
    chosen = set(random.Random(seed).sample(range(len(examples)), n))
    return ([ex for i, ex in enumerate(examples) if i not in chosen],
            [ex for i, ex in enumerate(examples) if i in chosen])


@dataclass
class Selection:
    """The dev metric per evaluated step and the best of them (max; ties keep the earliest step)."""

    history: list[tuple[int, float]] = field(default_factory=list)
    best_step: int | None = None
    best_value: float | None = None

    def record(self, step: int, value: float) -> bool:
        """Record the dev metric at ``step``; True when it is the new best (keep these weights)."""
        self.history.append((step, value))
        if self.best_value is None or value > self.best_value:
            self.best_step, self.best_value = step, value
            return True
        return False

    def evaluated(self, step: int) -> bool:
        return any(s == step for s, _ in self.history)


def dev_scores(completions: list[str], dev: list[dict], reward_funcs, names: list[str],
               weights: list[float]) -> dict[str, float]:
    """Mean of each reward term and of the weighted reward over the dev answers each one scored, and
    the share of answers the weighted reward scored (``coverage``)."""
    prompts = [ex["prompt"] for ex in dev]
    columns = {k: [ex[k] for ex in dev] for k in dev[0] if k != "prompt"}
    wrapped = [[{"role": "assistant", "content": c}] for c in completions]   # TRL's conversational form
    terms = {name: fn(prompts=prompts, completions=wrapped, **columns) for name, fn in zip(names, reward_funcs)}
    totals = [weighted_reward({n: terms[n][i] for n in names}, names, weights) for i in range(len(dev))]
    scores = {}
    for name, values in (("reward", totals), *terms.items()):
        scored = [v for v in values if v is not None]
        scores[name] = sum(scored) / len(scored) if scored else float("nan")
    scores["coverage"] = sum(v is not None for v in totals) / len(totals)
    return scores


def log_step_metrics(metrics: dict[str, float], step: int) -> None:
    """To the stage's MLflow run at ``step``; nothing without one (``--no-track``)."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None and mlflow.active_run() is not None:
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)


class SelectBestCallback(TrainerCallback):
    """Evaluate the policy on the dev slice every ``every_steps`` optimizer steps and at the end of
    training; keep the best step's weights and load them into the model when training ends (before
    the stage saves it). Works on the main process only; the other ranks go on to the next collective
    and wait there."""

    def __init__(self, cfg, tokenizer, dev: list[dict], reward_funcs, names: list[str], weights: list[float]):
        sb = cfg.grpo.select_best
        self.every_steps, self.metric = sb.every_steps, sb.metric
        self.batch_size = sb.batch_size
        self.max_new_tokens = cfg.grpo.trainer.get("max_completion_length", 256)
        self.tokenizer, self.dev = tokenizer, dev
        self.reward_funcs, self.names, self.weights = reward_funcs, names, weights
        self.selection = Selection()
        self.scores: dict[int, dict[str, float]] = {}
        self.best_state: dict[str, torch.Tensor] | None = None
        self.seed = cfg.seed

    def evaluate(self, model, step: int) -> None:
        if not is_main() or self.selection.evaluated(step):
            return
        training, padding_side = model.training, self.tokenizer.padding_side
        devices = [model.device.index or 0] if model.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):   # training's samples do not depend on selection
            completions = generate(model, self.tokenizer, [ex["prompt"] for ex in self.dev],
                                   batch_size=self.batch_size, max_new_tokens=self.max_new_tokens,
                                   seed=self.seed, desc=f"select_best step {step}", progress=False)
        model.train(training)
        self.tokenizer.padding_side = padding_side
        scores = dev_scores(completions, self.dev, self.reward_funcs, self.names, self.weights)
        value = scores[self.metric]
        if math.isnan(value):  # NaN: the reward scored no dev answer (the judge abstained on all)
            log.warning("select_best: step %d: no dev answer was scored for %s; not a candidate", step, self.metric)
            return
        self.scores[step] = scores
        log_step_metrics({f"dev/{k}": v for k, v in scores.items() if not math.isnan(v)}, step)
        if self.selection.record(step, value):
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        log.info("select_best: step %d dev %s %.4f (best: step %d, %.4f)", step, self.metric, value,
                 self.selection.best_step, self.selection.best_value)

    def on_train_begin(self, args, state, control, **kwargs):
        if state.global_step > 0 and is_main():   # resumed from a trainer checkpoint
            log.warning("select_best: resumed at step %d; the kept weights live in memory only, so steps "
                        "before it are not candidates: the best is chosen among steps %d..%d",
                        state.global_step, state.global_step + 1, state.max_steps)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.every_steps == 0:
            self.evaluate(model, state.global_step)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self.evaluate(model, state.global_step)
        if not is_main() or self.best_state is None:
            return
        model.load_state_dict(self.best_state)
        self.best_state = None
        log.info("select_best: keeping step %d of %d (dev %s %.4f over %d evaluations: %s)",
                 self.selection.best_step, state.global_step, self.metric, self.selection.best_value,
                 len(self.selection.history),
                 ", ".join(f"{s}: {v:.4f}" for s, v in self.selection.history))

    def metrics(self) -> dict[str, float]:
        """What metrics/grpo.json records: the kept step, its dev scores and the last evaluation's."""
        sel = self.selection
        if sel.best_step is None:
            return {}
        last_step = sel.history[-1][0]
        out = {"train/best_step": sel.best_step, "dev/examples": len(self.dev),
               "dev/evaluations": len(sel.history), f"dev/{self.metric}_best": sel.best_value,
               f"dev/{self.metric}_last": self.scores[last_step][self.metric]}
        out.update({f"dev/best/{k}": v for k, v in self.scores[sel.best_step].items() if not math.isnan(v)})
        return out
