"""Where evaluation completions come from: one function per backend, same prompts and decoding.

- ``hf``: transformers, batched greedy with left padding (``generation.py``); CPU or GPU.
- ``vllm``: vLLM offline ``LLM.chat`` on a GPU; imported only when chosen (an optional extra).
- OpenAI-compatible endpoints (``evaluate.api_baselines``): the paper's closed-model baselines
  (GPT-4o, DeepSeek-R1, ...), sent the very same conversation, system prompt included, and the same
  decoding settings (temperature 0 for greedy, ``max_tokens``, ``seed``).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

from tqdm.auto import tqdm

from ..modeling import load_checkpoint
from .generation import generate


class BackendUnavailable(RuntimeError):
    """The configured generation backend cannot run here; the message says why and what to do."""


def generate_hf(path: str, dtype: str, prompts: list[list[dict]], ev, seed: int, desc: str) -> list[str]:
    model, tokenizer = load_checkpoint(path, dtype)
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


def _opener(base_url: str) -> urllib.request.OpenerDirector:
    """Honour proxy settings, except for a local endpoint (proxies would swallow 127.0.0.1)."""
    host = urlparse(base_url).hostname or ""
    local = host in ("127.0.0.1", "localhost", "::1")
    return urllib.request.build_opener(urllib.request.ProxyHandler({} if local else None))


def chat_completion(opener, baseline, messages: list[dict], ev, seed: int) -> str:
    """One OpenAI-compatible ``/chat/completions`` call; errors name the baseline and the status."""
    body = {"model": baseline.model, "messages": messages, "max_tokens": ev.max_new_tokens, "seed": seed,
            "temperature": 1.0 if ev.do_sample else 0.0}
    headers = {"Content-Type": "application/json"}
    if baseline.api_key_env:
        key = os.environ.get(baseline.api_key_env)
        if not key:
            raise BackendUnavailable(f"evaluate.api_baselines[{baseline.name}]: environment variable "
                                     f"{baseline.api_key_env} (api_key_env) is not set")
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(baseline.base_url.rstrip("/") + "/chat/completions",
                                     data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with opener.open(request, timeout=baseline.timeout_s) as response:
            payload = json.load(response)
        return payload["choices"][0]["message"]["content"] or ""
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"baseline {baseline.name}: HTTP {e.code} from {baseline.base_url}: "
                           f"{e.read()[:300].decode(errors='replace')}") from None
    except (KeyError, IndexError, TypeError, json.JSONDecodeError) as e:
        raise RuntimeError(f"baseline {baseline.name}: malformed chat completion from {baseline.base_url} "
                           f"({type(e).__name__}: {e})") from None


def generate_api(baseline, prompts: list[list[dict]], ev, seed: int) -> list[str]:
    """Every prompt through one endpoint, ``baseline.concurrency`` requests at a time, in input order."""
    opener = _opener(baseline.base_url)
    with ThreadPoolExecutor(max_workers=baseline.concurrency) as pool:
        jobs = pool.map(lambda p: chat_completion(opener, baseline, p, ev, seed), prompts)
        return list(tqdm(jobs, total=len(prompts), desc=f"evaluate {baseline.name}", unit="prompt"))
