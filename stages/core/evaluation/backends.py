"""Where evaluation completions come from: one function per backend, same prompts and decoding.

- ``hf``: transformers, batched greedy with left padding (``generation.py``), on the accelerator when
  one is present, else the CPU (``devices.py``).
- ``vllm``: vLLM offline ``LLM.chat`` on a GPU; imported only when chosen (an optional extra); one model's
  engine at a time, shut down and freed before the next (``evaluate.vllm`` sizes it). Never run on a GPU here.
- OpenAI-compatible endpoints (``evaluate.api_baselines``): the paper's closed-model baselines
  (GPT-4o, DeepSeek-R1, ...) through ``stages/core/chat.py``, sent the very same conversation, system
  prompt included, and the same decoding settings (temperature 0 for greedy, ``max_tokens``, ``seed``).
"""

from __future__ import annotations

import logging

from tqdm.auto import tqdm

from ..chat import ChatClient, ChatError, ClientSettings, EndpointUnavailable
from ..config import ApiBaseline, typed
from ..devices import to_generation_device
from ..errors import KardiaError
from ..generation import generate
from ..modeling import load_checkpoint

log = logging.getLogger("kardia.evaluate")


class BackendUnavailable(KardiaError, RuntimeError):
    """The configured generation backend cannot run here; the message says why and what to do."""


def decoding(ev, sampled) -> tuple[int, dict]:
    """The length limit and sampling knobs of a row: evaluate's own (``sampled`` None), or those of
    evaluate.sampled, GRPO's, so the sampled rows measure the replies GRPO trains on."""
    if sampled is None:
        return ev.max_new_tokens, {}
    return sampled.max_new_tokens, {"temperature": sampled.temperature, "top_k": sampled.top_k, "top_p": sampled.top_p}


def generate_hf(path: str, dtype: str, prompts: list[list[dict]], ev, seed: int, desc: str,
                sampled=None) -> list[str]:
    """``sampled`` None: decoded as evaluate.do_sample says; evaluate.sampled: sampled (``decoding``)."""
    model, tokenizer = load_checkpoint(path, dtype)
    model = to_generation_device(model, desc)
    max_new_tokens, knobs = decoding(ev, sampled)
    return generate(model, tokenizer, prompts, batch_size=ev.batch_size, seed=seed, desc=desc,
                    max_new_tokens=max_new_tokens, do_sample=ev.do_sample or sampled is not None, **knobs)


def _import_vllm():
    """vllm's ``LLM`` and ``SamplingParams``, or BackendUnavailable saying what is missing."""
    try:
        import vllm
    except ImportError:
        raise BackendUnavailable(
            "evaluate.backend=vllm needs the vllm package, which is not installed: "
            "`pip install -e '.[vllm]'` on a machine with an NVIDIA GPU, or set evaluate.backend=hf") from None
    import torch

    if not torch.cuda.is_available():
        raise BackendUnavailable("evaluate.backend=vllm needs a CUDA GPU and none is visible "
                                 "(torch.cuda.is_available() is False): set evaluate.backend=hf")
    return vllm.LLM, vllm.SamplingParams


def generate_vllm(path: str, dtype: str, prompts: list[list[dict]], ev, seed: int, desc: str,
                  sampled=None) -> list[str]:
    """One engine for this model only (evaluate calls it once per model, in turn), shut down and freed
    before it returns: two 7B engines at gpu_memory_utilization 0.9 do not fit one GPU. ``sampled``:
    as in ``generate_hf``; no top-k cut is -1 here, which every vLLM takes (older ones reject 0)."""
    llm_cls, sampling_cls = _import_vllm()
    llm = llm_cls(model=path, dtype=dtype, seed=seed, tensor_parallel_size=ev.vllm.tensor_parallel_size,
                  max_model_len=ev.vllm.max_model_len, gpu_memory_utilization=ev.vllm.gpu_memory_utilization)
    try:
        max_tokens, knobs = decoding(ev, sampled)
        knobs = {"temperature": float(ev.do_sample), **knobs}
        if "top_k" in knobs:
            knobs["top_k"] = knobs["top_k"] or -1
        params = sampling_cls(max_tokens=max_tokens, seed=seed, skip_special_tokens=True,  # span tokens
                              **knobs)                                                 # are not special
        results = llm.chat(prompts, params, use_tqdm=True)
        return [r.outputs[0].text for r in results]
    finally:
        release_vllm(llm)
        del llm
        free_gpu_memory()


def release_vllm(llm) -> None:
    """Stop the engine's worker processes now rather than whenever the garbage collector gets to them
    (the source of the "second LLM runs out of memory" reports); ``shutdown`` where this vLLM has it."""
    shutdown = getattr(llm, "shutdown", None) or getattr(getattr(llm.llm_engine, "engine_core", None), "shutdown", None)
    if shutdown is not None:
        shutdown()


def free_gpu_memory() -> None:
    """After the last reference to an engine is gone: tear down vLLM's parallel groups, collect, and
    hand the cached blocks back to the driver, so the next model starts from an empty GPU."""
    import contextlib
    import gc

    import torch

    with contextlib.suppress(ImportError, AssertionError, RuntimeError):
        from vllm.distributed import destroy_distributed_environment, destroy_model_parallel

        destroy_model_parallel()
        destroy_distributed_environment()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


BACKENDS = {"hf": generate_hf, "vllm": generate_vllm}


def _api_client(baseline: ApiBaseline, ev) -> ChatClient:
    settings = ClientSettings.from_endpoint(baseline, f"evaluate.api_baselines[{baseline.name}]",
                                            temperature=1.0 if ev.do_sample else 0.0, max_tokens=ev.max_new_tokens)
    try:
        return ChatClient(settings)
    except EndpointUnavailable as e:
        raise BackendUnavailable(str(e)) from None


def preflight_api(baseline, ev) -> None:
    """One short call to a baseline's endpoint, made before any model generates: a wrong URL, model or
    key fails the stage in seconds with the endpoint's own message, not after every local model ran."""
    try:
        _api_client(typed(ApiBaseline, baseline), ev).preflight()
    except EndpointUnavailable as e:
        raise BackendUnavailable(str(e)) from None


def generate_api(baseline, prompts: list[list[dict]], ev, seed: int) -> list[str]:
    """Every prompt through one endpoint, ``baseline.concurrency`` requests at a time, in input order.
    Timeouts, connection errors, 429 and 5xx are retried (``baseline.max_retries``, jittered backoff);
    a request that still fails ends the stage with the endpoint's message: a baseline row over a subset
    of the prompts would not be comparable. Decoded like the models (evaluate.do_sample, max_new_tokens),
    in the fields the endpoint config names (``max_tokens_field``; ``temperature: null``: none sent)."""
    baseline = typed(ApiBaseline, baseline)
    client = _api_client(baseline, ev)
    with tqdm(total=len(prompts), desc=f"evaluate {baseline.name}", unit="prompt") as bar:
        # An answer cut at the token limit is kept and scored as written, as a local model's answer cut
        # at max_new_tokens is: failing it would drop exactly the long answers from one row only.
        outputs = client.complete_many(prompts, seed=seed, on_done=lambda: bar.update(1), keep_truncated=True)
    failed = next((out for out in outputs if isinstance(out, ChatError)), None)
    if failed is not None:
        raise RuntimeError(f"baseline {baseline.name}: {failed}")
    if client.stats.truncated:
        log.warning("baseline %s: %d of %d answers were cut at the token limit (finish_reason 'length'); scored as "
                    "written, like the models' answers cut at evaluate.max_new_tokens", baseline.name,
                    client.stats.truncated, len(prompts))
    return outputs
