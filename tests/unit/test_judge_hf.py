"""The hf judge backend on the tiny backbone: it cannot answer JSON, so every judgement abstains,
but prompts are built, batched, generated and parsed."""

from stages.core.judges import DIMENSIONS, build_judge
from tests.support.fake_openai import rubric_answer
from tests.unit.test_modeling import build


def test_tiny_checkpoint_runs_batched_and_its_garbage_abstains(tmp_path):
    _, _, checkpoint = build(tmp_path)  # an untrained tiny backbone saved as an HF checkpoint
    judge = build_judge({"backend": "hf", "model": str(checkpoint), "max_tokens": 8,
                         "batch_size": 2, "dtype": "float32"})
    items = [{"response": f"That sounds hard ({i}).", "persona": "MBTI: INFP", "context": "User: I'm sad."}
             for i in range(3)]
    assert judge.score_many(items) == [None, None, None]
    assert judge.usage.requests == 2  # 3 prompts in batches of 2
    assert judge.usage.failures["invalid_answer"] == 3 and judge.usage.prompt_tokens > 0
    assert "Reply to evaluate:" in judge.prompt(judge.rubric.messages("hi", "p", "User: c"))


def test_cache_answers_without_generating_and_follows_the_checkpoint(tmp_path):
    _, _, checkpoint = build(tmp_path)
    cfg = {"backend": "hf", "model": str(checkpoint), "max_tokens": 8, "batch_size": 4, "dtype": "float32"}
    cache = str(tmp_path / "judge.sqlite")
    judge = build_judge(cfg, cache)
    items = [{"response": r, "persona": "MBTI: INFP", "context": "User: I'm sad."}
             for r in ("That sounds hard.", "Tell me more.", "Tell me more.")]
    # The tiny model cannot write JSON: a valid answer stored under the first item's key stands for one
    # this checkpoint gave in an earlier run.
    first = judge.rubric.messages(items[0]["response"], items[0]["persona"], items[0]["context"])
    judge.cache.put_many({judge._key(first): rubric_answer({d: 4 for d in DIMENSIONS})})
    out = judge.score_many(items)
    assert out[0].scores == {d: 4 for d in DIMENSIONS} and out[1:] == [None, None]
    usage = judge.last_usage
    assert usage.cache_hits == 1 and usage.requests == 1  # one batch, for the one distinct uncached reply
    assert usage.failures["invalid_answer"] == 1          # the duplicate was generated and parsed once

    (checkpoint / "retrained.txt").write_text("new weights")  # the checkpoint's files changed
    assert build_judge(cfg, cache).score_many(items[:1]) == [None]  # its old answers no longer apply
