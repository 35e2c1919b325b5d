"""The synthetic corpus's tables as data: what the loader rejects (naming file and key), the types the
generator relies on, packaging, and that the committed corpus is what code + tables generate."""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import tomllib
from importlib import resources

import pytest
import yaml

from stages.core.data import synthetic_vocab as syn
from stages.core.data.synthetic_corpus import generate_corpus
from stages.core.data.synthetic_tables import Fields, OneOf, OptionalKey, Seq, TableError, parse
from stages.core.format import ResponseFormat
from stages.core.io import write_jsonl
from stages.core.labels import EMOTIONS

PACKAGE = "stages.core.data.synthetic_tables"
EMOTIONS_SHAPE = {label: syn._EMOTION for label in EMOTIONS}
EMOTIONS_TEXT = resources.files(PACKAGE).joinpath("emotions.yaml").read_text(encoding="utf-8")
AFRAID = EMOTIONS_TEXT[EMOTIONS_TEXT.index("afraid:\n"):EMOTIONS_TEXT.index("angry:\n")]
FIRST_PARAPHRASE = '    - "my heart was pounding the whole time"\n'


def test_the_real_file_parses_to_the_generators_table():
    parsed = parse(EMOTIONS_TEXT, EMOTIONS_SHAPE, "emotions.yaml")
    assert {label: syn.Emotion(**fields) for label, fields in parsed.items()} == syn.TABLE


@pytest.mark.parametrize("old, new, error", [
    # A label with no paraphrases, or too few for a dialogue's two.
    (AFRAID[AFRAID.index("  paraphrases:"):AFRAID.index("  scenarios:")], "  paraphrases:\n",
     "emotions.yaml: key 'afraid.paraphrases': must be a list of at least 2, got None"),
    (AFRAID[AFRAID.index(FIRST_PARAPHRASE) + len(FIRST_PARAPHRASE):AFRAID.index("  scenarios:")], "",
     "emotions.yaml: key 'afraid.paraphrases': must be a list of at least 2"),
    # YAML 1.1 reads an unquoted no as False, and 3 as an int.
    (FIRST_PARAPHRASE, "    - no\n", r"key 'afraid.paraphrases\[0\]': must be a string, got False; quote it"),
    (FIRST_PARAPHRASE, "    - 3\n", r"key 'afraid.paraphrases\[0\]': must be a string, got 3; quote it"),
    (AFRAID, "", r"key '<root>': missing keys \['afraid'\]"),
    (AFRAID, AFRAID + AFRAID, "key 'afraid' appears twice"),
    ("  group: low\n", "  group: lo\n", "key 'afraid.group': must be one of"),
    ("  paraphrases:\n", "  paraphrase:\n", r"key 'afraid': missing keys \['paraphrases'\], unknown keys \['paraphrase'\]"),
    ('      gist: "{sub} heard footsteps on a dark {loc}"\n', "",
     r"key 'afraid.scenarios\[0\]': must have exactly the keys \['user', 'gist'\]"),
    ("afraid:\n", "afraid: [\n", "emotions.yaml: while parsing"),
])
def test_a_malformed_table_names_its_file_and_key(old, new, error):
    assert EMOTIONS_TEXT.count(old) >= 1
    with pytest.raises(TableError, match=error):
        parse(EMOTIONS_TEXT.replace(old, new, 1), EMOTIONS_SHAPE, "emotions.yaml")


def test_shapes():
    shape = {"a": OneOf(("x", "y")), "b": Seq(Fields("k", "v"), 2), "c": OptionalKey({str: [str]})}
    assert parse("a: x\nb: [{v: '2', k: '1'}, {k: '3', v: '4'}]\n", shape, "f") == {
        "a": "x", "b": (("1", "2"), ("3", "4"))}  # Fields: the spec's order, whatever the file's
    assert parse("c: {n: [m]}\na: y\nb: [{k: '', v: ''}, {k: '', v: ''}]\n", shape, "f") == {
        "c": {"n": ("m",)}, "a": "y", "b": (("", ""), ("", ""))}  # the file's key order otherwise
    with pytest.raises(TableError, match=r"f: key 'c.n': must be a list of at least 1, got \[\]"):
        parse("a: x\nb: [{k: '', v: ''}, {k: '', v: ''}]\nc: {n: []}\n", shape, "f")
    with pytest.raises(TableError, match="f: key 'c.True': must be a string, got True"):  # yes: a YAML 1.1 bool
        parse("a: x\nb: [{k: '', v: ''}, {k: '', v: ''}]\nc: {yes: [m]}\n", shape, "f")



def test_number_shapes():
    shape = {"rate": float, "words": int}
    assert parse("rate: 1\nwords: 30\n", shape, "f") == {"rate": 1.0, "words": 30}   # an int is a float
    assert type(parse("rate: 1\nwords: 30\n", shape, "f")["rate"]) is float
    for text, error in (("rate: '0.3'\nwords: 3\n", "f: key 'rate': must be a number, got '0.3'"),
                        ("rate: yes\nwords: 3\n", "f: key 'rate': must be a number, got True"),
                        ("rate: 0.3\nwords: 2.5\n", "f: key 'words': must be an integer, got 2.5")):
        with pytest.raises(TableError, match=error):
            parse(text, shape, "f")


def test_the_knobs_are_the_generators_numbers():
    """knobs.yaml holds the generator's rates and budgets: each cue's weights sum to one, every
    rate is a probability, and the per-label weights keep the label order of EMOTIONS."""
    assert sum(syn.CUE_WEIGHTS.values()) == pytest.approx(1.0)
    assert set(syn.P_FAIL) == set(syn.P_SOLVED) == set(syn.CUE_WEIGHTS)
    rates = [syn.DISTRACTOR_RATE, syn.SAME_CLUSTER_DISTRACTOR, syn.RESTATE_RATE, syn.BORROW_RATE,
             syn.AMBIGUOUS_IMPLIED_RATE, *syn.P_FAIL.values(), *syn.P_SOLVED.values()]
    assert all(0 <= r <= 1 for r in rates)
    assert list(syn.EMOTION_WEIGHTS) == list(EMOTIONS) and all(w > 0 for w in syn.EMOTION_WEIGHTS.values())
    assert sum(syn.MAX_SPAN_WORDS.values()) > syn.MAX_ASSISTANT_WORDS   # spans share the turn budget


def leaves(value, where):
    """Every string in a loaded table. A list fails: the generator keeps drawn choices in a set and
    concatenates template tuples, so containers must be tuples (or dicts)."""
    if dataclasses.is_dataclass(value):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str), (where, k)
            yield from leaves(v, f"{where}.{k}")
    elif isinstance(value, tuple):
        for i, v in enumerate(value):
            yield from leaves(v, f"{where}[{i}]")
    else:
        assert isinstance(value, str), (where, value)
        yield value


def test_loaded_tables_are_tuples_of_strings():
    tables = {"emotions": syn.TABLE, "labels": syn._labels, "personas": syn._personas, "slots": syn.SLOTS,
              "user": syn._user, "assistant": syn._assistant}
    for name, table in tables.items():
        assert list(leaves(table, name)), name


def test_every_table_file_is_read_and_installed(root):
    """Each data file beside the loader is one synthetic_vocab.py loads, and pyproject ships it."""
    files = sorted(p.name for p in resources.files(PACKAGE).iterdir() if p.is_file() and p.name != "__init__.py")
    source = (root / "stages/core/data/synthetic_vocab.py").read_text()
    assert files and [f for f in files if f'load("{f}"' not in source] == []
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][PACKAGE]
    assert [f for f in files if not any(fnmatch.fnmatch(f, g) for g in globs)] == []


def test_the_committed_corpus_is_what_the_code_generates(root, tmp_path):
    """dvc.lock records prepare's dialogues.jsonl and the params it came from: generating with those
    params must give the same bytes, or the regression baseline and committed metrics describe another
    corpus. After a deliberate change: `dvc repro` and commit dvc.lock with the new measurements."""
    prepare = yaml.safe_load((root / "dvc.lock").read_text())["stages"]["prepare"]
    params = prepare["params"]["params.yaml"]
    data, fmt = params["data"], params["format"]
    if data["source"] != "synthetic":
        pytest.skip("the committed corpus is not the synthetic one")
    outs = {o["path"]: o["md5"] for o in prepare["outs"]}
    paths = yaml.safe_load((root / "conf/paths/default.yaml").read_text())
    assert outs[paths["rejects"]] == hashlib.md5(b"").hexdigest()  # prepare kept every record
    corpus = generate_corpus(data["n_dialogues"], data["n_personas"], params["seed"],
                                 ResponseFormat(fmt["style"], fmt["system_prompt"]), data["max_exchanges"])
    write_jsonl(tmp_path / "dialogues.jsonl", corpus)
    assert hashlib.md5((tmp_path / "dialogues.jsonl").read_bytes()).hexdigest() == outs[paths["corpus"]]
