"""Rollout-based partition: real sampling from a tiny checkpoint, scored by the reward stack, cached so a
threshold change re-labels without generating; whole dialogues share a label."""

import json

import pytest

from stages.core import rollouts
from stages.core.config import load_config
from stages.core.curriculum import histogram
from tests.pipeline.conftest import compose_params

# policy=base: sampling and caching are the subject here; the bootstrap policy has its own tests
SMALL = ["data.n_dialogues=24", "data.n_personas=8", "data.test_fraction=0.25", "partition=rollouts",
         "partition.rollouts.policy=base",
         "partition.rollouts.num_generations=3", "partition.rollouts.max_new_tokens=12",
         "partition.rollouts.max_contexts=6", "partition.rollouts.batch_size=8"]


@pytest.fixture(scope="module")
def prepared(root, tmp_path_factory):
    work = tmp_path_factory.mktemp("rollouts")
    params = compose_params(root, work / "params.yaml", SMALL)
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    from stages import prepare

    assert prepare.main(["--params", str(params), "--no-track"]) == 0
    yield work, params
    mp.undo()


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_sample_score_then_cache_hit(prepared, monkeypatch):
    work, params = prepared
    cfg = load_config(params)
    contexts = rollouts.select_contexts(read(work / "data/prepared/train.jsonl"), 6, cfg.seed)
    entry, generated = rollouts.load_or_sample(cfg, contexts)
    assert generated and len(entry["completions"]) == len(contexts)
    assert all(len(group) == 3 for group in entry["completions"])
    scores = entry["scores"][rollouts.scorer_id(cfg)]
    assert set(scores) == set(cfg.partition.rollouts.reward.names)   # the partition's own mix, not grpo's
    assert all(len(row) == 3 and all(v is None or 0 <= v <= 1 for v in row) for row in scores["rubric"])

    def no_sampling(*_):
        raise AssertionError("a cache hit must not generate")
    monkeypatch.setattr(rollouts, "sample_completions", no_sampling)
    again, generated = rollouts.load_or_sample(cfg, contexts)
    assert not generated and again["completions"] == entry["completions"]
    # Another threshold re-labels from the same cache; another sampling setting is another key.
    strict = load_config(params, ["partition.rollouts.resolve_threshold=1.0"])
    lenient = load_config(params, ["partition.rollouts.resolve_threshold=0.0"])
    assert set(rollouts.resolution(lenient, contexts, again)[0].values()) == {1.0}
    assert set(rollouts.resolution(strict, contexts, again)[0].values()) <= {0.0, 1 / 3, 2 / 3, 1.0}
    with pytest.raises(AssertionError, match="cache hit"):
        rollouts.load_or_sample(load_config(params, ["partition.rollouts.temperature=0.5"]), contexts)


def test_partition_stage_with_rollouts(prepared):
    _, params = prepared
    from stages import partition

    # Thresholds that make every dialogue easy fail loudly; a sane split writes both sides.
    cfg = load_config(params, ["partition.rollouts.resolve_threshold=0.0"])
    with pytest.raises(RuntimeError, match="0 hard"):
        partition.run(cfg)


def test_select_contexts_keeps_whole_dialogues():
    examples = [{"id": f"d{d}-t{t}", "dialogue_id": f"d{d}"} for d in range(10) for t in range(d % 3 + 1)]
    chosen = rollouts.select_contexts(examples, 7, seed=1)
    assert 0 < len(chosen) <= 7
    ids = {ex["dialogue_id"] for ex in chosen}
    assert all(sum(ex["dialogue_id"] == d for ex in chosen) == sum(ex["dialogue_id"] == d for ex in examples)
               for d in ids)
    assert rollouts.select_contexts(examples, 7, seed=1) == chosen


def test_weighted_rewards_and_histogram():
    scores = {"format": [[1.0, 0.0]], "rubric": [[None, 0.5]]}
    assert rollouts.weighted_rewards(scores, ["format", "rubric"], [1.0, 3.0]) == [[1.0, 0.375]]  # (1*0 + 3*0.5) / 4: an abstention drops its weight
    hist = histogram([0.0, 0.05, 0.5, 1.0], 4)
    assert [h["dialogues"] for h in hist] == [2, 0, 1, 1]


def test_trace_rule_on_data_without_traces_points_at_rollouts(root):
    from stages.partition import label_by_trace

    cfg = load_config(root / "params.yaml")
    with pytest.raises(RuntimeError, match="partition.method=rollouts"):
        label_by_trace([{"id": "kb-train-000001-t0", "dialogue_id": "kb-train-000001", "trace": None}], [], cfg)
