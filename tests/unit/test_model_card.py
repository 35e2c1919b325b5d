"""A saved sft/grpo checkpoint is usable as is: evaluate's generation settings in
generation_config.json, the project's system prompt as the chat template's default, and a model card
whose YAML front matter holds the training facts; evaluate's card adds the table."""

import pytest
from omegaconf import OmegaConf
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from stages.core.format import SPAN_TOKENS
from stages.core.model_card import CARD, evaluation_card, read_card, with_default_system
from stages.core.modeling import CHAT_TEMPLATE, build_tiny_model, build_tokenizer
from stages.core.training import save_trained

CORPUS = ["I feel so anxious about my job interview tomorrow morning.",
          "That sounds stressful; your nursing experience will carry you."] * 20
SYSTEM = "Support this user in four spans.\n{persona}"


def _cfg(tmp_path):
    return OmegaConf.create({
        "seed": 1,
        "paths": {"sft_model": str(tmp_path / "sft"), "grpo_model": str(tmp_path / "grpo")},
        "model": {"name": "tiny", "source": "scratch", "name_or_path": None, "license": "apache-2.0",
                  "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
                  "num_key_value_heads": 1, "max_position_embeddings": 256},
        "data": {"source": "synthetic"},
        "format": {"style": "four_span", "system_prompt": SYSTEM},
        "evaluate": {"max_new_tokens": 160, "do_sample": False},
        "reward": {"names": ["format", "emotion", "rubric"], "weights": [0.2, 0.3, 0.5]},
        "judge": {"backend": "embedded", "rubric": "kardia_v1"},
        "sft": {"trainer": {"max_steps": 3}}, "grpo": {"trainer": {"max_steps": 2, "beta": 0.04}},
    })


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("card")
    cfg = _cfg(tmp_path)
    data = tmp_path / "hard.jsonl"
    data.write_text('{"prompt": []}\n')
    tok = build_tokenizer(CORPUS, SPAN_TOKENS, vocab_size=300, model_max_length=256)
    model = build_tiny_model(tok, cfg.model, seed=0)
    save_trained(cfg, "sft", model, tok, "models/base", data, cfg.paths.sft_model, {"train/steps": 3})
    # grpo saves what it loaded from sft: the preamble is replaced, not stacked
    model, tok = AutoModelForCausalLM.from_pretrained(cfg.paths.sft_model), AutoTokenizer.from_pretrained(cfg.paths.sft_model)
    save_trained(cfg, "grpo", model, tok, cfg.paths.sft_model, data, cfg.paths.grpo_model, {"train/steps": 2})
    return cfg, tmp_path


@pytest.mark.parametrize("stage", ["sft", "grpo"])
def test_generation_config_holds_evaluates_settings(saved, stage):
    _, tmp_path = saved
    generation = GenerationConfig.from_pretrained(tmp_path / stage)
    assert generation.max_new_tokens == 160 and generation.do_sample is False
    model = AutoModelForCausalLM.from_pretrained(tmp_path / stage)
    assert model.generation_config.max_new_tokens == 160


@pytest.mark.parametrize("stage", ["sft", "grpo"])
def test_chat_template_inserts_the_system_prompt_by_default(saved, stage):
    _, tmp_path = saved
    tok = AutoTokenizer.from_pretrained(tmp_path / stage)
    user = [{"role": "user", "content": "I failed my test."}]
    text = tok.apply_chat_template(user, add_generation_prompt=True, tokenize=False)
    assert text == ("<|im_start|>system\nSupport this user in four spans.<|im_end|>\n"
                    "<|im_start|>user\nI failed my test.<|im_end|>\n<|im_start|>assistant\n")
    assert tok.chat_template.count("kardia: default system prompt") == 1


def test_a_conversation_with_a_system_message_renders_as_before(saved):
    """Training and evaluation prompts carry their own system message: their tokens do not change."""
    _, tmp_path = saved
    tok = AutoTokenizer.from_pretrained(tmp_path / "grpo")
    prompt = [{"role": "system", "content": 'Support this user.\nMBTI: "ENFP" {{ x }}'},
              {"role": "user", "content": "Hi."}]
    answer = [{"role": "assistant", "content": "<|response_begin|>Hello.<|response_end|>"}]
    tok_before = AutoTokenizer.from_pretrained(tmp_path / "grpo")
    tok_before.chat_template = CHAT_TEMPLATE
    for messages, gen in ((prompt, True), (prompt + answer, False)):
        assert (tok.apply_chat_template(messages, add_generation_prompt=gen, tokenize=False)
                == tok_before.apply_chat_template(messages, add_generation_prompt=gen, tokenize=False))


def test_default_system_prompt_survives_quotes_and_jinja():
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    system = 'Say "hi" {{ not jinja }} {% raw %}\nüñí'
    template = ImmutableSandboxedEnvironment().from_string(with_default_system(CHAT_TEMPLATE.replace(
        "{% generation %}", "").replace("{% endgeneration %}", ""), system))
    assert template.render(messages=[], add_generation_prompt=False) == f"<|im_start|>system\n{system}<|im_end|>\n"


def test_card_front_matter_has_the_training_facts(saved):
    cfg, tmp_path = saved
    meta, body = read_card(tmp_path / "grpo" / CARD)
    for key in ("base_model", "datasets", "license", "tags", "library_name", "kardia"):
        assert key in meta, key
    assert meta["license"] == "apache-2.0" and "grpo" in meta["tags"] and meta["base_model"] == cfg.paths.sft_model
    k = meta["kardia"]
    assert k["reward"] == {"names": ["format", "emotion", "rubric"], "weights": [0.2, 0.3, 0.5]}
    assert k["rubric"]["name"] == "kardia_v1" and k["rubric"]["version"]
    assert k["judge"] == "embedded (kardia_v1)"
    assert k["data"]["source"] == "synthetic" and len(k["data"]["sha256"]) == 64
    assert k["generation"] == {"max_new_tokens": 160, "do_sample": False}
    assert k["reproduce"].startswith("git checkout ") and k["reproduce"].endswith("dvc repro grpo")
    assert k["reproduce"] in body and "beta: 0.04" in body
    sft_meta, _ = read_card(tmp_path / "sft" / CARD)
    assert "reward" not in sft_meta["kardia"] and sft_meta["base_model"] == "models/base"


def test_evaluation_card_adds_the_table_and_model_index(saved):
    _, tmp_path = saved
    metrics = {"eval/grpo/emotion_acc": 0.41, "eval/grpo/format_compliance": 0.9}
    text = evaluation_card(tmp_path / "grpo" / CARD, "grpo", metrics, "| model | subset |\n|---|---|",
                           {"examples": 10}, "kardia-synthetic")
    (tmp_path / "card.md").write_text(text)
    meta, body = read_card(tmp_path / "card.md")
    assert meta["kardia"]["stage"] == "grpo"
    [entry] = meta["model-index"]
    values = {m["type"]: m["value"] for m in entry["results"][0]["metrics"]}
    assert values == {"format_compliance": 0.9, "emotion_acc": 0.41}
    assert body.count("## Evaluation") == 1 and "| model | subset |" in body and "- examples: 10" in body
