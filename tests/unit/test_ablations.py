"""Ablation tables: every committed table names real experiment files; the queue commands and the
mean ± std rendering, on hand-made `dvc exp show` rows."""

import pytest
import yaml

from experiments.ablations import TABLES, load_table, queue_commands, render
from experiments.dvcexp import Exp, ExperimentConfigError


@pytest.mark.parametrize("name", sorted(yaml.safe_load(TABLES.read_text())["tables"]))
def test_committed_tables_load(name):
    table = load_table(name)
    assert table.experiments and table.metrics and table.seeds


@pytest.mark.parametrize(("rows", "named"), [
    # an experiment row with no conf/experiment file
    ("experiments: [paper_recipe, no_such_row]\n    metrics: [m]", "no_such_row"),
    # model rows whose metrics hold no <model> slot to fill
    ("experiments: [paper_recipe]\n    models: [grpo, gpt-4o]\n    metrics: [eval/grpo/emotion_acc]", "<model>"),
])
def test_bad_table_is_named(tmp_path, rows, named):
    path = tmp_path / "tables.yaml"
    path.write_text(f"tables:\n  t:\n    {rows}\n    seeds: [1]\n    jobs: 1\n")
    with pytest.raises(ExperimentConfigError, match=named):
        load_table("t", path)


def test_queue_commands_skip_rows_already_run():
    table = load_table("output_format")
    commands = queue_commands(table, skip={"output_format-paper_recipe-s42"})
    names = [c[c.index("-n") + 1] for c in commands]
    assert len(names) == 2 * len(table.seeds) - 1 and "output_format-paper_recipe-s42" not in names
    assert commands[0][:3] == ["exp", "run", "--queue"]
    assert ["-S", "experiment=paper_recipe", "-S", "seed=43"] == commands[0][5:9]


def test_render_aggregates_seeds_and_ignores_other_experiments():
    table = load_table("output_format")
    metric = table.metrics[0]
    exps = [Exp(f"output_format-paper_recipe-s{s}", "r", {}, {metric: v}) for s, v in ((42, 0.9), (43, 1.0), (44, 0.95))]
    exps += [Exp("output_format-response_only-s42", "r", {}, {metric: 0.5}),
             Exp("other-paper_recipe-s42", "r", {}, {metric: 0.0}), Exp(None, "r", {}, {})]
    lines = render(table, exps).splitlines()
    assert lines[2].startswith("| paper_recipe | 3 | 0.950 ± 0.050 |")
    assert lines[3].startswith("| response_only | 1 | 0.500 |")


def test_render_keeps_the_newest_run_of_a_name():
    """The same experiment name under two baselines (--all-commits, newest first): the first one counts."""
    table = load_table("output_format")
    metric = table.metrics[0]
    exps = [Exp("output_format-response_only-s42", "new", {}, {metric: 0.5}),
            Exp("output_format-response_only-s42", "old", {}, {metric: 0.1})]
    assert render(table, exps).splitlines()[3].startswith("| response_only | 1 | 0.500 |")


def test_one_seed_shows_the_runs_interval():
    """A one-seed table (backbones) shows each value with its run's 95 % interval (<key>_low/_high, as
    evaluate writes them for means and paired differences); several seeds show mean ± std."""
    table = load_table("backbones")
    gain = "eval/grpo_vs_sft/emotion_acc_delta"
    assert {"eval/sft_vs_base/emotion_acc_delta", gain} <= set(table.metrics)
    run = {gain: 0.02, f"{gain}_low": -0.01, f"{gain}_high": 0.05}
    row = render(table, [Exp(f"backbones-{table.experiments[0]}-s{table.seeds[0]}", "r", {}, run)]).splitlines()[2]
    assert "0.020 [-0.010, 0.050]" in row
    several = load_table("output_format")
    metric = several.metrics[0]
    exps = [Exp(f"output_format-paper_recipe-s{s}", "r", {}, {metric: v, f"{metric}_low": 0.0, f"{metric}_high": 1.0})
            for s, v in ((42, 0.9), (43, 1.0))]
    assert "0.950 ± 0.071" in render(several, exps).splitlines()[2]


def test_model_rows_read_each_models_metrics():
    """The baselines table: one row per evaluated model of the run, its metrics and paired difference."""
    table = load_table("baselines")
    assert table.models[0] == "grpo" and "gpt-4o" in table.models
    metrics = {"eval/grpo/emotion_acc": 0.6, "eval/gpt-4o/emotion_acc": 0.2, "eval/gpt-4o/emotion_acc_low": 0.15,
               "eval/gpt-4o/emotion_acc_high": 0.25, "eval/grpo_vs_gpt-4o/emotion_acc_delta": 0.4}
    lines = render(table, [Exp(f"baselines-baselines-s{table.seeds[0]}", "r", {}, metrics)]).splitlines()
    rows = {line.split(" | ")[1]: line for line in lines[2:2 + len(table.models)]}
    assert set(rows) == set(table.models)
    assert "0.200 [0.150, 0.250]" in rows["gpt-4o"] and "0.400" in rows["gpt-4o"]
    assert "0.600" in rows["grpo"] and "–" in rows["psyllm"]


def test_metrics_two_stages_write_are_kept_apart():
    from experiments.dvcexp import _exp

    entry = {"rev": "abc", "name": "e", "data": {"metrics": {
        "metrics/sft.json": {"data": {"train/steps": 200, "train/loss_end": 1.5}},
        "metrics/grpo.json": {"data": {"train/steps": 25, "reward_end": 0.7}}}}}
    m = _exp(entry).metrics
    assert "train/steps" not in m  # which stage's would it be?
    assert (m["sft:train/steps"], m["grpo:train/steps"]) == (200, 25)
    assert m["train/loss_end"] == m["sft:train/loss_end"] == 1.5 and m["reward_end"] == 0.7


@pytest.mark.parametrize("name", sorted(yaml.safe_load(TABLES.read_text())["tables"]))
def test_every_table_plans_with_dry_run_and_runs_nothing(name, monkeypatch, capsys, root, tmp_path):
    """`python -m experiments.ablations <table> --dry-run` prints one queued `dvc exp run` per row and
    seed, then the queue start; it calls neither dvc nor MLflow. Every planned row composes and validates
    with the table's overrides, so the plan is one that can run."""
    from experiments import ablations
    from stages.core.config import ConfigError, load_config
    from tests.unit.test_config import compose

    def refuse(*args, **kwargs):
        raise AssertionError(f"--dry-run ran something: {args}")

    for fn in ("dvc", "exp_show", "shared_mlflow_store", "wait"):
        monkeypatch.setattr(ablations, fn, refuse)
    assert ablations.main([name, "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = load_table(name)
    assert len(lines) == len(table.runs()) + 1 and lines[-1].startswith("dvc queue start -j ")
    for (experiment, seed, exp_name), line in zip(table.runs(), lines):
        assert line.startswith(f"dvc exp run --queue -n {exp_name} -S 'experiment={experiment}' -S 'seed={seed}'")
    configs = {}
    for experiment in table.experiments:
        params = tmp_path / f"{experiment}.yaml"
        composed = compose(root, [f"experiment={experiment}", *table.overrides])
        params.write_text(yaml.safe_dump(composed))
        if composed["data"]["source"] == "kardiabench" and not composed["data"]["path"]:
            # the paper rows read the hub at a revision the user pins: refused until then, then valid
            with pytest.raises(ConfigError, match="key 'data.revision'"):
                load_config(params)
            configs[experiment] = load_config(params, ["data.revision=0123456789abcdef0123456789abcdef01234567"])
        else:
            configs[experiment] = load_config(params)
    if table.models:   # every model row is one the run evaluates: ours or one of its baselines
        for cfg in configs.values():
            evaluated = set(cfg.evaluate.models) | {b.name for b in cfg.evaluate.api_baselines}
            assert set(table.models) <= evaluated, set(table.models) - evaluated
    if name == "history_length":   # rows differ in the history kept, on dialogues longer than the paper's 10
        kept = [cfg.data.max_history_turns for cfg in configs.values()]
        assert len(set(kept)) == len(kept) and None in kept
        assert all(cfg.data.min_exchanges > 10 for cfg in configs.values())
        assert len({(cfg.data.n_dialogues, cfg.model.max_length) for cfg in configs.values()}) == 1


def test_differences_are_paired_by_seed_and_marked_beyond_the_spread():
    """Each row minus the first at the same seed; * only where the mean difference exceeds twice the
    seed sd pooled over the rows (here 0.05: every row's seeds are base ± 0.05)."""
    table = load_table("reward_components")
    metric = table.metrics[0]
    base = {42: 0.80, 43: 0.70, 44: 0.75}   # the seeds differ by far more than the rows do
    rows = {"paper_recipe": 0.0, "no_format": -0.30, "no_emotion": -0.02}
    exps = [Exp(f"reward_components-{row}-s{s}", "r", {}, {metric: v + shift})
            for row, shift in rows.items() for s, v in base.items()]
    lines = render(table, exps).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Difference from paper_recipe"))
    diffs = {line.split(" | ")[0][2:]: line for line in lines[start + 3:]}
    assert diffs["no_format"].startswith("| no_format | 3 | -0.300 ± 0.000 * |")
    assert diffs["no_emotion"].startswith("| no_emotion | 3 | -0.020 ± 0.000 |")   # inside 2 × 0.05
    assert diffs["no_rubric"].startswith("| no_rubric | 0 | – |")
    assert diffs["seed sd (pooled)"].startswith("| seed sd (pooled) | | 0.050 |")


def test_no_differences_without_two_paired_seeds():
    table = load_table("reward_components")
    metric = table.metrics[0]
    exps = [Exp(f"reward_components-{row}-s42", "r", {}, {metric: 0.5}) for row in ("paper_recipe", "no_format")]
    assert "Difference from" not in render(table, exps)


def test_queued_running_and_failed_experiments_are_not_results():
    """`dvc exp show` lists a queued, running or failed experiment under its name with its baseline's
    metrics (its commit holds them): a table or a seed spread that read them would count the baseline
    as that row's result."""
    table = load_table("output_format")
    metric = table.metrics[0]
    exps = [Exp(f"output_format-paper_recipe-s{s}", "r", {}, {metric: 0.9}, state=state)
            for s, state in ((42, "success"), (43, "queued"), (44, "failed"))]
    exps += [Exp("output_format-response_only-s42", "r", {}, {metric: 0.9}, state="running"),
             Exp("output_format-response_only-s43", "r", {}, {metric: 0.5})]   # run outside the queue
    lines = render(table, exps).splitlines()
    assert lines[2].startswith("| paper_recipe | 1 | 0.900 |")
    assert lines[3].startswith("| response_only | 1 | 0.500 |")
