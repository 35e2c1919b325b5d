"""Sweep logic without running the pipeline: λ on the simplex, constraints, config errors, Pareto
front, and the resume bookkeeping on a real Optuna sqlite storage."""

import re
import socket
import subprocess
import sys

import optuna
import pytest

from experiments.dvcexp import ExperimentConfigError
from experiments.sweep import (
    Constraint,
    Objective,
    constraint_values,
    load_sweep,
    sample,
    simplex,
)
from experiments.sweep_report import pareto_front
from experiments.sweep_resume import finished, recover_interrupted

optuna.logging.set_verbosity(optuna.logging.WARNING)
NAMES = ["format", "emotion", "rubric"]
SPACE = {"reward.weights": {"type": "simplex"},
         "partition.max_fail_rate": {"type": "categorical", "choices": [0.4, 0.5, 0.6]},
         "grpo.trainer.learning_rate": {"type": "float", "low": 1e-5, "high": 2e-4, "log": True}}


def test_simplex_points_are_weights_and_uniform_over_the_simplex():
    import random

    rng = random.Random(0)
    points = [simplex([1 - rng.random() for _ in NAMES]) for _ in range(4000)]
    assert all(abs(sum(p) - 1) < 1e-12 and min(p) >= 0 for p in points)
    # Dirichlet(1,1,1): each coordinate has mean 1/3 and P(w_i > 1/2) = (1/2)^2 = 1/4
    for i in range(3):
        assert sum(p[i] for p in points) / len(points) == pytest.approx(1 / 3, abs=0.02)
        assert sum(p[i] > 0.5 for p in points) / len(points) == pytest.approx(0.25, abs=0.03)
    assert simplex([1.0, 1.0, 1.0]) == [1 / 3] * 3


def test_sample_gives_overrides_the_pipeline_accepts_and_replays_enqueued_params():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    trial = study.ask()
    overrides, used = sample(trial, SPACE, NAMES)
    weights = [used[f"lambda/{n}"] for n in NAMES]
    assert overrides[0] == f"reward.weights=[{','.join(repr(w) for w in weights)}]"
    assert sum(weights) == pytest.approx(1, abs=1e-3)
    assert used["partition.max_fail_rate"] in (0.4, 0.5, 0.6)
    assert 1e-5 <= used["grpo.trainer.learning_rate"] <= 2e-4
    study.tell(trial, 0.0)
    study.enqueue_trial(trial.params)  # what a resumed study does with an interrupted trial
    again, _ = sample(study.ask(), SPACE, NAMES)
    assert again == overrides


def test_constraints_follow_optunas_sign_convention():
    format_min, failures_max = Constraint("fmt", min=0.95), Constraint("fail", max=0.02)
    assert format_min.violation(0.97) < 0 < format_min.violation(0.90)
    assert failures_max.violation(0.01) < 0 < failures_max.violation(0.05)
    assert constraint_values({"fmt": 0.95, "fail": 0.0}, [format_min, failures_max]) == {"fmt": 0.0, "fail": -0.02}


def test_pareto_front_keeps_only_non_dominated_trials():
    study = optuna.create_study(directions=["maximize", "maximize"])
    for values in ([1, 1], [2, 0.5], [0.5, 2], [0.9, 0.9], [2, 0.4]):
        study.add_trial(optuna.trial.create_trial(values=values))
    objectives = [Objective("a", "maximize"), Objective("b", "maximize")]
    assert sorted(t.values for t in pareto_front(study.trials, objectives)) == [[0.5, 2], [1, 1], [2, 0.5]]


def test_committed_sweep_files_load(root):
    for path in sorted((root / "experiments/sweeps").glob("*.yaml")):
        cfg = load_sweep(path)
        assert cfg.n_trials >= 1 and cfg.objectives and "reward.weights" in cfg.space


@pytest.mark.parametrize("edit, key", [
    ("objectives: [{metric: eval/grpo/persona, direction: up}]", "objectives[0].direction"),
    ("space: {reward.weights: {type: dirichlet}}", "space.reward.weights.type"),
    ("space: {grpo.trainer.learning_rate: {type: float, low: 0, high: 1, log: true}}", "space.grpo.trainer.learning_rate"),
    ("n_trials: 0", "n_trials"),
])
def test_bad_sweep_file_names_the_key(tmp_path, edit, key):
    good = {"study": "s", "n_trials": 2, "objectives": "[{metric: m}]", "space": "{reward.weights: {type: simplex}}"}
    name = edit.split(":")[0]
    good[name] = edit.split(": ", 1)[1]
    path = tmp_path / "sweep.yaml"
    path.write_text("\n".join(f"{k}: {v}" for k, v in good.items()))
    with pytest.raises(ExperimentConfigError, match=re.escape(f"key '{key}")):
        load_sweep(path)


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


def test_resume_requeues_a_killed_trial_and_keeps_completed_ones(tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="s", storage=storage)
    host = socket.gethostname()

    done = study.ask()
    sample(done, SPACE, NAMES)
    study.tell(done, 1.0)
    killed = study.ask()                      # left RUNNING by a sweep process that was killed
    killed.set_user_attr("host", host)
    killed.set_user_attr("pid", _dead_pid())
    overrides, _ = sample(killed, SPACE, NAMES)
    alive = study.ask()                       # RUNNING in a live process (another sweep on this machine)
    alive.set_user_attr("host", host)
    alive.set_user_attr("pid", subprocess.os.getpid())
    elsewhere = study.ask()                   # RUNNING on another machine sharing the RDB
    elsewhere.set_user_attr("host", "another-machine")
    elsewhere.set_user_attr("pid", 1)

    study = optuna.load_study(study_name="s", storage=storage)  # the restarted sweep
    assert [t.number for t in recover_interrupted(study, host)] == [killed.number]
    states = {t.number: t.state for t in study.trials}
    assert states[done.number] == optuna.trial.TrialState.COMPLETE
    assert states[killed.number] == optuna.trial.TrialState.FAIL
    assert states[alive.number] == states[elsewhere.number] == optuna.trial.TrialState.RUNNING
    assert [t.number for t in finished(study)] == [done.number], "an interrupted trial does not count"
    requeued = study.ask()
    assert requeued.user_attrs["requeued_from"] == killed.number
    assert sample(requeued, SPACE, NAMES)[0] == overrides, "re-run with the same parameters"
    study.tell(requeued, 0.5)

    assert [t.number for t in recover_interrupted(study, host, all_hosts=True)] == [elsewhere.number]


def test_a_resumed_study_does_not_replay_the_samplers_first_proposals(tmp_path):
    from experiments.sweep import SweepConfig, make_study

    cfg = SweepConfig(study="s", seed=0, n_trials=4, n_startup_trials=4, storage=None,
                      objectives=[Objective("m", "maximize")], constraints=[], space=SPACE, overrides=[])
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    first = make_study(cfg, storage)
    trial = first.ask()
    before, _ = sample(trial, SPACE, NAMES)
    first.tell(trial, 1.0)
    resumed = make_study(cfg, storage)  # a new process: a fresh sampler
    after, _ = sample(resumed.ask(), SPACE, NAMES)
    assert after != before


def test_multi_objective_outputs_keep_the_feasible_pareto_front(tmp_path):
    import json

    from optuna.distributions import FloatDistribution

    from experiments.sweep import SweepConfig
    from experiments.sweep_report import write_outputs

    objectives = [Objective("eval/grpo/emotion_acc", "maximize"), Objective("eval/grpo/empathy", "maximize")]
    cfg = SweepConfig(study="p", seed=0, n_trials=5, n_startup_trials=5, storage=None, objectives=objectives,
                      constraints=[Constraint("eval/grpo/format_compliance", min=0.95)],
                      space={"x": {"type": "float", "low": 0, "high": 1}}, overrides=[])
    study = optuna.create_study(study_name="p", directions=["maximize", "maximize"])
    # (values, format compliance): the best-looking point is infeasible and must not be on the front
    for i, (values, fmt) in enumerate([([0.1, 3.0], 0.97), ([0.2, 2.5], 0.96), ([0.15, 2.0], 0.99),
                                       ([0.5, 3.5], 0.90), ([0.05, 3.1], 0.95)]):
        study.add_trial(optuna.trial.create_trial(
            values=values, params={"x": i / 10}, distributions={"x": FloatDistribution(0, 1)},
            user_attrs={"dvc_exp": f"p-{i}", "used": {"x": i / 10}},
            constraints={"eval/grpo/format_compliance": 0.95 - fmt}))
    summary, _ = write_outputs(study, cfg, tmp_path)
    assert sorted(r["trial"] for r in summary["pareto_front"]) == [0, 1, 4]
    assert (tmp_path / "pareto.png").stat().st_size > 0 and (tmp_path / "importance.png").exists()
    assert json.loads((tmp_path / "best.json").read_text())["pareto_front"][0]["dvc_exp"] == "p-0"


def test_dry_run_validates_each_trials_params(tmp_path, capsys):
    from experiments.sweep import main

    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("study: s\nn_trials: 2\nobjectives: [{metric: eval/grpo/persona}]\n"
                     "space: {reward.weights: {type: simplex}}\noverrides: ['+grpo.trainer.lerning_rate=0.1']\n")
    assert main([str(sweep), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "trial 0" in err and "grpo.trainer.lerning_rate" in err and "learning_rate" in err
    sweep.write_text(sweep.read_text().replace("'+grpo.trainer.lerning_rate=0.1'", "'grpo.trainer.max_steps=6'"))
    assert main([str(sweep), "--dry-run"]) == 0
    assert capsys.readouterr().out.count("dvc exp run -n s-") == 2


@pytest.mark.parametrize("partition, knob, other", [
    ("rollouts", "partition.max_fail_rate", "partition.rollouts.resolve_threshold"),
    ("trace", "partition.rollouts.easy_min_rate", "partition.max_fail_rate"),
])
def test_a_threshold_the_composed_rule_ignores_is_refused_before_any_trial(tmp_path, capsys, partition, knob, other):
    """Under partition=rollouts the trace thresholds change nothing (and the reverse): a sweep over them
    would run n_trials copies of the baseline, so it stops first, naming the knobs to move."""
    from experiments.sweep import main

    sweep = tmp_path / "sweep.yaml"
    space = f"{{reward.weights: {{type: simplex}}, {knob}: {{type: categorical, choices: [0.3, 0.7]}}}}"
    sweep.write_text(f"study: s\nn_trials: 2\nobjectives: [{{metric: eval/grpo/persona}}]\nspace: {space}\n"
                     f"overrides: ['partition={partition}']\n")
    assert main([str(sweep), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert f"space.{knob}" in err and other in err
    sweep.write_text(sweep.read_text().replace(knob, other))
    assert main([str(sweep), "--dry-run"]) == 0
