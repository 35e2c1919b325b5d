"""The embedded backbone is a standard HF checkpoint whose tokenisation survives save/load."""

import torch
from omegaconf import OmegaConf
from transformers import AutoModelForCausalLM, AutoTokenizer

from stages.core.format import SPAN_TOKENS
from stages.core.modeling import build_tiny_model, build_tokenizer, load_checkpoint, save_checkpoint

CORPUS = [
    "I feel so anxious about my job interview tomorrow morning.",
    "That sounds stressful; your nursing experience will carry you.",
    "Ich fühle mich café-müde, naïve façade — déjà vu!",  # NFC normalisation and non-ASCII bytes
    "Numbers 12345 and symbols: ;-) <3 \n\n new lines\ttabs",
] * 20
MODEL = OmegaConf.create({"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                          "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 128})


def build(tmp_path):
    tok = build_tokenizer(CORPUS, SPAN_TOKENS, vocab_size=400, model_max_length=128)
    model = build_tiny_model(tok, MODEL, seed=0)
    save_checkpoint(model, tok, tmp_path / "ckpt")
    return tok, model, tmp_path / "ckpt"


def test_tokenizer_round_trip_through_autotokenizer(tmp_path):
    tok, _, path = build(tmp_path)
    loaded = AutoTokenizer.from_pretrained(path)
    texts = CORPUS[:4] + ["<|emotion_begin|>anxious<|emotion_end|><|response_begin|>Hi there.<|response_end|>",
                          "unseen wörds like zyxq and  double  spaces"]
    for text in texts:
        assert loaded(text)["input_ids"] == tok(text)["input_ids"], text
        assert loaded.decode(loaded(text)["input_ids"]) == tok.decode(tok(text)["input_ids"])


def test_span_tokens_are_single_non_special_tokens(tmp_path):
    _, _, path = build(tmp_path)
    tok = AutoTokenizer.from_pretrained(path)
    for t in SPAN_TOKENS:
        ids = tok(t)["input_ids"]
        assert len(ids) == 1, t
        # GRPOTrainer decodes with skip_special_tokens=True: the span tokens must survive it.
        assert tok.decode(ids, skip_special_tokens=True) == t


def test_chat_template_is_saved_and_prompt_is_prefix_of_conversation(tmp_path):
    _, _, path = build(tmp_path)
    tok = AutoTokenizer.from_pretrained(path)
    prompt = [{"role": "system", "content": "profile"}, {"role": "user", "content": "I feel anxious."}]
    answer = [{"role": "assistant", "content": "<|response_begin|>I hear you.<|response_end|>"}]
    p = tok.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
    full = tok.apply_chat_template(prompt + answer, tokenize=False)
    assert full.startswith(p) and p.endswith("<|im_start|>assistant\n")
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"


def test_model_is_deterministic_and_reloads_with_automodel(tmp_path):
    tok, model, path = build(tmp_path)
    again = build_tiny_model(tok, MODEL, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    loaded = AutoModelForCausalLM.from_pretrained(path)
    assert loaded.config.model_type == "qwen2"
    ids = torch.tensor([tok("I feel anxious.")["input_ids"]])
    assert torch.allclose(model(ids).logits, loaded(ids).logits, atol=1e-6)
    model2, tok2 = load_checkpoint(path)
    assert len(tok2) == len(tok) and model2.config.vocab_size == len(tok)


def test_save_is_atomic_on_failure(tmp_path):
    tok, _, path = build(tmp_path)

    class Broken:
        def save_pretrained(self, _):
            raise OSError("disk full")

    try:
        save_checkpoint(Broken(), tok, path)
    except OSError:
        pass
    assert (path / "config.json").exists(), "a failed save must leave the previous checkpoint intact"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
