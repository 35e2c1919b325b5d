"""The root of the config: ``Config`` (every group), then loading and validating params.yaml.

Types are enforced by OmegaConf when params.yaml is merged onto the schema (a string where a float
belongs, or an unknown key, fails naming the key); each group's ``validate`` catches values that
type-check but make no sense, and ``Config.validate`` adds the checks that span groups. Both run
before any stage does work.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ..format import STYLES
from .checks import ConfigError, _check
from .data import Data
from .evaluate import ApiBaseline, Evaluate
from .format import Format
from .judge import Judge
from .model import Model
from .partition import Partition
from .paths import Paths
from .reward import Reward
from .run import Launch, Tracking
from .synthesize import Synthesize
from .training import Grpo, Sft


@dataclass
class Config:
    seed: int
    paths: Paths
    data: Data
    format: Format
    model: Model
    partition: Partition
    sft: Sft
    grpo: Grpo
    reward: Reward
    judge: Judge
    eval_judge: Judge
    evaluate: Evaluate
    tracking: Tracking
    synthesize: Synthesize
    launch: Launch
    # the selected conf/baseline files (`-S 'baseline=[gpt-4o,psyllm]'`), by key; conf/evaluate lists their
    # values as evaluate.api_baselines (${oc.dict.values:baseline}), which is what evaluate reads and checks
    baseline: dict[str, ApiBaseline] = field(default_factory=dict)

    def validate(self, source: str = "params.yaml") -> None:
        """Each group's own checks, then the ones that span groups."""
        # numpy and torch take seeds in [0, 2**32): a negative one fails deep inside a stage otherwise
        _check(0 <= self.seed < 2**32, source, "seed", f"must be in [0, 2**32), got {self.seed}")
        for key in ("data", "format", "model", "partition", "sft", "grpo", "launch", "reward", "judge",
                    "eval_judge", "evaluate", "synthesize", "tracking"):
            getattr(self, key).validate(key, source)
        _check(self.sft.enabled or self.grpo.enabled, source, "sft.enabled",
               "sft and grpo are both disabled: there is nothing to train")
        # A one-stage split leaves the other stage no data; running it anyway would fail mid-pipeline.
        for method, stage in (("all_sft", "grpo"), ("all_grpo", "sft")):
            _check(self.partition.method != method or not getattr(self, stage).enabled, source, f"{stage}.enabled",
                   f"partition.method={method} gives {stage} no data: set {stage}.enabled=false")
        for stage in ("sft", "grpo"):
            getattr(self, stage).validate_world(self.launch.num_processes, stage, source)
        self.grpo.select_best.validate("grpo.select_best", source, list(self.reward.names))
        # select_best's kept step and the weights' average are one process's whole copy of the weights,
        # which a sharded launch holds on no process (select_best.py, weight_average.py)
        for key, on, what, off in (("grpo.select_best.enabled", self.grpo.select_best.enabled,
                                    "best-checkpoint selection keeps", "false"),
                                   ("grpo.average", self.grpo.average is not None, "the weights' average is", "null")):
            _check(not on or self.launch.name not in ("zero3", "fsdp"), source, key,
                   f"{what} a whole copy of the weights, which launch={self.launch.name} shards across processes: "
                   f"use launch=ddp or zero2, or set {key}={off}")
        for key, names in (("reward.names", self.reward.names),
                           ("partition.rollouts.reward.names", self.partition.rollouts.reward.names)):
            _check("emotion" not in names or "emotion" in STYLES[self.format.style], source, key,
                   f"the emotion reward needs an emotion span, which format.style={self.format.style!r} lacks")


def load_config(path: str | Path = "params.yaml", overrides: list[str] | None = None) -> DictConfig:
    """Load params.yaml into the typed schema and validate it; raise ConfigError naming the key."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path} not found: run `make params` (or `dvc exp run`) to compose it from conf/")
    try:
        raw = OmegaConf.load(path)
        if overrides:
            raw = OmegaConf.merge(raw, OmegaConf.from_dotlist(overrides))
        cfg = OmegaConf.merge(OmegaConf.structured(Config), raw)
    except OmegaConfBaseException as e:
        raise _schema_error(e, str(path)) from None
    validate(cfg, source=str(path))
    OmegaConf.set_readonly(cfg, True)
    return cfg


def validate(cfg: DictConfig, source: str = "params.yaml") -> None:
    """The semantic checks of a typed config (each group's ``validate``, then those across groups)."""
    try:
        config = OmegaConf.to_object(cfg)   # a value left missing (a baseline without a name) fails here
    except OmegaConfBaseException as e:
        raise _schema_error(e, source) from None
    config.validate(source)


def _schema_error(e: OmegaConfBaseException, source: str) -> ConfigError:
    return ConfigError(f"{source}: key '{getattr(e, 'full_key', None)}': {e.msg if hasattr(e, 'msg') else e}")



def typed(schema: type, node) -> DictConfig:
    """``node`` (a config node, a dict, or an object's attributes: what tools and tests pass) as a
    typed node of ``schema``, the schema's defaults filling in what it leaves out."""
    if not isinstance(node, (DictConfig, dict)):
        node = vars(node)
    return OmegaConf.merge(OmegaConf.structured(schema), node)


def params_hash(cfg: DictConfig) -> str:
    """A short stable hash of the resolved config, to tag runs made with identical settings."""
    text = OmegaConf.to_yaml(cfg, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def to_dict(node) -> Any:
    return OmegaConf.to_container(node, resolve=True)
