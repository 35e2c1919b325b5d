"""Batched HF generation for evaluation: left padding, KV cache, greedy by default, seeded."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from ..modeling import chat_ids


@torch.inference_mode()
def generate(model, tokenizer, prompts: list[list[dict]], *, batch_size: int, max_new_tokens: int,
             do_sample: bool = False, seed: int = 0, desc: str = "generate",
             temperature: float | None = None, top_p: float | None = None) -> list[str]:
    """Complete each conversational prompt; returns the decoded assistant turns in input order.

    Prompts are batched by length (less padding); span tokens are not special, so
    ``skip_special_tokens`` drops only padding and end-of-turn markers. ``temperature`` / ``top_p``
    apply when sampling (None: the model's generation config).
    """
    sampling = {k: v for k, v in (("temperature", temperature), ("top_p", top_p)) if v is not None}
    model.eval()
    tokenizer.padding_side = "left"
    encoded = [chat_ids(tokenizer, p, add_generation_prompt=True) for p in prompts]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    outputs: list[str | None] = [None] * len(encoded)
    torch.manual_seed(seed)
    for start in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch"):
        idx = order[start:start + batch_size]
        batch = tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt")
        generated = model.generate(
            **batch, max_new_tokens=max_new_tokens, do_sample=do_sample, use_cache=True,
            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
            **(sampling if do_sample else {"temperature": None, "top_p": None, "top_k": None}))
        new_tokens = generated[:, batch["input_ids"].shape[1]:]
        for i, text in zip(idx, tokenizer.batch_decode(new_tokens, skip_special_tokens=True)):
            outputs[i] = text
    return outputs
