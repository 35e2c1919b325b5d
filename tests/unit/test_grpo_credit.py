"""grpo.credit: per-term advantages that add up to TRL's, credited to the tokens each term reads."""

import pytest
import torch
from datasets import Dataset
from omegaconf import OmegaConf
from trl import GRPOConfig, GRPOTrainer

from stages.core.format import SPAN_TOKENS
from stages.core.grpo_credit import (
    WINDOWS,
    credit_masks,
    credit_windows,
    term_advantages,
    token_advantages,
    with_credit,
)
from stages.core.modeling import build_tiny_model, build_tokenizer, parameter_fingerprint

NAMES = ["format", "emotion", "rubric"]
CORPUS = ["I feel so anxious about my job interview tomorrow morning.",
          "That sounds stressful; your nursing experience will carry you."] * 20


def trl_advantages(rewards: torch.Tensor, weights: torch.Tensor, group: int, scale: str) -> torch.Tensor:
    """TRL 1.16's sum_then_normalize advantages (grpo_trainer._generate_and_score_completions)."""
    unscorable = torch.isnan(rewards).all(1)
    total = (rewards * weights).nansum(1)
    total[unscorable] = torch.nan
    grouped = total.view(-1, group)
    adv = total - torch.nanmean(grouped, 1).repeat_interleave(group)
    kept = [g[~torch.isnan(g)] for g in grouped]
    if scale == "group":
        adv = adv / (torch.stack([g.std() for g in kept]).repeat_interleave(group) + 1e-4)
    elif scale == "batch":
        adv = adv / (total[~unscorable].std() + 1e-4)
    return torch.nan_to_num(adv)


@pytest.mark.parametrize("scale", ["none", "group", "batch"])
def test_term_advantages_add_up_to_trls_advantage(scale):
    torch.manual_seed(0)
    rewards = torch.stack([torch.randint(0, 2, (16,)).float(), torch.randint(0, 2, (16,)).float(),
                           torch.rand(16)], 1)
    rewards[3, 2] = float("nan")     # the judge abstained on one completion
    rewards[9] = float("nan")        # every term abstained: out of its group's mean, zero advantage
    weights = torch.tensor([0.2, 0.3, 0.5])
    terms = term_advantages(rewards, weights, group=8, scale_rewards=scale)
    assert terms.shape == (16, 3) and torch.all(terms[9] == 0)
    assert torch.allclose(terms.sum(1), trl_advantages(rewards, weights, 8, scale), atol=1e-5)


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer(CORPUS, SPAN_TOKENS, vocab_size=300, model_max_length=256)


def ids(tokenizer, text: str, length: int) -> list[int]:
    out = tokenizer.encode(text, add_special_tokens=False)
    return out + [tokenizer.pad_token_id] * (length - len(out))


def test_spans_credit_the_emotion_to_its_lead_up_and_the_rubric_to_the_reply(tokenizer, fmt):
    turn = fmt.render({"understanding": "anxious job", "reasoning": "sounds stressful", "emotion": "anxious",
                       "response": "your experience will carry you"})
    broken = "<|understanding_begin|>anxious job<|understanding_end|> so anxious"   # no emotion, no reply
    batch = torch.tensor([ids(tokenizer, turn, 64), ids(tokenizer, broken, 64)])
    masks = credit_masks(batch, credit_windows("spans", tokenizer, NAMES, fmt.spans))
    tokens = tokenizer.convert_ids_to_tokens(batch[0])
    emotion_end, response_begin = tokens.index("<|emotion_end|>"), tokens.index("<|response_begin|>")
    assert torch.all(masks[0] == 1)                                    # format: every token
    assert torch.all(masks[1, 0, :emotion_end + 1] == 1) and torch.all(masks[1, 0, emotion_end + 1:] == 0)
    assert torch.all(masks[2, 0, :response_begin] == 0) and torch.all(masks[2, 0, response_begin:] == 1)
    assert torch.all(masks[:, 1] == 1)    # a turn without the spans is credited whole: the format term fails it
    per_token = token_advantages(torch.tensor([[0.1, 0.2, 0.4], [0.0, 0.0, 0.0]]), masks)
    assert torch.allclose(per_token[0, :emotion_end + 1], torch.tensor(0.3))
    assert torch.allclose(per_token[0, response_begin:], torch.tensor(0.5))


def test_causal_credit_keeps_the_rubric_everywhere_and_sequence_changes_nothing(tokenizer, fmt):
    assert credit_windows("causal", tokenizer, NAMES, fmt.spans)[2] == (None, None)
    assert credit_windows("sequence", tokenizer, NAMES, fmt.spans) == [(None, None)] * 3
    assert set(WINDOWS) >= {"sequence", "causal", "spans"}


def test_a_marker_that_is_not_one_token_is_refused():
    plain = build_tokenizer(CORPUS, [], vocab_size=300, model_max_length=256)
    with pytest.raises(ValueError, match=r"<\|emotion_end\|>.*grpo.credit: sequence"):
        credit_windows("causal", plain, NAMES, ("understanding", "reasoning", "emotion", "response"))


def test_the_trainer_trains_on_per_token_advantages_that_add_up_to_trls(tmp_path, tokenizer, fmt):
    """A real GRPOTrainer step: with every window whole, each token carries exactly TRL's advantage
    (recorded before the credit replaced it); with the spans windows a step trains the weights."""
    model = build_tiny_model(tokenizer, OmegaConf.create({
        "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
        "num_key_value_heads": 1, "max_position_embeddings": 256}), seed=0)
    prompts = [[{"role": "user", "content": "I feel so anxious about my job."}]] * 4
    data = Dataset.from_dict({"prompt": prompts})

    def length(completions, **_):
        return [len(c[0]["content"]) / 100 for c in completions]

    def vowels(completions, **_):
        return [sum(ch in "aeiou" for ch in c[0]["content"]) / 50 for c in completions]

    seen = {}

    class Recording(GRPOTrainer):
        def _generate_and_score_completions(self, inputs):
            out = super()._generate_and_score_completions(inputs)
            seen["trl"] = out["advantages"].clone()
            return out

    args = GRPOConfig(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=8, num_generations=4,
                      max_completion_length=12, learning_rate=1e-2, use_cpu=True, report_to=[], save_strategy="no",
                      scale_rewards="group", reward_weights=[0.5, 0.5], logging_steps=1)
    for windows in ([(None, None)] * 2, credit_windows("spans", tokenizer, ["emotion", "rubric"], fmt.spans)):
        trainer = with_credit(Recording, windows)(model=model, reward_funcs=[length, vowels], args=args,
                                                  train_dataset=data, processing_class=tokenizer)
        batch = trainer._generate_and_score_completions([data[i] for i in range(4)] * 2)
        assert batch["advantages"].shape == batch["completion_ids"].shape
        if windows[0] == (None, None):
            assert torch.allclose(batch["advantages"], seen["trl"].unsqueeze(1).expand_as(batch["advantages"]),
                                  atol=1e-5)
    before = parameter_fingerprint(model)
    trainer.train()
    assert not torch.equal(before, parameter_fingerprint(model))
