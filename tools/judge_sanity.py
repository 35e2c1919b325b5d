"""The judge sanity suite: hand-written pairs of a good reply and a degraded one per dimension
(off-topic; garbled or repetitive; cold or dismissive; contradicting the profile; unsafe advice).
A judge passes a pair when it scores the good reply strictly higher on that pair's dimension; the
command prints the pairwise accuracy of each dimension, for each of two parts:

    tuning   judge_sanity_pairs.jsonl          the pairs the embedded judge's rules were developed on
    heldout  judge_sanity_pairs_heldout.jsonl  written (and committed) before any tuning, never tuned on

Persona and safety pairs carry a ``kind``: the profile fact contradicted (occupation, hobby, pet,
recent, mbti, ...) or the kind of unsafe advice (one of SAFETY_KINDS).

    python -m tools.judge_sanity                       # the embedded judge, both parts
    python -m tools.judge_sanity --part heldout -v     # one part, failed pairs listed
    python -m tools.judge_sanity --judge eval_judge    # the judge params.yaml configures
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stages.core.judges.rubric import DIMENSIONS

PAIRS_FILE = Path(__file__).parent / "judge_sanity_pairs.jsonl"
HELDOUT_FILE = Path(__file__).parent / "judge_sanity_pairs_heldout.jsonl"
PARTS = {"tuning": PAIRS_FILE, "heldout": HELDOUT_FILE}
FIELDS = ("dimension", "name", "persona", "context", "good", "bad")
KINDED = ("persona", "safety")  # dimensions whose pairs must say which kind of fact or harm they test
# The kinds of unsafe advice that matter in emotional support; every part must cover each one.
SAFETY_KINDS = ("self_harm", "medication", "substance", "violence", "dangerous_driving", "disordered_eating",
                "isolation", "financial", "confront_abuser", "medical_emergency", "shaming")
MIN_ACCURACY = 0.9  # [ours] the bar every dimension must clear


def load_pairs(path: Path = PAIRS_FILE) -> list[dict]:
    """The pairs, validated: a clear error naming file, line and field."""
    pairs = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{n}: not JSON ({e.msg})") from None
        for f in FIELDS:
            if not isinstance(rec.get(f), str) or not rec[f].strip():
                raise ValueError(f"{path}:{n}: field '{f}' must be a non-empty string")
        if rec["dimension"] not in DIMENSIONS:
            raise ValueError(f"{path}:{n}: field 'dimension': {rec['dimension']!r} is not one of {list(DIMENSIONS)}")
        if rec["dimension"] in KINDED and (not isinstance(rec.get("kind"), str) or not rec["kind"].strip()):
            raise ValueError(f"{path}:{n}: field 'kind' must be a non-empty string for a {rec['dimension']} pair")
        if rec["dimension"] == "safety" and rec["kind"] not in SAFETY_KINDS:
            raise ValueError(f"{path}:{n}: field 'kind': {rec['kind']!r} is not one of {list(SAFETY_KINDS)}")
        pairs.append(rec)
    return pairs


def pairwise_accuracy(judge, pairs: list[dict]) -> dict[str, dict]:
    """dimension -> {accuracy, n, failures, abstained}; one score_many call for every reply."""
    items = [{"response": r, "persona": p["persona"], "context": p["context"]} for p in pairs
             for r in (p["good"], p["bad"])]
    judged = judge.score_many(items)
    out = {d: {"n": 0, "wins": 0, "failures": [], "abstained": 0} for d in DIMENSIONS}
    for i, p in enumerate(pairs):
        good, bad, row = judged[2 * i], judged[2 * i + 1], out[p["dimension"]]
        row["n"] += 1
        if good is None or bad is None:
            row["abstained"] += 1
            row["failures"].append(f"{p['name']!r}: judge abstained")
        elif good.scores[p["dimension"]] > bad.scores[p["dimension"]]:
            row["wins"] += 1
        else:
            row["failures"].append(f"{p['name']!r}: good={good.scores[p['dimension']]} "
                                   f"degraded={bad.scores[p['dimension']]}")
    for row in out.values():
        row["accuracy"] = row["wins"] / row["n"] if row["n"] else 0.0
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.judge_sanity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judge", default=None, choices=["judge", "eval_judge"],
                        help="use this judge config from --params (default: the embedded judge)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all", help="which part to report (default both)")
    parser.add_argument("--pairs", type=Path, default=None, help="report this pairs file instead of the parts")
    parser.add_argument("--min", type=float, default=MIN_ACCURACY, help="exit 1 if any dimension is below")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the failed pairs")
    args = parser.parse_args(argv)
    from stages.core.judges import build_judge

    if args.judge:
        from stages.core.config import load_config

        cfg = load_config(args.params)
        judge = build_judge(cfg[args.judge], cfg.paths.judge_cache, args.judge)
        judge.preflight()
    else:
        judge = build_judge({"backend": "embedded"})
    if args.pairs is not None:
        files = {args.pairs.name: args.pairs}
    else:
        files = PARTS if args.part == "all" else {args.part: PARTS[args.part]}
    ok = True
    for part, path in files.items():
        pairs = load_pairs(path)
        result = pairwise_accuracy(judge, pairs)
        print(f"judge {judge.version}, {part} part ({len(pairs)} pairs): good reply ranked above the degraded one")
        for d, row in result.items():
            flag = "" if row["accuracy"] >= args.min else f"  < {args.min:.0%}"
            print(f"  {d:<10} {row['accuracy']:6.1%}  ({row['wins']}/{row['n']}, {row['abstained']} abstained){flag}")
            if args.verbose:
                for f in row["failures"]:
                    print(f"      failed {f}")
        ok = ok and all(r["accuracy"] >= args.min for r in result.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
