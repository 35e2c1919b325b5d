"""Credit for GRPO's reward terms: each term's advantage on the tokens that can change it.

TRL gives every token of a completion the same advantage, the λ-weighted sum over all reward terms.
The emotion term is settled once ``<|emotion_end|>`` is written, so on the reply's tokens its
advantage is noise that only averages out over many samples. ``grpo.credit`` [ours] splits the
advantage into its terms (exact under ``sum_then_normalize``: A = Σ_i λ_i (r_i − mean_group r_i) / s)
and gives each token the terms whose window holds it (``WINDOWS``):

- ``sequence``: every term everywhere, TRL's own;
- ``causal``: the emotion term up to its span's end. Unbiased: a token's log-probability cannot
  correlate with a reward fixed before it, so the expected gradient is unchanged and its variance falls;
- ``spans``: also the rubric on the reply alone, the text the judge reads (biased: the reply is
  conditioned on the earlier spans too).

One approximation: the emotion reward is 0 for a turn whose later spans break the format; that
penalty is the format term's, credited everywhere. Measured on the embedded default in
docs/results.md (the GRPO study): no credit kept GRPO from lowering emotion accuracy there.
"""

from __future__ import annotations

import torch
from trl.trainer.utils import nanstd

from .format import begin, end

# credit -> reward name -> (first span, last span) of the tokens the term is credited to: from the
# first span's begin token (None: the completion's start) through the last span's end token (None: the
# completion's end). A term not named is credited to every token.
WINDOWS: dict[str, dict[str, tuple[str | None, str | None]]] = {
    "sequence": {},
    # unbiased: the emotion term is fixed once its span ends
    "causal": {"emotion": (None, "emotion")},
    # each term on the spans that decide it: the emotion on the spans leading to it, the rubric on the
    # reply the judge reads (biased: the reply is also conditioned on the earlier spans)
    "spans": {"emotion": (None, "emotion"), "rubric": ("response", None)},
}


def term_advantages(rewards_per_func: torch.Tensor, weights: torch.Tensor, group: int,
                    scale_rewards: str) -> torch.Tensor:
    """(N, K) per-term advantages whose row sums are TRL's ``sum_then_normalize`` advantages.

    Abstentions (NaN) count as 0 in the weighted sum, as TRL's ``nansum`` does; a completion every
    term abstained on is left out of its group's mean and gets zero advantage."""
    unscorable = torch.isnan(rewards_per_func).all(dim=1)
    weighted = torch.nan_to_num(rewards_per_func) * weights.unsqueeze(0)
    kept = (~unscorable).float().unsqueeze(1)
    grouped, kept_g = (weighted * kept).view(-1, group, weighted.size(1)), kept.view(-1, group, 1)
    mean = (grouped.sum(1, keepdim=True) / kept_g.sum(1, keepdim=True).clamp(min=1)).expand_as(grouped)
    terms = (weighted - mean.reshape_as(weighted)) * kept
    if scale_rewards != "none":
        total = weighted.sum(1).masked_fill(unscorable, float("nan"))
        std = (nanstd(total.view(-1, group), dim=1).repeat_interleave(group) if scale_rewards == "group"
               else nanstd(total).expand_as(total))
        terms = terms / (std + 1e-4).unsqueeze(1)
    return torch.nan_to_num(terms)


def _first(completion_ids: torch.Tensor, token_id: int | None, default: int) -> torch.Tensor:
    """(B,) position of ``token_id``'s first occurrence; ``default`` where it is absent or None."""
    fallback = torch.full(completion_ids.shape[:1], default, device=completion_ids.device)
    if token_id is None:
        return fallback
    hit = completion_ids == token_id
    return torch.where(hit.any(1), hit.float().argmax(1).long(), fallback)


def credit_masks(completion_ids: torch.Tensor, windows: list[tuple[int | None, int | None]]) -> torch.Tensor:
    """(K, B, T) 1 on the tokens term k is credited to: from its first token id through its last
    (None: the completion's start / end). A completion lacking a window's token is credited whole
    there: it broke the format, and the format term says so."""
    batch, length = completion_ids.shape
    positions = torch.arange(length, device=completion_ids.device).expand(batch, length)
    masks = []
    for first_id, last_id in windows:
        start, stop = _first(completion_ids, first_id, 0), _first(completion_ids, last_id, length - 1)
        masks.append(((positions >= start.unsqueeze(1)) & (positions <= stop.unsqueeze(1))).float())
    return torch.stack(masks)


def token_advantages(terms: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """(B, T) advantage per token: the sum of the terms open at it."""
    return torch.einsum("bk,kbt->bt", terms, masks)


def credit_windows(credit: str, tokenizer, names: list[str], spans: tuple[str, ...]
                   ) -> list[tuple[int | None, int | None]]:
    """Each reward term's window as (first token id, last token id) for ``credit_masks``."""
    def token(marker: str) -> int:
        ids = tokenizer.encode(marker, add_special_tokens=False)
        if len(ids) != 1:
            raise ValueError(f"grpo.credit={credit} needs {marker!r} to be one token of the tokenizer; it "
                             f"encodes to {len(ids)} tokens (set grpo.credit: sequence)")
        return ids[0]
    windows = []
    for name in names:
        first, last = WINDOWS[credit].get(name, (None, None))
        if any(s is not None and s not in spans for s in (first, last)):   # format.style without the span
            first = last = None
        windows.append((token(begin(first)) if first else None, token(end(last)) if last else None))
    return windows


def with_credit(trainer_class: type, windows: list[tuple[int | None, int | None]]) -> type:
    """``trainer_class`` whose batches carry (B, T) advantages from ``token_advantages``; TRL's loss
    takes a 2-D ``advantages`` as per-token (grpo_trainer ``_compute_loss``)."""

    class CreditTrainer(trainer_class):
        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            self._rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            return self._rewards_per_func

        def _generate_and_score_completions(self, inputs):
            out = super()._generate_and_score_completions(inputs)
            group = self.num_generations if self.model.training else self.num_generations_eval
            terms = term_advantages(self._rewards_per_func, self.reward_weights.to(self._rewards_per_func.device),
                                    group, self.scale_rewards)
            local = slice(self.accelerator.process_index * len(out["completion_ids"]),
                          (self.accelerator.process_index + 1) * len(out["completion_ids"]))
            out["advantages"] = token_advantages(terms[local].to(out["completion_ids"].device),
                                                 credit_masks(out["completion_ids"], windows))
            return out

    CreditTrainer.__name__ = f"Credit{trainer_class.__name__}"
    return CreditTrainer
