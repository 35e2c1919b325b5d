"""sft.loss=completion computes the same loss as the model's own cross-entropy, from fewer logits."""

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from stages.core.sft_loss import IGNORE, completion_loss


def tiny_model() -> Qwen2ForCausalLM:
    torch.manual_seed(0)
    return Qwen2ForCausalLM(Qwen2Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                        num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=True))


def batch():
    ids = torch.randint(0, 64, (3, 12))
    labels = ids.clone()
    labels[0, :5] = labels[1, :8] = labels[2, :3] = IGNORE   # prompts of different lengths
    labels[2, 10:] = IGNORE                                   # right padding
    mask = torch.ones_like(ids)
    mask[2, 10:] = 0
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def test_completion_loss_equals_the_models_own_loss_and_gradients():
    model, inputs = tiny_model(), batch()
    ours, correct, count = completion_loss(model, inputs)
    ours.backward()
    grad_ours = model.model.layers[0].mlp.up_proj.weight.grad.clone()
    model.zero_grad()
    theirs = model(**inputs).loss
    theirs.backward()
    assert torch.allclose(ours, theirs, atol=1e-6)
    assert torch.allclose(grad_ours, model.model.layers[0].mlp.up_proj.weight.grad, atol=1e-6)
    assert count.item() == (inputs["labels"][:, 1:] != IGNORE).sum().item() and 0 <= correct.item() <= count.item()


def test_completion_loss_divides_by_the_accumulated_token_count_when_given():
    model, inputs = tiny_model(), batch()
    per_batch, _, count = completion_loss(model, inputs)
    accumulated, _, _ = completion_loss(model, inputs, num_items_in_batch=2 * count)
    assert torch.allclose(accumulated, per_batch / 2)
