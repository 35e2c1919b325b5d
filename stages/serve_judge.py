"""serve_judge: serve the training judge (``vllm serve <judge.model>``) at ``judge.base_url`` on this
machine, health-checked like grpo's policy server (stages/core/serving.py).

    python -m stages.serve_judge judge=openai                      # until Ctrl-C / SIGTERM
    python -m stages.serve_judge judge=openai -- dvc exp run -S judge=openai   # around one command

The config is conf/ composed with the given Hydra overrides, as `dvc exp run -S` composes it: give the
same judge, grpo and launch overrides as the run it serves, so the GPU split is that run's (training
GPUs first, then grpo's vllm server, then this judge). Not a DVC stage: a server is no output.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from stages.core.config import ConfigError, load_config
from stages.core.params import compose
from stages.core.serving import ServerUnavailable, gpu_plan, judge_server, policy_server, visible_gpus
from stages.core.stage import fail, sigterm_unwinds


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    rest = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(prog="python -m stages.serve_judge", description=__doc__.split("\n\n")[0],
                                     epilog="After `--`: a command to run while the judge is served.")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. judge=openai launch=ddp")
    parser.add_argument("--key", choices=("judge", "eval_judge"), default="judge", help="which judge config")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            params = Path(tmp) / "params.yaml"
            compose(params, args.overrides)
            cfg = load_config(params)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    with sigterm_unwinds():   # `kill` stops the server too
        try:
            spec = judge_server(cfg, args.key)
            policy = policy_server(cfg)   # grpo's own server, started by the launcher, comes first
            servers = {**({policy.name: policy.gpus} if policy else {}), spec.name: spec.gpus}
            plan = gpu_plan(visible_gpus(), cfg.launch.num_processes, servers)
            with spec.run(plan[spec.name]):
                if rest:
                    return subprocess.call(rest)
                print(f"{spec.name}: serving until Ctrl-C", file=sys.stderr)
                signal.pause()
                return 0
        except ServerUnavailable as e:
            return fail("serve_judge", e, 3)
        except KeyboardInterrupt as e:
            if rest:
                return fail("serve_judge", f"interrupted ({e or 'SIGINT'}); the judge server was stopped", 130)
            print(f"serve_judge: stopped ({e or 'SIGINT'})", file=sys.stderr)   # the normal way to end it
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
