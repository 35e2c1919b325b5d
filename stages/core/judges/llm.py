"""LLM judges: the rubric prompt goes to a chat model, its JSON answer is validated strictly.

``OpenAIJudge`` talks to any OpenAI-compatible endpoint (``vllm serve``, an API) through the async
client (``stages/core/chat.py``); ``HFJudge`` runs a local transformers chat model, batched, on the
accelerator when one is present (``stages/core/devices.py``). Both have the on-disk cache in front:
cached inputs cost no request or generation, identical inputs within a batch cost one. Either
returns ``None`` for a reply it could not score (failed call or invalid answer): the rubric reward
abstains there.
"""

from __future__ import annotations

from pathlib import Path

from ..chat import ChatClient, ChatError, ClientSettings
from ..io import checkpoint_fingerprint
from .cache import JudgeCache, cache_key
from .rubric import AnswerError, Judgement, Rubric
from .usage import Usage


class _LLMJudge:
    """What both LLM judges share: prompts, the answer cache, validation, usage accounting.

    A backend sets ``identity`` (what besides rubric, template and input decides its answers: model
    and sampling) and implements ``_answer``: one raw answer per conversation, ``None`` for a failed call.
    """

    name = "llm"

    def __init__(self, rubric: Rubric, cache: JudgeCache | None, identity: dict):
        self.rubric = rubric
        self.cache = cache
        self.identity = identity
        self.usage = Usage()       # since construction
        self.last_usage = Usage()  # the latest score_many call (one GRPO step)

    def preflight(self) -> None:
        pass

    def _answer(self, conversations: list[list[dict]], usage: Usage) -> list[str | None]:
        raise NotImplementedError

    def _key(self, messages: list[dict]) -> str:
        return cache_key(**self.identity, rubric=self.rubric.version, template=self.rubric.template_hash,
                         input=messages)

    def _parse(self, text: str, usage: Usage) -> Judgement | None:
        try:
            return self.rubric.parse(text)
        except AnswerError:
            usage.failures["invalid_answer"] += 1
            return None

    def score_many(self, items: list[dict]) -> list[Judgement | None]:
        """items: dicts with response (reply text), persona, context. One Judgement or None each."""
        usage = Usage(items=len(items))
        conversations = [self.rubric.messages(it["response"], it["persona"], it["context"]) for it in items]
        keys = [self._key(m) for m in conversations]
        answers = self.cache.get_many(keys) if self.cache is not None else {}
        usage.cache_hits = sum(k in answers for k in keys)
        todo = {k: m for k, m in zip(keys, conversations) if k not in answers}  # identical inputs: one call
        fresh = {k: text for k, text in zip(todo, self._answer(list(todo.values()), usage)) if text is not None}
        judged = {k: self._parse(text, usage) for k, text in fresh.items()}
        if self.cache is not None:  # valid answers only: an invalid one is asked again next time
            self.cache.put_many({k: fresh[k] for k, j in judged.items() if j is not None})
        out = [self.rubric.parse(answers[k]) if k in answers else judged.get(k) for k in keys]
        self.last_usage = usage
        self.usage.add(usage)
        return out


class OpenAIJudge(_LLMJudge):
    name = "openai"

    def __init__(self, settings: ClientSettings, rubric: Rubric, cache: JudgeCache | None):
        # The endpoint is part of the identity: another server may serve another model (or revision)
        # under the same name, and its answers must not be replayed as this one's.
        # Constrained decoding (response_format) may change the answers too; absent, the key is as before.
        super().__init__(rubric, cache, {"model": settings.model, "endpoint": settings.base_url.rstrip("/"),
                                         "sampling": settings.sampling,
                                         **({"response_format": settings.response_format} if settings.response_format else {})})
        self.settings = settings
        self.client = ChatClient(settings)
        self.version = f"openai:{settings.model}:{rubric.version}"

    def preflight(self) -> None:
        self.client.preflight()

    def _answer(self, conversations: list[list[dict]], usage: Usage) -> list[str | None]:
        return [None if isinstance(r, ChatError) else r for r in self.client.complete_many(conversations, usage)]


class HFJudge(_LLMJudge):
    name = "hf"

    def __init__(self, model_path: str, rubric: Rubric, batch_size: int, max_new_tokens: int, dtype: str,
                 cache: JudgeCache | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from ..devices import to_generation_device

        # A local checkpoint is known by its files (retrained in place = new answers), a hub model by its id.
        model = checkpoint_fingerprint(model_path, "hf judge model") if Path(model_path).is_dir() else model_path
        super().__init__(rubric, cache, {"model": f"hf:{model}",
                                         "sampling": {"greedy": True, "max_new_tokens": max_new_tokens,
                                                      "dtype": dtype}})
        self.tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
        from ..modeling import fold_system_turn

        fold_system_turn(self.tokenizer, f"hf judge {model_path}")   # the rubric prompt has a system turn
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = to_generation_device(
            AutoModelForCausalLM.from_pretrained(model_path, dtype=getattr(torch, dtype)).eval(),
            f"hf judge {model_path}")
        self.batch_size, self.max_new_tokens = batch_size, max_new_tokens
        self.version = f"hf:{model_path}:{rubric.version}"

    def prompt(self, messages: list[dict]) -> str:
        if self.tokenizer.chat_template:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return "\n\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\n\nassistant:"

    def _answer(self, conversations: list[list[dict]], usage: Usage) -> list[str | None]:
        import time

        import torch

        prompts = [self.prompt(m) for m in conversations]
        out: list[str | None] = []
        for i in range(0, len(prompts), self.batch_size):
            batch = self.tokenizer(prompts[i:i + self.batch_size], return_tensors="pt", padding=True,
                                   add_special_tokens=False).to(self.model.device)
            start = time.perf_counter()
            with torch.no_grad():  # greedy: a judge should answer the same input the same way
                ids = self.model.generate(**batch, max_new_tokens=self.max_new_tokens, do_sample=False,
                                          pad_token_id=self.tokenizer.pad_token_id)
            usage.latencies_s.append(time.perf_counter() - start)
            usage.requests += 1
            new = ids[:, batch["input_ids"].shape[1]:]
            usage.prompt_tokens += int(batch["attention_mask"].sum())
            usage.completion_tokens += int((new != self.tokenizer.pad_token_id).sum())
            out += self.tokenizer.batch_decode(new, skip_special_tokens=True)
        return out
