"""vLLM servers this project starts itself: the GRPO policy server (``trl vllm-serve`` on the SFT
checkpoint, ``grpo.trainer.vllm_mode=server``) and the training judge (``vllm serve <judge.model>``,
``python -m stages.serve_judge``).

``serving(...)`` is one lifecycle for both: start the command in its own process group with its
output in a log file, poll its health URL until it answers 200, yield, then stop the whole group
(SIGTERM, SIGKILL after a grace period). A server that exits early or is not healthy in time raises
``ServerUnavailable`` naming the command, the URL and the last lines of its log: the entry points
print that as one line and exit non-zero, and no server process is left behind.

GPUs: training takes the first ``launch.num_processes`` visible GPUs, the policy server the next
``grpo.trainer.vllm_tensor_parallel_size``, the judge the next ``judge.serve.tensor_parallel_size``
(``gpu_plan``); each server gets them as its ``CUDA_VISIBLE_DEVICES``. None of this has run on a GPU.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import KardiaError

POLL_S = 0.5        # between health checks
LOG_TAIL_LINES = 20


class ServerUnavailable(KardiaError):
    """A server we started did not come up (exited, or not healthy in time); the message says which,
    where it was asked, and what its log said last."""


def healthy(url: str, timeout_s: float = 2.0) -> bool:
    """True when ``url`` answers 200. Proxies are bypassed: the server is on this machine."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout_s) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text.splitlines()[-lines:] if line.strip()) or "(log empty)"


def stop(proc: subprocess.Popen, grace_s: float) -> None:
    """SIGTERM to the server's whole process group (vLLM forks engine and worker processes), then
    SIGKILL what is still there after ``grace_s``."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait_s)
            # the leader is gone; stragglers of its group get the same signal once more
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def serving(command: Sequence[str], health_url: str, *, log_path: str | Path, timeout_s: float,
            grace_s: float = 30.0, gpus: Sequence[str] | None = None, name: str = "server") -> Iterator[None]:
    """Run ``command`` as a server while the ``with`` block runs. ``gpus``: its CUDA_VISIBLE_DEVICES
    (None: inherited). Raises ServerUnavailable before the block if it does not come up."""
    shown = " ".join(command)
    if healthy(health_url):  # another server there would pass our health check and take our requests
        raise ServerUnavailable(f"{name}: something already answers at {health_url}; stop it or choose "
                                f"another port (would have started: {shown})")
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if gpus is not None:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
    print(f"{name}: starting {shown} (log {log_path}"
          f"{', CUDA_VISIBLE_DEVICES=' + env['CUDA_VISIBLE_DEVICES'] if gpus is not None else ''})", file=sys.stderr)
    with open(log_path, "ab") as log:
        try:
            proc = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, start_new_session=True)  # its own process group, stopped as one
        except OSError as e:
            raise ServerUnavailable(f"{name}: cannot start {shown}: {e}") from None
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise ServerUnavailable(f"{name}: {shown} exited with status {proc.returncode} before {health_url} "
                                        f"was healthy; last lines of {log_path}: {log_tail(log_path)}")
            if healthy(health_url):
                break
            if time.monotonic() >= deadline:
                raise ServerUnavailable(f"{name}: {health_url} not healthy within {timeout_s:g}s of starting "
                                        f"{shown}; stopped it. Last lines of {log_path}: {log_tail(log_path)}")
            time.sleep(POLL_S)
        print(f"{name}: ready at {health_url}", file=sys.stderr)
        yield
    finally:
        stop(proc, grace_s)


def visible_gpus() -> list[str]:
    """The GPU ids this process may hand out: CUDA_VISIBLE_DEVICES when set, else all torch sees."""
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    if value is not None:
        return [g.strip() for g in value.split(",") if g.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def gpu_plan(visible: Sequence[str], training: int, servers: dict[str, int]) -> dict[str, list[str]]:
    """Consecutive slices of ``visible``: ``training`` GPUs first, then each server's count in order.
    Raises ServerUnavailable when they do not fit (a server sharing training GPUs would run out of memory
    mid-run rather than fail now)."""
    need = training + sum(servers.values())
    if need > len(visible):
        wants = " + ".join([f"{training} training (launch.num_processes)",
                            *(f"{n} {who}" for who, n in servers.items())])
        raise ServerUnavailable(f"{wants} = {need} GPUs, but {len(visible)} are visible "
                                f"(CUDA_VISIBLE_DEVICES={','.join(visible) or '<none>'})")
    plan, start = {"training": list(visible[:training])}, training
    for who, n in servers.items():
        plan[who] = list(visible[start:start + n])
        start += n
    return plan


def base_of(url: str) -> tuple[str, str, int]:
    """(``scheme://host:port``, host, port) of a server URL; port 80/443 when the URL has none."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname}:{port}", parts.hostname, port


# --- the two servers ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ServerSpec:
    name: str
    command: list[str]
    health_url: str
    gpus: int             # how many it takes (its tensor parallel size)
    timeout_s: float
    grace_s: float
    log_path: Path

    def run(self, gpus: Sequence[str] | None):
        """``serving`` this spec; ``gpus``: its CUDA_VISIBLE_DEVICES (None: inherited)."""
        return serving(self.command, self.health_url, log_path=self.log_path, timeout_s=self.timeout_s,
                       grace_s=self.grace_s, gpus=gpus, name=self.name)


def policy_server(cfg) -> ServerSpec | None:
    """How to serve the GRPO policy for ``vllm_mode: server``, or None when grpo does not use one.
    Host, port, tensor parallel size, memory share and context length are TRL's own GRPOConfig fields
    (one source: the trainer connects where the server listens); TRL's script adds the weight-sync flags."""
    t = cfg.grpo.trainer
    if not (cfg.grpo.enabled and t.get("use_vllm", False) and t.get("vllm_mode", "colocate") == "server"):
        return None
    host, port = t.get("vllm_server_host", "0.0.0.0"), t.get("vllm_server_port", 8000)
    command = [sys.executable, "-m", "trl.scripts.vllm_serve", "--model", str(cfg.paths.sft_model),
               "--host", str(host), "--port", str(port),
               "--tensor_parallel_size", str(t.get("vllm_tensor_parallel_size", 1)),
               "--gpu_memory_utilization", str(t.get("vllm_gpu_memory_utilization", 0.9)),
               "--dtype", str(cfg.model.dtype)]
    if t.get("vllm_max_model_length") is not None:
        command += ["--max_model_len", str(t.vllm_max_model_length)]
    reach = "127.0.0.1" if host == "0.0.0.0" else host   # listens everywhere: ask it locally
    life = cfg.grpo.vllm_server
    return ServerSpec("grpo vllm server", command, f"http://{reach}:{port}/health",
                      int(t.get("vllm_tensor_parallel_size", 1)), life.startup_timeout_s, life.stop_grace_s,
                      Path(cfg.paths.checkpoints) / "vllm-serve-grpo.log")


def judge_server(cfg, key: str = "judge") -> ServerSpec:
    """How to serve ``cfg.<key>`` (an openai judge on this machine) with ``vllm serve``."""
    judge = cfg[key]
    if judge.backend != "openai":
        raise ServerUnavailable(f"{key}.backend is {judge.backend!r}: only an openai judge is served "
                                f"(e.g. {key.replace('eval_judge', 'judge@eval_judge')}=openai)")
    base, host, port = base_of(judge.base_url)
    if host not in ("127.0.0.1", "localhost", "0.0.0.0"):
        raise ServerUnavailable(f"{key}.base_url {judge.base_url} is not on this machine: nothing to serve here")
    if judge.serve is None:
        raise ServerUnavailable(f"{key}.serve is null: no settings to serve {judge.model} with "
                                "(conf/judge/openai.yaml has them)")
    s = judge.serve
    command = [sys.executable, "-m", "vllm.entrypoints.cli.main", "serve", judge.model, "--host", host,
               "--port", str(port), "--tensor-parallel-size", str(s.tensor_parallel_size),
               "--gpu-memory-utilization", str(s.gpu_memory_utilization)]
    if s.max_model_len is not None:
        command += ["--max-model-len", str(s.max_model_len)]
    return ServerSpec(f"{key} vllm server", command, f"{base}/health", s.tensor_parallel_size,
                      s.startup_timeout_s, s.stop_grace_s, Path(cfg.paths.checkpoints) / f"vllm-serve-{key}.log")
