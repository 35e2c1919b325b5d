"""--no-track runs a training stage without MLflow: the trainers' report_to loses `mlflow`, so
transformers does not refuse to build the MLflow callback the config still asks for."""

from transformers.integrations import get_reporting_integration_callbacks

from stages.core.stage import stage_main
from tests.pipeline.conftest import compose_params


def test_no_track_drops_mlflow_from_the_trainers_reports(root, tmp_path, monkeypatch):
    params = compose_params(root, tmp_path / "params.yaml", [])
    monkeypatch.chdir(tmp_path)
    seen = {}

    def run(cfg):
        for stage in ("sft", "grpo"):
            seen[stage] = list(cfg[stage].trainer.report_to)
            # what Trainer.__init__ does with report_to; raised "MLflowCallback requires mlflow" before
            seen[f"{stage}_callbacks"] = [cb() for cb in get_reporting_integration_callbacks(seen[stage])]
        return {}

    assert stage_main("probe", run, "probe")(["--params", str(params), "--no-track"]) == 0
    assert seen["sft"] == seen["grpo"] == [] and seen["sft_callbacks"] == []
