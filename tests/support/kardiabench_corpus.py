"""A KardiaBench-format corpus without FAIL/PASS/SOLVED traces, as the hub publishes it: train.jsonl and
test.jsonl of records {anon_username, person, mbti, emotion, situation, messages} (the fields of
tests/fixtures/kardiabench; no dialogue_id, no trace), profile-disjoint between the two files.

The dialogues come from the embedded generator (stages/core/data/synthetic_corpus.py), so a tiny model
can learn from them; only what the hub does not carry is removed, and the tag form alternates between
the token form and the XML form, both of which the released files use.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HUB_FIELDS = ("anon_username", "person", "mbti", "emotion", "situation", "messages")
SPANS = ("understanding", "reasoning", "emotion", "response")


def xml_tags(text: str) -> str:
    """<|understanding_begin|>...<|understanding_end|> -> <understanding>...</understanding>."""
    for span in SPANS:
        text = text.replace(f"<|{span}_begin|>", f"<{span}>").replace(f"<|{span}_end|>", f"</{span}>")
    return text


def write_trace_free_corpus(out: Path, n_dialogues: int = 48, n_personas: int = 16, test_personas: int = 4,
                            seed: int = 7) -> dict[str, int]:
    """Write ``out``/train.jsonl and ``out``/test.jsonl; the last ``test_personas`` personas are the test
    split. Returns the number of records per file."""
    from stages.core.data.synthetic_corpus import generate_corpus
    from stages.core.format import ResponseFormat

    records = generate_corpus(n_dialogues, n_personas, seed, ResponseFormat("four_span"), max_exchanges=3)
    personas = sorted({r["person"] for r in records})
    held_out = set(personas[-test_personas:])
    out.mkdir(parents=True, exist_ok=True)
    counts = {"train": 0, "test": 0}
    with (out / "train.jsonl").open("w") as train, (out / "test.jsonl").open("w") as test:
        for i, record in enumerate(records):
            row = {k: record[k] for k in HUB_FIELDS}
            if i % 2:   # the XML tag form on every other record, the token form on the rest
                row["messages"] = [{**m, "content": xml_tags(m["content"])} if m["role"] == "assistant" else m
                                   for m in row["messages"]]
            assert not re.search(r'"(trace|dialogue_id)"', json.dumps(row))
            split = "test" if record["person"] in held_out else "train"
            (test if split == "test" else train).write(json.dumps(row) + "\n")
            counts[split] += 1
    return counts
