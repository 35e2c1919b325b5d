"""A tiny checkpoint that answers in four spans, for the chat and serve tests (no pipeline run, no
download, ~10 s on shared cores): the embedded tokenizer and a small Qwen2 model, trained for a few seconds until greedy
decoding writes ANSWER to any of the training messages (and, having memorised one turn, to most
others). Saved as the stages save theirs (``modeling.save_checkpoint``), with a generation config that
holds ``max_new_tokens`` as the sft/grpo stages write it."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import OmegaConf

from stages.core.format import SPAN_TOKENS, ResponseFormat
from stages.core.modeling import build_tiny_model, build_tokenizer, chat_ids, save_checkpoint

SYSTEM_TEMPLATE = "Support this user in four spans.\n{persona}"
FMT = ResponseFormat("four_span", SYSTEM_TEMPLATE)
SPANS = {"understanding": "The user failed a test.", "reasoning": "They need comfort first.",
         "emotion": "sad", "response": "That sounds hard. You can try again."}
ANSWER = FMT.render(SPANS)
MESSAGES = ["I failed my driving test.", "My exam went badly.", "I feel sad today."]
MAX_NEW_TOKENS = 48


def build_chat_checkpoint(path: str | Path, steps: int = 80, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    corpus = [ANSWER, SYSTEM_TEMPLATE, *MESSAGES, "MBTI: INFJ About: a nurse"] * 10
    tok = build_tokenizer(corpus, SPAN_TOKENS, vocab_size=400, model_max_length=256)
    mcfg = OmegaConf.create({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                             "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 256})
    model = build_tiny_model(tok, mcfg, seed=seed)
    rows = []
    earlier = [{"role": "user", "content": MESSAGES[1]}, {"role": "assistant", "content": SPANS["response"]}]
    for message in MESSAGES:
        for persona, history in (("", []), ("MBTI: INFJ About: a nurse", []), ("", earlier)):
            prompt = [{"role": "system", "content": FMT.system_prompt(persona)}, *history,
                      {"role": "user", "content": message}]
            full = chat_ids(tok, prompt + [{"role": "assistant", "content": ANSWER}])
            n_prompt = len(chat_ids(tok, prompt, add_generation_prompt=True))
            labels = [-100] * n_prompt + full[n_prompt:]
            rows.append((full, labels))
    width = max(len(f) for f, _ in rows)
    ids = torch.tensor([f + [tok.pad_token_id] * (width - len(f)) for f, _ in rows])
    labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in rows])
    mask = torch.tensor([[1] * len(f) + [0] * (width - len(f)) for f, _ in rows])
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # a model this small trains several times faster on one thread of shared cores
    try:
        for _ in range(steps):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            optim.step()
            optim.zero_grad()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    model.generation_config.max_new_tokens = MAX_NEW_TOKENS
    model.generation_config.do_sample = False
    save_checkpoint(model, tok, path)
    return Path(path)


_built: dict[str, Path] = {}


def shared_chat_checkpoint(tmp_path_factory) -> Path:
    """One checkpoint per test session, whichever test module asks first (test_chat, test_serve)."""
    if "path" not in _built:
        _built["path"] = build_chat_checkpoint(tmp_path_factory.mktemp("chat_checkpoint") / "grpo")
    return _built["path"]
