"""The hf judge backend on the tiny backbone: it cannot answer JSON, so every judgement abstains,
but prompts are built, batched, generated and parsed."""

from stages.core.judges import build_judge
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
