"""GRPO's per-token log-probabilities from the model's own logits, for a small vocabulary on a CPU.

TRL 1.16's GRPOTrainer always scores completions through its fused LM head
(``trl/kernels/chunked_logprob.py``): tiles of hidden states projected onto the vocabulary inside a
custom autograd function, so the (batch, length, vocab) logits never exist. That is the memory saver
for a 150k-token vocabulary on a GPU, and the paper configs keep it (``grpo.logprobs: fused``). Off
Triton devices it also scores every prompt position, and its Python tile loops took 27 s of a 78 s
20-step run of the embedded backbone (cProfile: forward 11 s, backward 15 s), where the logits of a
batch are 70 MB. ``grpo.logprobs: plain`` computes the same quantities from the model's forward with
``logits_to_keep`` (only the completion positions, through the model's own head, so soft-capping and
logit scales apply as in generation): log-softmax of logits / temperature, gathered at the sampled
tokens, zero at padding, and the entropy of the same distribution.
"""

from __future__ import annotations

import torch
from trl import GRPOTrainer


def completion_logprobs(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, logits_to_keep: int,
                        temperature: float, compute_entropy: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(log p(token), entropy or None) at each of the last ``logits_to_keep`` positions of ``input_ids``.

    Position t's logits predict token t + 1, so the last ``logits_to_keep + 1`` logits are computed
    and the final one, which predicts past the sequence, is dropped."""
    logits = model(input_ids=input_ids, attention_mask=attention_mask, logits_to_keep=logits_to_keep + 1,
                   use_cache=False).logits[:, :-1]
    log_probs = (logits.float() / temperature).log_softmax(-1)
    targets = input_ids[:, -logits_to_keep:]
    padding = attention_mask[:, -logits_to_keep:] == 0
    per_token = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1).masked_fill(padding, 0.0)
    entropy = None
    if compute_entropy:
        entropy = -(log_probs.exp() * log_probs).sum(-1).masked_fill(padding, 0.0)
    return per_token, entropy


class PlainLogprobGRPOTrainer(GRPOTrainer):
    """GRPOTrainer scoring text-only batches with ``completion_logprobs``; anything else (images, MoE
    auxiliary losses) goes to TRL's fused path unchanged."""

    def _get_per_token_logps_and_entropies(self, model, input_ids, attention_mask, logits_to_keep,
                                           batch_size=None, compute_entropy=False, compute_aux_loss=False,
                                           **multimodal):
        if compute_aux_loss or any(value is not None for value in multimodal.values()):
            return super()._get_per_token_logps_and_entropies(
                model, input_ids, attention_mask, logits_to_keep, batch_size=batch_size,
                compute_entropy=compute_entropy, compute_aux_loss=compute_aux_loss, **multimodal)
        batch_size = batch_size or input_ids.size(0)  # chunks bound the logits' memory, as in TRL
        logps, entropies = [], []
        for start in range(0, input_ids.size(0), batch_size):
            with self.accelerator.autocast():
                lp, ent = completion_logprobs(model, input_ids[start:start + batch_size],
                                              attention_mask[start:start + batch_size], logits_to_keep,
                                              self.temperature, compute_entropy)
            logps.append(lp)
            entropies.append(ent)
        return torch.cat(logps), torch.cat(entropies) if compute_entropy else None, None
