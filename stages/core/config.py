"""Typed load and validation of params.yaml, the composed config every stage reads.

The schema below mirrors conf/. Types are enforced by OmegaConf when params.yaml is merged onto
it (a string where a float belongs, or an unknown key, fails naming the key); the semantic checks in
``validate`` catch values that type-check but make no sense. Both run before any stage does work.
TRL trainer settings are passed through as dicts (``SFTConfig(**cfg.sft.trainer)``) so any field of
the pinned TRL works without a schema change; the fields we rely on are checked here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .errors import KardiaError
from .format import STYLES


class ConfigError(KardiaError, ValueError):
    """A params.yaml value that cannot work; the message names the key."""


@dataclass
class Paths:
    corpus: str
    rejects: str
    prepared: str
    partitioned: str
    base_model: str
    sft_model: str
    grpo_model: str
    checkpoints: str
    metrics: str
    plots: str
    eval_plots: str
    reports: str
    paper_numbers: str
    mlflow_db: str
    judge_cache: str
    rollouts_cache: str
    synthesized: str
    prompts: str


@dataclass
class Limits:
    max_exchanges: int
    max_turn_chars: int
    max_person_chars: int


@dataclass
class Dedup:
    exact: str
    near: str
    near_threshold: float


@dataclass
class Data:
    source: str
    test_fraction: float
    history: str
    max_history_turns: int
    max_reject_rate: float
    limits: Limits
    dedup: Dedup
    # source=synthetic
    n_dialogues: Optional[int] = None
    n_personas: Optional[int] = None
    max_exchanges: Optional[int] = None
    # source=kardiabench
    hf_dataset: Optional[str] = None
    revision: Optional[str] = None
    token_env: Optional[str] = None
    path: Optional[str] = None


@dataclass
class Format:
    style: str
    system_prompt: str


@dataclass
class Lora:
    enabled: bool
    r: int
    alpha: int
    dropout: float
    target_modules: list[str]


@dataclass
class Model:
    name: str
    source: str
    name_or_path: Optional[str]
    vocab_size: Optional[int]
    hidden_size: Optional[int]
    intermediate_size: Optional[int]
    num_hidden_layers: Optional[int]
    num_attention_heads: Optional[int]
    num_key_value_heads: Optional[int]
    max_position_embeddings: Optional[int]
    max_length: int
    dtype: str
    lora: Lora
    license: str = "other"     # the model card's `license` (model_card.py)


@dataclass
class Rollouts:
    policy: str
    num_generations: int
    temperature: float
    top_p: float
    max_new_tokens: int
    batch_size: int
    max_contexts: Optional[int]
    resolve_threshold: float
    easy_min_rate: float


@dataclass
class Partition:
    method: str
    max_fail_rate: float
    min_solved_rate: float
    rollouts: Rollouts
    easy_fraction: Optional[float]
    histogram_bins: int


@dataclass
class Training:
    enabled: bool
    max_examples: Optional[int]
    trainer: dict[str, Any] = field(default_factory=dict)
    # samples per optimizer step over all processes that the recipe asks for (the paper's); null: none.
    # per_device_train_batch_size x gradient_accumulation_steps x launch.num_processes must equal it.
    global_batch: Optional[int] = None


@dataclass
class Sft(Training):
    loss: str = "fused"    # fused: TRL's own loss | completion: logits at labelled tokens only (sft_loss.py)


@dataclass
class VllmSizes:
    """What one vLLM engine takes: evaluate.vllm (one offline engine per model, torn down before the
    next) and judge.serve (`vllm serve` for stages.serve_judge)."""

    tensor_parallel_size: int = 1      # its GPUs (a served judge gets them after the training ones)
    max_model_len: Optional[int] = None
    gpu_memory_utilization: float = 0.9


@dataclass
class ServerLifecycle:
    """A vLLM server the project starts and stops itself (stages/core/serving.py)."""

    startup_timeout_s: float = 900.0   # until its /health answers; loading a 7-8B model takes minutes
    stop_grace_s: float = 30.0         # SIGTERM, then SIGKILL after this long


@dataclass
class Grpo(Training):
    logprobs: str = "fused"  # fused: TRL's chunked LM head | plain: the model's own logits (grpo_logprobs.py)
    print_completions: bool = False   # TRL's rich completion tables in the log (trainer_logs.py)
    # trainer.vllm_mode=server: the launcher's `trl vllm-serve` (where it listens, its GPUs and memory
    # are the trainer's own vllm_server_* / vllm_* fields)
    vllm_server: Optional[ServerLifecycle] = None


@dataclass
class JudgeServe(ServerLifecycle, VllmSizes):
    """`python -m stages.serve_judge`: `vllm serve <model>` at the judge's base_url."""


@dataclass
class Reward:
    names: list[str]
    weights: list[float]
    max_judge_failure_rate: float


@dataclass
class Judge:
    """One judge config (conf/judge/); composed twice, as `judge` (grpo) and `eval_judge` (evaluate)."""

    backend: str
    rubric: str = "kardia_v1"                # stages/core/judges/rubrics/<rubric>.yaml
    model: Optional[str] = None              # openai: served model name; hf: local path or hub id
    base_url: Optional[str] = None           # openai: ".../v1"
    api_key_env: Optional[str] = None        # openai: name of the env var holding the key (null: none)
    temperature: Optional[float] = 0.0       # openai: null = not sent (GPT-5 models take only their default)
    max_tokens: int = 512
    # openai: the request field max_tokens goes in. OpenAI's reasoning models (GPT-5, o-series) refuse
    # max_tokens and take max_completion_tokens, which also bounds their reasoning tokens.
    max_tokens_field: str = "max_tokens"
    reasoning_effort: Optional[str] = None   # openai: sent when set (OpenAI reasoning models: minimal ... high)
    concurrency: int = 16
    timeout_s: float = 60.0
    max_retries: int = 4
    backoff_s: float = 1.0
    cache: bool = True
    preflight: bool = True
    batch_size: int = 8                      # hf
    dtype: str = "float32"                   # hf
    chat_template_kwargs: Optional[dict[str, Any]] = None   # openai: sent in each request (vLLM: Qwen3 thinking off)
    serve: Optional[JudgeServe] = None       # openai: how stages.serve_judge starts its server


@dataclass
class ApiBaseline:
    name: str
    base_url: str
    model: str
    api_key_env: Optional[str] = None
    timeout_s: float = 60.0
    concurrency: int = 4
    max_retries: int = 4       # per request, for timeouts, connection errors, 429 and 5xx only
    backoff_s: float = 1.0


@dataclass
class Evaluate:
    models: list[str]
    max_examples: Optional[int]
    batch_size: int
    max_new_tokens: int
    do_sample: bool
    backend: str = "hf"
    min_judge_coverage: float = 0.95
    api_baselines: list[ApiBaseline] = field(default_factory=list)
    vllm: VllmSizes = field(default_factory=VllmSizes)


@dataclass
class Tracking:
    experiment_name: str


@dataclass
class Launch:
    """How sft and grpo are started (conf/launch/, stages/core/launch.py)."""

    name: str
    num_processes: int
    config_file: Optional[str]    # accelerate config, relative to the repository; null for single


@dataclass
class SynthFilters:
    persona_drift: bool
    emotion_jump: bool
    structure: bool


@dataclass
class OpenAIBackend:
    base_url: str
    model: str
    api_key_env: str
    concurrency: int
    timeout_s: float
    max_retries: int
    temperature: float
    max_tokens: int


@dataclass
class Synthesize:
    backend: str
    n_dialogues: int
    n_personas: int
    seeds_path: Optional[str]
    max_exchanges: int
    max_revisions: int
    prompts: str
    filters: SynthFilters
    openai: OpenAIBackend


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


# What the code can do; config values outside these sets fail at load time.
DATA_SOURCES = ("synthetic", "kardiabench")
DEDUP_POLICIES = ("drop", "keep")
SYNTH_BACKENDS = ("embedded", "openai")
HISTORY_MODES = ("full", "response_only")
MODEL_SOURCES = ("scratch", "hub")
PARTITION_METHODS = ("trace", "rollouts", "random", "all_sft", "all_grpo")
REWARD_NAMES = ("format", "emotion", "rubric")
JUDGE_BACKENDS = ("embedded", "openai", "hf")
MAX_TOKENS_FIELDS = ("max_tokens", "max_completion_tokens")
REASONING_EFFORTS = ("minimal", "low", "medium", "high")
EVAL_MODELS = ("base", "sft", "grpo")
SFT_LOSSES = ("fused", "completion")
GRPO_LOGPROBS = ("fused", "plain")
GENERATION_BACKENDS = ("hf", "vllm")
VLLM_MODES = ("server", "colocate")   # TRL's GRPOConfig.vllm_mode
DTYPES = ("float32", "bfloat16", "float16")


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
        key = getattr(e, "full_key", None)
        raise ConfigError(f"{path}: key '{key}': {e.msg if hasattr(e, 'msg') else e}") from None
    validate(cfg, source=str(path))
    OmegaConf.set_readonly(cfg, True)
    return cfg


def _check(ok: bool, source: str, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{source}: key '{key}': {message}")


ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")  # what a shell exports; a key pasted here is not one


def _env_name(value, source: str, key: str) -> None:
    """An ``*_env`` setting names an environment variable. The value is never echoed: when a key is
    pasted here, the error message (and any log of it) must not carry the key."""
    _check(value is None or ENV_NAME.fullmatch(str(value)) is not None, source, key,
           "must be the NAME of an environment variable (upper case, digits, '_'), never the key itself "
           "(the value is not shown here)")


def _url(value, source: str, key: str) -> None:
    """An http(s) URL without credentials in it (they would reach logs, MLflow and cache keys)."""
    from urllib.parse import urlsplit

    parts = urlsplit(str(value or ""))
    _check(parts.username is None and parts.password is None, source, key,
           "has credentials in it (user:password@): put the key in an environment variable and name it in "
           "api_key_env (the URL is not shown here)")
    _check(parts.scheme in ("http", "https") and bool(parts.netloc), source, key,
           f"must be an http(s) URL, got {value!r}")


def _one_of(cfg: DictConfig, key: str, allowed: tuple, source: str) -> None:
    value = OmegaConf.select(cfg, key)
    _check(value in allowed, source, key, f"{value!r} is not one of {list(allowed)}")


def validate(cfg: DictConfig, source: str = "params.yaml") -> None:
    # numpy and torch take seeds in [0, 2**32): a negative one fails deep inside a stage otherwise
    _check(0 <= cfg.seed < 2**32, source, "seed", f"must be in [0, 2**32), got {cfg.seed}")
    _one_of(cfg, "data.source", DATA_SOURCES, source)
    _one_of(cfg, "data.history", HISTORY_MODES, source)
    _check(0 < cfg.data.test_fraction < 1, source, "data.test_fraction", "must be in (0, 1)")
    if cfg.data.source == "synthetic":
        for key in ("n_dialogues", "n_personas", "max_exchanges"):
            _check(cfg.data[key] is not None and cfg.data[key] > 0, source, f"data.{key}", "must be positive")
    else:
        _check(bool(cfg.data.path) or bool(cfg.data.hf_dataset), source, "data.path",
               "data.source=kardiabench needs data.path (local files) or data.hf_dataset (hub id)")
        _check(bool(cfg.data.path) or bool(cfg.data.revision), source, "data.revision",
               "pin a hub revision (branch, tag or commit sha)")
    _check(cfg.data.max_history_turns >= 0, source, "data.max_history_turns", "must be >= 0")
    _check(0 <= cfg.data.max_reject_rate <= 1, source, "data.max_reject_rate", "must be in [0, 1]")
    for key in ("max_exchanges", "max_turn_chars", "max_person_chars"):
        _check(cfg.data.limits[key] > 0, source, f"data.limits.{key}", "must be positive")
    _one_of(cfg, "data.dedup.exact", DEDUP_POLICIES, source)
    _one_of(cfg, "data.dedup.near", DEDUP_POLICIES, source)
    _check(0 < cfg.data.dedup.near_threshold <= 1, source, "data.dedup.near_threshold", "must be in (0, 1]")

    _one_of(cfg, "format.style", tuple(STYLES), source)
    _check("{persona}" in cfg.format.system_prompt, source, "format.system_prompt",
           "must contain the {persona} slot")

    _one_of(cfg, "model.source", MODEL_SOURCES, source)
    _one_of(cfg, "model.dtype", DTYPES, source)
    if cfg.model.source == "scratch":
        for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                    "num_attention_heads", "num_key_value_heads", "max_position_embeddings"):
            value = cfg.model[key]
            _check(value is not None and value > 0, source, f"model.{key}",
                   "a model built from scratch needs a positive size")
        _check(cfg.model.hidden_size % cfg.model.num_attention_heads == 0, source,
               "model.hidden_size", "must be divisible by model.num_attention_heads")
    else:
        _check(bool(cfg.model.name_or_path), source, "model.name_or_path",
               "a hub backbone needs a model id or a local path")
    _check(cfg.model.max_length > 0, source, "model.max_length", "must be positive")

    _one_of(cfg, "partition.method", PARTITION_METHODS, source)
    for key in ("max_fail_rate", "min_solved_rate"):
        _check(0 <= cfg.partition[key] <= 1, source, f"partition.{key}", "must be in [0, 1]")
    ro = cfg.partition.rollouts
    _check(bool(ro.policy), source, "partition.rollouts.policy", "'base' or a checkpoint directory")
    _check(ro.num_generations >= 1, source, "partition.rollouts.num_generations", "must be >= 1")
    for key in ("max_new_tokens", "batch_size"):
        _check(ro[key] > 0, source, f"partition.rollouts.{key}", "must be positive")
    _check(ro.temperature > 0, source, "partition.rollouts.temperature", "must be positive (sampling)")
    _check(0 < ro.top_p <= 1, source, "partition.rollouts.top_p", "must be in (0, 1]")
    _check(ro.max_contexts is None or ro.max_contexts > 0, source, "partition.rollouts.max_contexts",
           "must be positive or null")
    for key in ("resolve_threshold", "easy_min_rate"):
        _check(0 <= ro[key] <= 1, source, f"partition.rollouts.{key}", "must be in [0, 1]")
    _check(cfg.partition.histogram_bins > 0, source, "partition.histogram_bins", "must be positive")
    fraction = cfg.partition.easy_fraction
    _check(fraction is None or 0 < fraction < 1, source, "partition.easy_fraction", "must be in (0, 1) or null")
    _one_of(cfg, "sft.loss", SFT_LOSSES, source)
    _one_of(cfg, "grpo.logprobs", GRPO_LOGPROBS, source)
    _check(cfg.sft.enabled or cfg.grpo.enabled, source, "sft.enabled",
           "sft and grpo are both disabled: there is nothing to train")
    # A one-stage split leaves the other stage no data; running it anyway would fail mid-pipeline.
    for method, stage in (("all_sft", "grpo"), ("all_grpo", "sft")):
        _check(cfg.partition.method != method or not cfg[stage].enabled, source, f"{stage}.enabled",
               f"partition.method={method} gives {stage} no data: set {stage}.enabled=false")

    for stage in ("sft", "grpo"):
        trainer = cfg[stage].trainer
        lr = trainer.get("learning_rate")
        _check(isinstance(lr, (int, float)) and lr > 0, source, f"{stage}.trainer.learning_rate",
               f"must be a positive number, got {lr!r}")
        _check(trainer.get("per_device_train_batch_size", 1) > 0, source,
               f"{stage}.trainer.per_device_train_batch_size", "must be positive")
        _check(cfg[stage].max_examples is None or cfg[stage].max_examples > 0, source,
               f"{stage}.max_examples", "must be positive or null")
        steps = trainer.get("max_steps", -1)
        _check(isinstance(steps, int) and (steps == -1 or steps > 0), source, f"{stage}.trainer.max_steps",
               f"must be a positive step count, or -1 to train num_train_epochs; got {steps!r}")
    from .launch import validate_launch

    validate_launch(cfg, source)
    world = cfg.launch.num_processes
    for stage in ("sft", "grpo"):   # the recipe's global batch, from the launch's world size
        trainer, target = cfg[stage].trainer, cfg[stage].global_batch
        per_device, accumulation = (trainer.get("per_device_train_batch_size", 8),
                                    trainer.get("gradient_accumulation_steps", 1))
        _check(target is None or per_device * accumulation * world == target, source, f"{stage}.global_batch",
               f"{stage}.trainer.per_device_train_batch_size ({per_device}) x {stage}.trainer."
               f"gradient_accumulation_steps ({accumulation}) x launch.num_processes ({world}) = "
               f"{per_device * accumulation * world}, not the recipe's {stage}.global_batch ({target})")
    if cfg.grpo.trainer.get("use_vllm", False):
        mode = cfg.grpo.trainer.get("vllm_mode", "colocate")
        _check(mode in VLLM_MODES, source, "grpo.trainer.vllm_mode", f"{mode!r} is not one of {list(VLLM_MODES)}")
        _check(mode != "server" or cfg.grpo.vllm_server is not None, source, "grpo.vllm_server",
               "vllm_mode=server needs the server's lifecycle settings (conf/grpo/vllm_server.yaml has them)")
    g = cfg.grpo.trainer.get("num_generations", 8)
    # TRL's own rule, checked here so a bad value fails before prepare rather than at grpo: completions
    # generated per step (per-device batch x processes x accumulation) must form whole groups.
    batch = world * cfg.grpo.trainer.get("per_device_train_batch_size", 8) * cfg.grpo.trainer.get(
        "steps_per_generation", cfg.grpo.trainer.get("gradient_accumulation_steps", 1))
    _check(g >= 2, source, "grpo.trainer.num_generations", "GRPO needs at least 2 completions per prompt")
    _check(batch % g == 0, source, "grpo.trainer.per_device_train_batch_size",
           f"{batch} completions per generation step (launch.num_processes={world}) is not a multiple of "
           f"grpo.trainer.num_generations ({g})")

    names, weights = list(cfg.reward.names), list(cfg.reward.weights)
    for name in names:
        _check(name in REWARD_NAMES, source, "reward.names", f"unknown reward {name!r}; known: {list(REWARD_NAMES)}")
    _check(len(set(names)) == len(names) and names, source, "reward.names", "must be non-empty and unique")
    _check(len(weights) == len(names), source, "reward.weights",
           f"has {len(weights)} values for {len(names)} reward.names {names}")
    _check(all(w >= 0 for w in weights) and sum(weights) > 0, source, "reward.weights",
           "must be non-negative with a positive sum")
    _check("emotion" not in names or "emotion" in STYLES[cfg.format.style], source, "reward.names",
           f"the emotion reward needs an emotion span, which format.style={cfg.format.style!r} lacks")
    _check(0 <= cfg.reward.max_judge_failure_rate <= 1, source, "reward.max_judge_failure_rate",
           "must be in [0, 1]")

    for key in ("judge", "eval_judge"):
        validate_judge(cfg[key], key, source)
    for name in cfg.evaluate.models:
        _check(name in EVAL_MODELS, source, "evaluate.models", f"unknown model {name!r}; known: {list(EVAL_MODELS)}")
    _check(cfg.evaluate.batch_size > 0, source, "evaluate.batch_size", "must be positive")
    _check(cfg.evaluate.max_examples is None or cfg.evaluate.max_examples > 0, source, "evaluate.max_examples",
           "must be positive or null (all test examples)")
    _check(cfg.evaluate.max_new_tokens > 0, source, "evaluate.max_new_tokens", "must be positive")
    _one_of(cfg, "evaluate.backend", GENERATION_BACKENDS, source)
    _check_vllm_sizes(cfg.evaluate.vllm, "evaluate.vllm", source)
    _check(0 <= cfg.evaluate.min_judge_coverage <= 1, source, "evaluate.min_judge_coverage", "must be in [0, 1]")
    seen = set(cfg.evaluate.models)
    for i, b in enumerate(cfg.evaluate.api_baselines):
        key = f"evaluate.api_baselines[{i}]"
        _check(re.fullmatch(r"[A-Za-z0-9_.-]+", b.name or "") is not None, source, f"{key}.name",
               f"{b.name!r}: use letters, digits, '_', '.', '-' (it becomes part of metric names)")
        _check(b.name not in seen and b.name not in EVAL_MODELS, source, f"{key}.name",
               f"{b.name!r} is already a model name")
        seen.add(b.name)
        _url(b.base_url, source, f"{key}.base_url")
        _env_name(b.api_key_env, source, f"{key}.api_key_env")
        _check(bool(b.model), source, f"{key}.model", "must name the served model")
        _check(b.timeout_s > 0, source, f"{key}.timeout_s", "must be positive")
        _check(b.concurrency > 0, source, f"{key}.concurrency", "must be positive")
        _check(b.max_retries >= 0 and b.backoff_s >= 0, source, f"{key}.max_retries",
               "max_retries and backoff_s must be >= 0")

    syn = cfg.synthesize
    _one_of(cfg, "synthesize.backend", SYNTH_BACKENDS, source)
    for key in ("n_dialogues", "n_personas", "max_exchanges"):
        _check(syn[key] > 0, source, f"synthesize.{key}", "must be positive")
    _check(syn.max_revisions >= 0, source, "synthesize.max_revisions", "must be >= 0")
    _check(bool(syn.prompts), source, "synthesize.prompts", "a prompt template version")
    # The embedded backend replays its own scripted dialogues (persona pool and situation tables):
    # scenario seeds give it nothing to play, so only the LLM backend takes them.
    _check(syn.seeds_path is None or syn.backend == "openai", source, "synthesize.seeds_path",
           "scenario seeds need synthesize.backend=openai (the embedded backend uses its own pools)")
    for key in ("concurrency", "timeout_s"):
        _check(syn.openai[key] > 0, source, f"synthesize.openai.{key}", "must be positive")
    _check(syn.openai.max_retries >= 0, source, "synthesize.openai.max_retries", "must be >= 0")
    _check(syn.openai.max_tokens > 0, source, "synthesize.openai.max_tokens", "must be positive")
    _url(syn.openai.base_url, source, "synthesize.openai.base_url")
    _env_name(syn.openai.api_key_env, source, "synthesize.openai.api_key_env")
    _env_name(cfg.data.token_env, source, "data.token_env")


def check_trainer_keys(cfg: DictConfig, stages: tuple[str, ...] = ("sft", "grpo"),
                       source: str = "params.yaml") -> None:
    """Every ``<stage>.trainer`` key is a field of the pinned TRL config it is passed to, so a typo
    fails naming the key (and the closest field) before any data or model is loaded. Not part of
    ``validate``: importing TRL takes seconds, which only the training stages pay anyway."""
    import dataclasses
    import difflib

    import trl

    for stage in stages:
        config_cls = {"sft": trl.SFTConfig, "grpo": trl.GRPOConfig}[stage]
        fields = {f.name for f in dataclasses.fields(config_cls)}
        for name in cfg[stage].trainer:
            if name not in fields:
                close = difflib.get_close_matches(name, fields, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ConfigError(f"{source}: key '{stage}.trainer.{name}': not a field of "
                                  f"trl.{config_cls.__name__} (trl {trl.__version__}){hint}")


def validate_judge(judge: DictConfig, key: str, source: str) -> None:
    from .judges.rubric import RUBRIC_DIR

    _check(judge.backend in JUDGE_BACKENDS, source, f"{key}.backend",
           f"{judge.backend!r} is not one of {list(JUDGE_BACKENDS)}")
    rubrics = sorted(p.stem for p in RUBRIC_DIR.glob("*.yaml"))
    _check(judge.rubric in rubrics, source, f"{key}.rubric", f"{judge.rubric!r} is not one of {rubrics}")
    if judge.backend in ("openai", "hf"):
        _check(bool(judge.model), source, f"{key}.model", f"the {judge.backend} judge needs a model")
        _check(judge.max_tokens > 0, source, f"{key}.max_tokens", "must be positive")
        _check(judge.temperature is None or judge.temperature >= 0, source, f"{key}.temperature",
               "must be >= 0, or null (not sent: the model's default)")
    if judge.backend == "openai":
        _url(judge.base_url, source, f"{key}.base_url")
        _check(judge.concurrency > 0, source, f"{key}.concurrency", "must be positive")
        _check(judge.timeout_s > 0, source, f"{key}.timeout_s", "must be positive")
        _check(judge.max_retries >= 0, source, f"{key}.max_retries", "must be >= 0")
        _check(judge.backoff_s >= 0, source, f"{key}.backoff_s", "must be >= 0")
        _env_name(judge.api_key_env, source, f"{key}.api_key_env")
        _check(judge.max_tokens_field in MAX_TOKENS_FIELDS, source, f"{key}.max_tokens_field",
               f"{judge.max_tokens_field!r} is not one of {list(MAX_TOKENS_FIELDS)}")
        _check(judge.reasoning_effort is None or judge.reasoning_effort in REASONING_EFFORTS, source,
               f"{key}.reasoning_effort", f"{judge.reasoning_effort!r} is not null or one of {list(REASONING_EFFORTS)}")
        if judge.serve is not None:
            _check_vllm_sizes(judge.serve, f"{key}.serve", source)
            _check(judge.serve.startup_timeout_s > 0, source, f"{key}.serve.startup_timeout_s", "must be positive")
    if judge.backend == "hf":
        _check(judge.batch_size > 0, source, f"{key}.batch_size", "must be positive")
        _check(judge.dtype in DTYPES, source, f"{key}.dtype", f"{judge.dtype!r} is not one of {list(DTYPES)}")


def _check_vllm_sizes(node, key: str, source: str) -> None:
    _check(node.tensor_parallel_size >= 1, source, f"{key}.tensor_parallel_size", "must be >= 1")
    _check(node.max_model_len is None or node.max_model_len > 0, source, f"{key}.max_model_len",
           "must be positive or null (the model's own)")
    _check(0 < node.gpu_memory_utilization <= 1, source, f"{key}.gpu_memory_utilization", "must be in (0, 1]")


def params_hash(cfg: DictConfig) -> str:
    """A short stable hash of the resolved config, to tag runs made with identical settings."""
    text = OmegaConf.to_yaml(cfg, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def to_dict(node) -> Any:
    return OmegaConf.to_container(node, resolve=True)
