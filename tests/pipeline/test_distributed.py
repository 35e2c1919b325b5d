"""`accelerate launch --num_processes 2` (launch=ddp, gloo on the CPU) of sft and grpo on the tiny
model, through the stages' own launcher: one checkpoint, one metrics/<stage>.json, one plot series
and one MLflow run, and the result of a one-process run with the same global batch.

Tolerances: SFT sees the same samples per optimizer step (accelerate shards one seeded order batch by
batch, and the loss is a token mean over both ranks), so losses and weights agree to float rounding
(measured: 5e-7 on the loss). GRPO samples its completions with a different seed on each rank (TRL
seeds per device), so only statistics can agree: the reward per logged step within 0.1 (on [0, 1];
measured 0.01) and the relative weight change within a factor of 2 (measured 4 %).
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from tests.pipeline.conftest import compose_params

pytestmark = pytest.mark.distributed

# Few steps: two launches of two processes each must stay short on a 2-core machine.
COMMON = ["data.n_dialogues=160", "data.n_personas=40", "data.test_fraction=0.2",
          "sft.trainer.num_train_epochs=1", "sft.trainer.max_steps=3", "sft.trainer.warmup_steps=1",
          "sft.trainer.logging_steps=1",
          "sft.trainer.train_sampling_strategy=random",   # length grouping forms batches by per-device size
          "grpo.trainer.max_steps=2", "grpo.trainer.logging_steps=1", "grpo.trainer.max_completion_length=24"]
SINGLE = ["sft.trainer.per_device_train_batch_size=8", "grpo.trainer.per_device_train_batch_size=16"]
DDP = ["launch=ddp", "launch.num_processes=2",
       "sft.trainer.per_device_train_batch_size=4", "grpo.trainer.per_device_train_batch_size=8"]


def run_in_process(work, stage, *args):
    from stages.core.launch import main

    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{work / 'mlflow.db'}")
    try:
        assert main([stage, "--params", "params.yaml", *args]) == 0, stage
    finally:
        mp.undo()


def run_launched(work, stage):
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}"}
    done = subprocess.run([sys.executable, "-m", "stages.core.launch", stage], cwd=work, env=env, check=False,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "accelerate.commands.launch" in done.stderr and "--num_processes 2" in done.stderr
    return done


@pytest.fixture(scope="module")
def dirs(tmp_path_factory, root):
    """single/ and ddp/ share the prepared data, base model and (for grpo) the SFT checkpoint."""
    single, ddp = tmp_path_factory.mktemp("single"), tmp_path_factory.mktemp("ddp")
    compose_params(root, single / "params.yaml", COMMON + SINGLE)
    compose_params(root, ddp / "params.yaml", COMMON + DDP)
    import stages.partition
    import stages.prepare

    mp = pytest.MonkeyPatch()
    mp.chdir(single)
    for module in (stages.prepare, stages.partition):
        assert module.main(["--params", "params.yaml", "--no-track"]) == 0
    mp.undo()
    (ddp / "models").mkdir()
    (ddp / "data").symlink_to(single / "data")
    (ddp / "models/base").symlink_to(single / "models/base")
    return single, ddp


def mlflow_runs(work):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{work / 'mlflow.db'}")
    return [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]


def outputs_once(work, stage, models):
    assert sorted(p.name for p in (work / "models").iterdir()) == sorted(["base", *models])
    assert (work / "models" / models[-1] / "model.safetensors").is_file()
    assert [p.name for p in (work / "metrics").iterdir()] == [f"{stage}.json"]
    assert not [p for p in work.rglob(".*") if p.is_dir() and p.name.startswith(".")], "temp dirs left"
    runs = [r for r in mlflow_runs(work) if r.data.tags.get("stage") == stage]   # parent runs have none
    assert [r.info.status for r in runs] == ["FINISHED"]
    return json.loads((work / "metrics" / f"{stage}.json").read_text())


def series(work, name):
    lines = (work / "plots" / name).read_text().splitlines()
    header = lines[0].split(",")
    return [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]


def test_sft_on_two_processes_matches_one_process(dirs):
    single, ddp = dirs
    run_in_process(single, "sft")
    run_launched(ddp, "sft")
    metrics = outputs_once(ddp, "sft", ["sft"])
    reference = json.loads((single / "metrics/sft.json").read_text())
    assert metrics["train/steps"] == reference["train/steps"] == 3
    assert metrics["train/weight_change"] == pytest.approx(reference["train/weight_change"], rel=1e-4)
    for got, want in zip(series(ddp, "sft_loss.csv"), series(single, "sft_loss.csv"), strict=True):
        assert float(got["loss"]) == pytest.approx(float(want["loss"]), rel=1e-5)
    a, b = (load_file(w / "models/sft/model.safetensors") for w in (ddp, single))
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def test_grpo_on_two_processes_matches_one_process(dirs):
    single, ddp = dirs
    if not (single / "models/sft").exists():   # run alone: the SFT checkpoint both GRPO runs start from
        run_in_process(single, "sft", "--no-track")
    shutil.rmtree(ddp / "models/sft", ignore_errors=True)
    shutil.copytree(single / "models/sft", ddp / "models/sft")
    shutil.rmtree(ddp / "metrics", ignore_errors=True)   # count what the GRPO launch alone writes
    run_in_process(single, "grpo")
    run_launched(ddp, "grpo")
    metrics = outputs_once(ddp, "grpo", ["sft", "grpo"])
    reference = json.loads((single / "metrics/grpo.json").read_text())
    assert metrics["train/steps"] == reference["train/steps"] == 2
    assert metrics["train/prompts"] == reference["train/prompts"]
    assert 0.5 < metrics["train/weight_change"] / reference["train/weight_change"] < 2
    for got, want in zip(series(ddp, "grpo_rewards.csv"), series(single, "grpo_rewards.csv"), strict=True):
        assert abs(float(got["reward"]) - float(want["reward"])) < 0.1
