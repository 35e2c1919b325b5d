"""The SFT loss computed only where it is needed: logits for the completion tokens, nothing else.

TRL 1.16's SFTTrainer always runs its fused LM head (``trl/kernels/chunked_logprob.py``): a chunked
log-prob kernel that also computes the per-token entropy and top-1 hit for its logged metrics. It
saves memory with a 150k-token vocabulary on a GPU, which is why the paper configs keep it
(``sft.loss: fused``). On the embedded CPU backbone its Python tile loops took 0.10 s of a 0.28 s
step (cProfile of 60 SFT steps; 360 steps took 102 s with it and 52 s without), and it projects
every prompt token onto the vocabulary although only completion tokens carry a label.
``sft.loss: completion`` computes the same token-mean cross-entropy (TRL's ``nll``) from logits
at the labelled positions only (transformers' boolean ``logits_to_keep``), and logs the token
accuracy from those logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from trl import SFTTrainer

IGNORE = -100


def completion_loss(model, inputs: dict, num_items_in_batch=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, correct top-1 count, labelled token count) of a causal LM batch with -100-masked labels.

    Position t's logits predict token t + 1, so the kept positions are those whose *next* label is
    set. The loss is summed and divided by ``num_items_in_batch`` (the Trainer's count over the whole
    accumulated batch, so gradient accumulation needs no further scaling) or by this batch's count.
    """
    labels = inputs["labels"]
    targets = labels[:, 1:]
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = targets != IGNORE
    forward = {k: v for k, v in inputs.items() if k != "labels"}
    logits = model(**forward, logits_to_keep=keep, use_cache=False).logits
    logits = logits.reshape(-1, logits.shape[-1])
    gold = targets[targets != IGNORE]
    count = gold.numel()
    loss = F.cross_entropy(logits.float(), gold, reduction="sum")
    loss = loss / (num_items_in_batch if num_items_in_batch is not None else max(count, 1))
    with torch.no_grad():
        correct = (logits.argmax(-1) == gold).sum()
    return loss, correct, torch.tensor(count)


class CompletionLossSFTTrainer(SFTTrainer):
    """SFTTrainer with ``completion_loss``; logs ``mean_token_accuracy`` and ``num_tokens`` as TRL does
    (not ``entropy``, which would need the full softmax again)."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if return_outputs:  # only evaluation with compute_metrics asks; this project never does
            raise NotImplementedError("sft.loss=completion returns no logits; use sft.loss=fused")
        mode = "train" if self.model.training else "eval"
        loss, correct, count = completion_loss(model, inputs, num_items_in_batch)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes  # DDP averages gradients; the count spans all ranks
        correct = self.accelerator.gather_for_metrics(correct).sum()
        count = self.accelerator.gather_for_metrics(count.to(correct.device)).sum()
        self._metrics[mode]["mean_token_accuracy"].append((correct / count.clamp(min=1)).item())
        if mode == "train":
            tokens = self.accelerator.gather_for_metrics(inputs["attention_mask"].sum()).sum().item()
            self._total_train_tokens += tokens
        self._metrics[mode]["num_tokens"] = [self._total_train_tokens]
        return loss
