"""Typed load and validation of params.yaml, the composed config every stage reads.

One module per config group, each with its schema and its own ``validate(where, source)`` (where =
the group's key in params.yaml, for error messages): paths, data, format, model, partition,
training (sft, grpo), reward, judge (and endpoint, the one OpenAI-compatible endpoint schema),
evaluate, run (tracking, launch), synthesize; serving holds the vLLM sizes and server lifecycle
they share, checks the error type and the small checks. ``load.py`` holds the root ``Config``
(the checks that span groups) and ``load_config``. Checks run on the typed objects
(``OmegaConf.to_object``), so a check reads like the schema above it. Import from here:
``from stages.core.config import load_config, ConfigError``.
"""

from .checks import DTYPES, ENV_NAME, ConfigError, _check, _env_name, _one_of, _url
from .data import DEDUP_POLICIES, HISTORY_MODES, UNPINNED, Data, Dedup, Limits
from .endpoint import MAX_TOKENS_FIELDS, REASONING_EFFORTS, RESPONSE_FORMATS, Endpoint
from .evaluate import EVAL_MODELS, GENERATION_BACKENDS, ApiBaseline, Evaluate
from .format import Format
from .judge import Judge, JudgeServe
from .load import Config, load_config, params_hash, to_dict, typed, validate
from .model import MODEL_SOURCES, Lora, Model
from .partition import PARTITION_METHODS, PARTITION_RULES, Bootstrap, Partition, Rollouts
from .paths import Paths
from .reward import Reward
from .run import MODEL_LOGGING, Launch, Tracking
from .serving import ServerLifecycle, VllmSizes
from .synthesize import SYNTH_BACKENDS, Synthesize, SynthFilters
from .training import (
    GRPO_CREDITS,
    GRPO_LOGPROBS,
    SFT_LOSSES,
    VLLM_MODES,
    Grpo,
    SelectBest,
    Sft,
    Training,
    check_trainer_keys,
)

__all__ = [
    "DEDUP_POLICIES", "DTYPES", "ENV_NAME", "EVAL_MODELS", "GENERATION_BACKENDS", "GRPO_CREDITS", "GRPO_LOGPROBS", "HISTORY_MODES",
    "MAX_TOKENS_FIELDS", "MODEL_LOGGING", "MODEL_SOURCES", "PARTITION_METHODS", "PARTITION_RULES",
    "REASONING_EFFORTS", "RESPONSE_FORMATS", "SFT_LOSSES", "SYNTH_BACKENDS", "UNPINNED", "VLLM_MODES",
    "ApiBaseline", "Bootstrap", "Config", "ConfigError", "Data", "Dedup", "Endpoint", "Evaluate", "Format", "Grpo",
    "Judge", "JudgeServe", "Launch", "Limits", "Lora", "Model", "Partition", "Paths", "Reward", "Rollouts",
    "SelectBest", "ServerLifecycle", "Sft", "SynthFilters", "Synthesize", "Tracking", "Training", "VllmSizes",
    "_check", "_env_name", "_one_of", "_url", "check_trainer_keys", "load_config", "params_hash", "to_dict",
    "typed", "validate",
]
