"""Run a whole ablation table with one command and render it as Markdown.

    python -m experiments.ablations reward_components            # queue, run (-j from the table), wait, render
    python -m experiments.ablations reward_components --dry-run  # print the dvc commands only
    python -m experiments.ablations reward_components --render-only

Tables live in experiments/tables.yaml: rows are conf/experiment files, each run once per seed as the
DVC experiment <table>-<row>-s<seed> (`dvc exp run --queue -S experiment=<row> -S seed=<seed>`),
then `dvc queue start -j N`. Every queue worker logs to one MLflow store, created here before the
workers start, at an absolute URI. Rows already run, queued or running are not queued again (failed
ones are; --rerun forces all). Cells are mean ± sample std over the seeds found in `dvc exp show
--json`, then each row's difference from the first, paired by seed.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from experiments import gpu_workers
from experiments.dvcexp import (
    ROOT,
    ExperimentConfigError,
    dvc,
    exp_show,
    load_yaml,
    require,
    set_args,
    shared_mlflow_store,
    tool_env,
)
from experiments.regression.spread import pooled_sd

TABLES = ROOT / "experiments" / "tables.yaml"
MODEL = "<model>"   # in a metric key of a table with models: replaced by each row's model
BEYOND = 2.0        # [ours] a row's difference is beyond the seed spread above this many seed sds (issue #12)


@dataclass
class Table:
    name: str
    experiments: list[str]
    metrics: list[str]
    seeds: list[int]
    jobs: int
    overrides: list[str] = field(default_factory=list)
    gpus_per_worker: int | None = None   # each queue worker's own CUDA_VISIBLE_DEVICES slice (gpu_workers.py)
    # evaluated models as rows (the baselines table): each metric is a template with <model>, and a row
    # is one (experiment, model); none: one row per experiment
    models: list[str] = field(default_factory=list)

    def exp_name(self, experiment: str, seed: int) -> str:
        return f"{self.name}-{experiment}-s{seed}"

    def runs(self) -> list[tuple[str, int, str]]:
        return [(e, s, self.exp_name(e, s)) for e in self.experiments for s in self.seeds]


def load_table(name: str, path: Path = TABLES, conf: Path = ROOT / "conf") -> Table:
    raw = load_yaml(path)
    defaults = raw.get("defaults") or {}
    tables = require(raw, "tables", dict, path)
    if name not in tables:
        raise ExperimentConfigError(f"{path}: no table {name!r}; tables: {sorted(tables)}")
    spec = {**defaults, **(tables[name] or {})}
    source = f"{path}: tables.{name}"
    table = Table(name=name, experiments=require(spec, "experiments", list, source),
                  metrics=require(spec, "metrics", list, source), seeds=require(spec, "seeds", list, source),
                  jobs=require(spec, "jobs", int, source), overrides=[str(o) for o in spec.get("overrides") or []],
                  gpus_per_worker=spec.get("gpus_per_worker"), models=[str(m) for m in spec.get("models") or []])
    if table.models and not all(MODEL in m for m in table.metrics):
        raise ExperimentConfigError(f"{source}: key 'metrics': with 'models' every metric is a template with "
                                    f"{MODEL}, e.g. eval/{MODEL}/emotion_acc; got {table.metrics}")
    missing = [e for e in table.experiments if not (conf / "experiment" / f"{e}.yaml").exists()]
    if missing:
        raise ExperimentConfigError(f"{source}: key 'experiments': no conf/experiment file for {missing}")
    if table.gpus_per_worker is not None and not (isinstance(table.gpus_per_worker, int) and table.gpus_per_worker > 0):
        raise ExperimentConfigError(f"{source}: key 'gpus_per_worker' must be a positive integer or null, "
                                    f"got {table.gpus_per_worker!r}")
    if not table.seeds or not all(isinstance(s, int) for s in table.seeds):
        raise ExperimentConfigError(f"{source}: key 'seeds' must be a non-empty list of integers")
    return table


def queue_commands(table: Table, skip: set[str] = frozenset()) -> list[list[str]]:
    """The `dvc exp run --queue` argument lists of the rows not yet run."""
    return [["exp", "run", "--queue", "-n", name, *set_args([f"experiment={exp}", f"seed={seed}", *table.overrides])]
            for exp, seed, name in table.runs() if name not in skip]


def queue_status(root: Path) -> dict[str, str]:
    """name -> Queued / Running / Failed / Success, from `dvc queue status`."""
    out = dvc(["queue", "status"], cwd=root).stdout
    status = {}
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 4 and parts[-1] in ("Queued", "Running", "Failed", "Success"):
            status[parts[1]] = parts[-1]
    return status


def wait(root: Path, names: list[str], poll_s: float, timeout_s: float | None) -> dict[str, str]:
    from tqdm import tqdm

    start = time.monotonic()
    with tqdm(total=len(names), desc="queued experiments", unit="exp") as bar:
        while True:
            status = queue_status(root)
            done = [n for n in names if status.get(n) in ("Success", "Failed")]
            bar.n = len(done)
            bar.refresh()
            if len(done) == len(names) or not any(status.get(n) in ("Queued", "Running") for n in names):
                return {n: status.get(n, "unknown") for n in names}
            if timeout_s is not None and time.monotonic() - start > timeout_s:
                raise TimeoutError(f"queue not done after {timeout_s:.0f} s: {status}")
            time.sleep(poll_s)


def fmt(values: list[float], interval: tuple[float, float] | None = None) -> str:
    """mean ± sample std over seeds; one seed: the value, with the run's own 95 % interval when it has one."""
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.3f}" + (f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else "")
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def cell(runs: dict[int, dict[str, float]], metric: str) -> str:
    values = [float(r[metric]) for r in runs.values() if metric in r]
    interval = None
    if len(values) == 1:   # evaluate writes <key>_low / <key>_high beside every mean and paired difference
        (run,) = [r for r in runs.values() if metric in r]
        if f"{metric}_low" in run and f"{metric}_high" in run:
            interval = (float(run[f"{metric}_low"]), float(run[f"{metric}_high"]))
    return fmt(values, interval)


def collect(table: Table, exps) -> dict[str, dict[int, dict[str, float]]]:
    """experiment -> seed -> metrics of the table's runs in ``dvc exp show``."""
    pattern = re.compile(rf"^{re.escape(table.name)}-(?P<exp>.+)-s(?P<seed>\d+)$")
    found: dict[str, dict[int, dict[str, float]]] = {}
    for e in exps:
        m = pattern.match(e.name or "")
        if m and e.finished and m["exp"] in table.experiments and int(m["seed"]) in table.seeds:
            # `dvc exp show` lists newest first (HEAD before older baselines): keep the first of a name
            found.setdefault(m["exp"], {}).setdefault(int(m["seed"]), e.metrics)
    return found


def render(table: Table, exps) -> str:
    """Markdown: one row per experiment (or per experiment and model), mean ± std over the seeds that
    ran (n shown); a single seed shows the value and its interval. Then each row's paired difference
    from the first (``differences``), where there is one to show."""
    found = collect(table, exps)
    model_col = "model | " if table.models else ""
    lines = [f"| experiment | {model_col}n | {' | '.join(table.metrics)} |",
             "|---|" + ("---|" if table.models else "") + "---:|" + "---:|" * len(table.metrics)]
    for exp in table.experiments:
        runs = found.get(exp, {})
        for model in table.models or [None]:
            metrics = [m.replace(MODEL, model) if model else m for m in table.metrics]
            cells = [cell(runs, m) for m in metrics]
            lines.append(f"| {exp} | {model + ' | ' if model else ''}{len(runs)} | {' | '.join(cells)} |")
    out = "\n".join(lines) + (f"\n\nmean ± sample std over seeds {table.seeds}; n = seeds found; one seed: "
                              "value [95 % bootstrap interval of the run].\n")
    return out + differences(table, found)


def differences(table: Table, found: dict[str, dict[int, dict[str, float]]]) -> str:
    """Each row minus the first row at the same seed (the seeds both ran), mean ± sd over seeds, and
    ``*`` where |mean| > BEYOND × the metric's seed sd pooled over every row: a difference beyond the
    seed spread (issue #12's bar for a reward term that matters). Empty for model tables and for
    tables without two rows that share two seeds."""
    base = table.experiments[0]
    paired = {exp: {m: [runs[s][m] - found[base][s][m] for s in sorted(runs) if s in found.get(base, {})
                        and m in runs[s] and m in found[base][s]] for m in table.metrics}
              for exp, runs in found.items() if exp != base}
    if table.models or not any(len(d) >= 2 for diffs in paired.values() for d in diffs.values()):
        return ""
    sds = [pooled_sd([[float(r[m]) for r in found[e].values() if m in r] for e in table.experiments if e in found])
           for m in table.metrics]
    lines = [(f"\nDifference from {base}, paired by seed: mean ± sd over the seeds both ran; * beyond the "
              f"seed spread (|mean| > {BEYOND:g} × the seed sd pooled over every row, last line).\n"),
             f"| experiment | n | {' | '.join(table.metrics)} |", "|---|---:|" + "---:|" * len(table.metrics)]
    for exp in table.experiments[1:]:
        diffs = paired.get(exp, {})
        cells = []
        for m, sd in zip(table.metrics, sds):
            d = diffs.get(m, [])
            mark = " *" if len(d) >= 2 and abs(statistics.mean(d)) > BEYOND * sd else ""
            cells.append(f"{statistics.mean(d):+.3f} ± {statistics.stdev(d):.3f}{mark}" if len(d) >= 2 else "–")
        lines.append(f"| {exp} | {max(map(len, diffs.values()), default=0)} | {' | '.join(cells)} |")
    lines.append(f"| seed sd (pooled) | | {' | '.join(f'{sd:.3f}' for sd in sds)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.ablations", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("table", help="a table of experiments/tables.yaml, e.g. reward_components")
    parser.add_argument("--tables", type=Path, default=TABLES, help="tables file (default: experiments/tables.yaml)")
    parser.add_argument("-j", "--jobs", type=int, help="queue workers (default: the table's jobs)")
    parser.add_argument("--gpus-per-worker", type=int,
                        help="give each queue worker its own GPUs, this many (default: the table's gpus_per_worker; "
                             "none: workers share what is visible)")
    parser.add_argument("--dry-run", action="store_true", help="print the dvc commands; run nothing")
    parser.add_argument("--render-only", action="store_true", help="render from existing experiments; run nothing")
    parser.add_argument("--rerun", action="store_true", help="queue rows that already have an experiment too")
    parser.add_argument("--output", type=Path, help="also write the Markdown table here")
    parser.add_argument("--poll", type=float, default=10.0, help="seconds between queue polls (default 10)")
    parser.add_argument("--timeout", type=float, help="give up waiting after this many seconds")
    args = parser.parse_args(argv)
    root = ROOT
    try:
        table = load_table(args.table, args.tables)
    except ExperimentConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    jobs = args.jobs or table.jobs
    per_worker = args.gpus_per_worker or table.gpus_per_worker
    try:   # too few GPUs for the workers fails now, before anything is queued
        starts = gpu_workers.start_commands(jobs, per_worker) if not args.render_only else []
    except ExperimentConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    if not args.render_only:
        # queued, running or done: not queued again; failed: queued again
        existing = set() if args.rerun or args.dry_run else {e.name for e in exp_show(root)
                                                             if e.name and e.state != "failed"}
        commands = queue_commands(table, existing)
        if args.dry_run:
            for c in commands:
                print("dvc " + " ".join(f"'{a}'" if "=" in a else a for a in c))
            for extra, c in starts:
                print(gpu_workers.shown(extra, c))
            return 0
        uri, _ = shared_mlflow_store(root)  # created once, before any worker
        env = tool_env({"MLFLOW_TRACKING_URI": uri})
        print(f"{table.name}: {len(commands)} to run, {len(table.runs()) - len(commands)} already done; "
              f"MLflow store {uri}", file=sys.stderr)
        for c in commands:
            dvc(c, cwd=root, env=env)
        if commands:
            try:
                gpu_workers.start(root, jobs, per_worker, env)
            except ExperimentConfigError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            status = wait(root, [c[c.index("-n") + 1] for c in commands], args.poll, args.timeout)
            failed = sorted(n for n, s in status.items() if s != "Success")
            if failed:
                print(f"warning: {len(failed)} experiment(s) did not succeed: {failed}; "
                      "see `dvc queue logs <name>`", file=sys.stderr)

    markdown = f"### {table.name}\n\n" + render(table, exp_show(root))
    print(markdown)
    if args.output:
        from stages.core.io import write_text

        write_text(args.output, markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
