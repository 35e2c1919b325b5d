"""The values of the secrets the config points at (``*_env`` settings) never reach a log line, an
error message or the MLflow store, even when a code path tries to carry them there."""

import logging

from stages.core.errors import KardiaError
from stages.core.redaction import MARK, Redactor, env_names
from stages.core.stage import stage_main
from tests.pipeline.conftest import compose_params
from tests.support.planted_key import PLANTED, files_holding


def test_env_names_are_found_at_any_depth_and_in_lists():
    cfg = {"judge": {"api_key_env": "A_KEY", "model": "m"}, "data": {"token_env": None},
           "evaluate": {"api_baselines": [{"name": "gpt", "api_key_env": "B_KEY"}]}}
    assert list(env_names(cfg)) == ["A_KEY", "B_KEY"]


def test_redactor_takes_the_values_of_named_variables_longest_first(monkeypatch):
    monkeypatch.setenv("A_KEY", PLANTED)
    monkeypatch.setenv("B_KEY", PLANTED[:12])   # a key inside another is still replaced whole
    monkeypatch.setenv("SHORT", "1")            # too short to be a key: ordinary text keeps its 1s
    redact = Redactor.from_config({"a": {"x_env": "A_KEY"}, "b": [{"y_env": "B_KEY"}], "c_env": "SHORT",
                                   "d_env": "UNSET_VARIABLE"})
    assert redact(f"Bearer {PLANTED}, 1 of {PLANTED[:12]}") == f"Bearer {MARK}, 1 of {MARK}"


def test_a_stage_redacts_its_logs_error_and_mlflow_params(root, tmp_path, monkeypatch, capfd, caplog):
    # the key pasted where it does not belong (a model name) is logged as a param and by the stage
    params = compose_params(root, tmp_path / "params.yaml", [
        "judge=openai", "judge.api_key_env=KARDIA_TEST_JUDGE_KEY", "judge@eval_judge=openai", f"eval_judge.model={PLANTED}"])
    monkeypatch.setenv("KARDIA_TEST_JUDGE_KEY", PLANTED)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)

    def run(cfg):
        logging.getLogger("kardia.probe").warning("calling %s with key %s", cfg.eval_judge.model, PLANTED)
        raise KardiaError(f"the server rejected key {PLANTED}")

    assert stage_main("probe", run, "probe")(["--params", str(params)]) == 2
    out, err = capfd.readouterr()
    assert PLANTED not in out + err and f"rejected key {MARK}" in err
    assert PLANTED not in caplog.text and f"calling {MARK} with key {MARK}" in caplog.text
    assert files_holding(tmp_path, PLANTED) == ["params.yaml"]   # the input, where the user put it
    held = files_holding(tmp_path, MARK)                          # the param and the params artifact, redacted
    assert "mlflow.db" in held and any(f.startswith("mlartifacts/") and f.endswith("params.yaml") for f in held)
