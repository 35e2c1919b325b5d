"""Where Hugging Face generation runs: the accelerator when one is present, else the CPU.

``from_pretrained`` leaves a model on the CPU, so without this a 7B evaluation, judge or rollout
would silently generate there on a GPU machine. Training is not placed here: the SFT and GRPO
trainers move their models themselves through accelerate.

No config key: ``CUDA_VISIBLE_DEVICES=`` (empty) already forces the CPU, and a GPU is chosen the same
way. The dtype is the caller's (``model.dtype``, ``judge.dtype``), given at load time; on the CPU the
model is not touched at all, so CPU outputs are exactly those of an unplaced model.
"""

from __future__ import annotations

import logging
import os

import torch

log = logging.getLogger("kardia.devices")


def generation_device() -> torch.device:
    """The first accelerator torch sees (CUDA, then XPU, then Apple MPS), else the CPU."""
    # One device per process under torchrun / accelerate launch: every rank on cuda:0 would pile up.
    index = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        return torch.device("cuda", index)
    if hasattr(torch, "xpu") and torch.xpu.is_available():
        return torch.device("xpu", index)
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def to_generation_device(model, what: str):
    """``model`` on ``generation_device()``, with one log line saying where ``what`` generates."""
    device = generation_device()
    if device.type != "cpu":
        model = model.to(device)
    log.info("%s: generating on %s (%s)", what, device, str(model.dtype).removeprefix("torch."))
    return model
