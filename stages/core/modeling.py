"""Backbones: build the embedded tokenizer + tiny Qwen2 model, load hub backbones, LoRA, checkpoints.

Whatever the source, the result is a standard HF checkpoint directory that ``AutoTokenizer`` and
``AutoModelForCausalLM`` load, chat template included, with the span tokens added as *non-special*
tokens (GRPOTrainer decodes with skip_special_tokens=True; special span tokens would vanish there and
zero the format and emotion rewards).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

from .io import atomic_path

log = logging.getLogger("kardia.modeling")

# The Qwen2 pre-tokenizer regex (transformers.models.qwen2.tokenization_qwen2.PRETOKENIZE_REGEX).
# AutoTokenizer rebuilds the normaliser (NFC) and this pre-tokenizer for model_type=qwen2, so a
# tokenizer trained here must use the same pipeline or save/load would change tokenisation.
QWEN2_PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
PAD, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"

# ChatML. {% generation %} marks assistant tokens so SFTConfig(assistant_only_loss=True) also works on
# whole-conversation data; the prompt with add_generation_prompt is a prefix of the full conversation,
# which prompt-completion training relies on.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['role'] == 'assistant' %}"
    "{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{%- else %}{{- message['content'] + '<|im_end|>' }}{%- endif %}"
    "{{- '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


# Some chat templates have no system role: Gemma's raise "System role not supported" on one. Every prompt
# here starts with the system prompt (persona and span instructions), so for such a template the system
# prompt is folded into the first user turn, separated from it by a blank line.
# The fold is written into the template itself (this preamble, rendered before the original), not into
# the data: every renderer of the saved checkpoint (TRL's SFT and GRPO trainers, HF generation, vLLM's
# LLM.chat and `trl vllm-serve`) then sees the same text, and the data stays model-agnostic.
# No whitespace between the tags: the rendered text is exactly the original template's.
FOLD_SYSTEM_PREAMBLE = (
    "{# kardia: system prompt folded into the first user turn (the template has no system role) #}"
    "{% if messages and messages[0]['role'] == 'system' %}"
    "{% if messages | length > 1 and messages[1]['role'] == 'user' %}"
    "{% set messages = [{'role': 'user', 'content': messages[0]['content'] + '\\n\\n' + messages[1]['content']}]"
    " + messages[2:] %}"
    "{% else %}"
    "{% set messages = [{'role': 'user', 'content': messages[0]['content']}] + messages[1:] %}"
    "{% endif %}"
    "{% endif %}"
)
_SYSTEM_PROBE = "kardia-system-probe-7f3a"   # a marker no template writes by itself
_system_role_cache: dict[tuple[str, str], bool] = {}


def takes_system_turn(tokenizer) -> bool:
    """Whether the tokenizer's chat template renders a system turn: it neither raises on one (Gemma) nor
    drops it silently. Decided by rendering a probe conversation; cached per template text."""
    template = tokenizer.chat_template
    if not isinstance(template, str):
        return True   # no template (or named ones): nothing to decide here; rendering fails elsewhere if at all
    key = (type(tokenizer).__name__, template)
    if key not in _system_role_cache:
        from jinja2.exceptions import TemplateError

        probe = [{"role": "system", "content": _SYSTEM_PROBE}, {"role": "user", "content": "hello"}]
        try:
            text = tokenizer.apply_chat_template(probe, tokenize=False, add_generation_prompt=True)
            _system_role_cache[key] = _SYSTEM_PROBE in text
        except TemplateError:   # raise_exception(...) in the template, e.g. 'System role not supported'
            _system_role_cache[key] = False
    return _system_role_cache[key]


def fold_system_turn(tokenizer, name: str = "the tokenizer") -> bool:
    """Make the chat template fold a system turn into the first user turn when it cannot take one
    (FOLD_SYSTEM_PREAMBLE). Returns whether it changed the template; idempotent."""
    if takes_system_turn(tokenizer):
        return False
    tokenizer.chat_template = FOLD_SYSTEM_PREAMBLE + tokenizer.chat_template
    if not takes_system_turn(tokenizer):
        raise ValueError(f"the chat template of {name} rejects a system turn even with the system prompt folded "
                         "into the first user turn; give the model a chat template that takes a conversation of "
                         "user and assistant turns (tokenizer_config.json: chat_template)")
    log.info("%s: its chat template has no system role; the system prompt is folded into the first user turn",
             name)
    return True


def build_tokenizer(corpus: Iterable[str], span_tokens: Iterable[str], vocab_size: int,
                    model_max_length: int) -> PreTrainedTokenizerBase:
    """Train a byte-level BPE tokenizer with Qwen2's normaliser and pre-tokenizer on ``corpus``."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainer=trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=[PAD, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in span_tokens])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=None, eos_token=IM_END, pad_token=PAD, unk_token=None,
        chat_template=CHAT_TEMPLATE, model_max_length=model_max_length)


def build_tiny_model(tokenizer: PreTrainedTokenizerBase, mcfg, seed: int) -> torch.nn.Module:
    """A Qwen2-architecture causal LM built from config with a seeded initialisation."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=mcfg.hidden_size, intermediate_size=mcfg.intermediate_size,
        num_hidden_layers=mcfg.num_hidden_layers, num_attention_heads=mcfg.num_attention_heads,
        num_key_value_heads=mcfg.num_key_value_heads, max_position_embeddings=mcfg.max_position_embeddings,
        tie_word_embeddings=True, bos_token_id=None, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    return Qwen2ForCausalLM(config)


def load_hub_backbone(mcfg, span_tokens: Iterable[str]):
    """A paper backbone (Qwen2.5 / Gemma) with the span tokens added and embeddings resized."""
    from tokenizers import AddedToken

    tokenizer = AutoTokenizer.from_pretrained(mcfg.name_or_path)
    fold_system_turn(tokenizer, mcfg.name_or_path)   # Gemma: no system role; saved with the checkpoint
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in span_tokens])
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(mcfg.name_or_path, dtype=getattr(torch, mcfg.dtype))
    model.resize_token_embeddings(len(tokenizer))
    return model, tokenizer


def load_checkpoint(path: str | Path, dtype: str = "float32"):
    """Load a checkpoint written by ``save_checkpoint`` (model, tokenizer)."""
    path = Path(path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path} is not a model checkpoint (no config.json): run the stage that makes it")
    tokenizer = AutoTokenizer.from_pretrained(path)
    fold_system_turn(tokenizer, str(path))   # prepare's checkpoints already fold; one from elsewhere may not
    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
    return model, tokenizer


def apply_lora(model, lora_cfg):
    """Wrap ``model`` in LoRA adapters when ``model.lora.enabled``; otherwise train all weights."""
    if not lora_cfg.enabled:
        return model
    from peft import LoraConfig, get_peft_model

    return get_peft_model(model, LoraConfig(
        r=lora_cfg.r, lora_alpha=lora_cfg.alpha, lora_dropout=lora_cfg.dropout,
        target_modules=list(lora_cfg.target_modules), task_type="CAUSAL_LM"))


def merge_lora(model):
    """The plain model: LoRA adapters folded into the weights (a no-op without adapters)."""
    return model.merge_and_unload() if hasattr(model, "merge_and_unload") else model


def save_checkpoint(model, tokenizer, path: str | Path, extras: Callable[[Path], None] | None = None) -> None:
    """Save a plain HF checkpoint atomically; LoRA adapters are merged so any loader can read it.
    ``extras(directory)`` adds files (model_card.dress) before the directory is renamed into place."""
    model = merge_lora(model)
    with atomic_path(path, is_dir=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if extras is not None:
            extras(tmp)


def chat_ids(tokenizer, messages: list[dict], add_generation_prompt: bool = False) -> list[int]:
    """Token ids of a conversation rendered with the tokenizer's chat template."""
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=add_generation_prompt, tokenize=False)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def parameter_fingerprint(model) -> torch.Tensor:
    """Concatenated flat copy of all parameters: compare two to prove training changed the weights."""
    return torch.cat([p.detach().float().flatten().cpu() for p in model.parameters()])


def set_threads() -> None:
    """Use every core for intra-op work; torch's default can leave one idle in containers. Processes
    launched together on one machine (``launch`` group) share the cores instead of each taking all."""
    per_process = len(os.sched_getaffinity(0)) // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    torch.set_num_threads(max(1, per_process))
