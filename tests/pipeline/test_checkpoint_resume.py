"""sft killed with SIGKILL after it saved a checkpoint: the re-run resumes from that checkpoint and
ends where an uninterrupted run ends (real entry point in a subprocess, tiny data, ~1 minute)."""

import json
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from stages.core.checkpoints import latest
from tests.pipeline.conftest import TINY, compose_params

pytestmark = pytest.mark.slow

MAX_STEPS, SAVE_STEPS = 24, 4
RESUMABLE = ["sft.trainer.max_steps=24", "sft.trainer.save_strategy=steps", "+sft.trainer.save_steps=4",
             "sft.trainer.logging_steps=2"]
# The Trainer restores optimizer, scheduler and RNG states and skips the batches already seen, so on CPU
# the resumed run should match the uninterrupted one up to float noise; it passed at this tolerance.
TOLERANCE = 1e-6
TIMEOUT = 300  # s; a run takes ~10 s on 2 idle cores, far more on shared ones


@pytest.fixture
def sft():
    started = []

    def start(work, params, log):
        """Start the stage; its output goes to the file ``log`` (a pipe left unread would block it)."""
        with (work / log).open("w") as out:
            started.append(subprocess.Popen(
                [sys.executable, "-m", "stages.sft", "--params", str(params), "--no-track"],
                cwd=work, stdout=out, stderr=subprocess.STDOUT))
        return started[-1]

    yield start
    for process in started:  # a failed assertion must not leave a training process behind
        if process.poll() is None:
            process.kill()
            process.wait()


def weights(path):
    from transformers import AutoModelForCausalLM

    return torch.cat([p.flatten() for p in AutoModelForCausalLM.from_pretrained(path).parameters()])


@pytest.fixture(scope="module")
def work(tmp_path_factory, root):
    import importlib

    work = tmp_path_factory.mktemp("resume")
    params = compose_params(root, work / "params.yaml", [*TINY, *RESUMABLE])
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    for stage in ("prepare", "partition"):
        assert importlib.import_module(f"stages.{stage}").main(["--params", str(params), "--no-track"]) == 0
    mp.undo()
    return work, params


def test_sft_killed_after_a_checkpoint_resumes_from_it(work, sft):
    work, params = work
    # The uninterrupted reference; its checkpoints are removed once models/sft is saved.
    assert sft(work, params, "reference.log").wait(timeout=TIMEOUT) == 0, (work / "reference.log").read_text()
    assert not any((work / "checkpoints").iterdir())
    shutil.move(work / "models/sft", work / "reference")
    reference = json.loads((work / "metrics/sft.json").read_text())

    killed = sft(work, params, "killed.log")
    deadline = time.monotonic() + TIMEOUT
    while not list((work / "checkpoints").glob("sft-*/checkpoint-*/trainer_state.json")):
        assert killed.poll() is None, (work / "killed.log").read_text()
        assert time.monotonic() < deadline, f"no checkpoint within {TIMEOUT} s"
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL
    (run,) = (work / "checkpoints").iterdir()
    _, state = latest(run)
    step = state["global_step"]
    assert 0 < step < MAX_STEPS and step % SAVE_STEPS == 0

    assert sft(work, params, "resumed.log").wait(timeout=TIMEOUT) == 0, (work / "resumed.log").read_text()
    log = (work / "resumed.log").read_text()
    assert f"resuming sft from checkpoint-{step} (step {step} of {MAX_STEPS})" in log
    metrics = json.loads((work / "metrics/sft.json").read_text())
    assert metrics["train/steps"] == MAX_STEPS
    assert abs(metrics["train/loss_end"] - reference["train/loss_end"]) <= TOLERANCE
    assert torch.allclose(weights(work / "models/sft"), weights(work / "reference"), atol=TOLERANCE, rtol=0)
    assert not run.exists()  # done: the checkpoints went with it

