"""conf/launch: every launch composes and validates, its accelerate file is checked at config time,
the batch arithmetic names its keys, and the launcher runs `single` in process (no command)."""

import pytest
import yaml

from stages.core.config import ConfigError, load_config
from stages.core.launch import command
from tests.unit.test_config import compose


@pytest.mark.parametrize("launch", ["single", "ddp", "zero2", "zero3", "fsdp"])
def test_every_launch_composes_and_validates(root, tmp_path, launch):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(compose(root, [f"launch={launch}"])))
    cfg = load_config(params)
    cmd = command(cfg, "sft", ["--params", str(params)])
    if launch == "single":
        assert cmd is None   # the stage runs in the launcher's own process
    else:
        assert cmd[cmd.index("--config_file") + 1] == str(root / f"conf/accelerate/{launch}.yaml")
        assert cmd[cmd.index("--num_processes") + 1] == "8"
        assert cmd[-4:] == ["-m", "stages.sft", "--params", str(params)]


@pytest.mark.parametrize("overrides, key", [
    (["launch.num_processes=2"], "launch.num_processes"),                          # single is one process
    (["launch=ddp", "launch.num_processes=1"], "launch.num_processes"),
    (["launch=zero3", "launch.config_file=conf/accelerate/zero2.yaml"], "launch.config_file"),
    (["launch=ddp", "launch.config_file=conf/accelerate/nope.yaml"], "launch.config_file"),
    (["grpo.trainer.per_device_train_batch_size=4"], "grpo.trainer.per_device_train_batch_size"),  # 4 % G
])
def test_bad_launches_fail_naming_the_key(root, tmp_path, overrides, key):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(compose(root, overrides)))
    with pytest.raises(ConfigError, match=f"key '{key}'"):
        load_config(params)


def test_whole_grpo_groups_count_every_process(root, tmp_path):
    params = tmp_path / "params.yaml"   # 4 completions per process x 2 processes = one group of G = 8
    params.write_text(yaml.safe_dump(compose(root, ["launch=ddp", "launch.num_processes=2",
                                                    "grpo.trainer.per_device_train_batch_size=4"])))
    assert load_config(params).launch.num_processes == 2


def test_the_paper_global_batch_is_checked_against_the_world_size(root, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(compose(root, ["experiment=paper_qwen2.5-7b", "data.path=/data/KardiaBench"])))
    assert load_config(params).launch.num_processes == 8   # 4 x 4 x 8 = 128, 4 x 1 x 8 = 32
    params.write_text(yaml.safe_dump(compose(root, ["experiment=paper_qwen2.5-7b", "data.path=/data/KardiaBench", "launch.num_processes=4"])))
    message = ("sft.trainer.per_device_train_batch_size (4) x sft.trainer.gradient_accumulation_steps (4) x "
               "launch.num_processes (4) = 64, not the recipe's sft.global_batch (128)")
    with pytest.raises(ConfigError, match="key 'sft.global_batch'.*" + message.replace("(", r"\(").replace(")", r"\)")):
        load_config(params)


def test_a_rank_started_in_another_world_is_refused(root, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    with pytest.raises(ConfigError, match="key 'launch.num_processes'"):
        load_config(root / "params.yaml")
