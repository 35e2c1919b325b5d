"""The human A/B study: a blind, seeded export (CSV, self-contained HTML, hidden key) and the import of a
filled sheet into win / tie / loss rates, including the sheets it must refuse."""

from __future__ import annotations

import csv
import json

import pytest

from experiments import human_ab
from experiments.human_ab import SheetError, build_pairs, read_choices, score
from stages.core.io import write_jsonl


@pytest.fixture
def predictions(tmp_path):
    """evaluate's predictions file, two models answering the same 30 turns (and one turn only ours has)."""
    rows = []
    for i in range(30):
        ctx = f"User: my day number {i} went badly"
        rows.append({"model": "grpo", "id": f"d{i}-t0", "context": ctx, "response": f"ours {i}"})
        rows.append({"model": "gpt-4o", "id": f"d{i}-t0", "context": ctx, "response": f"theirs {i}"})
    rows.append({"model": "grpo", "id": "only-ours", "context": "User: hi", "response": "ours alone"})
    path = tmp_path / "predictions.jsonl"
    write_jsonl(path, rows)
    return path


def export(predictions, tmp_path, n=12, seed=3):
    out = tmp_path / "ab"
    assert human_ab.main(["export", "--predictions", str(predictions), "--ours", "grpo", "--against", "gpt-4o",
                          "-n", str(n), "--seed", str(seed), "--out", str(out)]) == 0
    return out


def fill(out, choose, path=None):
    """Fill sheet.csv with ``choose(item, key_entry)`` and write it as ``path``."""
    key = json.loads((out / "key.json").read_text())
    with open(out / "sheet.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["choice"] = choose(row["item"], key["items"][row["item"]])
    path = path or out / "filled.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=human_ab.COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path, key


def test_export_is_blind_seeded_and_shuffled(predictions, tmp_path):
    out = export(predictions, tmp_path)
    key = json.loads((out / "key.json").read_text())
    sheet = (out / "sheet.csv").read_text()
    page = (out / "sheet.html").read_text()
    assert len(key["items"]) == 12 and "only-ours" not in {v["id"] for v in key["items"].values()}
    for text in (sheet, page):   # nothing on the sheet says which model wrote what
        assert "grpo" not in text and "gpt-4o" not in text
    # self-contained: no script, style or font fetched from anywhere
    assert "http://" not in page and "https://" not in page and "<script src" not in page
    sides = [v["A"] for v in key["items"].values()]
    assert {"grpo", "gpt-4o"} == set(sides)   # our reply is on both sides across items
    ids = [v["id"] for v in key["items"].values()]
    assert ids != sorted(ids)   # random order, not the file's
    again = build_pairs(predictions, "grpo", "gpt-4o", 12, 3)
    assert [p["id"] for p in again] == ids and [p["A"] for p in again] == sides
    assert [p["id"] for p in build_pairs(predictions, "grpo", "gpt-4o", 12, 4)] != ids
    for item, entry in key["items"].items():   # the sheet's replies are the key's models' replies
        row = next(r for r in csv.DictReader(sheet.splitlines()) if r["item"] == item)
        assert row["response_a"].split()[0] == ("ours" if entry["A"] == "grpo" else "theirs")


def test_round_trip_counts_wins_ties_and_losses(predictions, tmp_path):
    out = export(predictions, tmp_path)
    items = sorted(json.loads((out / "key.json").read_text())["items"])
    ties = set(items[:3])

    def prefer_ours(item, entry):   # ours wins except three ties; written in varied case
        if item in ties:
            return "TIE"
        return " a " if entry["A"] == "grpo" else "b"

    sheet, key = fill(out, prefer_ours)
    result = score(read_choices(sheet, key), key, 0.95, 0)
    assert result["n"] == len(items)
    assert result["win_rate"] == pytest.approx((len(items) - 3) / len(items))
    assert result["tie_rate"] == pytest.approx(3 / len(items)) and result["loss_rate"] == 0
    assert result["win_rate_low"] < result["win_rate"] <= result["win_rate_high"] <= 1
    assert result["sign_test_p"] < 0.05   # 9 wins, no loss

    def prefer_theirs(item, entry):
        return "A" if entry["A"] == "gpt-4o" else "B"

    sheet, key = fill(out, prefer_theirs, tmp_path / "theirs.csv")
    assert score(read_choices(sheet, key), key, 0.95, 0)["loss_rate"] == 1
    report = tmp_path / "rates.json"
    assert human_ab.main(["score", str(sheet), "--key", str(out / "key.json"), "--output", str(report)]) == 0
    assert json.loads(report.read_text())["loss_rate"] == 1 and report.with_suffix(".md").exists()


@pytest.mark.parametrize("bad, message", [
    ("", "data row 2: item 'item-002': field 'choice' is empty"),
    ("maybe", "data row 2: item 'item-002': field 'choice' is 'maybe', not one of"),
])
def test_a_missing_or_invalid_choice_names_the_row(predictions, tmp_path, capsys, bad, message):
    out = export(predictions, tmp_path, n=5)
    sheet, key = fill(out, lambda item, entry: bad if item == "item-002" else "tie")
    with pytest.raises(SheetError, match=message):
        read_choices(sheet, key)
    assert human_ab.main(["score", str(sheet), "--key", str(out / "key.json")]) == 2
    assert "item-002" in capsys.readouterr().err


def test_sheets_that_do_not_match_the_key_are_refused(predictions, tmp_path):
    out = export(predictions, tmp_path, n=5)
    sheet, key = fill(out, lambda item, entry: "A")
    rows = sheet.read_text().splitlines()
    (tmp_path / "short.csv").write_text("\n".join(rows[:-1]) + "\n")   # one item dropped
    with pytest.raises(SheetError, match="1 item\\(s\\) of the key have no row"):
        read_choices(tmp_path / "short.csv", key)
    (tmp_path / "twice.csv").write_text("\n".join([*rows, rows[-1]]) + "\n")
    with pytest.raises(SheetError, match="appears twice"):
        read_choices(tmp_path / "twice.csv", key)
    (tmp_path / "other.csv").write_text("item,choice\nitem-999,A\n")
    with pytest.raises(SheetError, match="item-999"):
        read_choices(tmp_path / "other.csv", key)
    (tmp_path / "nochoice.csv").write_text("item,verdict\nitem-001,A\n")
    with pytest.raises(SheetError, match="no 'choice' column"):
        read_choices(tmp_path / "nochoice.csv", key)


def test_an_opponent_without_predictions_is_named(predictions, tmp_path):
    with pytest.raises(SheetError, match="psyllm"):
        build_pairs(predictions, "grpo", "psyllm", 5, 0)
