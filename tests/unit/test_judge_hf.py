"""The hf judge backend on the tiny backbone: it cannot answer JSON, so every judgement abstains,
but prompts are built, batched, generated and parsed."""

import pytest

from stages.core.judges import build_judge


def test_tiny_checkpoint_runs_batched_and_its_garbage_abstains(root):
    if not (root / "models/base/config.json").exists():
        pytest.skip("needs models/base (dvc pull or the prepare stage)")
    judge = build_judge({"backend": "hf", "model": str(root / "models/base"), "max_tokens": 8,
                         "batch_size": 2, "dtype": "float32"})
    items = [{"response": f"That sounds hard ({i}).", "persona": "MBTI: INFP", "context": "User: I'm sad."}
             for i in range(3)]
    assert judge.score_many(items) == [None, None, None]
    assert judge.usage.requests == 2  # 3 prompts in batches of 2
    assert judge.usage.failures["invalid_answer"] == 3 and judge.usage.prompt_tokens > 0
    assert "Reply to evaluate:" in judge.prompt(judge.rubric.messages("hi", "p", "User: c"))
