"""A two-stage stand-in for the pipeline, run by DVC in tests/pipeline/test_concurrent_runs.py: each
stage records the ``sft.trainer.max_steps`` it read through the real stage entry point, and the
experiment it ran for (DVC_EXP_NAME); ``first``
waits for the test's go-ahead so that a second run can start while it runs. Copied to the root of
a temp repository and run as ``python params_probe.py <stage>``; $PROBE_SIGNALS names the folder
of the two signal files (outside the repository, where git and DVC do not see them)."""

import json
import os
import sys
import time
from pathlib import Path

from stages.core.stage import stage_main


def body(name: str):
    def run(cfg) -> dict[str, float]:
        if name == "first":
            signals = Path(os.environ["PROBE_SIGNALS"])
            (signals / "first.started").touch()
            deadline = time.monotonic() + 120
            while not (signals / "first.release").exists() and time.monotonic() < deadline:
                time.sleep(0.1)
        steps = cfg.sft.trainer.max_steps
        Path("out").mkdir(exist_ok=True)
        Path(f"out/{name}.json").write_text(json.dumps({"max_steps": steps, "exp": os.environ.get("DVC_EXP_NAME")}))
        return {"probe/max_steps": steps}
    return run


if __name__ == "__main__":
    stage = sys.argv[1]
    sys.exit(stage_main(stage, body(stage), "records the parameters it read")(["--no-track"]))
