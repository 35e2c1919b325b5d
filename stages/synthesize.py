"""synthesize: build a KardiaBench-format corpus with the paper's U / A / R loop (optional, before prepare).

Writes <output>/dialogues.jsonl (one record per line, appended as each dialogue finishes, with its
FAIL/PASS/SOLVED trace), dropped.log (filtered dialogues and why) and stats.json. Interrupt it at any
time (Ctrl-C, crash) and run the same command again: it resumes where it stopped, and the result is
the same as an uninterrupted run. Then: `dvc exp run -S data=kardiabench -S data.path=<output>`.

Examples:
  python -m stages.synthesize synthesize.n_dialogues=50
  OPENAI_API_KEY=... python -m stages.synthesize synthesize.backend=openai \\
      synthesize.openai.base_url=http://127.0.0.1:8000/v1 synthesize.openai.model=Qwen/Qwen2.5-7B-Instruct
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from tqdm.auto import tqdm

from stages.core.chat import ChatError, EndpointUnavailable
from stages.core.config import ConfigError, load_config
from stages.core.data.construction_loop import synthesize


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.synthesize", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="config overrides, e.g. synthesize.backend=openai")
    parser.add_argument("--params", default="params.yaml", help="composed config (default: params.yaml)")
    parser.add_argument("--output", type=Path, help="output directory (default: paths.synthesized)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        cfg = load_config(args.params, args.overrides)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = args.output or Path(cfg.paths.synthesized)
    progress = tqdm(total=cfg.synthesize.n_dialogues, desc="synthesize", unit="dialogue")
    try:
        stats = asyncio.run(synthesize(cfg, out, progress))
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished dialogues are in {out}; run the same command to resume", file=sys.stderr)
        return 130
    except EndpointUnavailable as e:  # the pre-flight call failed: nothing was built
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (ChatError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        progress.close()
    print(json.dumps({k: v for k, v in stats.items() if k != "this_run"}, indent=2))
    failed = stats["this_run"]["failed"]
    if failed:
        print(f"{failed} dialogue(s) failed (see {out / 'stats.json'}); run the same command to retry them",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
