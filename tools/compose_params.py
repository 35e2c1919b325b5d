"""Compose conf/ (plus Hydra overrides) into params.yaml, as `dvc exp run -S` would.

    python -m tools.compose_params                                   # conf/ defaults -> params.yaml
    python -m tools.compose_params 'reward.weights=[0.2,0.3,0.5]' -o /tmp/params.yaml
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stages.core.params import ROOT, compose


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.compose_params", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. 'reward.weights=[0.2,0.3,0.5]'")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "params.yaml")
    args = parser.parse_args(argv)
    compose(args.output, args.overrides)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
