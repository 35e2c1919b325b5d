"""Policy averaging for GRPO (``grpo.average``): the saved model is an exponential moving average of
the trainable weights over the optimizer steps, not the last step's weights.

Why: each GRPO step follows the advantages of a few sampled groups (4 prompts x G on the embedded
default), so the last iterate lands wherever the last steps' samples pushed it; the same recipe drawn
again from one SFT checkpoint moved all-example emotion accuracy by -0.019 to +0.070
(docs/results.md). An average over the last ~1 / (1 - decay) steps (Polyak-Ruppert averaging) keeps
the trend and smooths that noise out; the price is a lag of about as many steps behind the trend.
On the embedded default (60 steps, decay 0.9) it did not help: the averaged policy gained less where
the last step gained (docs/results.md, "Two ways to damp GRPO's own draw"), so it is off there.

* The average starts at the initial (SFT) weights and is updated after every optimizer step:
  avg <- decay * avg + (1 - decay) * weights. It is kept in float32 on the weights' device.
* When training ends the average is copied into the model, before the stage saves it.
* The average is not persisted: a run resumed from a trainer checkpoint (checkpoints.py) starts it
  at the resumed weights.
* Every process of one-process, DDP and ZeRO-2 runs holds the whole model; ZeRO-3 and FSDP shard it
  and are refused at config time, as for best-checkpoint selection (config/load.py), which this
  excludes: both decide which weights are saved.
"""

from __future__ import annotations

import torch
from transformers import TrainerCallback


class WeightAverageCallback(TrainerCallback):
    def __init__(self, decay: float):
        if not 0 < decay < 1:
            raise ValueError(f"grpo.average must be in (0, 1), got {decay}")
        self.decay = decay
        self.average: dict[str, torch.Tensor] = {}
        self.updates = 0

    @staticmethod
    def _trained(model) -> dict[str, torch.nn.Parameter]:
        return {name: p for name, p in model.named_parameters() if p.requires_grad}

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.average = {name: p.detach().float().clone() for name, p in self._trained(model).items()}
        self.updates = 0

    @torch.no_grad()
    def on_step_end(self, args, state, control, model=None, **kwargs):
        for name, p in self._trained(model).items():
            self.average[name].lerp_(p.detach().float(), 1 - self.decay)
        self.updates += 1

    @torch.no_grad()
    def on_train_end(self, args, state, control, model=None, **kwargs):
        if not self.updates:   # no step taken here (resumed at the end): the weights stay as they are
            return
        for name, p in self._trained(model).items():
            p.copy_(self.average[name].to(p.dtype))

    def metrics(self) -> dict[str, float]:
        return {"train/average_decay": self.decay, "train/average_updates": self.updates}
