"""prepare on the hand-written KardiaBench fixture (data=kardiabench, data.path): exact reject counts per
reason in the rejects file, metrics and stats; every valid record kept; a too-high reject rate stops it."""

import json

import pytest

from tests.pipeline.conftest import compose_params
from tests.unit.test_kardiabench import EXPECTED, VALID_KEEP


def run_prepare(root, work, monkeypatch, *overrides):
    fixture = root / "tests/fixtures/kardiabench"
    params = compose_params(root, work / "params.yaml", [
        "data=kardiabench", f"data.path={fixture}", "data.limits.max_turn_chars=600", *overrides])
    monkeypatch.chdir(work)
    from stages import prepare

    return prepare.main(["--params", str(params), "--no-track"])


def test_prepare_on_fixture(root, tmp_path, monkeypatch):
    assert run_prepare(root, tmp_path, monkeypatch, "data.max_reject_rate=1.0") == 0
    rejects = [json.loads(line) for line in (tmp_path / "data/corpus/rejects.jsonl").read_text().splitlines()]
    by_reason = {}
    for r in rejects:
        by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + 1
        assert r["file"].endswith(("train.jsonl", "test.jsonl")) and r["line"] > 0 and r["record_id"]
    assert by_reason == EXPECTED
    metrics = json.loads((tmp_path / "metrics/prepare.json").read_text())
    for reason, n in EXPECTED.items():
        assert metrics[f"data/rejects/{reason}"] == n
    assert metrics["data/records_read"] == 18 and metrics["data/records_kept"] == len(VALID_KEEP)
    corpus = [json.loads(line) for line in (tmp_path / "data/corpus/dialogues.jsonl").read_text().splitlines()]
    assert {d["anon_username"] or d["dialogue_id"] for d in corpus} == VALID_KEEP
    # The file's own split is used: its test records (and only they) become test examples.
    test = [json.loads(line) for line in (tmp_path / "data/prepared/test.jsonl").read_text().splitlines()]
    assert len(test) == 3  # fx_test_valid_tokens has one assistant turn, fx_test_valid_xml two
    stats = json.loads((tmp_path / "data/prepared/stats.json").read_text())
    assert stats["validation"]["near_duplicate_pairs"] == 1


@pytest.mark.reliability(probe="rejects above data.max_reject_rate (DataQualityError)", kind="bad input",
                         outcome="clear error", lost="nothing: rejects.jsonl is kept for the user")
def test_reject_rate_above_limit_stops_prepare(root, tmp_path, monkeypatch, capsys):
    """A user's data problem is one clear line and exit 2, not a traceback; the rejects stay."""
    assert run_prepare(root, tmp_path, monkeypatch) == 2
    err = capsys.readouterr().err
    assert "error: stage prepare:" in err and "data.max_reject_rate=5.0%" in err and "rejects.jsonl" in err
    assert "Traceback" not in err
    assert (tmp_path / "data/corpus/rejects.jsonl").exists()  # written before stopping: the user can look
    assert not (tmp_path / "data/prepared").exists()


@pytest.mark.reliability(probe="a missing data.path", kind="bad input", outcome="clear error")
def test_missing_data_path_is_one_line_and_exit_2(root, tmp_path, monkeypatch, capsys):
    assert run_prepare(root, tmp_path, monkeypatch, f"data.path={tmp_path / 'nope'}") == 2
    err = capsys.readouterr().err
    assert "error: stage prepare:" in err and "does not exist" in err and "Traceback" not in err
    monkeypatch.setenv("KARDIA_DEBUG", "1")
    assert run_prepare(root, tmp_path, monkeypatch, f"data.path={tmp_path / 'nope'}") == 2
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.reliability(probe="empty data files", kind="bad input", outcome="clear error")
def test_empty_data_files_are_one_line_and_exit_2(root, tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    for split in ("train", "test"):
        (empty / f"{split}.jsonl").write_bytes(b"")
    assert run_prepare(root, tmp_path, monkeypatch, f"data.path={empty}") == 2
    err = capsys.readouterr().err
    assert "error: stage prepare: no valid records" in err and "Traceback" not in err
