"""The one launcher of the training stages: ``python -m stages.core.launch sft|grpo [--params ...]``.

It reads the ``launch`` group of params.yaml. ``single`` runs the stage in this very process (no
extra process, no start-up cost: what the default pipeline has always done). The others replace
this process with ``accelerate launch --config_file conf/accelerate/<name>.yaml --num_processes N
-m stages.<stage>``; without a GPU the processes run on the CPU over gloo. grpo with
``trainer.vllm_mode: server`` runs its vLLM server around training instead (``with_server``). ``validate_launch`` checks
the accelerate file against the launch at config time, so a wrong file fails before prepare runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import yaml

from .config import ConfigError, _check, load_config
from .params_pin import RUN_ENV, run_id
from .serving import ServerSpec, ServerUnavailable, gpu_plan, policy_server, visible_gpus

ROOT = Path(__file__).resolve().parents[2]   # launch.config_file is relative to the repository
STAGES = ("sft", "grpo")

# What each launch needs its accelerate file to say (dotted keys into it). zero3 and fsdp must gather
# whole weights for the save (stages/core/distributed.py); num_processes has one source,
# launch.num_processes; mixed precision one too, the trainer's bf16.
ACCELERATE_FILES = {
    "ddp": {"distributed_type": "MULTI_GPU"},
    "zero2": {"distributed_type": "DEEPSPEED", "deepspeed_config.zero_stage": 2},
    "zero3": {"distributed_type": "DEEPSPEED", "deepspeed_config.zero_stage": 3,
              "deepspeed_config.zero3_save_16bit_model": True},
    "fsdp": {"distributed_type": "FSDP", "fsdp_config.fsdp_state_dict_type": "FULL_STATE_DICT"},
}
COMMON = {"num_machines": 1, "mixed_precision": "no", "num_processes": None}


def _get(tree: dict, dotted: str):
    for part in dotted.split("."):
        tree = tree.get(part) if isinstance(tree, dict) else None
    return tree


def validate_launch(launch, source: str) -> None:
    """The ``launch`` group's checks (``config.Launch.validate``): a launcher and world this repository has."""
    names = ["single", *ACCELERATE_FILES]
    _check(launch.name in names, source, "launch.name", f"{launch.name!r} is not one of {names}")
    _check(launch.num_processes >= 1, source, "launch.num_processes", "must be >= 1")
    # a process started by hand (`accelerate launch -m stages.sft`) must be the world the batch was checked for
    world = os.environ.get("WORLD_SIZE")
    _check(world is None or int(world) == launch.num_processes, source, "launch.num_processes",
           f"{launch.num_processes}, but this process was started in a world of {world}")
    if launch.name == "single":
        _check(launch.num_processes == 1, source, "launch.num_processes",
               "launch=single is one process; for more use launch=ddp (or zero2, zero3, fsdp)")
        _check(launch.config_file is None, source, "launch.config_file", "launch=single starts no launcher")
        return
    # `accelerate launch --multi_gpu` refuses one process; the sharded kinds may run on one GPU
    _check(launch.name != "ddp" or launch.num_processes >= 2, source, "launch.num_processes",
           "launch=ddp needs at least 2 processes")
    path = ROOT / str(launch.config_file)
    _check(launch.config_file is not None and path.is_file(), source, "launch.config_file",
           f"{launch.config_file!r}: no such accelerate config in the repository")
    accelerate = yaml.safe_load(path.read_text()) or {}
    for key, value in {**COMMON, **ACCELERATE_FILES[launch.name]}.items():
        actual = _get(accelerate, key)   # a common key may be left out: accelerate's default is ours
        _check(actual == value or (key in COMMON and actual is None), source, "launch.config_file",
               f"{launch.config_file}: {key} is {actual!r}; launch={launch.name} needs {value!r}")


def free_port() -> int:
    """A free local port for the rendezvous: 29500 (accelerate's default) would collide between two
    launches on one machine (queued experiments, tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(cfg, stage: str, stage_args: list[str]) -> list[str] | None:
    """The ``accelerate launch`` command line for ``stage``; None for ``single`` (run in process)."""
    if cfg.launch.config_file is None:
        return None
    return [sys.executable, "-m", "accelerate.commands.launch",
            "--config_file", str(ROOT / cfg.launch.config_file),
            "--num_processes", str(cfg.launch.num_processes),
            "--main_process_port", str(free_port()),
            "-m", f"stages.{stage}", *stage_args]


def environment() -> dict[str, str]:
    env = dict(os.environ)
    if "DVC_STAGE" in env:   # the ranks' parent is accelerate, not DVC: tell them whose params pin is theirs
        env[RUN_ENV] = run_id()
    import torch

    if not torch.cuda.is_available():
        # accelerate picks gloo on the CPU only when told: without this each rank would train alone
        env["ACCELERATE_USE_CPU"] = "true"
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stages.core.launch",
        description="Run a training stage as params.yaml's `launch` says: in process, or under accelerate.")
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("--params", default="params.yaml", help="composed config (default: params.yaml)")
    args, rest = parser.parse_known_args(argv)
    stage_args = ["--params", args.params, *rest]
    try:
        cfg = load_config(args.params)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    cmd = command(cfg, args.stage, stage_args)
    server = policy_server(cfg) if args.stage == "grpo" else None
    if server is not None:
        return with_server(cfg, server, cmd or [sys.executable, "-m", f"stages.{args.stage}", *stage_args])
    if cmd is None:
        return importlib.import_module(f"stages.{args.stage}").main(stage_args)
    print(f"launch={cfg.launch.name}: {' '.join(cmd)}", file=sys.stderr)
    os.execve(cmd[0], cmd, environment())


def with_server(cfg, server: ServerSpec, cmd: list[str]) -> int:
    """grpo with ``vllm_mode: server``: the policy server is started here, once for every rank and before
    any of them loads a model, on the GPUs after the training ones; training runs as a child (even for
    launch=single) so its CUDA_VISIBLE_DEVICES can be set before CUDA starts; the server is stopped when
    training ends, whatever its status. Not exec: this process must outlive training to stop the server."""
    from .stage import fail, sigterm_unwinds

    proc = None
    with sigterm_unwinds():   # `kill` unwinds too: the server is stopped
        try:
            plan = gpu_plan(visible_gpus(), cfg.launch.num_processes, {server.name: server.gpus})
            with server.run(plan[server.name]):
                print(f"launch={cfg.launch.name}: {' '.join(cmd)}", file=sys.stderr)
                proc = subprocess.Popen(cmd, env={**environment(), "CUDA_VISIBLE_DEVICES": ",".join(plan["training"])})
                return proc.wait()
        except ServerUnavailable as e:
            return fail("grpo", e, 3)
        except KeyboardInterrupt as e:
            if proc is not None and proc.poll() is None:
                proc.terminate()   # the stage ends its MLflow run and drops temp files on SIGTERM
                proc.wait()
            return fail("grpo", f"interrupted ({e or 'SIGINT'}); the vllm server was stopped", 130)


if __name__ == "__main__":
    raise SystemExit(main())
