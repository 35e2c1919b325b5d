"""Issue #13 part 8: tools/gpu_smoke.sh --dry-run prints its steps on a machine without a GPU, and the
configs it composes for the GPU pass the stages' own checks."""

import os
import shlex
import subprocess
import sys

from stages.core.config import load_config


def dry_run(root, gpus: str) -> str:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": gpus}
    proc = subprocess.run(["bash", str(root / "tools/gpu_smoke.sh"), "--dry-run"], env=env, cwd="/",
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_dry_run_prints_every_step_with_its_gpus(root):
    out = dry_run(root, "3,5")
    commands = [line for line in out.splitlines() if not line.startswith("#")]
    assert "CUDA_VISIBLE_DEVICES=3 python -m tools.gpu_smoke --check device" in commands
    assert "CUDA_VISIBLE_DEVICES=3 python -m stages.core.launch sft --params gpu.yaml" in commands
    assert "CUDA_VISIBLE_DEVICES=3 python -m tools.gpu_smoke --check judge --judge-model models/sft" in commands
    assert commands[-1] == "CUDA_VISIBLE_DEVICES=3,5 python -m stages.core.launch sft --params ddp.yaml"
    vllm = "vLLM installed" in out.splitlines()[0]   # the grpo/evaluate rows follow what is installed
    grpo = f"--params {'vllm.yaml' if vllm else 'gpu.yaml'}"
    assert f"CUDA_VISIBLE_DEVICES=3 python -m stages.core.launch grpo {grpo}" in commands
    assert f"CUDA_VISIBLE_DEVICES=3 python -m stages.evaluate {grpo}" in commands


def test_one_gpu_skips_the_ddp_step(root):
    out = dry_run(root, "0")
    assert out.splitlines()[-1].endswith("sft --params ddp.yaml  # skipped: needs 2 GPUs")


def test_the_composed_gpu_configs_are_valid(root, tmp_path):
    out = dry_run(root, "0,1")
    compose = next(line for line in out.splitlines() if line.startswith("bash -c 'python -m tools.compose_params"))
    script = shlex.split(compose)[2]
    subprocess.run(["bash", "-c", script.replace("python ", f"{sys.executable} ")], cwd=tmp_path,
                   env={**os.environ, "PYTHONPATH": str(root)}, check=True, capture_output=True)
    gpu, vllm, ddp = (load_config(tmp_path / f) for f in ("gpu.yaml", "vllm.yaml", "ddp.yaml"))
    assert gpu.model.dtype == "bfloat16" and gpu.sft.trainer.bf16 and not gpu.sft.trainer.use_cpu
    assert not gpu.grpo.trainer.use_cpu and gpu.grpo.trainer.bf16
    assert vllm.grpo.trainer.use_vllm and vllm.grpo.trainer.vllm_mode == "colocate" and vllm.evaluate.backend == "vllm"
    assert ddp.launch.name == "ddp" and ddp.launch.num_processes == 2 and ddp.paths.sft_model == "models/sft_ddp"


def test_the_runner_reports_passed_failed_skipped_and_keeps_to_its_budget(tmp_path):
    from tools.gpu_smoke import Step, run, table

    py = ["python", "-c"]
    plan = [Step("ok", [*py, "print('placement ok: cuda:0')"], expect="placement ok"),
            Step("exit 1", [*py, "import sys; print('boom'); sys.exit(1)"]),
            Step("no expected line", [*py, "print('generating on cpu')"], expect="generating on cuda"),
            Step("too slow", [*py, "import time; time.sleep(30)"], timeout_s=1),
            Step("ddp", [*py, "pass"], gpus=2, needs=["2 GPUs"]),
            Step("sees its GPU", [*py, "import os; print('gpu', os.environ['CUDA_VISIBLE_DEVICES'])"], expect="gpu 7")]
    rows = run(plan, tmp_path, ["7"], budget_s=60)
    assert [(r[0], r[1]) for r in rows] == [("ok", "passed"), ("exit 1", "FAILED"), ("no expected line", "FAILED"),
                                           ("too slow", "FAILED"), ("ddp", "skipped"), ("sees its GPU", "passed")]
    assert rows[0][3] == "placement ok: cuda:0" and rows[1][3].startswith("exit 1; boom (log ")
    assert "no line with 'generating on cuda'" in rows[2][3] and rows[3][3].startswith("exit timeout")
    assert rows[4][3] == "needs 2 GPUs"
    assert table(rows).splitlines()[2].startswith("| ok | passed |")
    (tmp_path / "again").mkdir()
    assert [r[1] for r in run(plan[:1], tmp_path / "again", ["7"], budget_s=5)] == ["skipped"]   # < 10 s left
