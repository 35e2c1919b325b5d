"""KardiaBench loading and validation on a hand-written fixture: every bad record is rejected with the
right reason, file and line; every valid record is kept, both tag forms end up in the token form."""

import json

import pytest

from stages.core.config import load_config
from stages.core.data.kardiabench import DataSourceError, read_hub, read_local
from stages.core.data.validation import validate

FIXTURE = "tests/fixtures/kardiabench"
# Reject reasons the fixture exercises, one line each (two unparseable turns: missing span, out of order).
EXPECTED = {"invalid_json": 1, "not_an_object": 1, "missing_field": 1, "wrong_type": 1, "bad_roles": 1,
            "no_final_assistant": 1, "too_long": 1, "unparseable_turn": 2, "unknown_emotion": 1,
            "bad_trace": 1, "exact_duplicate": 1}
VALID_KEEP = {"fx_valid_tokens", "fx_valid_xml", "fx-trace-1", "fx_near_dup_of_second",
              "fx_test_valid_tokens", "fx_test_valid_xml"}
FIXTURE_OVERRIDES = ["data.limits.max_turn_chars=600"]  # the fixture's long-turn record is ~800 chars


def cfg_with(root, *overrides):
    return load_config(root / "params.yaml", [*FIXTURE_OVERRIDES, *overrides])


@pytest.mark.parametrize("near, near_dropped", [("keep", 0), ("drop", 1)])
def test_fixture_reject_counts_and_kept_records(root, monkeypatch, near, near_dropped):
    monkeypatch.chdir(root)
    cfg = cfg_with(root, f"data.dedup.near={near}")
    report = validate(read_local(FIXTURE), cfg.data)
    assert report.counts() == {**{r: 0 for r in report.counts()}, **EXPECTED, "near_duplicate": near_dropped}
    assert report.total == 18
    kept = {r["anon_username"] or r["dialogue_id"] for r in report.records}
    assert kept == VALID_KEEP - ({"fx_near_dup_of_second"} if near_dropped else set())
    assert report.near_pair_count == 1 and report.near_pairs[0]["jaccard"] >= cfg.data.dedup.near_threshold


def test_rejects_name_file_line_and_record(root, monkeypatch):
    monkeypatch.chdir(root)
    report = validate(read_local(FIXTURE), cfg_with(root).data)
    by_reason = {}
    for r in report.rejects:
        by_reason.setdefault(r.reason, []).append(r)
    bad_json = by_reason["invalid_json"][0]
    assert bad_json.file.endswith("train.jsonl") and bad_json.line == 4
    out_of_order = next(r for r in by_reason["unparseable_turn"] if r.file.endswith("test.jsonl"))
    assert out_of_order.line == 4 and out_of_order.record_id == "fx_test_spans_out_of_order"
    assert "spans out of order" in out_of_order.detail
    assert by_reason["bad_trace"][0].record_id == "fx-bad-trace"
    assert "kb-train-000001" in by_reason["exact_duplicate"][0].detail  # points at the copy it duplicates


def test_both_tag_forms_normalised(root, monkeypatch, fmt):
    monkeypatch.chdir(root)
    report = validate(read_local(FIXTURE), cfg_with(root).data)
    for record in report.records:
        for m in record["messages"]:
            assert "<understanding>" not in m["content"]
            if m["role"] == "assistant":
                assert fmt.is_valid(m["content"])
    xml = next(r for r in report.records if r["anon_username"] == "fx_valid_xml")
    assert xml["emotion"] == "grateful"  # ' Grateful ' in the file
    assert fmt.parse(xml["messages"][1]["content"]).spans["emotion"] == "grateful"


def test_parquet_reads_like_jsonl(root, tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.chdir(root)
    rows = [json.loads(line) for line in (root / FIXTURE / "test.jsonl").read_text().splitlines() if line.strip()]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "test-00000-of-00001.parquet")
    report = validate(read_local(str(tmp_path)), cfg_with(root).data)
    assert report.total == 3 and len(report.records) == 2 and report.counts()["unparseable_turn"] == 1
    assert set(report.splits) == {"test"}


def test_missing_path_is_a_clear_error(root, tmp_path):
    with pytest.raises(DataSourceError, match="does not exist"):
        read_local(str(tmp_path / "nope"))


def test_gated_or_offline_hub_says_how_to_get_access(root):
    cfg = load_config(root / "params.yaml", ["data.source=kardiabench", "data.hf_dataset=Jhcircle/KardiaBench",
                                             "data.revision=0123456789abcdef0123456789abcdef01234567",
                                             "data.token_env=HF_TOKEN"])
    with pytest.raises(DataSourceError) as e:
        read_hub(cfg.data)
    message = str(e.value)
    assert "request access" in message and "huggingface.co/datasets/Jhcircle/KardiaBench" in message
    assert "data.path=" in message and "HF_TOKEN" in message


def test_synthetic_corpus_passes_validation_unchanged(root, fmt):
    from stages.core.data.synthetic_corpus import generate_corpus
    from stages.core.data.validation import Raw

    corpus = generate_corpus(60, 12, 3, fmt)
    report = validate([Raw("<synthetic>", i, None, d) for i, d in enumerate(corpus, 1)],
                      load_config(root / "params.yaml").data)
    assert report.records == corpus and not report.rejects


@pytest.mark.reliability(probe="a non-UTF-8 line", kind="bad input", outcome="survived",
                         lost="that line: a reject naming file, line and reason")
@pytest.mark.reliability(probe="a line nested 100,000 deep", kind="bad input", outcome="survived",
                         lost="that line: a reject naming file, line and reason")
@pytest.mark.reliability(probe="a UTF-8 byte-order mark", kind="bad input", outcome="survived")
def test_a_bad_line_is_a_reject_and_the_rest_of_the_file_is_kept(root, tmp_path, monkeypatch):
    """A byte-order mark is stripped; bytes that are not UTF-8 and nesting too deep to parse reject
    their own line only, with its number and reason."""
    monkeypatch.chdir(root)
    valid = [line for line in (root / FIXTURE / "test.jsonl").read_bytes().splitlines()
             if b"fx_test_valid_" in line]
    assert len(valid) == 2
    (tmp_path / "test.jsonl").write_bytes(b"\n".join([
        b"\xef\xbb\xbf" + valid[0],                       # line 1: a BOM before a valid record
        b'{"person": "caf\xe9 owner"}',                    # line 2: latin-1, not UTF-8
        b"[" * 100_000 + b"]" * 100_000,                   # line 3: too deep for the parser
        valid[1],                                          # line 4
    ]) + b"\n")
    report = validate(read_local(str(tmp_path)), cfg_with(root).data)
    assert len(report.records) == 2 and report.total == 4
    rejects = {r.line: r for r in report.rejects}
    assert set(rejects) == {2, 3} and {r.reason for r in rejects.values()} == {"invalid_json"}
    assert "not UTF-8 (byte 0xe9" in rejects[2].detail and "nested too deep" in rejects[3].detail
    assert all(r.file.endswith("test.jsonl") for r in rejects.values())


def test_read_jsonl_names_file_and_line(tmp_path):
    from stages.core.io import read_jsonl

    path = tmp_path / "x.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n\n{"b": \xff}\n')
    with pytest.raises(ValueError, match=r"x.jsonl:3: not UTF-8"):
        read_jsonl(path)
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n')
    assert read_jsonl(path) == [{"a": 1}]


@pytest.mark.reliability(probe="duplicated dialogue ids", kind="bad input", outcome="survived",
                         lost="nothing: each id made unique, counted in metrics")
def test_duplicated_ids_are_counted_and_made_unique(root, tmp_path, monkeypatch):
    monkeypatch.chdir(root)
    valid = [line for line in (root / FIXTURE / "test.jsonl").read_text().splitlines() if "fx_test_valid_" in line]
    twin = json.loads(valid[1]) | {"dialogue_id": "same"}
    first = json.loads(valid[0]) | {"dialogue_id": "same"}
    (tmp_path / "test.jsonl").write_text(json.dumps(first) + "\n" + json.dumps(twin) + "\n")
    report = validate(read_local(str(tmp_path)), cfg_with(root).data)
    assert report.renamed_ids == 2 and len(report.records) == 2
    assert sorted(r["dialogue_id"] for r in report.records) == ["same@test-000001", "same@test-000002"]


@pytest.mark.reliability(probe="all records from one persona", kind="bad input", outcome="clear error")
def test_a_split_that_leaves_train_or_test_empty_is_refused(root):
    from stages.core.data.corpus import DataQualityError, split_records
    from stages.core.data.validation import Report

    cfg = cfg_with(root)
    one_persona = [{"person": "I am a nurse.", "dialogue_id": f"d{i}"} for i in range(5)]
    with pytest.raises(DataQualityError, match=r"1 persona\(s\).*leaves train empty"):
        split_records(Report(records=one_persona, splits=[None] * 5), cfg)
    two = one_persona + [{"person": "I am a chef.", "dialogue_id": "d9"}]
    train, test = split_records(Report(records=two, splits=[None] * 6), cfg)
    assert train and test
