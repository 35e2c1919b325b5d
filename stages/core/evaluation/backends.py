"""Where evaluation completions come from: one function per backend, same prompts and decoding.

- ``hf``: transformers, batched greedy with left padding (``generation.py``), on the accelerator when
  one is present, else the CPU (``devices.py``).
- ``vllm``: vLLM offline ``LLM.chat`` on a GPU; imported only when chosen (an optional extra).
- OpenAI-compatible endpoints (``evaluate.api_baselines``): the paper's closed-model baselines
  (GPT-4o, DeepSeek-R1, ...) through ``stages/core/chat.py``, sent the very same conversation, system
  prompt included, and the same decoding settings (temperature 0 for greedy, ``max_tokens``, ``seed``).
"""

from __future__ import annotations

from tqdm.auto import tqdm

from ..chat import ChatClient, ChatError, ClientSettings, EndpointUnavailable
from ..devices import to_generation_device
from ..errors import KardiaError
from ..modeling import load_checkpoint
from .generation import generate


class BackendUnavailable(KardiaError, RuntimeError):
    """The configured generation backend cannot run here; the message says why and what to do."""


def generate_hf(path: str, dtype: str, prompts: list[list[dict]], ev, seed: int, desc: str) -> list[str]:
    model, tokenizer = load_checkpoint(path, dtype)
    model = to_generation_device(model, desc)
    return generate(model, tokenizer, prompts, batch_size=ev.batch_size, max_new_tokens=ev.max_new_tokens,
                    do_sample=ev.do_sample, seed=seed, desc=desc)


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


def generate_vllm(path: str, dtype: str, prompts: list[list[dict]], ev, seed: int, desc: str) -> list[str]:
    llm_cls, sampling_cls = _import_vllm()
    llm = llm_cls(model=path, dtype=dtype, seed=seed)
    params = sampling_cls(max_tokens=ev.max_new_tokens, seed=seed,
                          **({"temperature": 1.0} if ev.do_sample else {"temperature": 0.0}),
                          skip_special_tokens=True)  # span tokens are not special: they stay
    results = llm.chat(prompts, params, use_tqdm=True)
    return [r.outputs[0].text for r in results]


BACKENDS = {"hf": generate_hf, "vllm": generate_vllm}


def generate_api(baseline, prompts: list[list[dict]], ev, seed: int) -> list[str]:
    """Every prompt through one endpoint, ``baseline.concurrency`` requests at a time, in input order.
    Timeouts, connection errors, 429 and 5xx are retried (``baseline.max_retries``, jittered backoff);
    a request that still fails ends the stage with the endpoint's message: a baseline row over a subset
    of the prompts would not be comparable."""
    settings = ClientSettings(base_url=baseline.base_url, model=baseline.model, api_key_env=baseline.api_key_env,
                              concurrency=baseline.concurrency, timeout_s=baseline.timeout_s,
                              max_retries=baseline.max_retries, backoff_s=baseline.backoff_s,
                              config_key=f"evaluate.api_baselines[{baseline.name}]",
                              sampling={"temperature": 1.0 if ev.do_sample else 0.0, "max_tokens": ev.max_new_tokens})
    try:
        client = ChatClient(settings)
    except EndpointUnavailable as e:
        raise BackendUnavailable(str(e)) from None
    with tqdm(total=len(prompts), desc=f"evaluate {baseline.name}", unit="prompt") as bar:
        outputs = client.complete_many(prompts, seed=seed, on_done=lambda: bar.update(1))
    failed = next((out for out in outputs if isinstance(out, ChatError)), None)
    if failed is not None:
        raise RuntimeError(f"baseline {baseline.name}: {failed}")
    return outputs
