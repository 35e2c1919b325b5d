"""Our evaluation runs beside the paper's reported numbers, as Markdown.

Reads the evaluate stage's metrics (the workspace's metrics/evaluate.json and, with --experiments,
every DVC experiment from `dvc exp show --json`) and experiments/paper_numbers.yaml (the paper's
numbers, each with its source), and prints: the paper's systems and our models on the six axes
(emotion accuracy + five rubric dimensions) with our 95 % intervals; ours minus the paper for the
model that plays each paper system's role; and the paper's per-stage gains beside our paired
differences. Our rubric scores come from the evaluation judge configured for the run (the embedded
lexical judge by default), which is NOT the paper's LLM judge: those columns are not comparable
until the same judge is used.

    python -m experiments.report                                  # workspace run, Markdown to stdout
    python -m experiments.report --experiments -o reports/paper_vs_ours.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from experiments.dvcexp import ROOT, exp_show
from stages.core.evaluation.paper import PaperNumbersError, load_paper, render
from stages.core.io import write_text


def workspace_run(metrics_path: Path) -> dict:
    try:
        return {"name": "workspace", "metrics": json.loads(metrics_path.read_text())}
    except (OSError, json.JSONDecodeError) as e:
        raise SystemExit(f"error: {metrics_path}: cannot read evaluate metrics ({e}); run `dvc exp run` first") from None


def experiment_runs(metrics_key: str) -> list[dict]:
    """Every DVC experiment's evaluate metrics from `dvc exp show --json` (DVC 3 layout)."""
    try:
        exps = exp_show(ROOT, all_commits=False)
    except (OSError, RuntimeError) as e:
        raise SystemExit(f"error: {e}") from None
    return [{"name": e.name or e.rev[:7], "metrics": e.by_file[metrics_key]} for e in exps if e.by_file.get(metrics_key)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="composed config: metrics path, judge, data, model")
    parser.add_argument("--paper", help="the paper's numbers (default: paths.paper_numbers)")
    parser.add_argument("--experiments", action="store_true", help="add every DVC experiment (dvc exp show --json)")
    parser.add_argument("--subset", default="eval", choices=["eval", "eval_hard", "eval_easy"])
    parser.add_argument("-o", "--output", help="write the Markdown here instead of stdout")
    args = parser.parse_args(argv)
    from stages.core.config import ConfigError, load_config

    try:
        cfg = load_config(args.params)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    metrics_path = Path(cfg.paths.metrics) / "evaluate.json"
    runs = [workspace_run(metrics_path)]
    if args.experiments:
        runs += experiment_runs(metrics_path.as_posix())
    try:
        paper = load_paper(Path(args.paper or cfg.paths.paper_numbers))
    except PaperNumbersError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    text = render(paper, runs, args.subset, cfg.judge.backend, cfg.data.source, cfg.model.name)
    if args.output:
        write_text(args.output, text)
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
