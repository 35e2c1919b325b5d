"""grpo: GRPO on the hard split from the SFT checkpoint, rewarded by Rubric-ERL (TRL GRPOTrainer).

r = Σ reward.weights[i] · reward.names[i]  over  format, emotion (exact match) and rubric (judge).
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from stages.core.config import check_trainer_keys
from stages.core.format import ResponseFormat
from stages.core.io import read_jsonl
from stages.core.judges import DIMENSIONS, build_judge
from stages.core.rewards import COLUMNS, build_reward_funcs, with_group_stats
from stages.core.select_best import SelectBestCallback, split_dev
from stages.core.stage import stage_main
from stages.core.trainer_logs import without_completion_tables
from stages.core.training import examples_dataset, fit, skip, window_mean, write_series
from stages.core.weight_average import WeightAverageCallback


def charts(names: list[str]) -> dict[str, tuple[str, list[str]]]:
    """plots/grpo_rewards.png and plots/grpo_judge.png (empty where no judge scores: rubric not in
    reward.names), both always written: dvc.yaml declares them."""
    return {"grpo_rewards": ("grpo: mean reward per logging step", ["reward", *(f"reward/{n}" for n in names)]),
            "grpo_judge": ("grpo: mean judge score (1-5) per logging step", [f"judge/{d}" for d in DIMENSIONS])}


def run(cfg) -> dict[str, float]:
    names = list(cfg.reward.names)
    series = Path(cfg.paths.plots) / "grpo_rewards.csv"
    if not cfg.grpo.enabled:
        return skip("grpo", cfg.paths.sft_model, cfg.paths.grpo_model, series,
                    ["reward", *(f"reward/{n}" for n in names)], charts(names))
    from trl import GRPOConfig, GRPOTrainer

    from stages.core.grpo_credit import credit_windows, with_credit
    from stages.core.grpo_logprobs import PlainLogprobGRPOTrainer

    check_trainer_keys(cfg, ("grpo",))  # a typo fails here, not after the data and model load

    fmt = ResponseFormat.from_config(cfg.format)
    judge = build_judge(cfg.judge, cfg.paths.judge_cache)
    if "rubric" in names and cfg.judge.preflight:
        judge.preflight()  # fail in seconds, not after the first generation step
    group = cfg.grpo.trainer.get("num_generations", 8)
    reward_funcs = [with_group_stats(f, group)
                    for f in build_reward_funcs(names, fmt, judge, cfg.reward.max_judge_failure_rate)]
    data_path = Path(cfg.paths.partitioned) / "hard.jsonl"
    columns = ["prompt", *COLUMNS]   # what the reward functions read
    examples, dev = read_jsonl(data_path), []
    if cfg.grpo.select_best.enabled:   # the dev slice is held out of training: dev_examples fewer prompts
        examples, dev = split_dev(examples, cfg.grpo.select_best.dev_examples, cfg.seed)
        dev = [{c: ex[c] for c in columns} for ex in dev]
    data = examples_dataset(examples, data_path, cfg.grpo.max_examples, columns)
    keeper = None   # what decides the saved weights, if anything: the best dev step or the average

    trainer_class = PlainLogprobGRPOTrainer if cfg.grpo.logprobs == "plain" else GRPOTrainer
    if not cfg.grpo.print_completions:
        trainer_class = without_completion_tables(trainer_class)

    def make_trainer(model, tokenizer, output_dir):
        nonlocal keeper
        cls = trainer_class
        if cfg.grpo.credit != "sequence":
            cls = with_credit(trainer_class, credit_windows(cfg.grpo.credit, tokenizer, names, fmt.spans))
        seed = cfg.seed if cfg.grpo.seed is None else cfg.grpo.seed
        args = GRPOConfig(output_dir=output_dir, seed=seed, reward_weights=list(cfg.reward.weights),
                          **OmegaConf.to_container(cfg.grpo.trainer))
        trainer = cls(model=model, reward_funcs=reward_funcs, args=args, train_dataset=data,
                      processing_class=tokenizer)
        if dev:   # loads the best step's weights into the model when training ends, before fit saves it
            keeper = SelectBestCallback(cfg, tokenizer, dev, reward_funcs, names, list(cfg.reward.weights))
            trainer.add_callback(keeper)
        elif cfg.grpo.average is not None:   # likewise the weights' moving average
            keeper = WeightAverageCallback(cfg.grpo.average)
            trainer.add_callback(keeper)
        return trainer

    history, metrics = fit(cfg, "grpo", cfg.paths.sft_model, data_path, cfg.paths.grpo_model, make_trainer)
    columns = {"reward": "reward", **{f"reward/{n}": f"rewards/{n}/mean" for n in names},
               "zero_std/reward": "frac_reward_zero_std", **{f"zero_std/{n}": f"zero_std/{n}" for n in names}}
    if "rubric" in names:
        columns.update({f"judge/{d}": f"judge/{d}" for d in (*DIMENSIONS, "failure_rate")})
    rows = write_series(series, history, columns, charts(names))
    out = {**metrics, "train/prompts": len(data), **judge.usage.metrics(),
           **(keeper.metrics() if keeper is not None else {})}
    for name in ("reward", *(f"reward/{n}" for n in names)):
        out[f"{name}_start"] = window_mean(rows, name, first=True)
        out[f"{name}_end"] = window_mean(rows, name, first=False)
    for name in ("reward", *names):  # share of groups with no spread, over the whole run
        out[f"zero_std/{name}"] = window_mean(rows, f"zero_std/{name}", first=True, fraction=1.0)
    return out


main = stage_main("grpo", run, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
