"""The CI regression check fails when a metric drops beyond its tolerance, and passes otherwise."""

import json
import subprocess
import sys

import pytest

from experiments.regression.check import main

BASELINE = "experiments/regression/baseline.json"


@pytest.fixture
def metrics(root, tmp_path):
    """metrics/<stage>.json holding exactly the baseline values (as a fresh `dvc repro` would)."""
    out = tmp_path / "metrics"
    out.mkdir()
    for stage, values in json.loads((root / BASELINE).read_text()).items():
        (out / f"{stage}.json").write_text(json.dumps(values))
    return out


def edit(metrics_dir, stage, key, change):
    path = metrics_dir / f"{stage}.json"
    data = json.loads(path.read_text())
    data[key] = change(data[key])
    path.write_text(json.dumps(data))


def test_committed_metrics_match_the_baseline(root, capsys):
    assert main(["--metrics-dir", str(root / "metrics")]) == 0


def test_same_result_passes(metrics, capsys):
    assert main(["--metrics-dir", str(metrics)]) == 0
    assert "no regression" in capsys.readouterr().out


def committed_tolerance(root, stage, key) -> float:
    from experiments.regression.check import load_checks, load_spread

    tolerances = root / "experiments/regression/tolerances.yaml"
    return next(c.tol for c in load_checks(tolerances, load_spread(tolerances)) if (c.stage, c.metric) == (stage, key))


@pytest.mark.parametrize("stage, key, sign", [
    ("evaluate", "eval/grpo/emotion_acc", -1),        # higher is better
    ("evaluate", "eval/grpo/format_compliance", -1),
    ("evaluate", "eval/grpo/persona", -1),
    ("sft", "train/loss_end", +1),                    # lower is better
    ("partition", "partition/easy_examples", +1),     # exact
])
def test_worse_result_fails_and_names_the_metric(root, metrics, capsys, stage, key, sign):
    beyond = committed_tolerance(root, stage, key) + 0.01
    edit(metrics, stage, key, lambda v: v + sign * beyond)
    assert main(["--metrics-dir", str(metrics)]) == 1
    captured = capsys.readouterr()
    assert f"| {stage} | {key} |" in captured.out and "REGRESSED" in captured.out
    assert key in captured.err


def test_better_or_within_tolerance_passes(metrics, capsys):
    edit(metrics, "evaluate", "eval/grpo/emotion_acc", lambda v: v + 0.2)
    edit(metrics, "evaluate", "eval/grpo/empathy", lambda v: v - 0.05)     # inside ±0.10
    edit(metrics, "sft", "train/loss_end", lambda v: v - 0.3)
    assert main(["--metrics-dir", str(metrics)]) == 0
    out = capsys.readouterr().out
    assert "| better |" in out and "REGRESSED" not in out


def test_missing_metric_fails(metrics, capsys):
    (metrics / "grpo.json").unlink()
    assert main(["--metrics-dir", str(metrics)]) == 1
    assert "MISSING" in capsys.readouterr().out


def test_update_writes_a_baseline_that_then_passes(metrics, tmp_path, capsys):
    edit(metrics, "evaluate", "eval/grpo/emotion_acc", lambda v: v - 0.05)
    baseline = tmp_path / "baseline.json"
    assert main(["--metrics-dir", str(metrics), "--baseline", str(baseline), "--update"]) == 0
    assert main(["--metrics-dir", str(metrics), "--baseline", str(baseline)]) == 0


def test_bad_tolerance_file_names_the_key(metrics, tmp_path, capsys):
    bad = tmp_path / "tol.yaml"
    bad.write_text("checks:\n  evaluate:\n    eval/grpo/emotion_acc: {expect: up}\n")
    assert main(["--metrics-dir", str(metrics), "--tolerances", str(bad)]) == 2
    assert "checks.evaluate.eval/grpo/emotion_acc.expect" in capsys.readouterr().err


def test_command_line_exit_status(root, metrics):
    edit(metrics, "evaluate", "eval/sft/emotion_acc", lambda v: v - 0.5)   # beyond any tolerance the seed spread gives it
    proc = subprocess.run([sys.executable, "-m", "experiments.regression", "--metrics-dir", str(metrics)],
                          cwd=root, capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "eval/sft/emotion_acc" in proc.stderr



def write_rules(tmp_path, spread_sd=None, k=2):
    """A one-rule tolerances file (emotion accuracy, floor 0.03, k × sd) and its seed-spread file."""
    rules = tmp_path / "tol.yaml"
    rules.write_text("spread: spread.json\nchecks:\n  evaluate:\n"
                     f"    eval/grpo/emotion_acc: {{expect: higher, tol: 0.03, k: {k}}}\n")
    if spread_sd is not None:
        (tmp_path / "spread.json").write_text(json.dumps(recorded({"eval/grpo/emotion_acc": spread_sd})))
    return rules


def recorded(sds: dict[str, float]) -> dict:
    """A spread file whose evaluate metrics have these seed sds: two seeds each, 0 and sd·√2."""
    return {"values": {"evaluate": {metric: {"row": [0.0, sd * 2 ** 0.5]} for metric, sd in sds.items()}}}


@pytest.mark.parametrize("sd, drop, status", [
    (0.05, 0.09, 0),    # 2 x 0.05 = 0.10 > the 0.03 floor: a 0.09 drop is seed noise
    (0.05, 0.11, 1),
    (0.001, 0.04, 1),   # 2 x sd below the floor: the floor (0.03) applies
])
def test_tolerance_is_k_seed_sd_with_a_floor(metrics, tmp_path, capsys, sd, drop, status):
    rules = write_rules(tmp_path, sd)
    edit(metrics, "evaluate", "eval/grpo/emotion_acc", lambda v: v - drop)
    assert main(["--metrics-dir", str(metrics), "--tolerances", str(rules)]) == status
    assert f"(≥ 2 × sd {sd:.3g})" in capsys.readouterr().out


def test_auto_k_holds_the_family_wise_false_alarm_chance():
    from experiments.regression.check import family_k

    # one one-sided check at 5 %: the difference of two seed draws (sd √2·σ) beyond 1.645 of its sds
    assert family_k(0.05, 1) == pytest.approx(2 ** 0.5 * 1.6449, abs=1e-3)
    assert family_k(0.05, 15) == pytest.approx(2 ** 0.5 * 2.7131, abs=1e-3)   # Bonferroni: 0.05 / 15 each
    assert family_k(0.05, 15, two_sided=True) == pytest.approx(family_k(0.05, 30))
    # simulated: two seed-like draws of 15 independent metrics fail some check in at most 5 % of runs
    import random
    rng, k = random.Random(0), family_k(0.05, 15)
    failed = sum(any(rng.gauss(0, 1) - rng.gauss(0, 1) < -k for _ in range(15)) for _ in range(20000))
    assert 0.03 < failed / 20000 <= 0.05


def test_auto_k_counts_the_auto_rules_and_needs_a_false_alarm_chance(metrics, tmp_path, capsys):
    from experiments.regression.check import family_k, load_checks, load_spread

    rules = tmp_path / "tol.yaml"
    (tmp_path / "spread.json").write_text(json.dumps(recorded({"a": 0.1, "b": 0.1})))
    body = "spread: spread.json\nchecks:\n  evaluate:\n    a: {expect: higher, k: auto}\n    b: {expect: higher, k: auto}\n"
    rules.write_text("false_alarm: 0.05\n" + body)
    checks = load_checks(rules, load_spread(rules))
    assert [c.k for c in checks] == [pytest.approx(family_k(0.05, 2))] * 2
    assert checks[0].tol == pytest.approx(0.1 * family_k(0.05, 2))
    rules.write_text(body)
    assert main(["--metrics-dir", str(metrics), "--tolerances", str(rules)]) == 2
    assert "false_alarm" in capsys.readouterr().err


def test_k_rule_without_a_recorded_spread_names_the_metric(metrics, tmp_path, capsys):
    assert main(["--metrics-dir", str(metrics), "--tolerances", str(write_rules(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert "evaluate/eval/grpo/emotion_acc" in err and "--record-spread" in err


def test_committed_spread_covers_every_scaled_rule(root):
    from experiments.regression.check import load_checks, load_spread

    tolerances = root / "experiments/regression/tolerances.yaml"
    checks = load_checks(tolerances, load_spread(tolerances))
    scaled = [c for c in checks if c.k is not None]
    assert scaled and all(c.sd is not None and c.tol >= c.k * c.sd for c in scaled)


def test_record_pools_the_seed_sd_over_rows():
    from experiments.ablations import Table
    from experiments.dvcexp import Exp, ExperimentConfigError
    from experiments.regression.spread import record

    table = Table("t", ["a", "b"], [], [42, 43, 44], 1)
    values = {"a": (0.5, 0.6, 0.7), "b": (1.0, 1.2, 1.4)}   # row sds 0.1 and 0.2, different means
    exps = [Exp(f"t-{row}-s{s}", "r", {}, {}, {"metrics/evaluate.json": {"m": v}})
            for row, vs in values.items() for s, v in zip(table.seeds, vs)]
    exps.insert(0, Exp("t-a-s43", "q", {}, {}, {"metrics/evaluate.json": {"m": 7.0}}, state="queued"))  # not run: ignored
    exps.append(Exp("t-a-s42", "old", {}, {}, {"metrics/evaluate.json": {"m": 9.0}}))  # older: ignored
    one = record(table, ["a"], exps, {"evaluate": ["m"]})
    assert one["seeds"] == [42, 43, 44] and one["values"]["evaluate"]["m"] == {"a": [0.5, 0.6, 0.7]}
    assert one["sd"]["evaluate"]["m"] == pytest.approx(0.1) and one["dof"]["evaluate"]["m"] == 2
    assert one["cpu"] and one["recorded"]
    both = record(table, ["a", "b"], exps, {"evaluate": ["m"]})
    assert both["sd"]["evaluate"]["m"] == pytest.approx(((0.1**2 + 0.2**2) / 2) ** 0.5)
    assert both["dof"]["evaluate"]["m"] == 4
    with pytest.raises(ExperimentConfigError, match="1 of seeds"):
        record(table, ["a"], exps[:2], {"evaluate": ["m"]})


def test_rows_sharing_a_stage_count_once_and_machines_pool():
    from experiments.regression.spread import merge

    # two rows that share SFT repeat its values: one group, 2 degrees of freedom, not 4
    xeon = {"values": {"evaluate": {"sft": {"a": [0.70, 0.80, 0.75], "b": [0.70, 0.80, 0.75]},
                                    "grpo": {"a": [3.0, 3.2, 3.1], "b": [3.1, 3.1, 3.4]}}}}
    amd = {"values": {"evaluate": {"sft": {"a": [0.70, 0.71, 0.72], "b": [0.70, 0.71, 0.72]}}}}
    alone = merge([xeon])
    assert alone["dof"]["evaluate"] == {"sft": 2, "grpo": 4} and alone["sd"]["evaluate"]["sft"] == pytest.approx(0.05)
    pooled = merge([xeon, amd])   # one machine's seeds agreeing closely do not shrink the other's spread away
    assert pooled["dof"]["evaluate"]["sft"] == 4
    assert pooled["sd"]["evaluate"]["sft"] == pytest.approx(((0.05**2 * 2 + 0.01**2 * 2) / 4) ** 0.5)
    assert pooled["sd"]["evaluate"]["grpo"] == alone["sd"]["evaluate"]["grpo"]


def test_tolerances_pool_every_listed_spread_file(metrics, tmp_path, capsys):
    rules = tmp_path / "tol.yaml"
    rules.write_text("spread: [one.json, two.json, missing.json]\nchecks:\n  evaluate:\n"
                     "    eval/grpo/emotion_acc: {expect: higher, k: 1}\n")
    for name, vals in (("one", [0.5, 0.7]), ("two", [0.6, 0.6])):
        (tmp_path / f"{name}.json").write_text(json.dumps({"values": {"evaluate": {"eval/grpo/emotion_acc": {"r": vals}}}}))
    from experiments.regression.check import load_checks, load_spread

    (check,) = load_checks(rules, load_spread(rules))
    assert check.sd == pytest.approx((0.02 / 2) ** 0.5)   # squared deviations 0.01 + 0.01 + 0 + 0 over 2 dof
