"""The judge-agreement command: two judges on one set of replies, per-dimension Spearman and
quadratic-weighted kappa."""

import json

import pytest
import yaml

from stages.core.judges import DIMENSIONS, Judgement
from stages.core.judges.embedded import EmbeddedJudge
from tests.support.fake_openai import FakeOpenAI, judge_responder
from tools.judge_agreement import agreement, main
from tools.judge_sanity import load_pairs


def J(**scores):
    return Judgement({d: scores.get(d, 3) for d in DIMENSIONS}, {})


def test_identical_judges_agree_perfectly_and_reversed_ones_do_not():
    a = [J(empathy=s, safety=s) for s in (1, 2, 3, 4, 5)]
    same = agreement(a, a)
    assert same["empathy"]["spearman"] == pytest.approx(1.0)
    assert same["empathy"]["kappa_quadratic"] == pytest.approx(1.0)
    rev = agreement(a, list(reversed(a)))
    assert rev["empathy"]["spearman"] == pytest.approx(-1.0) and rev["empathy"]["kappa_quadratic"] < 0


def test_abstentions_are_left_out_pairwise():
    a, b = [J(empathy=1), J(empathy=5), None], [J(empathy=1), None, J(empathy=2)]
    assert agreement(a, b)["empathy"]["n"] == 1


def test_command_scores_a_predictions_file_with_two_judges(root, tmp_path, monkeypatch, capsys):
    pairs = load_pairs()[:8]
    preds = tmp_path / "predictions.jsonl"
    preds.write_text("".join(json.dumps({"response": r, "persona": p["persona"], "context": p["context"]}) + "\n"
                             for p in pairs for r in (p["good"], p["bad"])))
    scores = {}

    def embedded_scores(reply):  # the "LLM" agrees with the embedded judge: agreement must be perfect
        return scores.get(reply, dict.fromkeys(DIMENSIONS, 3))  # the pre-flight asks about nothing

    for p in pairs:
        for r in (p["good"], p["bad"]):
            scores[r.strip()] = EmbeddedJudge().score(r, p["persona"], p["context"])
    params = yaml.safe_load((root / "params.yaml").read_text())
    with FakeOpenAI(judge_responder(embedded_scores)) as server:
        params["judge"] = {"backend": "openai", "model": "fake", "base_url": server.url}
        params["paths"]["judge_cache"] = str(tmp_path / "cache.sqlite")
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        assert main(["--params", str(tmp_path / "params.yaml"), "--input", str(preds)]) == 0
    out = capsys.readouterr().out
    assert "16 replies" in out and "openai:fake" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("relevance")).split()
    assert row[1] == "16" and row[2] == "1.000" and row[3] == "1.000"  # n, Spearman, kappa
