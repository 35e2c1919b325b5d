"""sft: supervised fine-tuning on the easy split, loss on the assistant turn only (TRL SFTTrainer)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from stages.core.config import check_trainer_keys
from stages.core.stage import stage_main
from stages.core.training import fit, load_examples, skip, window_mean, write_series

CHARTS = {"sft_loss": ("sft: training loss per logging step", ["loss"])}   # plots/sft_loss.png


def run(cfg) -> dict[str, float]:
    series = Path(cfg.paths.plots) / "sft_loss.csv"
    if not cfg.sft.enabled:
        return skip("sft", cfg.paths.base_model, cfg.paths.sft_model, series, ["loss"], CHARTS)
    from trl import SFTConfig, SFTTrainer

    check_trainer_keys(cfg, ("sft",))  # a typo fails here, not after the data and model load

    from stages.core.sft_loss import CompletionLossSFTTrainer
    trainer_class = CompletionLossSFTTrainer if cfg.sft.loss == "completion" else SFTTrainer

    data_path = Path(cfg.paths.partitioned) / "easy.jsonl"
    data = load_examples(data_path, cfg.sft.max_examples, ["prompt", "completion"])

    def make_trainer(model, tokenizer, output_dir):
        args = SFTConfig(output_dir=output_dir, seed=cfg.seed, max_length=cfg.model.max_length,
                         **OmegaConf.to_container(cfg.sft.trainer))
        return trainer_class(model=model, args=args, train_dataset=data, processing_class=tokenizer)

    history, metrics = fit(cfg, "sft", cfg.paths.base_model, data_path, cfg.paths.sft_model, make_trainer)
    rows = write_series(series, history, {"loss": "loss"}, CHARTS)
    return {
        **metrics,
        "train/examples": len(data),
        "train/loss_start": window_mean(rows, "loss", first=True),
        "train/loss_end": window_mean(rows, "loss", first=False),
    }


main = stage_main("sft", run, __doc__)

if __name__ == "__main__":
    raise SystemExit(main())
