"""GPU smoke check (issue #13 part 8): one command that runs every GPU path of the pipeline on the
tiny model, in a few minutes on one GPU, and prints a table of what passed.

    tools/gpu_smoke.sh                 # or python -m tools.gpu_smoke
    tools/gpu_smoke.sh --dry-run       # print the commands, run nothing (works without a GPU)
    tools/gpu_smoke.sh --keep          # keep the work directory (logs of every step)

The steps run in a copy of this working tree in a temp directory (the repository's own outputs, params.yaml
and MLflow store are not touched), each as the command a user would type, with its own time limit:
the device (CUDA, bf16), prepare and partition on a small synthetic corpus, sft in bf16 on the GPU, grpo
with vLLM colocated (without vLLM: on the GPU alone, and the vLLM rows say skipped), evaluate with the vLLM
backend (without vLLM: the hf backend, which must say it generates on cuda), the hf judge on the GPU, and a
2-process DDP launch of sft when two GPUs are visible. Exit status 0 when nothing failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 480            # the whole check: 8 minutes on one GPU (the limit)
COPY = ["conf", "stages", "experiments", "tools", "prompts", "dvc.yaml", "pyproject.toml", ".dvc/config",
        ".dvcignore", ".gitignore"]

# Small enough for minutes, big enough that every stage does real work (the test-suite sizes,
# tests/pipeline/conftest.py), on the GPU in bf16: the tiny recipes say use_cpu and fp32 for 2 cores.
GPU_TINY = [
    "data.n_dialogues=160", "data.n_personas=40", "data.test_fraction=0.2", "model.dtype=bfloat16",
    "sft.trainer.max_steps=20", "sft.trainer.logging_steps=5", "sft.trainer.use_cpu=false", "sft.trainer.bf16=true",
    "grpo.trainer.max_steps=3", "grpo.trainer.per_device_train_batch_size=16", "grpo.trainer.logging_steps=1",
    "grpo.trainer.max_completion_length=48", "grpo.trainer.use_cpu=false", "grpo.trainer.bf16=true",
    "evaluate.max_examples=16", "evaluate.max_new_tokens=48",
]
# vLLM colocated in the GRPO trainer, and the vLLM evaluation backend; small memory shares so both fit
# beside the trainer on one GPU. Sleep mode off: one fewer moving part in a smoke check.
VLLM = ["grpo.trainer.use_vllm=true", "++grpo.trainer.vllm_mode=colocate",
        "++grpo.trainer.vllm_gpu_memory_utilization=0.25", "++grpo.trainer.vllm_max_model_length=1024",
        "++grpo.trainer.vllm_enable_sleep_mode=false",
        "evaluate.backend=vllm", "evaluate.vllm.gpu_memory_utilization=0.25", "evaluate.vllm.max_model_len=1024"]
DDP = ["launch=ddp", "launch.num_processes=2", "paths.sft_model=models/sft_ddp"]   # its own output beside sft's


@dataclass
class Step:
    name: str
    argv: list[str]
    gpus: int = 1                      # CUDA_VISIBLE_DEVICES: the first n visible
    timeout_s: int = 120
    needs: list[str] = field(default_factory=list)   # "vllm", "2 GPUs": skipped (not failed) without
    expect: str | None = None          # a line its output must contain
    note: str = ""


def has_vllm() -> bool:
    return importlib.util.find_spec("vllm") is not None


def steps(vllm: bool, judge_model: str) -> list[Step]:
    py = ["python"]
    params = "--params"
    gen = "generating on cuda"
    grpo_params, eval_params = ("vllm.yaml", "vllm.yaml") if vllm else ("gpu.yaml", "gpu.yaml")
    return [
        Step("device: CUDA, bf16", [*py, "-m", "tools.gpu_smoke", "--check", "device"], timeout_s=60,
             expect="cuda ok"),
        Step("compose the configs", ["bash", "-c", " && ".join([
            shlex.join([*py, "-m", "tools.compose_params", "-o", "gpu.yaml", *GPU_TINY]),
            shlex.join([*py, "-m", "tools.compose_params", "-o", "vllm.yaml", *GPU_TINY, *VLLM]),
            shlex.join([*py, "-m", "tools.compose_params", "-o", "ddp.yaml", *GPU_TINY, *DDP])])], gpus=0, timeout_s=60),
        Step("prepare + partition", ["bash", "-c", (f"python -m stages.prepare {params} gpu.yaml && "
                                                    f"python -m stages.partition {params} gpu.yaml")], gpus=0, timeout_s=150),
        Step("placement: model on the GPU in bf16", [*py, "-m", "tools.gpu_smoke", "--check", "placement"],
             timeout_s=60, expect="placement ok"),
        Step("sft, bf16, on the GPU", [*py, "-m", "stages.core.launch", "sft", params, "gpu.yaml"], timeout_s=150),
        Step("grpo, vLLM colocate, bf16" if vllm else "grpo, bf16 (vLLM not installed)",
             [*py, "-m", "stages.core.launch", "grpo", params, grpo_params], timeout_s=240),
        Step("evaluate, vLLM backend" if vllm else "evaluate, hf backend on the GPU (vLLM not installed)",
             [*py, "-m", "stages.evaluate", params, eval_params], timeout_s=200,
             expect=None if vllm else gen),
        Step("hf judge on the GPU", [*py, "-m", "tools.gpu_smoke", "--check", "judge", "--judge-model", judge_model],
             timeout_s=120, expect="judge ok"),
        Step("DDP: sft on 2 GPUs", [*py, "-m", "stages.core.launch", "sft", params, "ddp.yaml"], gpus=2,
             timeout_s=180, needs=["2 GPUs"]),
    ]


# --- the in-process checks (`--check <name>`, run as steps above) -------------------------------

def check_device() -> None:
    import torch

    assert torch.cuda.is_available(), "torch.cuda.is_available() is False (CPU wheel of torch, or no driver?)"
    name = torch.cuda.get_device_name(0)
    assert torch.cuda.is_bf16_supported(), f"{name} has no bf16"
    a = torch.randn(256, 256, device="cuda", dtype=torch.bfloat16)
    assert torch.isfinite(a @ a).all()
    print(f"cuda ok: {torch.cuda.device_count()} visible, {name}, torch {torch.__version__}, CUDA {torch.version.cuda}")


def check_placement(params: str = "gpu.yaml") -> None:
    """Every generation path loads through to_generation_device; this is the model evaluate and the
    rollout partition load."""
    import torch
    from transformers import AutoModelForCausalLM

    from stages.core.config import load_config
    from stages.core.devices import to_generation_device

    cfg = load_config(params)
    model = AutoModelForCausalLM.from_pretrained(cfg.paths.base_model, dtype=getattr(torch, cfg.model.dtype))
    model = to_generation_device(model, "smoke placement")
    assert model.device.type == "cuda" and model.dtype == torch.bfloat16, f"{model.device} {model.dtype}"
    print(f"placement ok: {model.device} {model.dtype}")


def check_judge(model: str) -> None:
    from stages.core.judges import build_judge

    judge = build_judge({"backend": "hf", "model": model, "max_tokens": 16, "batch_size": 2, "dtype": "bfloat16"})
    assert judge.model.device.type == "cuda", f"the hf judge loaded on {judge.model.device}"
    items = [{"response": "That sounds hard.", "persona": "MBTI: INFP", "context": "User: I'm sad."}] * 2
    scores = judge.score_many(items)   # the tiny model abstains (no JSON): generation is what is checked
    print(f"judge ok: {judge.model.device} {judge.model.dtype}, {judge.usage.requests} batch(es), "
          f"{sum(s is not None for s in scores)}/{len(scores)} parsed")


# --- running ------------------------------------------------------------------------------------

def visible() -> list[str]:
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    if value is not None:
        return [g for g in (v.strip() for v in value.split(",")) if g]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        return []


def env_for(step: Step, gpus: list[str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DVC_ROOT", "DVC_STAGE", "MLFLOW_TRACKING_URI")}
    env.update(HF_HUB_OFFLINE="1", DVC_NO_ANALYTICS="1", MLFLOW_DISABLE_TELEMETRY="true",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    if step.gpus:   # one GPU for a one-process step: with all visible, a Trainer falls back to DataParallel
        env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus[:step.gpus])
    return env


def shown(step: Step, gpus: list[str]) -> str:
    prefix = f"CUDA_VISIBLE_DEVICES={','.join(gpus[:step.gpus]) or '<first ' + str(step.gpus) + '>'} " if step.gpus else ""
    return prefix + shlex.join(step.argv)


def copy_tree(dest: Path) -> None:
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def run(plan: list[Step], work: Path, gpus: list[str], budget_s: float) -> list[tuple[str, str, float, str]]:
    """(step, result, seconds, note) per step; a step after a failure that it depends on still runs and
    fails on its own (each step says what broke), except when the time budget is spent."""
    rows, start = [], time.monotonic()
    logs = work / "logs"
    logs.mkdir()
    for i, step in enumerate(plan, 1):
        missing = [n for n in step.needs if n == "2 GPUs" and len(gpus) < 2]
        left = budget_s - (time.monotonic() - start)
        if missing or left < 10:
            rows.append((step.name, "skipped", 0.0, f"needs {', '.join(missing)}" if missing else "time budget spent"))
            continue
        log = logs / f"{i:02d}.log"
        print(f"[{i}/{len(plan)}] {step.name}: {shown(step, gpus)}", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        argv = [sys.executable, *step.argv[1:]] if step.argv[0] == "python" else step.argv
        try:
            with open(log, "w") as out:
                code = subprocess.run(argv, cwd=work, env=env_for(step, gpus), stdout=out, stderr=subprocess.STDOUT,
                                      timeout=min(step.timeout_s, left), check=False).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
        seconds = time.monotonic() - t0
        text = log.read_text(errors="replace")
        if code == 0 and (step.expect is None or step.expect in text):
            note = next((line.strip()[:90] for line in text.splitlines() if step.expect and step.expect in line), "")
            rows.append((step.name, "passed", seconds, note))
        else:
            why = f"exit {code}" if code != 0 else f"no line with {step.expect!r}"
            last = [line.strip() for line in text.splitlines() if line.strip()][-1:] or [""]
            rows.append((step.name, "FAILED", seconds, f"{why}; {last[0][:120]} (log {log})"))
    return rows


def table(rows: list[tuple[str, str, float, str]]) -> str:
    lines = ["| step | result | s | note |", "|---|---|---:|---|"]
    lines += [f"| {name} | {result} | {seconds:.0f} | {note} |" for name, result, seconds, note in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/gpu_smoke.sh (python -m tools.gpu_smoke)", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="print the steps' commands; run nothing")
    parser.add_argument("--keep", action="store_true", help="keep the work directory with every step's log")
    parser.add_argument("--judge-model", default="models/sft",
                        help="checkpoint for the hf judge check (default: the smoke run's tiny SFT model, which "
                             "abstains; e.g. Qwen/Qwen3-8B where its weights are at hand)")
    parser.add_argument("--budget", type=float, default=BUDGET_S, help=f"seconds for all steps (default {BUDGET_S})")
    parser.add_argument("--check", choices=["device", "placement", "judge"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.check:   # one in-process check, run by a step in the work directory
        {"device": check_device, "placement": check_placement,
         "judge": lambda: check_judge(args.judge_model)}[args.check]()
        return 0

    vllm = has_vllm()
    plan = steps(vllm, args.judge_model)
    gpus = visible()
    if args.dry_run:
        print(f"# {len(gpus)} GPU(s) visible; vLLM {'installed' if vllm else 'not installed'}; "
              f"in a copy of {ROOT} in a temp directory, {args.budget:.0f} s in all")
        for step in plan:
            skip = "  # skipped: needs 2 GPUs" if "2 GPUs" in step.needs and len(gpus) < 2 else ""
            print(f"# {step.name} (limit {step.timeout_s} s)\n{shown(step, gpus)}{skip}")
        return 0
    if not gpus:
        print("error: no GPU visible (CUDA_VISIBLE_DEVICES empty or torch sees none): this check is for a GPU "
              "machine; --dry-run shows what it runs", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="kardia-gpu-smoke-"))
    rows = []
    try:
        copy_tree(work)
        rows = run(plan, work, gpus, args.budget)
    finally:
        failed = [r for r in rows if r[1] == "FAILED"] or not rows
        if not (args.keep or failed):   # a failure's log is named in the table: keep it
            shutil.rmtree(work, ignore_errors=True)
    print(table(rows))
    if args.keep or failed:
        print(f"\nwork directory and logs: {work}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
