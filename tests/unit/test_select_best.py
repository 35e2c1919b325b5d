"""GRPO's best-checkpoint selection (stages/core/select_best.py): the choice, the dev slice, the dev
scores and the config checks. The real run is tests/pipeline/test_select_best.py."""

import pytest
import yaml

from stages.core.config import ConfigError, load_config
from stages.core.rewards import build_reward_funcs
from stages.core.select_best import Selection, dev_scores, split_dev
from tests.unit.test_config import compose
from tests.unit.test_rewards import CONTEXT, GOOD, PERSONA


def test_selection_keeps_the_maximum_and_its_step():
    sel = Selection()
    improved = [sel.record(step, value) for step, value in [(5, 0.2), (10, 0.5), (15, 0.1), (20, 0.4)]]
    assert improved == [True, True, False, False]
    assert (sel.best_step, sel.best_value) == (10, 0.5)
    assert sel.history == [(5, 0.2), (10, 0.5), (15, 0.1), (20, 0.4)]
    assert sel.evaluated(15) and not sel.evaluated(16)


def test_selection_tie_keeps_the_earliest_step():
    sel = Selection()
    for step, value in [(1, 0.3), (2, 0.7), (3, 0.7), (4, 0.7)]:
        sel.record(step, value)
    assert (sel.best_step, sel.best_value) == (2, 0.7)


def test_selection_of_negative_values_and_a_single_evaluation():
    sel = Selection()
    assert sel.record(3, -0.5)
    assert (sel.best_step, sel.best_value) == (3, -0.5)


def test_dev_slice_is_seeded_disjoint_and_shrinks_training():
    examples = [{"id": i} for i in range(20)]
    train, dev = split_dev(examples, 5, seed=42)
    assert len(dev) == 5 and len(train) == 15
    assert {e["id"] for e in train} | {e["id"] for e in dev} == set(range(20))
    assert not {e["id"] for e in train} & {e["id"] for e in dev}
    assert [e["id"] for e in train] == sorted(e["id"] for e in train)   # file order kept
    assert split_dev(examples, 5, seed=42) == (train, dev)
    assert split_dev(examples, 5, seed=7)[1] != dev
    with pytest.raises(ValueError, match="dev_examples=20"):
        split_dev(examples, 20, seed=42)


def test_dev_scores_are_the_weighted_reward_and_its_terms(fmt):
    names, weights = ["format", "emotion"], [0.25, 0.75]
    funcs = build_reward_funcs(names, fmt, None, 1.0)
    dev = [{"prompt": [{"role": "user", "content": "hi"}], "emotion": e, "persona": PERSONA, "context": CONTEXT}
           for e in ("sad", "angry")]
    scores = dev_scores([GOOD, GOOD], dev, funcs, names, weights)
    # both well-formed; the emotion is right for the first only
    assert scores["format"] == 1.0 and scores["emotion"] == 0.5
    assert scores["reward"] == pytest.approx((1.0 + 0.25) / 2) and scores["coverage"] == 1.0


def _params(root, tmp_path, overrides):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(compose(root, overrides)))
    return params


def test_tiny_default_is_off_and_paper_configs_evaluate_at_their_save_steps(root, tmp_path):
    assert not load_config(root / "params.yaml").grpo.select_best.enabled
    for overrides in (["grpo=paper", "sft=paper", "launch=ddp"], ["grpo=vllm_colocate"], ["grpo=vllm_server"]):
        cfg = load_config(_params(root, tmp_path, [*overrides, "model=qwen2.5-7b"]))
        assert cfg.grpo.select_best.enabled
        assert cfg.grpo.select_best.every_steps == cfg.grpo.trainer.save_steps


def test_unknown_metric_is_refused_by_name(root):
    with pytest.raises(ConfigError, match="grpo.select_best.metric"):
        load_config(root / "params.yaml", overrides=["grpo.select_best.enabled=true", "grpo.select_best.metric=bleu"])
    cfg = load_config(root / "params.yaml", overrides=["grpo.select_best.enabled=true", "grpo.select_best.metric=emotion"])
    assert cfg.grpo.select_best.metric == "emotion"


def test_sharded_launch_is_refused_with_selection_on(root, tmp_path):
    overrides = ["grpo=paper", "model=qwen2.5-7b", "sft=paper", "launch=zero3", "launch.num_processes=8"]
    with pytest.raises(ConfigError, match="launch=zero3 shards"):
        load_config(_params(root, tmp_path, overrides))
    assert load_config(_params(root, tmp_path, [*overrides, "grpo.select_best.enabled=false"]))
