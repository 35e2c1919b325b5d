"""The stages that send an API key, against a real local server. GRPO with judge=openai that fails
on purpose (429, 500, answers slower than the timeout, malformed JSON): training finishes, the
per-dimension judge metrics and the failure rate are logged, and the usage is recorded. Evaluate
with an OpenAI-compatible evaluation judge and API baseline. In both, the key sent with every
request appears in no output of the run: not the MLflow store, its artifacts, the judge cache, the
checkpoint, metrics, plots, reports, predictions or the stage's log."""

import csv
import json

import pytest

from stages.core.format import ResponseFormat
from tests.pipeline.conftest import compose_params
from tests.pipeline.test_stages import pipeline  # noqa: F401 - the tiny pipeline's data and SFT checkpoint
from tests.support.fake_openai import FakeOpenAI, Reply, judge_responder, with_faults
from tests.support.planted_key import PLANTED, files_holding

pytestmark = pytest.mark.slow

# Every 8th request fails in each way once; retries absorb 429/500/slow, malformed answers abstain.
SCHEDULE = ["ok", "429", "ok", "500", "ok", "slow", "ok", "malformed"] + ["ok"] * 8


def test_grpo_trains_with_a_flaky_openai_judge(root, tmp_path, monkeypatch, capfd, pipeline):  # noqa: F811
    import mlflow

    from stages import grpo

    work, _ = pipeline
    with FakeOpenAI(with_faults(judge_responder(), SCHEDULE, slow_s=1.5), latency_s=0.01) as server:
        params = compose_params(root, tmp_path / "params.yaml", [
            "judge=openai", f"judge.base_url={server.url}", "judge.model=fake-judge", "judge.timeout_s=0.5",
            "judge.api_key_env=KARDIA_TEST_JUDGE_KEY",
            "judge.backoff_s=0.01", "judge.max_retries=3",
            "reward.max_judge_failure_rate=0.5",
            "grpo.max_examples=8", "grpo.trainer.max_steps=2", "grpo.trainer.per_device_train_batch_size=8",
            "grpo.trainer.num_generations=4", "grpo.trainer.max_completion_length=32", "grpo.trainer.logging_steps=1",
            f"paths.grpo_model={tmp_path}/grpo", f"paths.metrics={tmp_path}/metrics",
            f"paths.plots={tmp_path}/plots", f"paths.judge_cache={tmp_path}/judge.sqlite",
            f"paths.sft_model={work}/models/sft", f"paths.partitioned={work}/data/partitioned",
        ])
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
        monkeypatch.setenv("KARDIA_TEST_JUDGE_KEY", PLANTED)
        monkeypatch.chdir(tmp_path)  # MLflow artifacts go to <cwd>/mlartifacts
        assert grpo.main(["--params", str(params)]) == 0
        calls = server.calls
        sent = server.request_headers

    assert all(h.get("Authorization") == f"Bearer {PLANTED}" for h in sent)  # the key was in use
    out, err = capfd.readouterr()
    assert PLANTED not in out + err
    assert files_holding(tmp_path, PLANTED) == [] and (tmp_path / "mlartifacts").is_dir()

    assert calls > 1 + 16  # pre-flight + 2 steps x 8 completions, plus retries
    metrics = json.loads((tmp_path / "metrics/grpo.json").read_text())
    assert metrics["judge_usage/items"] == 16
    assert metrics["judge_usage/retries"] >= 1 and metrics["judge_usage/failures_invalid_answer"] >= 1
    rows = list(csv.DictReader((tmp_path / "plots/grpo_rewards.csv").open()))
    assert len(rows) == 2
    for row in rows:
        assert 1 <= float(row["judge/empathy"]) <= 5
        assert 0 <= float(row["judge/failure_rate"]) <= 0.5
    run = mlflow.search_runs(experiment_names=[mlflow.search_experiments()[0].name], output_format="list")[0]
    logged = run.data.metrics
    assert {"judge/failure_rate", "judge/empathy", "judge/safety", "judge_usage/latency_p95_s"} <= set(logged)
    assert run.data.params["cfg.judge.backend"] == "openai" and run.data.params["cfg.eval_judge.backend"] == "embedded"


def test_evaluate_with_an_openai_judge_and_api_baseline_writes_no_key(root, tmp_path, monkeypatch, capfd, pipeline):  # noqa: F811
    from stages import evaluate

    work, _ = pipeline
    judge = judge_responder()
    reply = ResponseFormat().render({"understanding": "They had a hard day.", "reasoning": "They need support.",
                                     "emotion": "sad", "response": "That sounds hard; I am here with you."})

    def respond(request):  # one endpoint plays both roles: the judge, and the baseline being judged
        rubric = any("Reply to evaluate:" in m.get("content", "") for m in request["messages"])
        return judge(request) if rubric else Reply(content=reply)

    with FakeOpenAI(respond) as server:
        params = compose_params(root, tmp_path / "params.yaml", [
            "judge@eval_judge=openai", f"eval_judge.base_url={server.url}", "eval_judge.model=fake-judge",
            "eval_judge.api_key_env=KARDIA_TEST_JUDGE_KEY", "eval_judge.backoff_s=0.01",
            "evaluate.models=[sft]", "evaluate.max_examples=6",
            (f"evaluate.api_baselines=[{{name: api, base_url: '{server.url}', model: fake-chat, "
             "api_key_env: KARDIA_TEST_JUDGE_KEY, backoff_s: 0.01}]"),
            f"paths.sft_model={work}/models/sft", f"paths.partitioned={work}/data/partitioned",
            f"paths.metrics={tmp_path}/metrics", f"paths.reports={tmp_path}/reports",
            f"paths.eval_plots={tmp_path}/plots/evaluate", f"paths.judge_cache={tmp_path}/judge.sqlite",
            f"paths.paper_numbers={root}/experiments/paper_numbers.yaml",
        ])
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
        monkeypatch.setenv("KARDIA_TEST_JUDGE_KEY", PLANTED)
        monkeypatch.chdir(tmp_path)
        assert evaluate.main(["--params", str(params)]) == 0
        sent = server.request_headers

    assert len(sent) > 6 and all(h.get("Authorization") == f"Bearer {PLANTED}" for h in sent)
    out, err = capfd.readouterr()
    assert PLANTED not in out + err
    assert files_holding(tmp_path, PLANTED) == [] and (tmp_path / "mlartifacts").is_dir()
    metrics = json.loads((tmp_path / "metrics/evaluate.json").read_text())
    assert metrics["eval/api/n"] == 6 and metrics["eval/api/format_compliance"] == 1.0
    assert metrics["eval/api/judge_coverage"] == 1.0 and 1 <= metrics["eval/sft/empathy"] <= 5
