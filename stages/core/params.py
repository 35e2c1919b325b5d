"""Compose conf/ into params.yaml exactly as `dvc exp run` does (DVC's own compose_and_dump)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def compose(output: Path, overrides: list[str]) -> None:
    from dvc.utils.hydra import compose_and_dump

    compose_and_dump(output, str(ROOT / "conf"), None, "config", str(ROOT / "conf"), overrides)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stages.core.params",
        description="Compose conf/ (plus Hydra overrides) into params.yaml, as `dvc exp run -S` would.")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. 'reward.weights=[0.2,0.3,0.5]'")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "params.yaml")
    args = parser.parse_args(argv)
    compose(args.output, args.overrides)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
