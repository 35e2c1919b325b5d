"""Batched sampling in stages/core/generation.py: each batch draws from its own seed."""

from stages.core.generation import generate_ids
from tests.unit.test_modeling import build


def test_a_batch_samples_the_same_whatever_the_batches_before_it_ran(tmp_path):
    """Evaluation's sampled rows compare two models on the same prompts; with one seed for the whole
    row, a batch's random stream would depend on how many steps the batches before it ran (a model
    whose replies end sooner shifts it), and the rows' replies would part for that reason alone. Here
    the batches before run 4 or 8 steps: every reply starts the same way (the untrained tiny model
    never ends a reply, so every batch runs to the limit)."""
    tok, model, _ = build(tmp_path)
    prompts = [[{"role": "user", "content": "I feel " + "very " * i + "sad."}] for i in range(6)]

    def sampled(max_new_tokens):
        return generate_ids(model, tok, prompts, batch_size=2, max_new_tokens=max_new_tokens, do_sample=True,
                            temperature=1.0, top_k=0, seed=3, progress=False)

    short, long = sampled(4), sampled(8)
    assert [ids[:4] for ids in long] == short
    assert all(len(ids) == 8 for ids in long)   # no reply ended early: the streams were not aligned by luck
