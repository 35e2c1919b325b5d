"""params.yaml is conf/ composed; config validation names the offending key before any work."""

import re

import pytest
import yaml

from stages.core.config import ConfigError, load_config


def compose(root, overrides=()):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(str(root / "conf"), version_base=None):
        cfg = hydra_compose("config", overrides=list(overrides))
    return OmegaConf.to_container(cfg, resolve=True)


def test_params_yaml_is_conf_composed(root):
    committed = yaml.safe_load((root / "params.yaml").read_text())
    assert committed == compose(root), "params.yaml is stale: run `make params` and commit it"


def test_committed_params_validate(root):
    cfg = load_config(root / "params.yaml")
    assert cfg.reward.names == ["format", "emotion", "rubric"]
    assert sum(cfg.reward.weights) == pytest.approx(1.0)


@pytest.mark.parametrize("model", ["qwen2.5-3b", "qwen2.5-7b", "gemma-2b", "gemma-7b"])
def test_paper_backbones_compose_and_validate(root, tmp_path, model):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(compose(root, [f"model={model}", "sft=paper", "grpo=paper", "launch=ddp"])))
    cfg = load_config(params)
    assert cfg.model.source == "hub" and cfg.model.lora.enabled
    assert cfg.sft.trainer.learning_rate == 1e-4 and cfg.grpo.trainer.learning_rate == 1e-6


@pytest.mark.parametrize("override, key", [
    ("sft.trainer.learning_rate=-0.001", "sft.trainer.learning_rate"),
    ("grpo.trainer.learning_rate=0", "grpo.trainer.learning_rate"),
    ("reward.weights=[0.5,0.5]", "reward.weights"),
    ("reward.names=[format,emotion,vibes]", "reward.names"),
    ("model.source=teleport", "model.source"),
    ("model.hidden_size=-8", "model.hidden_size"),
    ("model.hidden_size=130", "model.hidden_size"),
    ("partition.max_fail_rate=1.5", "partition.max_fail_rate"),
    ("data.history=everything", "data.history"),
    ("format.style=haiku", "format.style"),
    ("judge.backend=oracle", "judge.backend"),
    ("eval_judge.backend=oracle", "eval_judge.backend"),
    ("judge.rubric=kardia_v9", "judge.rubric"),
    ("grpo.trainer.num_generations=3", "grpo.trainer.per_device_train_batch_size"),
    ("evaluate.models=[base,gpt5]", "evaluate.models"),
    ("evaluate.backend=tgi", "evaluate.backend"),
    ("evaluate.min_judge_coverage=1.5", "evaluate.min_judge_coverage"),
    ("evaluate.sampled.models=[gpt5]", "evaluate.sampled.models"),
    ("evaluate.sampled.samples=0", "evaluate.sampled.samples"),
    ("evaluate.sampled.temperature=0", "evaluate.sampled.temperature"),
    ("evaluate.sampled.top_k=-1", "evaluate.sampled.top_k"),
    ("evaluate.sampled.top_p=0", "evaluate.sampled.top_p"),
    ("evaluate.sampled.max_new_tokens=0", "evaluate.sampled.max_new_tokens"),
    ("data.n_dialogues=lots", "data.n_dialogues"),
    ("data.source=wikipedia", "data.source"),
    ("data.max_reject_rate=1.5", "data.max_reject_rate"),
    ("data.limits.max_turn_chars=0", "data.limits.max_turn_chars"),
    ("data.dedup.exact=merge", "data.dedup.exact"),
    ("data.min_exchanges=9", "data.min_exchanges"),      # above data.max_exchanges
    ("data.max_exchanges=20", "data.max_exchanges"),     # above data.limits.max_exchanges: validation would reject
    ("data.max_history_turns=-1", "data.max_history_turns"),
    ("data.dedup.near_threshold=0", "data.dedup.near_threshold"),
    ("partition.method=vibes", "partition.method"),
    ("partition.rollouts.num_generations=0", "partition.rollouts.num_generations"),
    ("partition.rollouts.temperature=0", "partition.rollouts.temperature"),
    ("partition.rollouts.max_contexts=0", "partition.rollouts.max_contexts"),
    ("partition.rollouts.resolve_threshold=2", "partition.rollouts.resolve_threshold"),
    ("synthesize.backend=carrier_pigeon", "synthesize.backend"),
    ("synthesize.max_revisions=-1", "synthesize.max_revisions"),
    ("synthesize.seeds_path=seeds.jsonl", "synthesize.seeds_path"),
    ("synthesize.openai.concurrency=0", "synthesize.openai.concurrency"),
    ("partition.method=shuffle", "partition.method"),
    ("partition.easy_fraction=1.0", "partition.easy_fraction"),
    ("sft.enabled=maybe", "sft.enabled"),
    ("grpo.credit=per_token", "grpo.credit"),
    ("grpo.seed=-1", "grpo.seed"),
    ("grpo.average=1.0", "grpo.average"),
    ("grpo.average=0.9 grpo.select_best.enabled=true", "grpo.average"),
    ("grpo.credit=spans grpo.trainer.multi_objective_aggregation=normalize_then_sum", "grpo.credit"),
    pytest.param("seed=-1", "seed", marks=pytest.mark.reliability(probe="seed -1", kind="bad input",
                                                                  outcome="clear error")),
    *[pytest.param(o, k, marks=pytest.mark.reliability(probe="negative or zero max_steps", kind="bad input",
                                                       outcome="clear error"))
      for o, k in (("sft.trainer.max_steps=-5", "sft.trainer.max_steps"),
                   ("grpo.trainer.max_steps=0", "grpo.trainer.max_steps"))],
    pytest.param("evaluate.max_examples=0", "evaluate.max_examples", marks=pytest.mark.reliability(
        probe="evaluate.max_examples <= 0", kind="bad input", outcome="clear error")),
])
def test_bad_values_fail_naming_the_key(root, override, key):
    with pytest.raises(ConfigError, match=f"key '{key}'"):
        load_config(root / "params.yaml", overrides=override.split(" "))


def test_long_corpus_and_baseline_groups_compose(root, tmp_path):
    """data=synthetic_long raises the validation limit with the generator's length; each selected
    conf/baseline file becomes one evaluate.api_baselines entry, in the order selected; none by default."""
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(compose(root, ["data=synthetic_long", "baseline=[psyllm,gpt-4o]"])))
    cfg = load_config(params)
    assert cfg.data.min_exchanges > 10 and cfg.data.limits.max_exchanges >= cfg.data.max_exchanges
    assert [b.name for b in cfg.evaluate.api_baselines] == ["psyllm", "gpt-4o"]
    assert cfg.evaluate.api_baselines[1].api_key_env == "OPENAI_API_KEY"
    assert cfg.evaluate.api_baselines[0].api_key_env is None   # a local vllm serve
    assert load_config(root / "params.yaml").evaluate.api_baselines == []


@pytest.mark.parametrize("group", ["data=kardiabench", "partition=rollouts"])
def test_new_groups_compose_and_validate(root, tmp_path, group):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(compose(root, [group])))
    cfg = load_config(params, ["data.path=/data/KardiaBench"] if group.startswith("data") else [])
    assert cfg.data.source == ("kardiabench" if group.startswith("data") else "synthetic")
    assert cfg.partition.method == ("rollouts" if group.startswith("partition") else "trace")


@pytest.mark.parametrize("revision", ["null", "unpinned", "main"])
def test_kardiabench_needs_a_path_or_a_pinned_revision(root, tmp_path, revision):
    """The hub source is read only at a pinned revision: the committed placeholder and a moving branch
    are refused, saying how to pin it; local files (data.path) need none."""
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(compose(root, ["data=kardiabench", f"data.revision={revision}"])))
    with pytest.raises(ConfigError, match=r"key 'data.revision'.*commit sha.*huggingface.co/datasets/Jhcircle"):
        load_config(params)
    assert load_config(params, ["data.path=/data/KardiaBench"]).data.path
    assert load_config(params, ["data.revision=v1.0"]).data.revision == "v1.0"
    assert compose(root, ["data=kardiabench"])["data"]["revision"] == "unpinned"


def test_unknown_key_is_rejected(root):
    with pytest.raises(ConfigError, match="lerning_rate|grpo.lerning_rate"):
        load_config(root / "params.yaml", overrides=["grpo.lerning_rate=0.1"])


def test_emotion_reward_needs_an_emotion_span(root):
    with pytest.raises(ConfigError, match="emotion span"):
        load_config(root / "params.yaml", overrides=["format.style=response_only"])


def test_missing_params_file_says_how_to_make_it(tmp_path):
    with pytest.raises(ConfigError, match="make params"):
        load_config(tmp_path / "params.yaml")


def _judge_params(root, tmp_path, overrides):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(compose(root, overrides)))
    return params


def test_training_and_evaluation_judges_compose_separately(root, tmp_path):
    cfg = load_config(_judge_params(root, tmp_path, ["judge=openai", "judge@eval_judge=hf"]))
    assert cfg.judge.backend == "openai" and cfg.judge.base_url.startswith("http")
    assert cfg.eval_judge.backend == "hf" and cfg.eval_judge.batch_size > 0
    assert cfg.paths.judge_cache


@pytest.mark.parametrize("override, key", [
    ("judge.base_url=localhost:8000", "judge.base_url"),
    ("judge.concurrency=0", "judge.concurrency"),
    ("judge.timeout_s=0", "judge.timeout_s"),
    ("judge.max_retries=-1", "judge.max_retries"),
    ("judge.api_key_env=sk-123", "judge.api_key_env"),
    ("judge.model=null", "judge.model"),
    ("eval_judge.batch_size=0", "eval_judge.batch_size"),
    ("eval_judge.dtype=int3", "eval_judge.dtype"),
])
def test_bad_llm_judge_values_fail_naming_the_key(root, tmp_path, override, key):
    params = _judge_params(root, tmp_path, ["judge=openai", "judge@eval_judge=hf"])
    with pytest.raises(ConfigError, match=f"key '{key}'"):
        load_config(params, overrides=[override])


SECRET = "sk_live_4f9Qx7TnB2"  # what a user might paste where an environment variable's name belongs


PASTED_KEY = pytest.mark.reliability(probe="a key pasted into a *_env setting", kind="bad input",
                                     outcome="clear error", lost="nothing; the key is not echoed")
KEY_IN_URL = pytest.mark.reliability(probe="credentials in a base_url", kind="bad input", outcome="clear error",
                                     lost="nothing; the credentials are not echoed")


@pytest.mark.parametrize("override, key", [
    *[pytest.param(o, k, marks=PASTED_KEY) for o, k in (
        (f"judge.api_key_env={SECRET}", "judge.api_key_env"),
        (f"synthesize.openai.api_key_env={SECRET}", "synthesize.openai.api_key_env"),
        (f"data.token_env={SECRET}", "data.token_env"),
        (f"evaluate.api_baselines=[{{name: b, base_url: 'http://h/v1', model: m, api_key_env: {SECRET}}}]",
         "evaluate.api_baselines[0].api_key_env"))],
    *[pytest.param(o, k, marks=KEY_IN_URL) for o, k in (
        (f"judge.base_url=https://user:{SECRET}@host/v1", "judge.base_url"),
        (f"synthesize.openai.base_url=https://me:{SECRET}@host/v1", "synthesize.openai.base_url"),
        (f"evaluate.api_baselines=[{{name: b, base_url: 'https://u:{SECRET}@h/v1', model: m}}]",
         "evaluate.api_baselines[0].base_url"))],
])
def test_a_pasted_key_is_refused_and_never_echoed(root, tmp_path, override, key):
    params = _judge_params(root, tmp_path, ["judge=openai"])
    with pytest.raises(ConfigError, match=re.escape(f"key '{key}'")) as e:
        load_config(params, overrides=[override])
    assert SECRET not in str(e.value)


@pytest.mark.parametrize("overrides, key", [
    (["sft.enabled=false", "grpo.enabled=false"], "sft.enabled"),
    (["partition.method=all_sft"], "grpo.enabled"),
    (["partition.method=all_grpo"], "sft.enabled"),
])
def test_stage_switches_must_fit_the_partition(root, overrides, key):
    with pytest.raises(ConfigError, match=f"key '{key}'"):
        load_config(root / "params.yaml", overrides=overrides)


@pytest.mark.reliability(probe="a typo inside sft.trainer / grpo.trainer", kind="bad input",
                         outcome="clear error")
@pytest.mark.parametrize("override, key, hint", [
    ("+sft.trainer.learning_rat=0.1", "sft.trainer.learning_rat", "did you mean 'learning_rate'"),
    ("+grpo.trainer.num_generation=4", "grpo.trainer.num_generation", "did you mean 'num_generations'"),
])
def test_a_trainer_key_typo_names_the_key_and_the_closest_field(root, tmp_path, override, key, hint):
    from stages.core.config import check_trainer_keys
    from stages.core.params import compose

    compose(tmp_path / "params.yaml", [override])
    cfg = load_config(tmp_path / "params.yaml")  # the schema passes trainer dicts through
    with pytest.raises(ConfigError, match=re.escape(f"key '{key}'") + ".*" + re.escape(hint)):
        check_trainer_keys(cfg)


def test_every_committed_trainer_key_is_a_trl_field(root, tmp_path):
    from omegaconf import OmegaConf

    from stages.core.config import check_trainer_keys
    from stages.core.params import compose

    for experiment in sorted(p.stem for p in (root / "conf/experiment").glob("*.yaml")):
        compose(tmp_path / "params.yaml", [f"experiment={experiment}"])
        cfg = load_config(tmp_path / "params.yaml", ["data.path=/data/KardiaBench"])   # the paper rows pin no revision
        check_trainer_keys(cfg, ("sft", "grpo", "partition.rollouts.bootstrap"))
    typo = OmegaConf.create({"partition": {"rollouts": {"bootstrap": {"trainer": {"lerning_rate": 1.0}}}}})
    with pytest.raises(ConfigError, match=r"'partition.rollouts.bootstrap.trainer.lerning_rate'.*did you mean 'learning_rate'"):
        check_trainer_keys(typo, ("partition.rollouts.bootstrap",))
