"""The shared entry point of every stage: ``python -m stages.<name> [--params params.yaml]``.

``main`` does the I/O and tracking (load + validate config, seed, open the MLflow run, write the
stage's metrics JSON atomically); the stage's ``run(cfg)`` does the work and is what tests call.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

from omegaconf import read_write

from .chat import EndpointUnavailable
from .config import ConfigError, load_config
from .distributed import barrier, is_main
from .errors import KardiaError
from .io import write_json
from .params_pin import ParamsChanged, pin
from .redaction import Redactor, redacted_logs
from .tracking import log_metrics, stage_run

log = logging.getLogger("kardia")


class StageFailed(RuntimeError):
    """The stage ran but its result must not be recorded (e.g. too little judge coverage); ``main``
    prints the message and exits 1, so DVC keeps no outputs or metrics of the run."""


def metrics_path(cfg, stage: str) -> Path:
    return Path(cfg.paths.metrics) / f"{stage}.json"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch. Not transformers.set_seed: it imports peft and the Trainer
    stack (~5 s), which stages without a trainer would pay for nothing; the trainers seed
    themselves from their config's ``seed``."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def check_metrics(stage: str, metrics: dict[str, float]) -> None:
    """A NaN or infinite metric is a bug, not a result: refuse to record it."""
    bad = [k for k, v in metrics.items() if not math.isfinite(float(v))]
    if bad:
        raise RuntimeError(f"stage {stage}: non-finite metrics {bad}")


def _interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """While the block runs, SIGTERM (a scheduler, `kill`) unwinds like Ctrl-C: KeyboardInterrupt, so
    atomic writes drop their temp files, MLflow runs end KILLED and servers we started are stopped.
    Signal handlers need the main thread; elsewhere (a stage called from a thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def fail(stage: str, error: BaseException | str, code: int, redact: Callable[[str], str] = str) -> int:
    """Print ``error`` as one line naming the stage, secrets redacted, and return ``code``; the
    traceback only with KARDIA_DEBUG=1 (a user's mistake is not a crash)."""
    if os.environ.get("KARDIA_DEBUG") and isinstance(error, BaseException):
        import traceback

        traceback.print_exception(error)
    print(redact(f"error: stage {stage}: {error}"), file=sys.stderr)
    return code


def without_mlflow_reports(cfg) -> None:
    """Drop ``mlflow`` from the trainers' ``report_to``: with the integration disabled, transformers
    refuses to build an MLflowCallback that is still asked for ("requires mlflow to be installed")."""
    for stage in ("sft", "grpo"):
        trainer = cfg[stage].trainer
        if "report_to" in trainer:
            reports = [trainer.report_to] if isinstance(trainer.report_to, str) else list(trainer.report_to)
            with read_write(trainer):
                trainer.report_to = [r for r in reports if r != "mlflow"]


def stage_main(name: str, run: Callable, description: str) -> Callable[[list[str] | None], int]:
    def main(argv: list[str] | None = None) -> int:
        parser = argparse.ArgumentParser(prog=f"python -m stages.{name}", description=description)
        parser.add_argument("--params", default="params.yaml", help="composed config (default: params.yaml)")
        parser.add_argument("--no-track", action="store_true", help="do not log to MLflow")
        args = parser.parse_args(argv)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        try:
            # Pinned before it is read: a change after this point is caught by the check below.
            pinned = pin(args.params, name)
            cfg = load_config(args.params)
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        except ParamsChanged as e:
            return fail(name, e, 2)
        seed_everything(cfg.seed)
        redact = Redactor.from_config(cfg)
        # --no-track also silences the Trainer's MLflow callback, for this run only: a stage called in
        # process (tests, notebooks) must not leave tracking disabled for the next one.
        untracked = mock.patch.dict(os.environ, {"DISABLE_MLFLOW_INTEGRATION": "TRUE"})
        # Under a launch (stages/core/launch.py) only the main process tracks and writes; the others
        # train untracked, as with --no-track, and wait for it at the barrier below.
        main_process = is_main()
        track = main_process and not args.no_track
        if not track:
            without_mlflow_reports(cfg)
        start = time.perf_counter()
        with sigterm_unwinds():   # the MLflow run ends KILLED instead of staying RUNNING forever
            try:
                with redacted_logs(redact), stage_run(name, cfg, args.params, redact) if track else untracked:
                    metrics = run(cfg)
                    check_metrics(name, metrics)
                    if pinned:  # the same bytes still: DVC records params.yaml once the stage exits
                        pinned.check("while this stage ran")
                    if main_process:
                        write_json(metrics_path(cfg, name), metrics)
                    if track:
                        log_metrics(metrics)
                barrier()   # no process exits (and ends the launch) before the main one has written
            except EndpointUnavailable as e:  # an operator's problem, not a bug: no traceback
                return fail(name, e, 3, redact)
            except StageFailed as e:
                return fail(name, e, 1, redact)
            # a cause the user can fix; FileNotFoundError: a missing input, whose message names the file
            except (KardiaError, FileNotFoundError) as e:
                return fail(name, e, 2, redact)
            except KeyboardInterrupt as e:
                return fail(name, f"interrupted ({e or 'SIGINT'}); DVC records nothing of this run", 130, redact)
        log.info("stage %s done in %.1fs: %s", name, time.perf_counter() - start,
                 metrics_summary(metrics, metrics_path(cfg, name)))
        return 0
    return main


SUMMARY_CHARS = 160


def metrics_summary(metrics: dict[str, float], path: str | Path) -> str:
    """The metrics as ``k=v, …`` while that stays under SUMMARY_CHARS, then where the rest are: the
    stage-done line of evaluate once listed all ~800 metrics on one 27,000-character line."""
    shown, size = [], 0
    for key, value in sorted(metrics.items()):
        item = f"{key}={value:.4g}"
        if size + len(item) > SUMMARY_CHARS:
            break
        shown.append(item)
        size += len(item) + 2
    rest = len(metrics) - len(shown)
    return ", ".join(shown) + (f" … (+{rest} more in {path})" if rest else "")
