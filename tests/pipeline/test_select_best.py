"""GRPO with best-checkpoint selection, for real: the grpo stage in process on the tiny config (from the
untrained base model, so no sft run is needed), 3 steps evaluated after each one. The dev scores are
the real ones (generation + the run's rewards) but the chosen metric is scripted so the best step is
known and is not the last: the saved model must be that step's weights, not the final ones."""

import json
import typing

import pytest
import torch

from tests.pipeline.conftest import TINY, compose_params

pytestmark = pytest.mark.slow

SCRIPTED = {1: 0.1, 2: 0.9, 3: 0.5}   # dev reward per step: step 2 is the best
# grpo.credit=spans: the stage's credit wiring runs for real (the untrained policy writes no span tokens,
# so every term is credited whole and the steps equal TRL's own; tests/unit/test_grpo_credit.py splits them)
OVERRIDES = [*TINY, "paths.sft_model=models/base", "grpo.select_best.enabled=true",
             "grpo.select_best.every_steps=1", "grpo.select_best.dev_examples=4", "grpo.credit=spans"]


@pytest.fixture(scope="module")
def run(tmp_path_factory, root):
    import importlib
    import logging

    from stages.core import select_best
    from stages.core.modeling import parameter_fingerprint

    work = tmp_path_factory.mktemp("select_best")
    params = compose_params(root, work / "params.yaml", OVERRIDES)
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{work / 'mlflow.db'}")
    for stage in ("prepare", "partition"):
        assert importlib.import_module(f"stages.{stage}").main(["--params", str(params), "--no-track"]) == 0

    fingerprints, real = {}, {}
    evaluate, scores = select_best.SelectBestCallback.evaluate, select_best.dev_scores

    def recording_evaluate(self, model, step):
        fingerprints.setdefault(step, parameter_fingerprint(model))
        return evaluate(self, model, step)

    def scripted_scores(completions, dev, *args):
        out = scores(completions, dev, *args)
        real[len(real) + 1] = (completions, out)
        return {**out, "reward": SCRIPTED[len(real)]}

    class Lines(logging.Handler):
        lines: typing.ClassVar[list] = []

        def emit(self, record):
            self.lines.append(record.getMessage())

    handler, logger = Lines(), logging.getLogger("kardia")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)   # under pytest the root logger stays at WARNING
    mp.setattr(select_best.SelectBestCallback, "evaluate", recording_evaluate)
    mp.setattr(select_best, "dev_scores", scripted_scores)
    try:
        assert importlib.import_module("stages.grpo").main(["--params", str(params)]) == 0
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        mp.undo()
    return work, fingerprints, real, json.loads((work / "metrics/grpo.json").read_text()), handler.lines


def test_saved_model_is_the_best_steps_weights(run):
    from transformers import AutoModelForCausalLM

    work, fingerprints, _, metrics, lines = run
    assert set(fingerprints) == {1, 2, 3}
    assert not torch.equal(fingerprints[2], fingerprints[3])   # the steps moved the weights
    saved = torch.cat([p.detach().flatten() for p in AutoModelForCausalLM.from_pretrained(work / "models/grpo").parameters()])
    assert metrics["train/best_step"] == 2 and metrics["train/steps"] == 3
    assert torch.equal(saved, fingerprints[2])
    assert any(line.startswith("select_best: keeping step 2 of 3") for line in lines), lines


def test_metrics_record_the_kept_step_and_the_dev_scores(run):
    work, _, real, metrics, _ = run
    hard = sum(1 for _ in (work / "data/partitioned/hard.jsonl").open())
    assert metrics["train/prompts"] == hard - 4 and metrics["dev/examples"] == 4
    assert metrics["dev/evaluations"] == 3
    assert metrics["dev/reward_best"] == 0.9 and metrics["dev/reward_last"] == 0.5
    # the kept step's real scores: every reward term, over the 4 dev answers the model generated
    completions, scores = real[2]
    assert len(completions) == 4 and all(isinstance(c, str) for c in completions)
    for name in ("format", "emotion", "rubric", "coverage"):
        assert metrics[f"dev/best/{name}"] == pytest.approx(scores[name])


def test_mlflow_has_the_dev_metric_per_evaluation(run):
    from mlflow.tracking import MlflowClient

    work = run[0]
    client = MlflowClient(f"sqlite:///{work / 'mlflow.db'}")
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    grpo = [r for r in runs if r.data.tags.get("mlflow.runName", "").startswith("grpo") or "train/best_step" in r.data.metrics]
    assert len(grpo) == 1 and grpo[0].data.metrics["train/best_step"] == 2
    history = client.get_metric_history(grpo[0].info.run_id, "dev/reward")
    assert sorted((m.step, m.value) for m in history) == sorted(SCRIPTED.items())
