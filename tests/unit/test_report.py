"""experiments/report.py: our runs beside the paper's numbers, with deltas, intervals and sources."""

import pytest
import yaml

from experiments.report import main
from stages.core.evaluation.paper import PaperNumbersError, load_paper, render


def metrics(acc=0.10, empathy=3.0):
    out = {}
    for m, scale in (("base", 0.0), ("sft", 0.8), ("grpo", 1.0)):
        out[f"eval/{m}/n"] = 200.0
        for axis, v in (("emotion_acc", acc * scale), ("empathy", 1 + (empathy - 1) * scale)):
            out[f"eval/{m}/{axis}"], out[f"eval/{m}/{axis}_low"], out[f"eval/{m}/{axis}_high"] = v, v - 0.02, v + 0.02
    out.update({"eval/sft_vs_base/emotion_acc_delta": 0.08, "eval/sft_vs_base/emotion_acc_delta_low": 0.05,
                "eval/sft_vs_base/emotion_acc_delta_high": 0.11, "eval/sft_vs_base/emotion_acc_p": 0.001})
    return out


def test_committed_paper_numbers_load_with_sources(root):
    paper = load_paper(root / "experiments/paper_numbers.yaml")
    kardia = paper["systems"][0]
    assert kardia["metrics"]["emotion_acc"] == pytest.approx(0.6578) and kardia["ours"] == "grpo"
    assert all("paper.md" in e["source"] for e in paper["systems"] + paper["gains"])


def test_render_puts_ours_beside_the_paper_with_deltas(root):
    paper = load_paper(root / "experiments/paper_numbers.yaml")
    text = render(paper, [{"name": "workspace", "metrics": metrics()}, {"name": "exp-1", "metrics": metrics(0.3)}],
                  "eval", "embedded", "synthetic", "tiny")
    assert "**Not comparable:**" in text and "`embedded` judge" in text
    assert "| paper: GPT-4o | – | 15.14 |" in text
    assert "| ours: SFT + GRPO | workspace | 10.0 [8.0, 12.0] |" in text and "| exp-1 |" in text
    # grpo 10 % vs the paper's 65.78 %: -55.8 points, interval shifted likewise; empathy 3.0 - 3.650
    assert "| grpo | workspace | -55.8 [-57.8, -53.8] | – | – | -0.650 [-0.670, -0.630] |" in text
    assert "+59.30 | workspace | +8.00 [+5.00, +11.00] p=0.001 |" in text


def test_bad_paper_file_names_the_entry(tmp_path):
    bad = tmp_path / "paper.yaml"
    bad.write_text(yaml.safe_dump({"paper": "x", "judge": "j", "gains": [],
                                   "systems": [{"name": "S", "source": "t1", "metrics": {"bleu_4": 1}}]}))
    with pytest.raises(PaperNumbersError, match="entry 'S' has unknown metrics"):
        load_paper(bad)


def test_main_writes_markdown(root, tmp_path, monkeypatch):
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["paths"]["metrics"] = str(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "evaluate.json").write_text(__import__("json").dumps(metrics()))
    out = tmp_path / "report.md"
    assert main(["--params", str(tmp_path / "params.yaml"), "--paper", str(root / "experiments/paper_numbers.yaml"),
                 "-o", str(out)]) == 0
    assert out.read_text().startswith("# Ours vs the paper")
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
