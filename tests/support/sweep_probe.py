"""A two-stage stand-in for the pipeline under a sweep (tests/pipeline/test_sweep_resume.py), run by
DVC as ``python sweep_probe.py <stage>``. ``first`` records the trial's λ; ``evaluate`` writes the
objective the sweep reads, metrics/evaluate.json, and while the file $PROBE_SIGNALS/hold exists it
first leaves a half-written output, says it started and waits to be killed. Plain yaml/json, no
stage imports: a trial costs seconds, not torch imports."""

import json
import os
import sys
import time
from pathlib import Path

import yaml

stage = sys.argv[1]
params = yaml.safe_load(Path("params.yaml").read_text())
weights = params["reward"]["weights"]
Path("out").mkdir(exist_ok=True)
Path(f"out/{stage}.txt").write_text(repr(weights))
signals = Path(os.environ["PROBE_SIGNALS"])
if stage == "evaluate" and (signals / "hold").exists():
    (signals / "started").touch()
    time.sleep(120)
if stage == "evaluate":
    metrics = Path(params["paths"]["metrics"])
    metrics.mkdir(exist_ok=True)
    (metrics / "evaluate.json").write_text(json.dumps({"eval/grpo/persona": weights[0]}))
