"""All five stages, in process, on a tiny config in a temp dir, tracked in a real MLflow store."""

import json
import math

import pytest
import torch

from tests.pipeline.conftest import compose_params

pytestmark = pytest.mark.slow

STAGES = ["prepare", "partition", "sft", "grpo", "evaluate"]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, root):
    import importlib

    from tests.pipeline.conftest import TINY

    work = tmp_path_factory.mktemp("pipeline")
    (work / "experiments").mkdir()   # the checked-in input of evaluate's paper-vs-ours report
    (work / "experiments/paper_numbers.yaml").write_bytes((root / "experiments/paper_numbers.yaml").read_bytes())
    params = compose_params(root, work / "params.yaml", TINY)
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{work / 'mlflow.db'}")
    mp.setenv("DVC_EXP_NAME", "pytest-tiny")
    metrics = {}
    for stage in STAGES:
        module = importlib.import_module(f"stages.{stage}")
        assert module.main(["--params", str(params)]) == 0, stage
        metrics[stage] = json.loads((work / "metrics" / f"{stage}.json").read_text())
    yield work, metrics
    mp.undo()


def test_outputs_exist(pipeline):
    work, _ = pipeline
    for path in ["data/corpus/dialogues.jsonl", "data/prepared/train.jsonl", "data/prepared/test.jsonl",
                 "data/prepared/stats.json", "data/partitioned/easy.jsonl", "data/partitioned/hard.jsonl",
                 "models/base/config.json", "models/sft/model.safetensors", "models/grpo/model.safetensors",
                 "plots/sft_loss.csv", "plots/grpo_rewards.csv", "reports/eval.md", "reports/predictions.jsonl",
                 "reports/paper_vs_ours.md", "plots/evaluate/radar.png", "plots/evaluate/confusion_sft.json",
                 "models/sft/README.md", "models/grpo/README.md", "reports/model_card.md",
                 # every plot dvc.yaml lists is an image the stages draw; the headline metrics file
                 "plots/sft_loss.png", "plots/grpo_rewards.png", "plots/grpo_judge.png",
                 "plots/partition_difficulty.png", "plots/evaluate/confusion_grpo.png", "metrics/headline.json"]:
        assert (work / path).exists(), path
    assert not [p for p in work.rglob(".*") if p.name.startswith((".model", ".train", ".eval"))], "temp files left"


def test_checkpoints_carry_generation_settings_system_prompt_and_card(pipeline):
    from transformers import AutoTokenizer, GenerationConfig

    from stages.core.model_card import read_card

    work, _ = pipeline
    for stage in ("sft", "grpo"):
        assert GenerationConfig.from_pretrained(work / "models" / stage).max_new_tokens == 48   # TINY's evaluate
        text = AutoTokenizer.from_pretrained(work / "models" / stage).apply_chat_template(
            [{"role": "user", "content": "hi"}], tokenize=False)
        assert text.startswith("<|im_start|>system\nSupport this user in four spans.<|im_end|>")
        meta, _ = read_card(work / "models" / stage / "README.md")
        assert meta["kardia"]["reproduce"].endswith(f"dvc exp apply pytest-tiny && dvc repro {stage}")
    meta, body = read_card(work / "reports/model_card.md")
    assert meta["kardia"]["stage"] == "grpo" and meta["model-index"][0]["results"][0]["metrics"]
    assert "| grpo | eval |" in body


def test_persona_disjoint_split(pipeline):
    work, metrics = pipeline
    train = {json.loads(l)["persona"] for l in (work / "data/prepared/train.jsonl").open()}
    test = {json.loads(l)["persona"] for l in (work / "data/prepared/test.jsonl").open()}
    assert train and test and not train & test
    assert metrics["prepare"]["data/test_personas"] == len(test)


def test_weights_changed_after_sft_and_after_grpo(pipeline):
    from transformers import AutoModelForCausalLM

    work, metrics = pipeline
    params = {name: torch.cat([p.flatten() for p in AutoModelForCausalLM.from_pretrained(
        work / "models" / name).parameters()]) for name in ("base", "sft", "grpo")}
    assert not torch.equal(params["base"], params["sft"])
    assert not torch.equal(params["sft"], params["grpo"])
    assert metrics["sft"]["train/weight_change"] > 0 and metrics["grpo"]["train/weight_change"] > 0
    assert metrics["sft"]["train/loss_end"] < metrics["sft"]["train/loss_start"]


def test_metrics_finite_and_in_range(pipeline):
    _, metrics = pipeline
    for stage, values in metrics.items():
        assert values, stage
        assert all(math.isfinite(v) for v in values.values()), stage
    ev = metrics["evaluate"]
    for model in ("base", "sft", "grpo"):
        assert ev[f"eval/{model}/n"] == 16
        for key in ("format_compliance", "emotion_acc", "judge_coverage"):
            assert 0.0 <= ev[f"eval/{model}/{key}"] <= 1.0
        for dim in ("relevance", "fluency", "empathy", "persona", "safety"):
            assert 1.0 <= ev[f"eval/{model}/{dim}"] <= 5.0
        for key in ("format_compliance", "emotion_acc", "empathy"):
            k = f"eval/{model}/{key}"
            assert ev[f"{k}_low"] <= ev[k] <= ev[f"{k}_high"]
    for pair in ("sft_vs_base", "grpo_vs_sft"):
        d = f"eval/{pair}/format_compliance"
        assert ev[f"{d}_delta_low"] <= ev[f"{d}_delta"] <= ev[f"{d}_delta_high"] and 0 <= ev[f"{d}_p"] <= 1
    assert ev["eval/sft_vs_base/format_compliance_delta"] == pytest.approx(
        ev["eval/sft/format_compliance"] - ev["eval/base/format_compliance"])
    g = metrics["grpo"]
    for name in ("format", "emotion", "rubric"):
        assert 0.0 <= g[f"reward/{name}_end"] <= 1.0
    p = metrics["partition"]
    assert p["partition/easy_examples"] > 0 and p["partition/hard_examples"] > 0


def test_sampled_rows_score_every_reply_and_average_them_per_example(pipeline):
    """evaluate.sampled (TINY: 2 replies per example at GRPO's temperature): rows <model>_sampled beside
    the greedy ones, their replies in the predictions, per-example means in the metrics, paired."""
    work, metrics = pipeline
    ev = metrics["evaluate"]
    predictions = [json.loads(line) for line in (work / "reports/predictions.jsonl").open()]
    for model in ("sft", "grpo"):
        greedy = [r for r in predictions if r["model"] == model]
        sampled = [r for r in predictions if r["model"] == f"{model}_sampled"]
        assert [r["id"] for r in sampled] == [r["id"] for r in greedy for _ in range(2)]
        assert [r["sample"] for r in sampled] == [0, 1] * len(greedy)
        assert ev[f"eval/{model}_sampled/n"] == len(greedy) == 16
        assert ev[f"eval/{model}_sampled/emotion_acc"] == pytest.approx(
            sum(r["emotion_ok"] for r in sampled) / len(sampled))   # equal replies per example
        assert len({r["output"] for r in sampled}) > len(greedy)   # sampled, not greedy twice
    d = "eval/grpo_sampled_vs_sft_sampled/reward"
    assert ev[f"{d}_delta_low"] <= ev[f"{d}_delta"] <= ev[f"{d}_delta_high"] and 0 <= ev[f"{d}_p"] <= 1
    assert "| grpo_sampled |" in (work / "reports/eval.md").read_text()


def test_every_stage_is_an_mlflow_run_with_tags_params_and_metrics(pipeline):
    import mlflow

    work, metrics = pipeline
    client = mlflow.MlflowClient(f"sqlite:///{work / 'mlflow.db'}")
    [exp] = [e for e in client.search_experiments() if e.name == "kardia"]
    everything = client.search_runs([exp.experiment_id])
    # one parent run for the pipeline run, named after the DVC experiment, the five stages under it
    [parent] = [r for r in everything if r.data.tags.get("kardia.pipeline") == "true"]
    runs = {r.data.tags["stage"]: r for r in everything if r.info.run_id != parent.info.run_id}
    assert set(runs) == set(STAGES)
    assert {r.data.tags["mlflow.parentRunId"] for r in runs.values()} == {parent.info.run_id}
    assert parent.info.run_name == "pytest-tiny" and parent.info.status == "FINISHED"
    headline = json.loads((work / "metrics/headline.json").read_text())
    assert parent.data.metrics == pytest.approx(headline) and 0 < len(headline) <= 24
    assert parent.data.tags["kardia.model_uri"].startswith("models:/")
    contexts = {d.dataset.name for d in parent.inputs.dataset_inputs}
    assert contexts == {"sft-easy", "grpo-hard", "test"}
    for stage, run in runs.items():
        assert run.info.status == "FINISHED"
        assert run.data.tags["dvc_exp"] == "pytest-tiny" and len(run.data.tags["params_hash"]) == 12
        assert run.data.params["cfg.seed"] == "42"
        for key, value in metrics[stage].items():
            assert run.data.metrics[key] == pytest.approx(value), (stage, key)
    # the trainers' own metrics arrive through report_to=["mlflow"]
    assert "loss" in runs["sft"].data.metrics
    assert "rewards/emotion/mean" in runs["grpo"].data.metrics
    assert "judge/empathy" in runs["grpo"].data.metrics
    artifacts = {a.path for a in client.list_artifacts(runs["evaluate"].info.run_id, "reports")}
    assert {"reports/eval.md", "reports/predictions.jsonl"} <= artifacts
    plots = {a.path for a in client.list_artifacts(runs["evaluate"].info.run_id, "plots")}
    assert {"plots/radar.png", "plots/confusion_grpo.json"} <= plots
