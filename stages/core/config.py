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
from .evaluation.headline import DEFAULT_HEADLINE, MAX_HEADLINE
from .format import STYLES


class ConfigError(KardiaError, ValueError):
    """A params.yaml value that cannot work; the message names the key."""


def _check(ok: bool, source: str, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{source}: key '{key}': {message}")


def _one_of(value, allowed: tuple, source: str, key: str) -> None:
    _check(value in allowed, source, key, f"{value!r} is not one of {list(allowed)}")


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


# What the code can do; config values outside these sets fail at load time.
DATA_SOURCES = ("synthetic", "kardiabench")
DEDUP_POLICIES = ("drop", "keep")
SYNTH_BACKENDS = ("embedded", "openai")
HISTORY_MODES = ("full", "response_only")
MODEL_SOURCES = ("scratch", "hub")
PARTITION_METHODS = ("trace", "rollouts", "random", "all_sft", "all_grpo")
REWARD_NAMES = ("format", "emotion", "rubric")
MODEL_LOGGING = ("transformers", "files", "none")
JUDGE_BACKENDS = ("embedded", "openai", "hf")
MAX_TOKENS_FIELDS = ("max_tokens", "max_completion_tokens")
REASONING_EFFORTS = ("minimal", "low", "medium", "high")
EVAL_MODELS = ("base", "sft", "grpo")
SFT_LOSSES = ("fused", "completion")
GRPO_LOGPROBS = ("fused", "plain")
GENERATION_BACKENDS = ("hf", "vllm")
VLLM_MODES = ("server", "colocate")   # TRL's GRPOConfig.vllm_mode
DTYPES = ("float32", "bfloat16", "float16")

# Each group below validates itself (``validate(where, source)``: where = its key in params.yaml, for
# error messages); ``Config.validate`` runs them all and then the checks that span groups. They run on
# the typed objects (``OmegaConf.to_object``), so a check reads like the schema above it.


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

    def validate(self, where: str = "data", source: str = "params.yaml") -> None:
        _one_of(self.source, DATA_SOURCES, source, f"{where}.source")
        _one_of(self.history, HISTORY_MODES, source, f"{where}.history")
        _check(0 < self.test_fraction < 1, source, f"{where}.test_fraction", "must be in (0, 1)")
        if self.source == "synthetic":
            for key in ("n_dialogues", "n_personas", "max_exchanges"):
                value = getattr(self, key)
                _check(value is not None and value > 0, source, f"{where}.{key}", "must be positive")
        else:
            _check(bool(self.path) or bool(self.hf_dataset), source, f"{where}.path",
                   "data.source=kardiabench needs data.path (local files) or data.hf_dataset (hub id)")
            _check(bool(self.path) or bool(self.revision), source, f"{where}.revision",
                   "pin a hub revision (branch, tag or commit sha)")
        _check(self.max_history_turns >= 0, source, f"{where}.max_history_turns", "must be >= 0")
        _check(0 <= self.max_reject_rate <= 1, source, f"{where}.max_reject_rate", "must be in [0, 1]")
        for key in ("max_exchanges", "max_turn_chars", "max_person_chars"):
            _check(getattr(self.limits, key) > 0, source, f"{where}.limits.{key}", "must be positive")
        _one_of(self.dedup.exact, DEDUP_POLICIES, source, f"{where}.dedup.exact")
        _one_of(self.dedup.near, DEDUP_POLICIES, source, f"{where}.dedup.near")
        _check(0 < self.dedup.near_threshold <= 1, source, f"{where}.dedup.near_threshold", "must be in (0, 1]")
        _env_name(self.token_env, source, f"{where}.token_env")


@dataclass
class Format:
    style: str
    system_prompt: str

    def validate(self, where: str = "format", source: str = "params.yaml") -> None:
        _one_of(self.style, tuple(STYLES), source, f"{where}.style")
        _check("{persona}" in self.system_prompt, source, f"{where}.system_prompt",
               "must contain the {persona} slot")


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

    def validate(self, where: str = "model", source: str = "params.yaml") -> None:
        _one_of(self.source, MODEL_SOURCES, source, f"{where}.source")
        _one_of(self.dtype, DTYPES, source, f"{where}.dtype")
        if self.source == "scratch":
            for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                        "num_attention_heads", "num_key_value_heads", "max_position_embeddings"):
                value = getattr(self, key)
                _check(value is not None and value > 0, source, f"{where}.{key}",
                       "a model built from scratch needs a positive size")
            _check(self.hidden_size % self.num_attention_heads == 0, source,
                   f"{where}.hidden_size", "must be divisible by model.num_attention_heads")
        else:
            _check(bool(self.name_or_path), source, f"{where}.name_or_path",
                   "a hub backbone needs a model id or a local path")
        _check(self.max_length > 0, source, f"{where}.max_length", "must be positive")


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

    def validate(self, where: str = "partition.rollouts", source: str = "params.yaml") -> None:
        _check(bool(self.policy), source, f"{where}.policy", "'base' or a checkpoint directory")
        _check(self.num_generations >= 1, source, f"{where}.num_generations", "must be >= 1")
        for key in ("max_new_tokens", "batch_size"):
            _check(getattr(self, key) > 0, source, f"{where}.{key}", "must be positive")
        _check(self.temperature > 0, source, f"{where}.temperature", "must be positive (sampling)")
        _check(0 < self.top_p <= 1, source, f"{where}.top_p", "must be in (0, 1]")
        _check(self.max_contexts is None or self.max_contexts > 0, source, f"{where}.max_contexts",
               "must be positive or null")
        for key in ("resolve_threshold", "easy_min_rate"):
            _check(0 <= getattr(self, key) <= 1, source, f"{where}.{key}", "must be in [0, 1]")


@dataclass
class Partition:
    method: str
    max_fail_rate: float
    min_solved_rate: float
    rollouts: Rollouts
    easy_fraction: Optional[float]
    histogram_bins: int

    def validate(self, where: str = "partition", source: str = "params.yaml") -> None:
        _one_of(self.method, PARTITION_METHODS, source, f"{where}.method")
        for key in ("max_fail_rate", "min_solved_rate"):
            _check(0 <= getattr(self, key) <= 1, source, f"{where}.{key}", "must be in [0, 1]")
        self.rollouts.validate(f"{where}.rollouts", source)
        _check(self.histogram_bins > 0, source, f"{where}.histogram_bins", "must be positive")
        fraction = self.easy_fraction
        _check(fraction is None or 0 < fraction < 1, source, f"{where}.easy_fraction", "must be in (0, 1) or null")


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
class VllmSizes:
    """What one vLLM engine takes: evaluate.vllm (one offline engine per model, torn down before the
    next) and judge.serve (`vllm serve` for stages.serve_judge)."""

    tensor_parallel_size: int = 1      # its GPUs (a served judge gets them after the training ones)
    max_model_len: Optional[int] = None
    gpu_memory_utilization: float = 0.9

    def validate(self, where: str, source: str = "params.yaml") -> None:
        _check(self.tensor_parallel_size >= 1, source, f"{where}.tensor_parallel_size", "must be >= 1")
        _check(self.max_model_len is None or self.max_model_len > 0, source, f"{where}.max_model_len",
               "must be positive or null (the model's own)")
        _check(0 < self.gpu_memory_utilization <= 1, source, f"{where}.gpu_memory_utilization", "must be in (0, 1]")


@dataclass
class ServerLifecycle:
    """A vLLM server the project starts and stops itself (stages/core/serving.py)."""

    startup_timeout_s: float = 900.0   # until its /health answers; loading a 7-8B model takes minutes
    stop_grace_s: float = 30.0         # SIGTERM, then SIGKILL after this long


@dataclass
class SelectBest:
    """GRPO's best checkpoint on a held-out dev slice of the hard prompts (stages/core/select_best.py)."""

    enabled: bool = False
    every_steps: int = 50          # optimizer steps between dev evaluations (and one at the end)
    dev_examples: int = 32         # hard prompts held out of training as the dev slice
    metric: str = "reward"         # reward (the weighted sum) or one of reward.names
    batch_size: int = 64           # greedy generation batch on the dev slice

    def validate(self, where: str, source: str, reward_names: list[str], launch: str) -> None:
        if not self.enabled:
            return
        metrics = ["reward", *reward_names]
        _check(self.metric in metrics, source, f"{where}.metric", f"{self.metric!r} is not one of {metrics}")
        for key in ("every_steps", "dev_examples", "batch_size"):
            _check(getattr(self, key) > 0, source, f"{where}.{key}", "must be positive")
        # the kept weights are one process's whole copy: a sharded launch holds none (select_best.py)
        _check(launch not in ("zero3", "fsdp"), source, f"{where}.enabled",
               f"best-checkpoint selection keeps a whole copy of the weights, which launch={launch} "
               "shards across processes: use launch=ddp or zero2, or set grpo.select_best.enabled=false")


@dataclass
class Grpo(Training):
    select_best: SelectBest = field(default_factory=SelectBest)
    logprobs: str = "fused"  # fused: TRL's chunked LM head | plain: the model's own logits (grpo_logprobs.py)
    print_completions: bool = False   # TRL's rich completion tables in the log (trainer_logs.py)
    # trainer.vllm_mode=server: the launcher's `trl vllm-serve` (where it listens, its GPUs and memory
    # are the trainer's own vllm_server_* / vllm_* fields)
    vllm_server: Optional[ServerLifecycle] = None

    def validate(self, where: str = "grpo", source: str = "params.yaml") -> None:
        _one_of(self.logprobs, GRPO_LOGPROBS, source, f"{where}.logprobs")
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


@dataclass
class JudgeServe(ServerLifecycle, VllmSizes):
    """`python -m stages.serve_judge`: `vllm serve <model>` at the judge's base_url."""

    def validate(self, where: str, source: str = "params.yaml") -> None:
        super().validate(where, source)
        _check(self.startup_timeout_s > 0, source, f"{where}.startup_timeout_s", "must be positive")


@dataclass
class Reward:
    names: list[str]
    weights: list[float]
    max_judge_failure_rate: float

    def validate(self, where: str = "reward", source: str = "params.yaml") -> None:
        names, weights = list(self.names), list(self.weights)
        for name in names:
            _check(name in REWARD_NAMES, source, f"{where}.names",
                   f"unknown reward {name!r}; known: {list(REWARD_NAMES)}")
        _check(len(set(names)) == len(names) and names, source, f"{where}.names", "must be non-empty and unique")
        _check(len(weights) == len(names), source, f"{where}.weights",
               f"has {len(weights)} values for {len(names)} reward.names {names}")
        _check(all(w >= 0 for w in weights) and sum(weights) > 0, source, f"{where}.weights",
               "must be non-negative with a positive sum")
        _check(0 <= self.max_judge_failure_rate <= 1, source, f"{where}.max_judge_failure_rate",
               "must be in [0, 1]")


@dataclass(kw_only=True)
class Endpoint:
    """One OpenAI-compatible ``/chat/completions`` endpoint and how to talk to it: the openai judge
    (judge, eval_judge), each of evaluate.api_baselines and synthesize.openai. Flat in its group's
    config (``judge.base_url``, ``synthesize.openai.max_retries``); the client (stages/core/chat.py)
    is built from it by ``ClientSettings.from_endpoint``."""

    base_url: Optional[str] = None           # ".../v1", without credentials
    model: Optional[str] = None              # the served model's name
    api_key_env: Optional[str] = None        # name of the env var holding the key (null: none)
    timeout_s: float = 60.0                  # per request
    max_retries: int = 4                     # per request: timeouts, connection errors, 429, 5xx (and unparseable answers)
    backoff_s: float = 1.0                   # first backoff; doubles per retry, with jitter, capped at 30 s
    concurrency: int = 16                    # requests in flight
    temperature: Optional[float] = 0.0       # null = not sent (OpenAI reasoning models take only their default)
    max_tokens: int = 512
    # the request field max_tokens goes in. OpenAI's reasoning models (GPT-5, o-series) refuse
    # max_tokens and take max_completion_tokens, which also bounds their reasoning tokens.
    max_tokens_field: str = "max_tokens"
    reasoning_effort: Optional[str] = None   # sent when set (OpenAI reasoning models: minimal ... high)
    chat_template_kwargs: Optional[dict[str, Any]] = None   # sent in each request (vLLM: Qwen3 thinking off)

    def validate(self, where: str, source: str = "params.yaml") -> None:
        _check(bool(self.model), source, f"{where}.model", "must name the served model")
        _check(self.max_tokens is None or self.max_tokens > 0, source, f"{where}.max_tokens", "must be positive")
        _check(self.temperature is None or self.temperature >= 0, source, f"{where}.temperature",
               "must be >= 0, or null (not sent: the model's default)")
        _url(self.base_url, source, f"{where}.base_url")
        _check(self.concurrency > 0, source, f"{where}.concurrency", "must be positive")
        _check(self.timeout_s > 0, source, f"{where}.timeout_s", "must be positive")
        _check(self.max_retries >= 0, source, f"{where}.max_retries", "must be >= 0")
        _check(self.backoff_s >= 0, source, f"{where}.backoff_s", "must be >= 0")
        _env_name(self.api_key_env, source, f"{where}.api_key_env")
        _one_of(self.max_tokens_field, MAX_TOKENS_FIELDS, source, f"{where}.max_tokens_field")
        _check(self.reasoning_effort is None or self.reasoning_effort in REASONING_EFFORTS, source,
               f"{where}.reasoning_effort",
               f"{self.reasoning_effort!r} is not null or one of {list(REASONING_EFFORTS)}")


@dataclass(kw_only=True)
class Judge(Endpoint):
    """One judge config (conf/judge/); composed twice, as `judge` (grpo) and `eval_judge` (evaluate).
    The openai backend's endpoint fields are its own (flat); hf uses model and max_tokens of them."""

    backend: str
    rubric: str = "kardia_v1"                # stages/core/judges/rubrics/<rubric>.yaml
    cache: bool = True
    preflight: bool = True
    batch_size: int = 8                      # hf
    dtype: str = "float32"                   # hf
    serve: Optional[JudgeServe] = None       # openai: how stages.serve_judge starts its server

    def validate(self, where: str = "judge", source: str = "params.yaml") -> None:
        from .judges.rubric import RUBRIC_DIR

        _one_of(self.backend, JUDGE_BACKENDS, source, f"{where}.backend")
        rubrics = sorted(p.stem for p in RUBRIC_DIR.glob("*.yaml"))
        _one_of(self.rubric, tuple(rubrics), source, f"{where}.rubric")
        if self.backend == "openai":
            super().validate(where, source)
            if self.serve is not None:
                self.serve.validate(f"{where}.serve", source)
        if self.backend == "hf":
            _check(bool(self.model), source, f"{where}.model", "the hf judge needs a model")
            _check(self.max_tokens > 0, source, f"{where}.max_tokens", "must be positive")
            _check(self.batch_size > 0, source, f"{where}.batch_size", "must be positive")
            _one_of(self.dtype, DTYPES, source, f"{where}.dtype")


@dataclass(kw_only=True)
class ApiBaseline(Endpoint):
    """An evaluate.api_baselines entry: a model behind an endpoint, prompted like the evaluated ones
    and decoded like them (evaluate.do_sample, evaluate.max_new_tokens)."""

    name: str
    concurrency: int = 4
    max_tokens: Optional[int] = None         # null: evaluate.max_new_tokens (a reasoning model may need more)
    # 0.0: sent, as evaluate.do_sample says (0 greedy, 1 sampled); null: not sent (a model that refuses it)
    temperature: Optional[float] = 0.0

    def validate(self, where: str, source: str = "params.yaml") -> None:
        _check(re.fullmatch(r"[A-Za-z0-9_.-]+", self.name or "") is not None, source, f"{where}.name",
               f"{self.name!r}: use letters, digits, '_', '.', '-' (it becomes part of metric names)")
        _check(self.temperature in (0.0, None), source, f"{where}.temperature",
               "a baseline decodes like the evaluated models (evaluate.do_sample: 0 greedy, 1 sampled): "
               "leave it at 0.0, or null to send none (a model that refuses one)")
        super().validate(where, source)


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
    # metrics/headline.json and the MLflow parent run (stages/core/evaluation/headline.py)
    headline: list[str] = field(default_factory=lambda: list(DEFAULT_HEADLINE))

    def validate(self, where: str = "evaluate", source: str = "params.yaml") -> None:
        for name in self.models:
            _check(name in EVAL_MODELS, source, f"{where}.models",
                   f"unknown model {name!r}; known: {list(EVAL_MODELS)}")
        _check(self.batch_size > 0, source, f"{where}.batch_size", "must be positive")
        _check(self.max_examples is None or self.max_examples > 0, source, f"{where}.max_examples",
               "must be positive or null (all test examples)")
        _check(self.max_new_tokens > 0, source, f"{where}.max_new_tokens", "must be positive")
        _one_of(self.backend, GENERATION_BACKENDS, source, f"{where}.backend")
        self.vllm.validate(f"{where}.vllm", source)
        _check(0 <= self.min_judge_coverage <= 1, source, f"{where}.min_judge_coverage", "must be in [0, 1]")
        seen = set(self.models)
        for i, baseline in enumerate(self.api_baselines):
            key = f"{where}.api_baselines[{i}]"
            baseline.validate(key, source)
            _check(baseline.name not in seen and baseline.name not in EVAL_MODELS, source, f"{key}.name",
                   f"{baseline.name!r} is already a model name")
            seen.add(baseline.name)
        _check(0 < len(self.headline) <= MAX_HEADLINE, source, f"{where}.headline",
               f"1 to {MAX_HEADLINE} metric keys: the columns `dvc exp show` prints (the rest is in "
               "metrics/evaluate.json)")


@dataclass
class Tracking:
    experiment_name: str
    log_model: str = "transformers"   # transformers | files | none (conf/tracking/mlflow.yaml)

    def validate(self, where: str = "tracking", source: str = "params.yaml") -> None:
        _one_of(self.log_model, MODEL_LOGGING, source, f"{where}.log_model")


@dataclass
class Launch:
    """How sft and grpo are started (conf/launch/, stages/core/launch.py)."""

    name: str
    num_processes: int
    config_file: Optional[str]    # accelerate config, relative to the repository; null for single

    def validate(self, where: str = "launch", source: str = "params.yaml") -> None:
        from .launch import validate_launch

        validate_launch(self, source)


@dataclass
class SynthFilters:
    persona_drift: bool
    emotion_jump: bool
    structure: bool


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
    openai: Endpoint

    def validate(self, where: str = "synthesize", source: str = "params.yaml") -> None:
        _one_of(self.backend, SYNTH_BACKENDS, source, f"{where}.backend")
        for key in ("n_dialogues", "n_personas", "max_exchanges"):
            _check(getattr(self, key) > 0, source, f"{where}.{key}", "must be positive")
        _check(self.max_revisions >= 0, source, f"{where}.max_revisions", "must be >= 0")
        _check(bool(self.prompts), source, f"{where}.prompts", "a prompt template version")
        # The embedded backend replays its own scripted dialogues (persona pool and situation tables):
        # scenario seeds give it nothing to play, so only the LLM backend takes them.
        _check(self.seeds_path is None or self.backend == "openai", source, f"{where}.seeds_path",
               "scenario seeds need synthesize.backend=openai (the embedded backend uses its own pools)")
        self.openai.validate(f"{where}.openai", source)


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
        self.grpo.select_best.validate("grpo.select_best", source, list(self.reward.names), self.launch.name)
        _check("emotion" not in self.reward.names or "emotion" in STYLES[self.format.style], source,
               "reward.names",
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
