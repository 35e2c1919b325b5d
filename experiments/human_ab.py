"""The human A/B study (paper §6): blind pairwise sheets out, win / tie / loss rates with intervals in.

    python -m experiments.human_ab export --against gpt-4o --out ab/gpt-4o      # sheet.csv, sheet.html, key.json
    python -m experiments.human_ab score ab/gpt-4o/filled.csv --key ab/gpt-4o/key.json

``export`` draws ``n`` test turns (seeded) that both models answered in ``reports/predictions.jsonl``
(evaluate's predictions; the opponent is an evaluate baseline, conf/baseline/), shuffles them, and puts
each model's reply on a random side. The rater sees only the conversation and the replies "A" and "B":
``sheet.csv`` (fill the ``choice`` column) or ``sheet.html`` (self-contained, no network: pick with
buttons, then "Download CSV" writes the same CSV). ``key.json`` maps each item to the models behind A and
B: keep it from the raters. ``score`` reads the filled CSV with the key and writes the win / tie / loss
rates of ``ours`` with percentile bootstrap intervals (stages/core/evaluation/statistics.py) and the exact
sign test of wins against losses (McNemar on the preference, ties left out). Settings:
experiments/human_ab.yaml.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import io
import json
import random
import sys
from pathlib import Path

from experiments.dvcexp import ROOT, ExperimentConfigError, load_yaml, require

SETTINGS = ROOT / "experiments" / "human_ab.yaml"
PREDICTIONS = ROOT / "reports" / "predictions.jsonl"
CHOICES = ("A", "B", "tie")          # what a rater may write in the choice column (case-insensitive)
COLUMNS = ("item", "context", "response_a", "response_b", "choice", "comment")


class SheetError(ExperimentConfigError):
    """A filled sheet or key that cannot be scored; the message names the file, row and field."""


def load_settings(path: Path = SETTINGS) -> dict:
    raw = load_yaml(path)
    settings = {"n": require(raw, "n", int, path), "ours": require(raw, "ours", str, path),
                "opponents": require(raw, "opponents", list, path), "seed": require(raw, "seed", int, path),
                "confidence": require(raw, "confidence", float, path)}
    if settings["n"] <= 0 or not 0 < settings["confidence"] < 1:
        raise ExperimentConfigError(f"{path}: n must be positive and confidence in (0, 1)")
    return settings


def _replies(path: Path, model: str) -> dict[str, dict]:
    """id -> prediction record of ``model`` in evaluate's predictions file."""
    from stages.core.io import BadLine, iter_jsonl

    if not path.exists():
        raise SheetError(f"{path}: no predictions file (evaluate writes reports/predictions.jsonl)")
    out = {}
    for lineno, record in iter_jsonl(path):
        if isinstance(record, BadLine) or not isinstance(record, dict):
            raise SheetError(f"{path}: line {lineno}: not a JSON object")
        for field in ("model", "id", "context", "response"):
            if field not in record:
                raise SheetError(f"{path}: line {lineno}: no field {field!r}")
        if record["model"] == model:
            out[record["id"]] = record
    return out


def build_pairs(predictions: Path, ours: str, against: str, n: int, seed: int) -> list[dict]:
    """``n`` items (fewer if fewer turns exist), shuffled, each with a seeded side for ``ours``."""
    a, b = _replies(predictions, ours), _replies(predictions, against)
    for name, rows in ((ours, a), (against, b)):
        if not rows:
            raise SheetError(f"{predictions}: no predictions of model {name!r} (run evaluate with it)")
    shared = sorted(a.keys() & b.keys())
    rng = random.Random(seed)
    chosen = rng.sample(shared, min(n, len(shared)))   # sample() returns them in random order
    pairs = []
    for k, example_id in enumerate(chosen, 1):
        ours_side = rng.choice(("A", "B"))
        first, second = (a, b) if ours_side == "A" else (b, a)
        pairs.append({"item": f"item-{k:03d}", "id": example_id, "context": a[example_id]["context"],
                      "response_a": first[example_id]["response"] or "", "response_b": second[example_id]["response"] or "",
                      "A": ours if ours_side == "A" else against, "B": against if ours_side == "A" else ours})
    return pairs


def sheet_csv(pairs: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for p in pairs:
        writer.writerow({"item": p["item"], "context": p["context"], "response_a": p["response_a"],
                         "response_b": p["response_b"], "choice": "", "comment": ""})
    return buffer.getvalue()


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Which reply is more supportive?</title>
<style>
body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; }}
.item {{ border: 1px solid #bbb; padding: 1em; margin: 1em 0; }}
.context {{ white-space: pre-wrap; background: #f4f4f4; padding: .5em; }}
.reply {{ white-space: pre-wrap; margin: .5em 0; }}
</style></head><body>
<h1>Which reply is more supportive?</h1>
<p>Each item shows a conversation and two replies, A and B, from two systems in random order. Pick the
reply that better understands the user, fits who they are, and supports them safely; pick "tie" if
neither is better. {n} items. When done, press "Download CSV" and send the file back.</p>
{items}
<p><button id="download">Download CSV</button> <span id="status"></span></p>
<script>
const CHOICES = {choices};
const ITEMS = {data};
function quote(s) {{ return '"' + String(s).replace(/"/g, '""') + '"'; }}
document.getElementById("download").onclick = function () {{
  const lines = [{columns}.join(",")];
  let missing = 0;
  for (const it of ITEMS) {{
    const picked = document.querySelector('input[name="' + it.item + '"]:checked');
    if (!picked) missing++;
    const comment = document.getElementById("comment-" + it.item).value;
    lines.push([it.item, it.context, it.response_a, it.response_b, picked ? picked.value : "", comment]
               .map(quote).join(","));
  }}
  document.getElementById("status").textContent = missing ? missing + " item(s) without a choice" : "";
  const blob = new Blob([lines.join("\\n") + "\\n"], {{type: "text/csv"}});
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "filled.csv";
  a.click();
}};
</script></body></html>
"""


def sheet_html(pairs: list[dict]) -> str:
    """One self-contained page (inline CSS and JS, no network) that writes the CSV of ``sheet_csv``."""
    items = []
    for p in pairs:
        e = html.escape
        radios = " ".join(f'<label><input type="radio" name="{e(p["item"])}" value="{c}"> {c}</label>'
                          for c in CHOICES)
        items.append(f'<div class="item"><h3>{e(p["item"])}</h3><div class="context">{e(p["context"])}</div>'
                     f'<p><b>A</b></p><div class="reply">{e(p["response_a"])}</div>'
                     f'<p><b>B</b></p><div class="reply">{e(p["response_b"])}</div>'
                     f'<p>Better: {radios}</p><p>Comment: <input id="comment-{e(p["item"])}" size="60"></p></div>')
    data = [{k: p[k] for k in ("item", "context", "response_a", "response_b")} for p in pairs]
    # json inside <script>: "</" would end the script element early
    as_js = lambda obj: json.dumps(obj).replace("</", "<\\/")
    return _PAGE.format(n=len(pairs), items="\n".join(items), choices=as_js(list(CHOICES)), data=as_js(data),
                        columns=as_js(list(COLUMNS)))


def export(predictions: Path, ours: str, against: str, n: int, seed: int, out: Path) -> list[dict]:
    """Write sheet.csv, sheet.html and key.json under ``out`` (each atomically); return the pairs."""
    from stages.core.io import write_json, write_text

    pairs = build_pairs(predictions, ours, against, n, seed)
    csv_text = sheet_csv(pairs)
    write_text(out / "sheet.csv", csv_text)
    write_text(out / "sheet.html", sheet_html(pairs))
    write_json(out / "key.json", {
        "ours": ours, "against": against, "seed": seed, "predictions": str(predictions),
        "sheet_sha256": hashlib.sha256(csv_text.encode()).hexdigest(),
        "items": {p["item"]: {"id": p["id"], "A": p["A"], "B": p["B"]} for p in pairs}})
    return pairs


def read_choices(sheet: Path, key: dict) -> dict[str, str]:
    """item -> 'A' | 'B' | 'tie' from a filled CSV; every item of the key exactly once."""
    items = key["items"]
    with open(sheet, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        for column in ("item", "choice"):
            if column not in (reader.fieldnames or []):
                raise SheetError(f"{sheet}: no {column!r} column (header: {reader.fieldnames})")
        choices: dict[str, str] = {}
        for number, row in enumerate(reader, 1):
            where = f"{sheet}: data row {number}"
            item = (row["item"] or "").strip()
            if item not in items:
                raise SheetError(f"{where}: item {item!r} is not in the key (another study's sheet?)")
            if item in choices:
                raise SheetError(f"{where}: item {item!r} appears twice")
            raw = (row["choice"] or "").strip()
            if not raw:
                raise SheetError(f"{where}: item {item!r}: field 'choice' is empty; write one of {list(CHOICES)}")
            canonical = {c.lower(): c for c in CHOICES}.get(raw.lower())
            if canonical is None:
                raise SheetError(f"{where}: item {item!r}: field 'choice' is {raw!r}, not one of {list(CHOICES)}")
            choices[item] = canonical
    missing = sorted(items.keys() - choices.keys())
    if missing:
        raise SheetError(f"{sheet}: {len(missing)} item(s) of the key have no row, e.g. {missing[:5]}")
    return choices


def score(choices: dict[str, str], key: dict, confidence: float, seed: int) -> dict[str, float]:
    """Win / tie / loss rates of ``key['ours']`` with bootstrap intervals; sign test of wins vs losses."""
    from stages.core.evaluation.statistics import bootstrap_ci, mcnemar

    ours = key["ours"]
    outcome = ["tie" if c == "tie" else ("win" if key["items"][item][c] == ours else "loss")
               for item, c in sorted(choices.items())]
    result: dict[str, float] = {"n": float(len(outcome))}
    for kind in ("win", "tie", "loss"):
        rate, low, high = bootstrap_ci([o == kind for o in outcome], confidence=confidence, seed=seed)
        result.update({f"{kind}_rate": rate, f"{kind}_rate_low": low, f"{kind}_rate_high": high})
    test = mcnemar([o == "loss" for o in outcome], [o == "win" for o in outcome])
    result["sign_test_p"] = test["p_value"]
    return result


def render(result: dict[str, float], key: dict, confidence: float) -> str:
    level = f"{confidence:.0%}"
    cells = " | ".join(f"{result[f'{k}_rate']:.3f} [{result[f'{k}_rate_low']:.3f}, {result[f'{k}_rate_high']:.3f}]"
                       for k in ("win", "tie", "loss"))
    return (f"### Human A/B: {key['ours']} vs {key['against']}\n\n| n | win | tie | loss | sign test p |\n"
            f"|---:|---:|---:|---:|---:|\n| {int(result['n'])} | {cells} | {result['sign_test_p']:.3g} |\n\n"
            f"Rates of {key['ours']}'s reply judged better / equal / worse; {level} percentile bootstrap "
            f"intervals; p: exact two-sided sign test of wins against losses (ties left out).\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.human_ab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", type=Path, default=SETTINGS, help="default: experiments/human_ab.yaml")
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write a blind sheet (CSV + HTML) and its key")
    ex.add_argument("--against", required=True, help="the opponent: a model of the predictions file")
    ex.add_argument("--predictions", type=Path, default=PREDICTIONS)
    ex.add_argument("--ours", help="default: the settings' ours")
    ex.add_argument("-n", type=int, help="items (default: the settings' n)")
    ex.add_argument("--seed", type=int, help="default: the settings' seed")
    ex.add_argument("--out", type=Path, required=True, help="folder for sheet.csv, sheet.html, key.json")
    sc = sub.add_parser("score", help="win / tie / loss rates from a filled sheet")
    sc.add_argument("sheet", type=Path, help="the filled CSV")
    sc.add_argument("--key", type=Path, required=True)
    sc.add_argument("--output", type=Path, help="also write the rates as JSON here (and .md beside it)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.settings)
        if args.command == "export":
            if args.against not in settings["opponents"]:
                print(f"note: {args.against!r} is not one of the paper's opponents {settings['opponents']}",
                      file=sys.stderr)
            pairs = export(args.predictions, args.ours or settings["ours"], args.against,
                           args.n or settings["n"], settings["seed"] if args.seed is None else args.seed, args.out)
            print(f"wrote {len(pairs)} items to {args.out}/sheet.csv and sheet.html; key: {args.out}/key.json "
                  "(keep it from the raters)", file=sys.stderr)
            return 0
        try:
            key = json.loads(args.key.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise SheetError(f"{args.key}: not a readable key file ({e})") from None
        if not isinstance(key, dict) or not {"ours", "against", "items"} <= key.keys():
            raise SheetError(f"{args.key}: not a key written by `export` (needs ours, against, items)")
        result = score(read_choices(args.sheet, key), key, settings["confidence"], settings["seed"])
    except (ExperimentConfigError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    markdown = render(result, key, settings["confidence"])
    print(markdown)
    if args.output:
        from stages.core.io import write_json, write_text

        write_json(args.output, {"ours": key["ours"], "against": key["against"], **result})
        write_text(args.output.with_suffix(".md"), markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
