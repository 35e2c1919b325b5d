"""The registries of names: what a config may say, and the code that implements each name.

Rewards and judge backends have one registry each, in the code (``rewards.REWARDS``,
``judges.BACKENDS``); config validates against it, so adding one is a function plus its config entry.
The tests below hold that true both ways (each name config accepts has its code, each piece of code is
reachable from config) and follow the README's "Where to add X" rows. Generation backends, partition
methods and GRPO credits keep a list in the config (importing their code at load would pull in torch and a stage): a test
holds each list equal to its code."""

from pathlib import Path

import pytest
import yaml

from stages.core import config

ROOT = Path(__file__).resolve().parents[2]


def code_registries() -> dict[str, tuple[tuple[str, ...], object]]:
    from stages import partition
    from stages.core import grpo_credit
    from stages.core.evaluation import backends

    return {
        "GENERATION_BACKENDS": (config.GENERATION_BACKENDS, backends.BACKENDS),
        "PARTITION_METHODS": (config.PARTITION_METHODS, partition.METHODS),
        "GRPO_CREDITS": (config.GRPO_CREDITS, grpo_credit.WINDOWS),
    }


@pytest.mark.parametrize("name", ["GENERATION_BACKENDS", "PARTITION_METHODS", "GRPO_CREDITS"])
def test_config_registry_matches_the_code(name):
    configured, implemented = code_registries()[name]
    assert len(set(configured)) == len(configured), f"config.{name} repeats a name"
    assert not set(configured) - set(implemented), f"config.{name} names with no code"
    assert not set(implemented) - set(configured), f"code for names config.{name} does not list"


def test_config_keeps_no_second_list_of_rewards_judge_backends_or_data_sources():
    assert not {"REWARD_NAMES", "JUDGE_BACKENDS", "DATA_SOURCES"} & set(dir(config))


def load(root: Path, overrides: list[str]):
    return config.load_config(root / "params.yaml", overrides)


@pytest.mark.parametrize("name", ["format", "emotion", "rubric"])
def test_every_registered_reward_is_accepted_by_config_and_named_after_its_key(root, fmt, name):
    from stages.core import rewards
    from stages.core.judges import build_judge

    assert set(rewards.REWARDS) == {"format", "emotion", "rubric"}, "a new reward: add it to this test's list"
    cfg = load(root, [f"reward.names=[{name}]", "reward.weights=[1.0]"])
    assert list(cfg.reward.names) == [name]
    fn, = rewards.build_reward_funcs([name], fmt, build_judge({"backend": "embedded"}), 1.0)
    assert fn.__name__ == name   # TRL logs rewards/<__name__>/mean; grpo.py reads it by the config name


def test_a_reward_added_to_the_registry_is_accepted_by_config_with_no_config_edit(root, monkeypatch):
    from stages.core import rewards

    with pytest.raises(config.ConfigError, match="reward.names.*brevity"):
        load(root, ["reward.names=[format,brevity]", "reward.weights=[0.5,0.5]"])
    monkeypatch.setitem(rewards.REWARDS, "brevity", lambda fmt, judge, rate: None)
    assert list(load(root, ["reward.names=[format,brevity]", "reward.weights=[0.5,0.5]"]).reward.names) == [
        "format", "brevity"]


def test_every_committed_reward_config_names_registered_rewards():
    from stages.core import rewards

    for path in sorted((ROOT / "conf" / "reward").glob("*.yaml")):
        names = yaml.safe_load(path.read_text())["names"]
        assert set(names) <= set(rewards.REWARDS), f"{path.name}: {set(names) - set(rewards.REWARDS)} have no code"


def test_every_judge_backend_has_a_conf_file_and_every_conf_file_a_backend():
    from stages.core.judges import BACKENDS

    files = {p.stem: yaml.safe_load(p.read_text())["backend"] for p in (ROOT / "conf" / "judge").glob("*.yaml")}
    assert set(files.values()) == set(BACKENDS), "a judge backend without conf/judge/<name>.yaml, or the reverse"
    assert all(stem == backend for stem, backend in files.items()), files


def test_a_judge_backend_added_to_the_registry_is_built_and_accepted_by_config(root, monkeypatch):
    from stages.core import judges

    with pytest.raises(config.ConfigError, match="judge.backend"):
        load(root, ["judge.backend=oracle"])
    built = []
    monkeypatch.setitem(judges.BACKENDS, "oracle", lambda cfg, rubric, cache_path, key: built.append(key) or "j")
    assert load(root, ["judge.backend=oracle"]).judge.backend == "oracle"
    assert judges.build_judge({"backend": "oracle"}, config_key="eval_judge") == "j" and built == ["eval_judge"]


def test_every_data_source_has_a_conf_file_and_every_conf_file_a_reader():
    from stages.core.data.corpus import SOURCES

    files = {p.stem: yaml.safe_load(p.read_text()) for p in (ROOT / "conf" / "data").glob("*.yaml")}
    common = files.pop("common")
    # a variant (synthetic_long) extends its source's file and inherits its source from there
    variants = {k: f for k, f in files.items() if "source" not in f}
    sources = {k: f for k, f in files.items() if k not in variants}
    assert "source" not in common and {f["source"] for f in sources.values()} == set(SOURCES)
    assert all("common" in f.get("defaults", []) for f in sources.values()), "each source extends common"
    assert all(set(f.get("defaults", [])) & set(sources) for f in variants.values()), "a variant extends a source"


def test_a_data_source_added_to_the_registry_is_read_and_accepted_by_config(root, fmt, monkeypatch):
    from stages.core.data import corpus

    with pytest.raises(config.ConfigError, match="data.source"):
        load(root, ["data.source=forum"])
    monkeypatch.setitem(corpus.SOURCES, "forum", lambda cfg, fmt: ["record"])
    cfg = load(root, ["data.source=forum"])
    assert corpus.read_records(cfg, fmt) == ["record"]


def test_build_judge_refuses_a_backend_outside_its_registry():
    """build_judge checks judges.BACKENDS (the embedded backend is built here without any endpoint)."""
    from stages.core.judges import build_judge

    assert build_judge({"backend": "embedded"}).version.startswith("embedded")
    with pytest.raises(ValueError, match="not available"):
        build_judge({"backend": "no-such-backend"})
