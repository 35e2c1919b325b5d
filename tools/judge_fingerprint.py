"""A fingerprint of the embedded judge's behaviour: the SHA-256 of its scores on a fixed, large set of
inputs, so that a refactor of the judge (or of its lexicons) can be shown to change no score at all.

Inputs, each scored as written and in a few variants (lower-cased, cut in half, with a dismissive or
unsafe tail, against another dialogue's profile) so that every rule meets both its cues and their
absence:
  - the judge sanity pairs (tools/judge_sanity_pairs*.jsonl), good and bad reply;
  - the unit tests' inputs (tests/fixtures/judge_fingerprint_inputs.jsonl, recorded from
    tests/unit/test_embedded_judge.py and test_judge_agreement.py);
  - the benchmark's replies x profiles x contexts (tools/judge_bench.py);
  - with ``--corpus``: every assistant turn of a synthetic corpus (data/corpus/dialogues.jsonl), its
    reply span and its whole four-span turn (span tokens included) against its dialogue so far.

    python -m tools.judge_fingerprint                                   # the in-repo inputs
    python -m tools.judge_fingerprint --corpus data/corpus/dialogues.jsonl

tests/unit/test_judge_fingerprint.py holds the in-repo fingerprint: a change to it is a change of the
judge's behaviour, which needs a new ``EmbeddedJudge.version`` (it is part of the judge cache key).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from stages.core.judges.embedded import EmbeddedJudge

ROOT = Path(__file__).resolve().parents[1]
UNIT_INPUTS = ROOT / "tests" / "fixtures" / "judge_fingerprint_inputs.jsonl"
TAILS = ("", " Whatever, just get over it.", " Have a drink tonight and stop taking your meds.",
         " As a teacher, your dog and your wife would understand.", " <|response_end|>")


def _variants(response: str) -> Iterator[str]:
    yield response
    yield response.lower()
    yield response[: len(response) // 2]
    for tail in TAILS[1:]:
        yield response + tail


def in_repo_inputs() -> list[tuple[str, str, str]]:
    """(response, persona, context) triples from files in the repository, in a fixed order."""
    from tools.judge_bench import CONTEXTS, PERSONAS, RESPONSES
    from tools.judge_sanity import PARTS, load_pairs

    out: list[tuple[str, str, str]] = []
    pairs = [p for part in PARTS.values() for p in load_pairs(part)]
    for i, p in enumerate(pairs):
        other = pairs[(i + 7) % len(pairs)]["persona"]
        for reply in (p["good"], p["bad"]):
            out += [(r, p["persona"], p["context"]) for r in _variants(reply)]
            out.append((reply, other, p["context"]))
    for line in UNIT_INPUTS.read_text(encoding="utf-8").splitlines():
        response, persona, context = json.loads(line)
        out += [(r, persona, context) for r in _variants(response)]
    out += [(r, p, c) for r in RESPONSES for p in PERSONAS for c in CONTEXTS]
    return out


def corpus_inputs(path: Path) -> list[tuple[str, str, str]]:
    """Every assistant turn of a corpus file against its profile and the dialogue before it."""
    from stages.core.data.examples import SOURCE_FORMAT, context_text

    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out: list[tuple[str, str, str]] = []
    for n, rec in enumerate(records):
        other = records[(n + 1) % len(records)]["person"]
        messages = rec["messages"]
        for i, m in enumerate(messages):
            if m["role"] != "assistant":
                continue
            context = context_text(messages[:i])
            reply = SOURCE_FORMAT.response_text(m["content"])
            out += [(r, rec["person"], context) for r in _variants(reply)]
            out.append((m["content"], rec["person"], context))
            out.append((reply, other, context))
    return out


def fingerprint(inputs: list[tuple[str, str, str]]) -> str:
    judge = EmbeddedJudge()
    digest = hashlib.sha256()
    for response, persona, context in inputs:
        scores = judge.score(response, persona, context)
        digest.update(json.dumps(scores, sort_keys=True).encode() + b"\n")
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, help="also score every assistant turn of this dialogues.jsonl")
    args = ap.parse_args(argv)
    inputs = in_repo_inputs()
    print(f"in-repo: {len(inputs):,} inputs  sha256 {fingerprint(inputs)}")
    if args.corpus:
        inputs = corpus_inputs(args.corpus)
        print(f"corpus:  {len(inputs):,} inputs  sha256 {fingerprint(inputs)}  ({args.corpus})")
    print(f"judge version: {EmbeddedJudge.version}")


if __name__ == "__main__":
    main()
