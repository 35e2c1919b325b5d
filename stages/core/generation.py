"""Batched HF generation (evaluation, rollouts): left padding, KV cache, greedy by default, seeded."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from .modeling import chat_ids


@torch.inference_mode()
def generate_ids(model, tokenizer, prompts: list[list[dict]], *, batch_size: int, max_new_tokens: int,
                 do_sample: bool = False, seed: int = 0, desc: str = "generate", progress: bool = True,
                 temperature: float | None = None, top_p: float | None = None,
                 top_k: int | None = None) -> list[list[int]]:
    """Complete each conversational prompt; returns the new token ids of each, in input order, cut
    after the first end-of-turn token (what follows it in a batch is padding).

    Prompts are batched by length (less padding). Left padding with the attention mask is exact for
    greedy decoding: generate() derives position ids from the mask, so a padded prompt sees the same
    positions as alone; ``python -m tools.generation_bench`` checks batched == one-at-a-time.
    ``temperature`` / ``top_p`` / ``top_k`` apply when sampling (None: the model's generation config, and
    transformers' own top_k of 50 where that sets none; 0: no top-k cut).
    """
    sampling = {k: v for k, v in (("temperature", temperature), ("top_p", top_p), ("top_k", top_k)) if v is not None}
    model.eval()
    tokenizer.padding_side = "left"
    encoded = [chat_ids(tokenizer, p, add_generation_prompt=True) for p in prompts]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    outputs: list[list[int] | None] = [None] * len(encoded)
    for start in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch", disable=not progress):
        # Each batch from its own seed: two models sampled on the same prompts draw from the same random
        # stream batch by batch (how many steps a batch runs moves the stream otherwise), so where their
        # distributions agree their replies agree, and the paired difference keeps less sampling noise.
        torch.manual_seed(seed + start)
        idx = order[start:start + batch_size]
        batch = tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt").to(model.device)
        generated = model.generate(
            **batch, max_new_tokens=max_new_tokens, do_sample=do_sample, use_cache=True,
            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
            **(sampling if do_sample else {"temperature": None, "top_p": None, "top_k": None}))
        for i, row in zip(idx, generated[:, batch["input_ids"].shape[1]:].tolist()):
            cut = next((k + 1 for k, t in enumerate(row) if t == tokenizer.eos_token_id), len(row))
            outputs[i] = row[:cut]
    return outputs


def generate(model, tokenizer, prompts: list[list[dict]], **kwargs) -> list[str]:
    """``generate_ids`` decoded. Span tokens are not special, so ``skip_special_tokens`` drops only
    padding and end-of-turn markers."""
    return tokenizer.batch_decode(generate_ids(model, tokenizer, prompts, **kwargs), skip_special_tokens=True)
