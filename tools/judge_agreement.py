"""Judge agreement: score one set of replies with two judges and report, per dimension, Spearman's
rank correlation and the quadratic-weighted Cohen's kappa, over the replies both judges scored.

    python -m tools.judge_agreement                          # judge vs eval_judge of params.yaml
    python -m tools.judge_agreement --input reports/predictions.jsonl --limit 200

Input: JSONL records with ``output`` (a model's full four-span turn, as reports/predictions.jsonl
holds) or ``response`` (the reply text), and ``persona`` / ``context`` — or an ``id`` that is looked
up in the test split (paths.partitioned/test.jsonl) for them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stages.core.judges.rubric import DIMENSIONS


def agreement(a: list, b: list) -> dict[str, dict[str, float]]:
    """Per dimension: n, Spearman rho, quadratic-weighted kappa, mean score of each judge."""
    from scipy.stats import spearmanr
    from sklearn.metrics import cohen_kappa_score

    both = [(x.scores, y.scores) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    out = {}
    for d in DIMENSIONS:
        xs, ys = [s[d] for s, _ in both], [s[d] for _, s in both]
        row = {"n": float(len(both))}
        if len(both) >= 2:
            varied = len(set(xs)) > 1 and len(set(ys)) > 1  # rank correlation is undefined for a constant
            row["spearman"] = float(spearmanr(xs, ys).statistic) if varied else float("nan")
            row["kappa_quadratic"] = float(cohen_kappa_score(xs, ys, weights="quadratic", labels=[1, 2, 3, 4, 5]))
            row["mean_a"], row["mean_b"] = sum(xs) / len(xs), sum(ys) / len(ys)
        out[d] = row
    return out


def load_items(path: Path, test_split: Path | None, limit: int | None) -> list[dict]:
    from stages.core.io import read_jsonl

    records = read_jsonl(path)[:limit] if limit else read_jsonl(path)
    lookup = {ex["id"]: ex for ex in read_jsonl(test_split)} if test_split and test_split.exists() else {}
    items = []
    for n, rec in enumerate(records, 1):
        ref = lookup.get(rec.get("id"), {})
        persona, context = rec.get("persona", ref.get("persona")), rec.get("context", ref.get("context"))
        text = rec.get("response", rec.get("output"))
        for field, value in (("response/output", text), ("persona", persona), ("context", context)):
            if not isinstance(value, str):
                raise ValueError(f"{path}:{n}: no {field} (in the record, or via its id in {test_split})")  # noqa: TRY004 - bad input data
        items.append({"response": text, "persona": persona, "context": context, "full": "output" in rec})
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.judge_agreement", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--input", type=Path, default=None, help="default: <paths.reports>/predictions.jsonl")
    parser.add_argument("--a", default="judge", choices=["judge", "eval_judge"], help="first judge config")
    parser.add_argument("--b", default="eval_judge", choices=["judge", "eval_judge"], help="second judge config")
    parser.add_argument("--limit", type=int, default=None, help="only the first N records")
    args = parser.parse_args(argv)
    from stages.core.config import load_config
    from stages.core.format import ResponseFormat
    from stages.core.judges import build_judge, judge_settings

    cfg = load_config(args.params)
    fmt = ResponseFormat.from_config(cfg.format)
    path = args.input or Path(cfg.paths.reports) / "predictions.jsonl"
    items = load_items(path, Path(cfg.paths.partitioned) / "test.jsonl", args.limit)
    for it in items:  # a full turn is judged on its reply span, as in grpo and evaluate
        if it.pop("full"):
            it["response"] = fmt.response_text(it["response"])
    judged = {}
    for key in (args.a, args.b):
        judge = build_judge(cfg[key], cfg.paths.judge_cache, key)
        judge.preflight()
        judged[key] = judge.score_many(items)
    result = agreement(judged[args.a], judged[args.b])
    print(f"{len(items)} replies from {path}; A = {args.a}: {judge_settings(cfg[args.a])}, "
          f"B = {args.b}: {judge_settings(cfg[args.b])}")
    print(f"  {'dimension':<10} {'n':>5} {'spearman':>9} {'kappa_q':>8} {'mean A':>7} {'mean B':>7}")
    for d, row in result.items():
        if "kappa_quadratic" in row:
            print(f"  {d:<10} {int(row['n']):>5} {row['spearman']:>9.3f} {row['kappa_quadratic']:>8.3f} "
                  f"{row['mean_a']:>7.2f} {row['mean_b']:>7.2f}")
        else:
            print(f"  {d:<10} {int(row['n']):>5}   (too few replies scored by both judges)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
