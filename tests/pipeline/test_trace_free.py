"""The pipeline on trace-free data (issue #14): a KardiaBench-format corpus without FAIL/PASS/SOLVED traces,
read as data=kardiabench from local files, partitioned by rollouts of the bootstrap warm-up policy,
scored by an OpenAI-compatible judge on 127.0.0.1 (tests/support/fake_openai.py), then SFT, GRPO and
evaluate. Every no_curriculum_* row and a threshold row run on the same data after it, sharing its
prepared data, base model, bootstrap checkpoint and rollout cache (a cache hit: nothing is sampled again)."""

import json
import time

import pytest

from tests.pipeline.conftest import compose_params
from tests.support.fake_openai import FakeOpenAI, judge_responder
from tests.support.kardiabench_corpus import write_trace_free_corpus

pytestmark = pytest.mark.slow

STAGES = ["partition", "sft", "grpo", "evaluate"]
ROWS = ["no_curriculum_random", "no_curriculum_all_sft", "no_curriculum_all_grpo", "threshold_strict"]
BOOTSTRAP_STEPS = 60
# Tiny but real: the bootstrap learns the span grammar in 60 steps on half the training dialogues;
# G = 4 rollouts per context, with room for a whole turn (the corpus' turns are 79-94 tokens);
# one GRPO step; eight test examples evaluated.
SMALL = [
    "partition=rollouts", "partition.rollouts.bootstrap.fraction=0.5",
    f"partition.rollouts.bootstrap.trainer.max_steps={BOOTSTRAP_STEPS}", "partition.rollouts.bootstrap.trainer.logging_steps=10",
    "partition.rollouts.num_generations=4", "partition.rollouts.max_new_tokens=128", "partition.rollouts.batch_size=64",
    "sft.trainer.max_steps=8", "sft.trainer.warmup_steps=1", "sft.trainer.logging_steps=2",
    "grpo.trainer.max_steps=1", "grpo.trainer.per_device_train_batch_size=8", "grpo.trainer.num_generations=4",
    "grpo.trainer.max_completion_length=32", "grpo.trainer.logging_steps=1",
    "evaluate.max_examples=8", "evaluate.max_new_tokens=32",
]
# Thresholds scaled to what a 60-step warm-up of the tiny model reaches: a completion resolves when it
# writes the four spans (format 1/3 + rubric/3 >= 0.4 unless the judge scores it near the floor; without
# the spans format and emotion are 0 and rubric/3 <= 1/3), a dialogue is easy when a quarter of its
# completions do. Every row but the threshold row, whose own knobs (0.7 / 0.7) are what it tests.
TEST_THRESHOLDS = ["partition.rollouts.resolve_threshold=0.4", "partition.rollouts.easy_min_rate=0.25"]


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def trace_free(root, tmp_path_factory):
    """{row: (work dir, {stage: metrics})} for the curriculum row (paper_recipe) and ROWS, and the seconds taken."""
    import importlib

    base = tmp_path_factory.mktemp("trace_free")
    counts = write_trace_free_corpus(base / "kardiabench", n_dialogues=48)
    mp = pytest.MonkeyPatch()
    start = time.monotonic()
    out = {}
    with FakeOpenAI(judge_responder()) as server:
        shared = [
            "data=kardiabench", f"data.path={base / 'kardiabench'}", *SMALL,
            "judge=openai", f"judge.base_url={server.url}", "judge.model=fake-judge", "judge.backoff_s=0.01",
            "judge@eval_judge=openai", f"eval_judge.base_url={server.url}", "eval_judge.model=fake-judge",
            # one prepared corpus, base model, bootstrap and rollout cache for every row
            f"paths.prepared={base / 'recipe/data/prepared'}", f"paths.base_model={base / 'recipe/models/base'}",
            f"paths.rollouts_cache={base / 'rollouts_cache'}", f"paths.judge_cache={base / 'judge.sqlite'}",
        ]
        for row in ["paper_recipe", *ROWS]:
            work = base / ("recipe" if row == "paper_recipe" else row)
            (work / "experiments").mkdir(parents=True, exist_ok=True)   # evaluate's paper-vs-ours input
            (work / "experiments/paper_numbers.yaml").write_bytes((root / "experiments/paper_numbers.yaml").read_bytes())
            knobs = [] if row.startswith("threshold") else TEST_THRESHOLDS
            params = compose_params(root, work / "params.yaml", [*shared, *knobs, f"experiment={row}"])
            mp.chdir(work)
            metrics = {}
            for stage in (["prepare"] if row == "paper_recipe" else []) + STAGES:
                module = importlib.import_module(f"stages.{stage}")
                assert module.main(["--params", str(params), "--no-track"]) == 0, (row, stage)
                metrics[stage] = json.loads((work / "metrics" / f"{stage}.json").read_text())
            out[row] = (work, metrics)
        calls = server.calls
    mp.undo()
    yield {"rows": out, "counts": counts, "seconds": time.monotonic() - start, "judge_calls": calls}


def test_the_corpus_has_no_traces_and_is_read_as_kardiabench(trace_free):
    work, metrics = trace_free["rows"]["paper_recipe"]
    assert sum(trace_free["counts"].values()) >= 40
    assert metrics["prepare"]["data/records_kept"] == sum(trace_free["counts"].values())
    examples = read_jsonl(work / "data/prepared/train.jsonl") + read_jsonl(work / "data/prepared/test.jsonl")
    assert examples and not any(ex.get("trace") for ex in examples)


def test_the_bootstrap_policy_writes_the_spans_and_the_rollouts_split_easy_from_hard(trace_free):
    work, metrics = trace_free["rows"]["paper_recipe"]
    p = metrics["partition"]
    assert p["partition/bootstrap/trained"] == 1.0 and p["partition/bootstrap/steps"] == BOOTSTRAP_STEPS
    assert p["partition/bootstrap/loss_end"] < p["partition/bootstrap/loss_start"]
    # the warm-up writes the four spans in some rollouts (the untrained backbone writes none)
    assert p["partition/rollouts/train_mean_format"] > 0
    assert p["partition/rollouts/train_generated"] == 1.0 and p["partition/rollouts/test_generated"] == 1.0
    easy, hard = read_jsonl(work / "data/partitioned/easy.jsonl"), read_jsonl(work / "data/partitioned/hard.jsonl")
    seen = p["partition/bootstrap/dialogues"]
    assert easy and hard and p["partition/easy_dialogues"] > seen   # some rolled-out dialogues are easy too
    assert p["partition/easy_dialogues"] + p["partition/hard_dialogues"] == seen + \
        sum(v for k, v in p.items() if k.startswith("partition/hist_"))   # every other dialogue was rolled out
    test = read_jsonl(work / "data/partitioned/test.jsonl")
    assert {ex["difficulty"] for ex in test} <= {"easy", "hard"} and "hard" in {ex["difficulty"] for ex in test}
    assert trace_free["judge_calls"] > 0   # the rubric reward went through the local judge server


def test_every_row_reuses_the_bootstrap_and_rollouts_and_labels_the_test_split_alike(trace_free):
    rows = trace_free["rows"]
    recipe_work, _ = rows["paper_recipe"]
    reference = {ex["id"]: ex["difficulty"] for ex in read_jsonl(recipe_work / "data/partitioned/test.jsonl")}
    for row in ROWS:
        work, metrics = rows[row]
        p = metrics["partition"]
        assert p["partition/bootstrap/trained"] == 0.0, row        # the cached warm-up
        assert p["partition/rollouts/test_generated"] == 0.0, row  # the cached rollouts, re-labelled
        test = {ex["id"]: ex["difficulty"] for ex in read_jsonl(work / "data/partitioned/test.jsonl")}
        if row.startswith("no_curriculum"):   # the same hard subset as the curriculum row
            assert test == reference, row
        ev = metrics["evaluate"]
        assert ev["eval/grpo/n"] == 8 and 0 <= ev["eval/grpo/format_compliance"] <= 1, row


def test_the_no_curriculum_rows_split_the_training_dialogues_their_way(trace_free):
    rows = trace_free["rows"]
    recipe_work, recipe = rows["paper_recipe"]
    random_work, random_metrics = rows["no_curriculum_random"]
    random_p = random_metrics["partition"]
    # the rollout rule's share of easy dialogues, other dialogues
    assert random_p["partition/easy_dialogues"] == recipe["partition"]["partition/easy_dialogues"]
    assert random_p["partition/rollouts/train_generated"] == 0.0

    def easy_ids(work):
        return {ex["dialogue_id"] for ex in read_jsonl(work / "data/partitioned/easy.jsonl")}
    assert easy_ids(random_work) != easy_ids(recipe_work)
    sft_only, grpo_only = rows["no_curriculum_all_sft"][1], rows["no_curriculum_all_grpo"][1]
    assert sft_only["partition"]["partition/hard_examples"] == 0 and sft_only["grpo"]["train/enabled"] == 0.0
    assert grpo_only["partition"]["partition/easy_examples"] == 0 and grpo_only["sft"]["train/enabled"] == 0.0
    assert "partition/rollouts/train_contexts" not in sft_only["partition"]   # only the test split is rolled out


def test_the_threshold_row_moves_the_rollout_split(trace_free):
    rows = trace_free["rows"]
    _, recipe = rows["paper_recipe"]
    _, strict = rows["threshold_strict"]
    # stricter knobs, re-labelled from the same rollouts: fewer easy dialogues, a lower resolution rate
    assert strict["partition"]["partition/easy_dialogues"] < recipe["partition"]["partition/easy_dialogues"]
    assert strict["partition"]["partition/rollouts/train_mean_resolution_rate"] < \
        recipe["partition"]["partition/rollouts/train_mean_resolution_rate"]
    print(f"trace-free pipeline: {len(rows)} rows in {trace_free['seconds']:.1f} s")
