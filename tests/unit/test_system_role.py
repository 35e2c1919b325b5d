"""Chat templates without a system role (Gemma's raise on one): the system prompt is folded into the
first user turn by the saved template, so every renderer (TRL, HF generation, vLLM) sees the same text;
templates with a system role (ChatML: the embedded backbone, Qwen2.5) are left as they are. Small local
tokenizers only: no downloads."""

import pytest
from jinja2.exceptions import TemplateError
from omegaconf import OmegaConf
from transformers import AutoTokenizer

from stages.core.format import SPAN_TOKENS
from stages.core.modeling import (
    CHAT_TEMPLATE,
    FOLD_SYSTEM_PREAMBLE,
    build_tiny_model,
    build_tokenizer,
    chat_ids,
    fold_system_turn,
    load_checkpoint,
    load_hub_backbone,
    save_checkpoint,
    takes_system_turn,
)

# Gemma's chat template (google/gemma-2b-it, gemma-7b-it) without its bos_token: it refuses a system turn
# and insists on user/assistant alternation.
GEMMA_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
)
# A template that renders user and assistant turns only and drops a system turn without a word.
SILENT_TEMPLATE = ("{% for m in messages %}{% if m['role'] != 'system' %}[{{ m['role'] }}] {{ m['content'] }}\n"
                   "{% endif %}{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}")
CORPUS = ["I feel anxious about my interview.", "That sounds stressful; you prepared well."] * 20
SYSTEM = {"role": "system", "content": "You are Kardia. Persona: a nurse."}
DIALOGUE = [SYSTEM, {"role": "user", "content": "I feel anxious."}, {"role": "assistant", "content": "Why?"},
            {"role": "user", "content": "The interview."}]


def tokenizer(template=None):
    tok = build_tokenizer(CORPUS, SPAN_TOKENS, vocab_size=300, model_max_length=128)
    if template is not None:
        tok.chat_template = template
    return tok


def render(tok, messages, add_generation_prompt=False):
    return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)


def test_a_template_with_a_system_role_is_left_as_it_is():
    tok = tokenizer()
    assert takes_system_turn(tok) and not fold_system_turn(tok)
    assert tok.chat_template == CHAT_TEMPLATE
    assert render(tok, DIALOGUE).startswith("<|im_start|>system\nYou are Kardia.")


def test_a_template_that_rejects_a_system_turn_gets_it_folded_into_the_first_user_turn():
    tok = tokenizer(GEMMA_TEMPLATE)
    with pytest.raises(TemplateError, match="System role not supported"):
        render(tok, DIALOGUE)
    assert not takes_system_turn(tok)
    assert fold_system_turn(tok, "gemma-like") and takes_system_turn(tok)
    assert render(tok, DIALOGUE, add_generation_prompt=True) == (
        "<start_of_turn>user\nYou are Kardia. Persona: a nurse.\n\nI feel anxious.<end_of_turn>\n"
        "<start_of_turn>model\nWhy?<end_of_turn>\n<start_of_turn>user\nThe interview.<end_of_turn>\n"
        "<start_of_turn>model\n")
    # without a system turn the text is the original template's, and folding twice changes nothing
    plain = DIALOGUE[1:]
    assert render(tok, plain) == render(tokenizer(GEMMA_TEMPLATE), plain)
    assert not fold_system_turn(tok) and tok.chat_template.count(FOLD_SYSTEM_PREAMBLE) == 1
    # a system turn alone, or followed by an assistant turn, becomes a user turn of its own
    assert render(tok, [SYSTEM]) == "<start_of_turn>user\nYou are Kardia. Persona: a nurse.<end_of_turn>\n"


def test_a_template_that_drops_a_system_turn_silently_is_folded_too():
    tok = tokenizer(SILENT_TEMPLATE)
    assert "Kardia" not in render(tok, DIALOGUE)
    assert fold_system_turn(tok)
    assert render(tok, DIALOGUE).startswith("[user] You are Kardia. Persona: a nurse.\n\nI feel anxious.\n")


def test_the_prompt_stays_a_prefix_of_the_conversation_when_folded():
    """TRL's prompt-completion training renders both and relies on the prefix property."""
    tok = tokenizer(GEMMA_TEMPLATE)
    fold_system_turn(tok)
    prompt, completion = DIALOGUE, [{"role": "assistant", "content": "<|emotion_begin|>anxious<|emotion_end|>"}]
    assert render(tok, prompt + completion).startswith(render(tok, prompt, add_generation_prompt=True))
    ids = chat_ids(tok, prompt, add_generation_prompt=True)
    assert ids == chat_ids(tok, prompt + completion)[:len(ids)]


def test_a_hub_backbone_without_a_system_role_is_saved_with_the_fold(tmp_path):
    """load_hub_backbone (prepare) folds, save_checkpoint keeps it, load_checkpoint does not fold twice."""
    tok = tokenizer(GEMMA_TEMPLATE)
    model = build_tiny_model(tok, OmegaConf.create({
        "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
        "num_key_value_heads": 1, "max_position_embeddings": 128}), seed=0)
    model.save_pretrained(tmp_path / "gemma-like")
    tok.save_pretrained(tmp_path / "gemma-like")   # as on the hub: the raising template
    model, tok = load_hub_backbone(OmegaConf.create({"name_or_path": str(tmp_path / "gemma-like"),
                                                     "dtype": "float32"}), SPAN_TOKENS)
    assert tok.chat_template.startswith(FOLD_SYSTEM_PREAMBLE)
    save_checkpoint(model, tok, tmp_path / "base")
    assert AutoTokenizer.from_pretrained(tmp_path / "base").chat_template == tok.chat_template
    _, loaded = load_checkpoint(tmp_path / "base")
    assert loaded.chat_template == tok.chat_template
    assert "Persona: a nurse.\n\nI feel anxious." in render(loaded, DIALOGUE)
