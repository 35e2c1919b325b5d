"""MLflow compares pipeline runs as units: the stages of one pipeline run (separate processes) nest
under one parent run, found by its key (experiment + params.yaml digest); other params, another
parent. The parent carries the headline metrics and the datasets; a real sqlite store in tmp."""

import json
import threading

import pytest
from mlflow.tracking import MlflowClient

from stages.core import tracking
from stages.core.stage import stage_main
from tests.pipeline.conftest import compose_params


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("DVC_EXP_NAME", "brisk-lamb")
    monkeypatch.setenv("DVC_EXP_BASELINE_REV", "0123456789abcdef")
    monkeypatch.delenv(tracking.PARENT_RUN_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def runs(experiment: str = "kardia"):
    client = MlflowClient()
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])


def stage(name, metrics=None, run=None):
    return stage_main(name, run or (lambda cfg: dict(metrics or {"m": 1.0})), name)


def test_two_stages_of_one_pipeline_share_a_parent_other_params_get_another(root, store):
    params = compose_params(root, store / "params.yaml", [])
    assert stage("sft")(["--params", str(params)]) == 0
    assert stage("grpo")(["--params", str(params)]) == 0
    everything = runs()
    parents = [r for r in everything if r.data.tags.get(tracking.PIPELINE_TAG) == "true"]
    children = [r for r in everything if r not in parents]
    assert len(parents) == 1 and len(children) == 2
    parent = parents[0]
    assert parent.info.run_name == "brisk-lamb" and parent.info.status == "FINISHED"
    assert parent.data.tags["last_stage"] == "grpo"
    assert parent.data.params["cfg.seed"] == children[0].data.params["cfg.seed"]   # compare params in the UI
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}

    other = compose_params(root, store / "other.yaml", ["seed=7"])
    assert stage("sft")(["--params", str(other)]) == 0
    parents = [r for r in runs() if r.data.tags.get(tracking.PIPELINE_TAG) == "true"]
    assert len(parents) == 2 and len({p.data.tags[tracking.PIPELINE_KEY_TAG] for p in parents}) == 2
    newest = [r for r in runs() if r.data.tags.get("stage") == "sft"][-1]
    assert newest.data.tags["mlflow.parentRunId"] == parents[1].info.run_id


def test_the_parent_fails_with_a_failing_stage_and_runs_again_with_the_next(root, store):
    params = compose_params(root, store / "params.yaml", [])

    def broken(cfg):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        stage("sft", run=broken)(["--params", str(params)])
    [parent] = [r for r in runs() if r.data.tags.get(tracking.PIPELINE_TAG) == "true"]
    assert parent.info.status == "FAILED"
    assert stage("sft")(["--params", str(params)]) == 0   # the re-run: the same pipeline run
    [parent] = [r for r in runs() if r.data.tags.get(tracking.PIPELINE_TAG) == "true"]
    assert parent.info.status == "FINISHED"


def test_headline_metrics_and_datasets_reach_the_parent(root, store):
    params = compose_params(root, store / "params.yaml", [])
    data = store / "test.jsonl"
    data.write_text("".join(json.dumps({"prompt": [{"role": "user", "content": f"hi {i}"}], "emotion": "joy"}) + "\n"
                            for i in range(5)))

    def evaluate(cfg):
        tracking.log_dataset(data, "test", "evaluation")
        tracking.log_parent_metrics({"eval/grpo/emotion_acc": 0.5})
        return {"eval/grpo/emotion_acc": 0.5, "eval/grpo/bleu": 0.1}

    assert stage("evaluate", run=evaluate)(["--params", str(params)]) == 0
    parent, child = runs()
    assert parent.data.tags[tracking.PIPELINE_TAG] == "true"
    assert parent.data.metrics == {"eval/grpo/emotion_acc": 0.5}     # the headline only
    assert set(child.data.metrics) == {"eval/grpo/emotion_acc", "eval/grpo/bleu"}
    for run in (parent, child):
        [ds] = run.inputs.dataset_inputs
        assert ds.dataset.name == "test" and len(ds.dataset.digest) >= 8
        assert json.loads(ds.dataset.profile)["num_rows"] == 5
        assert {t.key: t.value for t in ds.tags}["mlflow.data.context"] == "evaluation"


def test_concurrent_stages_with_one_key_create_one_parent(store):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{store / 'mlflow.db'}")
    experiment = mlflow.create_experiment("race")
    found, errors = [], []

    def ask():
        try:
            found.append(tracking.pipeline_parent(experiment, "exp:x:y:z", "y", {}, {"p": "1"}))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(found) == 4 and len(set(found)) == 1
    assert len(runs("race")) == 1


def test_without_a_dvc_experiment_the_parent_is_named_by_commit_and_params(store, monkeypatch):
    monkeypatch.delenv("DVC_EXP_NAME")
    (store / "params.yaml").write_text("seed: 1\n")
    key, name = tracking.pipeline_identity(store / "params.yaml")
    (store / "params.yaml").write_text("seed: 2\n")
    other, _ = tracking.pipeline_identity(store / "params.yaml")
    assert key.startswith("commit:") and key != other and name.endswith(key.rsplit(":", 1)[1])


@pytest.mark.parametrize("how", ["transformers", "files"])
def test_the_final_model_is_logged_and_its_uri_tagged_on_the_parent(root, store, how):
    from stages.core.config import load_config
    from stages.core.format import SPAN_TOKENS
    from stages.core.modeling import build_tiny_model, build_tokenizer, save_checkpoint

    params = compose_params(root, store / "params.yaml", [])
    cfg = load_config(params)
    tok = build_tokenizer(["I feel anxious about tomorrow.", "That sounds hard; tell me more."], SPAN_TOKENS,
                          vocab_size=300, model_max_length=128)
    save_checkpoint(build_tiny_model(tok, cfg.model, seed=0), tok, store / "grpo")

    def evaluate(cfg):
        assert tracking.log_model(store / "grpo", "grpo", how)
        return {"m": 1.0}

    assert stage("evaluate", run=evaluate)(["--params", str(params)]) == 0
    parent, child = runs()
    uri = parent.data.tags["kardia.model_uri"]
    assert child.data.tags["kardia.model_uri"] == uri
    if how == "transformers":
        import mlflow

        assert uri.startswith("models:/")
        assert mlflow.models.get_model_info(uri).flavors["transformers"]["task"] == "text-generation"
    else:
        assert any((store / "mlartifacts").rglob("grpo/config.json"))
