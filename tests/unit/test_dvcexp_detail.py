"""`dvc exp show` lists metrics/headline.json only; the experiment drivers still get every stage's
metrics file, read from each experiment's commit, and the headline's copies are no conflict."""

import json
import subprocess

from experiments.dvcexp import Exp, _exp, with_detail


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_stage_files_come_from_each_commit_and_headline_keys_stay_unqualified(tmp_path):
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@kardia.test")
    git(tmp_path, "config", "user.name", "t")
    (tmp_path / "metrics").mkdir()
    revs = []
    for acc in (0.25, 0.5):
        (tmp_path / "metrics/evaluate.json").write_text(json.dumps({"eval/grpo/emotion_acc": acc, "eval/grpo/bleu": 0.1}))
        (tmp_path / "metrics/sft.json").write_text(json.dumps({"train/steps": 3}))
        (tmp_path / "metrics/grpo.json").write_text(json.dumps({"train/steps": 4}))
        git(tmp_path, "add", "-A")
        git(tmp_path, "commit", "-qm", str(acc))
        revs.append(git(tmp_path, "rev-parse", "HEAD"))
    rows = [_exp({"rev": rev, "name": f"e{i}", "data": {
        "params": {"params.yaml": {"data": {"paths": {"metrics": "metrics"}}}},
        "metrics": {"metrics/headline.json": {"data": {"eval/grpo/emotion_acc": acc}}}}})
        for i, (rev, acc) in enumerate(zip(revs, (0.25, 0.5), strict=True))]
    rows.append(Exp("never-ran", "0" * 40, {}, {}))
    first, second, missing = with_detail(tmp_path, rows)
    assert first.by_file["metrics/evaluate.json"]["eval/grpo/emotion_acc"] == 0.25
    assert second.metrics["eval/grpo/emotion_acc"] == 0.5 and second.metrics["eval/grpo/bleu"] == 0.1
    assert second.metrics["evaluate:eval/grpo/emotion_acc"] == 0.5 == second.metrics["headline:eval/grpo/emotion_acc"]
    assert "train/steps" not in second.metrics and second.metrics["grpo:train/steps"] == 4
    assert "metrics/prepare.json" not in second.by_file and missing.by_file == {}


def test_exp_show_keeps_the_queue_state(monkeypatch, tmp_path):
    from experiments import dvcexp

    out = [{"rev": "workspace", "experiments": None},
           {"rev": "b" * 40, "experiments": [
               {"executor": {"state": "queued"}, "revs": [{"rev": "1" * 40, "name": "q", "data": {}}]},
               {"executor": None, "revs": [{"rev": "2" * 40, "name": "done", "data": {}}]}]}]
    monkeypatch.setattr(dvcexp, "dvc", lambda args, cwd: subprocess.CompletedProcess(args, 0, json.dumps(out), ""))
    monkeypatch.setattr(dvcexp, "with_detail", lambda root, exps: exps)
    queued, done = dvcexp.exp_show(tmp_path)
    assert (queued.state, queued.finished) == ("queued", False) and (done.state, done.finished) == (None, True)
