"""dvc.yaml: five stages in order, paths from conf/paths, each stage tracks its code and params."""

import yaml

STAGES = ["prepare", "partition", "sft", "grpo", "evaluate"]


def load(root):
    return yaml.safe_load((root / "dvc.yaml").read_text())["stages"]


def path_of(entry) -> str:
    """An out/dep is a path, or {path: options} (e.g. cache: false)."""
    return entry if isinstance(entry, str) else next(iter(entry))


# The training stages start through the launcher (conf/launch): in process, or under accelerate.
LAUNCHED = {"sft", "grpo"}


def test_five_stages_in_order_each_run_as_a_module(root):
    stages = load(root)
    assert list(stages) == STAGES
    for name, stage in stages.items():
        assert stage["cmd"] == (f"python -m stages.core.launch {name}" if name in LAUNCHED else f"python -m stages.{name}")
        assert f"stages/{name}.py" in stage["deps"] and "stages/core" in stage["deps"]
        assert (root / "stages" / f"{name}.py").exists()


def test_paths_are_templated_from_conf_paths_only(root):
    for name, stage in load(root).items():
        entries = stage["deps"] + stage["outs"] + stage.get("metrics", []) + stage.get("plots", [])
        for entry in map(path_of, entries):
            # code, and the accelerate files a launch reads (git-tracked like code)
            assert entry.startswith(("${paths.", "stages/", "conf/accelerate")), f"{name}: {entry} is not from conf/paths"


def test_launched_stages_rerun_when_the_launch_or_its_files_change(root):
    for name, stage in load(root).items():
        assert ("launch" in stage["params"] and "conf/accelerate" in stage["deps"]) == (name in LAUNCHED), name


# Inputs kept in git rather than made by a stage.
CHECKED_IN = {"${paths.paper_numbers}": "experiments/paper_numbers.yaml"}


def test_dataflow_each_stage_consumes_what_an_earlier_one_makes(root):
    stages = load(root)
    made: set[str] = set()
    assert all((root / path).is_file() for path in CHECKED_IN.values())
    for name in STAGES:
        inputs = [d for d in stages[name]["deps"] if d.startswith("${paths.") and d not in CHECKED_IN]
        assert all(d in made for d in inputs), (name, inputs, made)
        made.update(map(path_of, stages[name]["outs"]))


def test_params_groups_exist_and_reward_reaches_only_grpo(root):
    stages = load(root)
    params = yaml.safe_load((root / "params.yaml").read_text())
    for stage in stages.values():
        for group in stage["params"]:   # a group, or one dotted key of a group
            node = params
            for part in group.split("."):
                assert part in node, group
                node = node[part]
    # The rollout partition scores with its own mix (partition.rollouts.reward), so a reward ablation
    # (no_format, rubric_only, ...) re-runs grpo only and trains on the same curriculum.
    assert [n for n, s in stages.items() if "reward" in s["params"]] == ["grpo"]
    assert "partition" in stages["partition"]["params"] and "rollouts" in params["partition"]
    assert "reward" in params["partition"]["rollouts"]


# The stages whose every uncached file is a stage metric or plot: DVC saves a run-cache entry for
# them, so an experiment that changes only what a later stage reads restores them instead of re-running.
RUN_CACHED = ["prepare", "partition", "sft", "grpo"]


def test_each_stage_keeps_its_full_metrics_in_git_and_dvc_lists_only_the_small_ones(root):
    """`dvc exp show` lists metrics files: the headline (top level) and the small files of the first four
    stages (stage metrics); evaluate's full file (~800 values) is a plain output. All stay in git."""
    dvc = yaml.safe_load((root / "dvc.yaml").read_text())
    for name, stage in dvc["stages"].items():
        entry = {"${paths.metrics}/" + f"{name}.json": {"cache": False}}
        assert entry in (stage["metrics"] if name in RUN_CACHED else stage["outs"]), name
    assert dvc["metrics"] == ["${paths.metrics}/headline.json"]
    assert {"${paths.metrics}/headline.json": {"cache": False}} in dvc["stages"]["evaluate"]["outs"]


def test_stages_before_evaluate_can_be_restored_from_the_run_cache(root):
    """DVC's rule (dvc/stage/__init__.py `run`, `no_cache_outs`): no run-cache entry for a stage with an
    output that is uncached and neither a metric nor a plot. Only evaluate has one."""
    def uncached(entries):
        return [path_of(e) for e in entries if isinstance(e, dict) and not next(iter(e.values())).get("cache", True)]

    stages = load(root)
    assert [name for name, stage in stages.items() if uncached(stage["outs"])] == ["evaluate"]
    for name in RUN_CACHED:
        assert uncached(stages[name].get("metrics", [])), name   # still in git: each commit has its numbers


def test_plots_are_png_images_each_once_and_each_made_by_a_stage(root):
    """Offline, DVC's HTML renders images only (its Vega plots load from a CDN); no plot twice."""
    dvc = yaml.safe_load((root / "dvc.yaml").read_text())
    staged = [path_of(p) for stage in dvc["stages"].values() for p in stage.get("plots", [])]
    plots = dvc["plots"] + staged
    assert all(isinstance(p, str) and p.endswith(".png") for p in plots) and len(set(plots)) == len(plots)
    made = {path_of(o) for stage in dvc["stages"].values() for o in stage["outs"]}
    for plot in dvc["plots"]:
        folder = plot.rsplit("/", 1)[0]
        assert plot in made or folder in made, plot


def test_hydra_composition_is_enabled(root):
    assert "enabled = true" in (root / ".dvc/config").read_text()
