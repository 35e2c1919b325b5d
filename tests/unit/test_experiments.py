"""Every conf/experiment file composes into a valid config: each ablation is one `dvc exp run`."""

from pathlib import Path

import pytest
import yaml

from stages.core.config import ConfigError, load_config
from tests.unit.test_config import compose

CONF = Path(__file__).resolve().parents[2] / "conf"
ALL = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


def test_there_are_experiments():
    assert {"paper_recipe", "no_format", "no_emotion", "no_rubric", "rubric_only", "response_only", "sft_only",
            "grpo_only", "no_curriculum_random", "no_curriculum_all_sft", "no_curriculum_all_grpo",
            "swapped_judge", "threshold_strict", "threshold_lenient"} <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_every_experiment_names_its_paper_row(root, name):
    comment = (root / "conf/experiment" / f"{name}.yaml").read_text().splitlines()[1]
    assert "paper" in comment and ("Ablation" in comment or "Table row" in comment), comment


@pytest.mark.parametrize("name", ALL)
def test_experiment_composes_validates_and_says_what_it_ablates(root, tmp_path, name):
    text = (root / "conf/experiment" / f"{name}.yaml").read_text()
    lines = text.splitlines()
    assert lines[0] == "# @package _global_" and lines[1].startswith("# "), "first lines: package, then what it ablates"
    params = tmp_path / "params.yaml"
    composed = compose(root, [f"experiment={name}"])
    params.write_text(yaml.safe_dump(composed))
    # the paper rows read KardiaBench, at a revision the user pins (or local files): validated with files
    cfg = load_config(params, ["data.path=/data/KardiaBench"] if composed["data"]["source"] == "kardiabench" else [])
    assert len(cfg.reward.weights) == len(cfg.reward.names)


def test_experiments_change_what_they_say(root):
    base = compose(root)
    assert compose(root, ["experiment=paper_recipe"]) == base
    assert compose(root, ["experiment=no_rubric"])["reward"]["names"] == ["format", "emotion"]
    plain = compose(root, ["experiment=response_only"])
    assert plain["format"]["style"] == "response_only" and "emotion" not in plain["reward"]["names"]
    qwen = compose(root, ["experiment=paper_qwen2.5-3b"])
    assert qwen["model"]["name_or_path"] == "Qwen/Qwen2.5-3B-Instruct" and qwen["grpo"]["trainer"]["learning_rate"] == 1e-6
    strict, lenient = (compose(root, [f"experiment=threshold_{k}"])["partition"] for k in ("strict", "lenient"))
    assert strict["max_fail_rate"] < base["partition"]["max_fail_rate"] < lenient["max_fail_rate"]


def test_swapped_judge_swaps_the_paper_judges(root):
    base, swapped = compose(root, ["judge=openai", "judge@eval_judge=openai", "eval_judge.model=gpt-5-mini"]), \
        compose(root, ["experiment=swapped_judge"])
    assert swapped["judge"]["model"] == base["eval_judge"]["model"] == "gpt-5-mini"
    assert swapped["eval_judge"]["model"] == base["judge"]["model"] == "Qwen/Qwen3-8B"


def test_stage_and_curriculum_ablations(root):
    assert compose(root, ["experiment=sft_only"])["grpo"]["enabled"] is False
    assert compose(root, ["experiment=grpo_only"])["sft"]["enabled"] is False
    assert compose(root, ["experiment=no_curriculum_random"])["partition"]["method"] == "random"
    all_sft, all_grpo = (compose(root, [f"experiment=no_curriculum_all_{k}"]) for k in ("sft", "grpo"))
    assert all_sft["partition"]["method"] == "all_sft" and not all_sft["grpo"]["enabled"] and all_sft["sft"]["enabled"]
    assert all_grpo["partition"]["method"] == "all_grpo" and not all_grpo["sft"]["enabled"] and all_grpo["grpo"]["enabled"]


BACKBONES = ["qwen2.5-3b", "qwen2.5-7b", "gemma-2b", "gemma-7b"]


@pytest.mark.parametrize("backbone", BACKBONES)
def test_paper_presets_are_the_whole_paper_run(root, tmp_path, monkeypatch, backbone):
    """Each paper_<backbone> row is the paper's set-up, not the embedded one with another model; it
    validates offline (validation never calls an endpoint, and needs no API key)."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(compose(root, [f"experiment=paper_{backbone}"])))
    # the preset pins no dataset revision yet (a placeholder): refused for the hub, with how to pin it
    with pytest.raises(ConfigError, match=r"key 'data.revision': 'unpinned' .*commit sha.*data.path"):
        load_config(params)
    cfg = load_config(params, ["data.revision=0123456789abcdef0123456789abcdef01234567"])
    assert cfg.model.name == backbone and cfg.model.source == "hub"
    assert cfg.data.source == "kardiabench" and cfg.data.hf_dataset == "Jhcircle/KardiaBench"
    assert cfg.partition.method == "rollouts" and cfg.partition.reference == "rollouts"
    assert cfg.partition.rollouts.policy == "bootstrap" and not cfg.partition.rollouts.bootstrap.trainer.use_cpu
    judge, eval_judge = cfg.judge, cfg.eval_judge
    assert judge.backend == "openai" and judge.model == "Qwen/Qwen3-8B" and judge.base_url.startswith("http://127.0.0.1")
    assert judge.chat_template_kwargs == {"enable_thinking": False} and judge.serve is not None
    assert eval_judge.backend == "openai" and eval_judge.model == "gpt-5-mini"
    assert eval_judge.base_url == "https://api.openai.com/v1" and eval_judge.api_key_env == "OPENAI_API_KEY"
    assert eval_judge.chat_template_kwargs is None and eval_judge.serve is None
    assert cfg.evaluate.backend == "vllm"
    assert cfg.launch.name == "ddp" and cfg.launch.num_processes == 8
    assert (cfg.sft.trainer.learning_rate, cfg.sft.global_batch) == (1e-4, 128)
    assert (cfg.grpo.trainer.learning_rate, cfg.grpo.global_batch, cfg.grpo.trainer.num_generations) == (1e-6, 32, 8)


def test_paper_presets_differ_only_in_the_backbone(root):
    rows = {b: compose(root, [f"experiment=paper_{b}"]) for b in BACKBONES}
    common = compose(root, ["experiment=paper_common"])
    for backbone, row in rows.items():
        assert {k: v for k, v in row.items() if k != "model"} == {k: v for k, v in common.items() if k != "model"}, \
            backbone
        assert row["model"] == compose(root, [f"model={backbone}"])["model"]


def test_the_paper_evaluation_judge_reads_its_key_from_the_environment(root, tmp_path, monkeypatch):
    """The key is never in the config: a missing variable fails naming it and the config key, when the
    judge is built (before any request); a set one is sent (building the judge calls nothing)."""
    from stages.core.chat import EndpointUnavailable
    from stages.core.judges import build_judge

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(compose(root, ["experiment=paper_qwen2.5-7b", "data.path=/data/KardiaBench"])))
    cfg = load_config(params)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(EndpointUnavailable, match="eval_judge API key: environment variable OPENAI_API_KEY is not set"):
        build_judge(cfg.eval_judge, None, "eval_judge")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy-for-the-test")
    judge = build_judge(cfg.eval_judge, None, "eval_judge")
    assert judge.client._headers["Authorization"] == "Bearer sk-dummy-for-the-test"
    assert build_judge(cfg.judge, None).client.s.api_key_env is None   # the local Qwen3-8B server: keyless


def test_the_paper_evaluation_judge_sends_what_gpt5_accepts(root, tmp_path, monkeypatch):
    """GPT-5 models refuse max_tokens and a temperature other than their default: the request body has
    max_completion_tokens and no temperature; the training judge keeps its plain sampling fields."""
    from stages.core.judges import build_judge

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(compose(root, ["experiment=paper_gemma-2b", "data.path=/data/KardiaBench"])))
    cfg = load_config(params)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy-for-the-test")
    sampling = build_judge(cfg.eval_judge, None, "eval_judge").client.s.sampling
    assert "max_tokens" not in sampling and "temperature" not in sampling and sampling["max_completion_tokens"] > 512
    assert build_judge(cfg.judge, None).client.s.sampling == {
        "temperature": 0.0, "max_tokens": 512, "chat_template_kwargs": {"enable_thinking": False}}


@pytest.mark.parametrize("row", ["threshold_strict", "threshold_lenient"])
def test_threshold_rows_move_the_rollout_knobs_under_partition_rollouts(root, row):
    """On data without traces (partition=rollouts) a threshold row must not equal the baseline: it
    moves the rollout rule's knobs, which that rule reads (and the trace ones, which the trace rule reads)."""
    from stages.core.curriculum import THRESHOLD_KNOBS, ignored_knobs

    base = compose(root, ["partition=rollouts"])["partition"]
    moved = compose(root, ["partition=rollouts", f"experiment={row}"])["partition"]
    for rule, knobs in THRESHOLD_KNOBS.items():
        def value(p, key):
            for part in key.split(".")[1:]:
                p = p[part]
            return p
        assert any(value(moved, k) != value(base, k) for k in knobs), (row, rule)
    from omegaconf import OmegaConf

    assert moved["method"] == "rollouts" and not ignored_knobs(OmegaConf.create(moved), THRESHOLD_KNOBS["rollouts"])
    strict, lenient = (compose(root, ["partition=rollouts", f"experiment=threshold_{k}"])["partition"]["rollouts"]
                       for k in ("strict", "lenient"))
    assert lenient["easy_min_rate"] < base["rollouts"]["easy_min_rate"] < strict["easy_min_rate"]


@pytest.mark.parametrize("row", ["no_curriculum_random", "no_curriculum_all_sft", "no_curriculum_all_grpo"])
def test_no_curriculum_rows_compare_with_the_rollout_rule_on_data_without_traces(root, tmp_path, row):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(compose(root, ["partition=rollouts", f"experiment={row}"])))
    cfg = load_config(params)
    assert cfg.partition.method == row.removeprefix("no_curriculum_") and cfg.partition.reference == "rollouts"
    assert compose(root, [f"experiment={row}"])["partition"]["reference"] == "trace"
