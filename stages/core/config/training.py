"""The ``sft`` and ``grpo`` groups: what both share (``Training``), then each one's own fields.

TRL trainer settings are passed through as dicts (``SFTConfig(**cfg.sft.trainer)``) so any field of
the pinned TRL works without a schema change; the fields we rely on are checked here, and
``check_trainer_keys`` checks every key against the pinned TRL config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import DictConfig

from .checks import ConfigError, _check, _one_of
from .serving import ServerLifecycle

SFT_LOSSES = ("fused", "completion")
GRPO_LOGPROBS = ("fused", "plain")
GRPO_CREDITS = ("sequence", "causal", "spans")   # the keys of stages/core/grpo_credit.py WINDOWS
VLLM_MODES = ("server", "colocate")   # TRL's GRPOConfig.vllm_mode


@dataclass
class Training:
    enabled: bool
    max_examples: Optional[int]
    trainer: dict[str, Any] = field(default_factory=dict)
    # samples per optimizer step over all processes that the recipe asks for (the paper's); null: none.
    # per_device_train_batch_size x gradient_accumulation_steps x launch.num_processes must equal it.
    global_batch: Optional[int] = None

    def validate(self, where: str, source: str = "params.yaml") -> None:
        lr = self.trainer.get("learning_rate")
        _check(isinstance(lr, (int, float)) and lr > 0, source, f"{where}.trainer.learning_rate",
               f"must be a positive number, got {lr!r}")
        _check(self.trainer.get("per_device_train_batch_size", 1) > 0, source,
               f"{where}.trainer.per_device_train_batch_size", "must be positive")
        _check(self.max_examples is None or self.max_examples > 0, source,
               f"{where}.max_examples", "must be positive or null")
        steps = self.trainer.get("max_steps", -1)
        _check(isinstance(steps, int) and (steps == -1 or steps > 0), source, f"{where}.trainer.max_steps",
               f"must be a positive step count, or -1 to train num_train_epochs; got {steps!r}")

    def validate_world(self, world: int, where: str, source: str = "params.yaml") -> None:
        """The recipe's global batch, from the launch's world size (launch.num_processes)."""
        target = self.global_batch
        per_device, accumulation = (self.trainer.get("per_device_train_batch_size", 8),
                                    self.trainer.get("gradient_accumulation_steps", 1))
        _check(target is None or per_device * accumulation * world == target, source, f"{where}.global_batch",
               f"{where}.trainer.per_device_train_batch_size ({per_device}) x {where}.trainer."
               f"gradient_accumulation_steps ({accumulation}) x launch.num_processes ({world}) = "
               f"{per_device * accumulation * world}, not the recipe's {where}.global_batch ({target})")


@dataclass
class Sft(Training):
    loss: str = "fused"    # fused: TRL's own loss | completion: logits at labelled tokens only (sft_loss.py)

    def validate(self, where: str = "sft", source: str = "params.yaml") -> None:
        _one_of(self.loss, SFT_LOSSES, source, f"{where}.loss")
        super().validate(where, source)


@dataclass
class SelectBest:
    """GRPO's best checkpoint on a held-out dev slice of the hard prompts (stages/core/select_best.py)."""

    enabled: bool = False
    every_steps: int = 50          # optimizer steps between dev evaluations (and one at the end)
    dev_examples: int = 32         # hard prompts held out of training as the dev slice
    metric: str = "reward"         # reward (the weighted sum) or one of reward.names
    batch_size: int = 64           # greedy generation batch on the dev slice

    def validate(self, where: str, source: str, reward_names: list[str]) -> None:
        if not self.enabled:
            return
        metrics = ["reward", *reward_names]
        _check(self.metric in metrics, source, f"{where}.metric", f"{self.metric!r} is not one of {metrics}")
        for key in ("every_steps", "dev_examples", "batch_size"):
            _check(getattr(self, key) > 0, source, f"{where}.{key}", "must be positive")


@dataclass
class Grpo(Training):
    select_best: SelectBest = field(default_factory=SelectBest)
    logprobs: str = "fused"  # fused: TRL's chunked LM head | plain: the model's own logits (grpo_logprobs.py)
    print_completions: bool = False   # TRL's rich completion tables in the log (trainer_logs.py)
    credit: str = "sequence"   # sequence: TRL's one advantage per completion | causal, spans: per term (grpo_credit.py)
    seed: Optional[int] = None   # GRPO's sampling and prompt order; None: the run's seed
    average: Optional[float] = None   # decay of the saved weights' moving average; None: the last step's (weight_average.py)
    # trainer.vllm_mode=server: the launcher's `trl vllm-serve` (where it listens, its GPUs and memory
    # are the trainer's own vllm_server_* / vllm_* fields)
    vllm_server: Optional[ServerLifecycle] = None

    def validate(self, where: str = "grpo", source: str = "params.yaml") -> None:
        _check(self.seed is None or self.seed >= 0, source, f"{where}.seed", "must be >= 0 or null (the run's seed)")
        _check(self.average is None or 0 < self.average < 1, source, f"{where}.average",
               f"must be a decay in (0, 1) or null (the last step's weights), got {self.average}")
        _check(self.average is None or not self.select_best.enabled, source, f"{where}.average",
               "both decide which weights are saved: set grpo.select_best.enabled=false or grpo.average=null")
        _one_of(self.logprobs, GRPO_LOGPROBS, source, f"{where}.logprobs")
        _one_of(self.credit, GRPO_CREDITS, source, f"{where}.credit")
        aggregation = self.trainer.get("multi_objective_aggregation", "sum_then_normalize")
        _check(self.credit == "sequence" or aggregation == "sum_then_normalize", source, f"{where}.credit",
               f"credit={self.credit} splits the advantage of a sum; trainer.multi_objective_aggregation={aggregation!r}")
        super().validate(where, source)
        if self.trainer.get("use_vllm", False):
            mode = self.trainer.get("vllm_mode", "colocate")
            _check(mode in VLLM_MODES, source, f"{where}.trainer.vllm_mode",
                   f"{mode!r} is not one of {list(VLLM_MODES)}")
            _check(mode != "server" or self.vllm_server is not None, source, f"{where}.vllm_server",
                   "vllm_mode=server needs the server's lifecycle settings (conf/grpo/vllm_server.yaml has them)")

    def validate_world(self, world: int, where: str = "grpo", source: str = "params.yaml") -> None:
        super().validate_world(world, where, source)
        g = self.trainer.get("num_generations", 8)
        # TRL's own rule, checked here so a bad value fails before prepare rather than at grpo: completions
        # generated per step (per-device batch x processes x accumulation) must form whole groups.
        batch = world * self.trainer.get("per_device_train_batch_size", 8) * self.trainer.get(
            "steps_per_generation", self.trainer.get("gradient_accumulation_steps", 1))
        _check(g >= 2, source, f"{where}.trainer.num_generations", "GRPO needs at least 2 completions per prompt")
        _check(batch % g == 0, source, f"{where}.trainer.per_device_train_batch_size",
               f"{batch} completions per generation step (launch.num_processes={world}) is not a multiple of "
               f"{where}.trainer.num_generations ({g})")



def check_trainer_keys(cfg: DictConfig, stages: tuple[str, ...] = ("sft", "grpo"),
                       source: str = "params.yaml") -> None:
    """Every ``<stage>.trainer`` key is a field of the pinned TRL config it is passed to, so a typo
    fails naming the key (and the closest field) before any data or model is loaded. Not part of
    ``validate``: importing TRL takes seconds, which only the training stages pay anyway. A stage is
    ``sft``, ``grpo`` or ``partition.rollouts.bootstrap`` (the rollout partition's warm-up SFT)."""
    import dataclasses
    import difflib

    import trl
    from omegaconf import OmegaConf

    for stage in stages:
        config_cls = {"sft": trl.SFTConfig, "grpo": trl.GRPOConfig, "partition.rollouts.bootstrap": trl.SFTConfig}[stage]
        fields = {f.name for f in dataclasses.fields(config_cls)}
        for name in OmegaConf.select(cfg, f"{stage}.trainer"):
            if name not in fields:
                close = difflib.get_close_matches(name, fields, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ConfigError(f"{source}: key '{stage}.trainer.{name}': not a field of "
                                  f"trl.{config_cls.__name__} (trl {trl.__version__}){hint}")
