"""grpo.logprobs=plain gives TRL's fused-head log-probabilities, entropies and gradients."""

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM
from trl.trainer.utils import add_fused_lm_head

from stages.core.grpo_logprobs import completion_logprobs


def tiny_model() -> Qwen2ForCausalLM:
    torch.manual_seed(0)
    return Qwen2ForCausalLM(Qwen2Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                        num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=True))


def fused(model, ids, mask, keep, temperature):
    """What GRPOTrainer._get_per_token_logps_and_entropies computes (TRL 1.16)."""
    labels = ids.masked_fill(mask == 0, -100)
    labels[:, :-keep] = -100
    out = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True)
    return out.log_probs[:, -keep:], out.entropy[:, -keep:]


def test_plain_logprobs_match_the_fused_head_with_left_and_right_padding():
    model, keep, temperature = tiny_model(), 5, 0.7
    add_fused_lm_head(model, temperature=temperature, outputs=("log_probs", "entropy"))
    ids = torch.randint(0, 64, (3, 12))
    mask = torch.ones_like(ids)
    mask[0, :4] = 0          # a left-padded prompt
    mask[1, -2:] = 0         # a completion that ended early (right padding)
    theirs, theirs_entropy = fused(model, ids, mask, keep, temperature)
    theirs.sum().backward()
    grad_theirs = model.model.layers[0].mlp.up_proj.weight.grad.clone()
    model.zero_grad()
    ours, ours_entropy = completion_logprobs(model, ids, mask, keep, temperature, compute_entropy=True)
    ours.sum().backward()
    assert ours.shape == (3, keep) and torch.all(ours[1, -2:] == 0) and torch.all(ours[0] < 0)
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert torch.allclose(ours_entropy, theirs_entropy, atol=1e-5)
    assert torch.allclose(model.model.layers[0].mlp.up_proj.weight.grad, grad_theirs, atol=1e-5)
    assert completion_logprobs(model, ids, mask, keep, temperature, compute_entropy=False)[1] is None
