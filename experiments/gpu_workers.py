"""`dvc queue` workers on a multi-GPU node, each with its own GPUs.

`dvc queue start -j N` spawns N workers that all inherit one environment: every queued experiment
would see every GPU, and the ranks of two experiments (or the vLLM servers of stages/core/serving.py,
which take the GPUs after the training ones) would land on the same devices. DVC numbers its workers
1..N, and `dvc queue start -j k` starts only those of 1..k not yet running, each with the environment
of the `dvc` command that started it. So worker k is started alone, by `dvc queue start -j k` with
CUDA_VISIBLE_DEVICES set to its slice, once worker k-1 is up (started earlier, DVC would not see it
yet and start it again).

Each experiment then sees its worker's GPUs as 0..n-1: give it `-S launch.num_processes=<n>` (or fewer,
leaving the rest to a `grpo=vllm_server` policy server).

    python -m experiments.gpu_workers -j 4 --gpus-per-worker 2            # start 4 workers x 2 GPUs
    python -m experiments.gpu_workers -j 4 --gpus-per-worker 2 --dry-run  # print the commands
    python -m experiments.ablations reward_components -j 4 --gpus-per-worker 2
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from experiments.dvcexp import ROOT, ExperimentConfigError, dvc, tool_env

POLL_S = 1.0
START_TIMEOUT_S = 120.0   # a worker is a celery process: a few seconds to come up, more on a loaded machine


def visible_gpus() -> list[str]:
    """The GPU ids the workers share out: CUDA_VISIBLE_DEVICES when set, else all torch sees."""
    from stages.core.serving import visible_gpus as visible

    return visible()


def slices(visible: Sequence[str], jobs: int, per_worker: int) -> list[list[str]]:
    """Consecutive, disjoint slices of ``visible``, ``per_worker`` each, one per worker."""
    if jobs < 1 or per_worker < 1:
        raise ExperimentConfigError(f"workers ({jobs}) and GPUs per worker ({per_worker}) must be >= 1")
    if jobs * per_worker > len(visible):
        raise ExperimentConfigError(
            f"{jobs} workers x {per_worker} GPUs = {jobs * per_worker} GPUs, but {len(visible)} are visible "
            f"(CUDA_VISIBLE_DEVICES={','.join(visible) or '<none>'}); use fewer workers (-j) or GPUs per worker")
    return [list(visible[k * per_worker:(k + 1) * per_worker]) for k in range(jobs)]


def start_commands(jobs: int, per_worker: int | None, visible: Sequence[str] | None = None) -> list[tuple[dict, list[str]]]:
    """(extra environment, dvc arguments) per `dvc queue start`, in order. No GPUs per worker: one
    `dvc queue start -j N`, every worker sharing what is visible (the CPU default)."""
    if not per_worker:
        return [({}, ["queue", "start", "-j", str(jobs)])]
    gpus = slices(visible_gpus() if visible is None else visible, jobs, per_worker)
    return [({"CUDA_VISIBLE_DEVICES": ",".join(g)}, ["queue", "start", "-j", str(k)])
            for k, g in enumerate(gpus, start=1)]


def shown(extra: dict, args: list[str]) -> str:
    return " ".join([*(f"{k}={shlex.quote(v)}" for k, v in extra.items()), "dvc", *args])


def worker_count(root: Path, run: Callable = dvc) -> tuple[int, int]:
    """(workers up, experiments still queued), from `dvc queue status`."""
    out = run(["queue", "status"], cwd=root).stdout
    m = re.search(r"Worker status: (\d+) active, (\d+) idle", out)
    up = int(m[1]) + int(m[2]) if m else 0
    queued = sum(1 for line in out.splitlines() if line.split() and line.split()[-1] == "Queued")
    return up, queued


def start(root: Path, jobs: int, per_worker: int | None, env: dict[str, str] | None = None,
          visible: Sequence[str] | None = None, timeout_s: float = START_TIMEOUT_S, run: Callable = dvc) -> None:
    """Start the queue workers, worker k with its own GPUs; waits for each before the next."""
    env = env or tool_env()
    commands = start_commands(jobs, per_worker, visible)
    for k, (extra, args) in enumerate(commands, start=1):
        print(f"queue worker {k}/{len(commands)}: {shown(extra, args)}", file=sys.stderr)
        run(args, cwd=root, env={**env, **extra})
        if len(commands) == 1:
            return
        deadline = time.monotonic() + timeout_s
        while True:
            up, queued = worker_count(root, run)
            if up >= k:
                break
            if queued == 0:   # the workers already up took every experiment: more would sit idle
                print(f"queue: nothing left queued; {k} of {len(commands)} workers started", file=sys.stderr)
                return
            if time.monotonic() >= deadline:
                raise ExperimentConfigError(
                    f"queue worker {k} not up within {timeout_s:g}s of `{shown(extra, args)}` "
                    f"({up} up); see `dvc queue status` and .dvc/tmp/exps/celery/")
            time.sleep(POLL_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.gpu_workers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-j", "--jobs", type=int, required=True, help="queue workers to start")
    parser.add_argument("--gpus-per-worker", type=int, required=True,
                        help="GPUs each worker's experiments see (CUDA_VISIBLE_DEVICES slices of the visible ones)")
    parser.add_argument("--dry-run", action="store_true", help="print the dvc commands; start nothing")
    args = parser.parse_args(argv)
    try:
        if args.dry_run:
            for extra, dvc_args in start_commands(args.jobs, args.gpus_per_worker):
                print(shown(extra, dvc_args))
            return 0
        start(ROOT, args.jobs, args.gpus_per_worker)
    except ExperimentConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
