"""`dvc queue` workers on a multi-GPU node, each with its own GPUs.

`dvc queue start -j N` spawns N workers that all inherit one environment: every queued experiment
would see every GPU, and the ranks of two experiments (or the vLLM servers of stages/core/serving.py,
which take the GPUs after the training ones) would land on the same devices. So each worker is spawned
here on its own, by DVC's own spawn of worker number k (what `dvc queue start` calls for k = 1..N), in a
process whose CUDA_VISIBLE_DEVICES is the worker's slice; the worker and every experiment it runs
inherit it. Not `dvc queue start -j k` once per worker: it skips only the workers that answer a celery
ping, and one that is starting or busy may not, and would be started a second time with the next
worker's GPUs.

Each experiment then sees its worker's GPUs as 0..n-1: give it `-S launch.num_processes=<n>` (or fewer,
leaving the rest to a `grpo=vllm_server` policy server).

    python -m experiments.gpu_workers -j 4 --gpus-per-worker 2            # start 4 workers x 2 GPUs
    python -m experiments.gpu_workers -j 4 --gpus-per-worker 2 --dry-run  # print the commands
    python -m experiments.ablations reward_components -j 4 --gpus-per-worker 2
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from experiments.dvcexp import ROOT, ExperimentConfigError, tool_env

WORKER_PIDS = ".dvc/tmp/exps/celery/dvc-exp-worker-{k}.pid"   # where DVC's spawn records worker k


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
    """(extra environment, command) per worker start, in order. No GPUs per worker: one
    `dvc queue start -j N`, every worker sharing what is visible (the CPU default)."""
    if not per_worker:
        return [({}, ["dvc", "queue", "start", "-j", str(jobs)])]
    gpus = slices(visible_gpus() if visible is None else visible, jobs, per_worker)
    return [({"CUDA_VISIBLE_DEVICES": ",".join(g)}, ["python", "-m", "experiments.gpu_workers", "--spawn-worker", str(k)])
            for k, g in enumerate(gpus, start=1)]


def shown(extra: dict, argv: list[str]) -> str:
    return " ".join([*(f"{k}={shlex.quote(v)}" for k, v in extra.items()), *map(shlex.quote, argv)])


def running(root: Path, k: int) -> int | None:
    """The pid of DVC queue worker k of ``root`` when it is alive."""
    try:
        pid = int((root / WORKER_PIDS.format(k=k)).read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def spawn_worker(root: Path, k: int) -> None:
    """DVC's own start of queue worker k (a detached `dvc exp queue-worker`), in this process's environment."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        repo.experiments.celery_queue._spawn_worker(k)


def start(root: Path, jobs: int, per_worker: int | None, env: dict[str, str] | None = None,
          visible: Sequence[str] | None = None, run: Callable = subprocess.run) -> None:
    """Start the queue workers, worker k with its own GPUs."""
    env = env or tool_env()
    commands = start_commands(jobs, per_worker, visible)
    busy = {k: pid for k in range(1, len(commands) + 1) if per_worker and (pid := running(root, k))}
    if busy:   # a second worker k (same celery name) would run beside it, the old one on the GPUs it began with
        raise ExperimentConfigError(f"queue workers {busy} (number: pid) are still running; "
                                    "wait for them or `dvc queue stop`, then start again")
    for k, (extra, argv) in enumerate(commands, start=1):
        print(f"queue worker {k}/{len(commands)}: {shown(extra, argv)}", file=sys.stderr)
        if argv[0] == "python":
            argv = [sys.executable, *argv[1:]]
        # output to a file, not a pipe: the detached worker inherits it, and a pipe would stay open (and
        # this wait would never end) for as long as the worker lives
        with tempfile.TemporaryFile("w+") as out:
            proc = run(argv, cwd=root, env={**env, **extra}, stdout=out, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, check=False)
            if proc.returncode != 0:
                out.seek(0)
                raise ExperimentConfigError(f"`{shown(extra, argv)}` failed: {out.read()[-1500:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.gpu_workers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-j", "--jobs", type=int, help="queue workers to start")
    parser.add_argument("--gpus-per-worker", type=int,
                        help="GPUs each worker's experiments see (CUDA_VISIBLE_DEVICES slices of the visible ones)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands; start nothing")
    parser.add_argument("--spawn-worker", type=int, metavar="K",
                        help="start only DVC queue worker K of the repository here, with this environment "
                             "(what the start of each worker runs)")
    args = parser.parse_args(argv)
    if args.spawn_worker is not None:
        spawn_worker(Path.cwd(), args.spawn_worker)
        return 0
    if not args.jobs or not args.gpus_per_worker:
        parser.error("give -j and --gpus-per-worker")
    try:
        if args.dry_run:
            for extra, command in start_commands(args.jobs, args.gpus_per_worker):
                print(shown(extra, command))
            return 0
        start(ROOT, args.jobs, args.gpus_per_worker)
    except ExperimentConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
