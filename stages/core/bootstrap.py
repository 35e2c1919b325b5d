"""The bootstrap policy of the rollout partition [ours; the paper's data has traces, the released data none].

``partition.rollouts.policy: bootstrap``. The rollout rule needs a reference policy that writes the four
spans, or every context scores ≈ 0 and everything is hard; the untrained backbone writes none, and a
cold-start SFT model comes *after* the partition. So partition makes its own: a short warm-up SFT (TRL
``SFTTrainer``, ``partition.rollouts.bootstrap.trainer``) from ``paths.base_model`` on a seeded slice of
the training dialogues (``bootstrap.fraction``). The slice's dialogues are not rolled out (the policy
has seen them, so they would look easier than they are); partition sends them to the easy split.

The checkpoint is cached under ``paths.rollouts_cache``/bootstrap-<key>, the key being everything that
makes it (base checkpoint fingerprint, the slice's examples, trainer settings, seed, model settings), so
re-partitioning (another threshold, reward mix, ablation row) reuses it; the rollout cache is keyed by
its fingerprint in turn. DVC tracks all of it through partition's own deps and params (prepared data,
base model, ``seed``, ``partition``, ``model``): the bootstrap is a step of that stage, not a stage of
its own, so the default pipeline (partition.method=trace) gains no stage and never trains it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import tempfile
from pathlib import Path

from .config import ConfigError, check_trainer_keys, to_dict
from .io import checkpoint_fingerprint

log = logging.getLogger("kardia.bootstrap")

META = "bootstrap.json"   # beside the weights: what a cache hit reports again


def slice_dialogues(train: list[dict], fraction: float, seed: int) -> set[str]:
    """A seeded random ``fraction`` of the training dialogues (at least one, never all)."""
    ids = sorted({ex["dialogue_id"] for ex in train})
    if len(ids) < 2:
        raise ConfigError(f"partition.rollouts.policy=bootstrap needs at least 2 training dialogues, got {len(ids)}")
    random.Random(seed).shuffle(ids)
    return set(ids[:min(len(ids) - 1, max(1, round(fraction * len(ids))))])


def cache_dir(cfg, examples: list[dict]) -> Path:
    base = Path(cfg.paths.base_model)
    blob = json.dumps({
        "base": checkpoint_fingerprint(base, "paths.base_model"),
        "examples": [[ex["id"], ex["prompt"], ex["completion"]] for ex in examples],
        "trainer": to_dict(cfg.partition.rollouts.bootstrap.trainer), "seed": cfg.seed,
        "max_length": cfg.model.max_length, "dtype": cfg.model.dtype, "lora": to_dict(cfg.model.lora),
    }, sort_keys=True, default=str)
    return Path(cfg.paths.rollouts_cache) / f"bootstrap-{hashlib.sha256(blob.encode()).hexdigest()[:24]}"


def train(cfg, examples: list[dict], out: Path) -> dict:
    """The warm-up SFT from the base checkpoint; saves the checkpoint (atomically) and its META."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from .modeling import apply_lora, load_checkpoint, save_checkpoint, set_threads

    check_trainer_keys(cfg, ("partition.rollouts.bootstrap",))   # a typo fails before the model loads
    trainer_cfg = to_dict(cfg.partition.rollouts.bootstrap.trainer)
    set_threads()
    model, tokenizer = load_checkpoint(cfg.paths.base_model, cfg.model.dtype)
    model = apply_lora(model, cfg.model.lora)
    data = Dataset.from_list([{"prompt": ex["prompt"], "completion": ex["completion"]} for ex in examples])
    with tempfile.TemporaryDirectory(prefix="bootstrap-") as tmp:
        args = SFTConfig(output_dir=tmp, seed=cfg.seed, max_length=cfg.model.max_length, **trainer_cfg)
        trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer)
        trainer.train()
    history = trainer.state.log_history
    # per logging step; a run shorter than logging_steps logs only its mean (train_loss)
    losses = [e["loss"] for e in history if "loss" in e] or [e["train_loss"] for e in history if "train_loss" in e]
    meta = {"steps": trainer.state.global_step, "examples": len(examples),
            "loss_start": losses[0] if losses else float("nan"), "loss_end": losses[-1] if losses else float("nan")}
    save_checkpoint(trainer.model, tokenizer, out,
                    extras=lambda d: (d / META).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n"))
    return meta


def ensure(cfg, train_examples: list[dict]) -> tuple[Path, set[str], dict[str, float]]:
    """(the bootstrap checkpoint, the slice's dialogue ids, metrics), training it unless cached."""
    chosen = slice_dialogues(train_examples, cfg.partition.rollouts.bootstrap.fraction, cfg.seed)
    examples = [ex for ex in train_examples if ex["dialogue_id"] in chosen]
    out = cache_dir(cfg, examples)
    trained = not (out / META).exists()
    if trained:
        log.info("bootstrap: warm-up SFT on %d examples of %d dialogues -> %s", len(examples), len(chosen), out)
        meta = train(cfg, examples, out)
    else:
        log.info("bootstrap: cache hit %s", out)
        meta = json.loads((out / META).read_text())
    return out, chosen, {"partition/bootstrap/dialogues": len(chosen), "partition/bootstrap/examples": len(examples),
                         "partition/bootstrap/steps": meta["steps"], "partition/bootstrap/loss_start": meta["loss_start"],
                         "partition/bootstrap/loss_end": meta["loss_end"], "partition/bootstrap/trained": float(trained)}
