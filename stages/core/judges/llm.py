"""LLM judges: the rubric prompt goes to a chat model, its JSON answer is validated strictly.

``OpenAIJudge`` talks to any OpenAI-compatible endpoint (``vllm serve``, an API) through the async
client (``stages/core/chat.py``), with the on-disk cache in front: cached inputs cost no request, identical inputs within a
batch cost one. ``HFJudge`` runs a local transformers chat model, batched. Either returns ``None``
for a reply it could not score (failed call or invalid answer): the rubric reward abstains there.
"""

from __future__ import annotations

from ..chat import ChatClient, ChatError, ClientSettings
from .cache import JudgeCache, cache_key
from .rubric import AnswerError, Judgement, Rubric
from .usage import Usage


class _LLMJudge:
    """What both LLM judges share: prompts, validation, usage accounting."""

    name = "llm"

    def __init__(self, rubric: Rubric):
        self.rubric = rubric
        self.usage = Usage()       # since construction
        self.last_usage = Usage()  # the latest score_many call (one GRPO step)

    def _parse(self, text: str, usage: Usage) -> Judgement | None:
        try:
            return self.rubric.parse(text)
        except AnswerError:
            usage.failures["invalid_answer"] += 1
            return None

    def _finish(self, usage: Usage) -> None:
        self.last_usage = usage
        self.usage.add(usage)

    def preflight(self) -> None:
        pass


class OpenAIJudge(_LLMJudge):
    name = "openai"

    def __init__(self, settings: ClientSettings, rubric: Rubric, cache: JudgeCache | None):
        super().__init__(rubric)
        self.settings = settings
        self.client = ChatClient(settings)
        self.cache = cache
        self.version = f"openai:{settings.model}:{rubric.version}"

    def preflight(self) -> None:
        self.client.preflight()

    def _key(self, messages: list[dict]) -> str:
        return cache_key(model=self.settings.model, rubric=self.rubric.version,
                         template=self.rubric.template_hash, sampling=self.settings.sampling, input=messages)

    def score_many(self, items: list[dict]) -> list[Judgement | None]:
        """items: dicts with response (reply text), persona, context. One Judgement or None each."""
        usage = Usage(items=len(items))
        conversations = [self.rubric.messages(it["response"], it["persona"], it["context"]) for it in items]
        keys = [self._key(m) for m in conversations]
        answers = self.cache.get_many(keys) if self.cache is not None else {}
        usage.cache_hits = sum(k in answers for k in keys)
        todo = {k: m for k, m in zip(keys, conversations) if k not in answers}  # identical inputs: one call
        fresh: dict[str, str] = {}
        for key, result in zip(todo, self.client.complete_many(list(todo.values()), usage)):
            if not isinstance(result, ChatError):
                fresh[key] = result
        judged = {k: self._parse(text, usage) for k, text in fresh.items()}
        if self.cache is not None:
            self.cache.put_many({k: fresh[k] for k, j in judged.items() if j is not None})
        out = [self.rubric.parse(answers[k]) if k in answers else judged.get(k) for k in keys]
        self._finish(usage)
        return out


class HFJudge(_LLMJudge):
    name = "hf"

    def __init__(self, model_path: str, rubric: Rubric, batch_size: int, max_new_tokens: int, dtype: str):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        super().__init__(rubric)
        self.tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=getattr(torch, dtype)).eval()
        self.batch_size, self.max_new_tokens = batch_size, max_new_tokens
        self.version = f"hf:{model_path}:{rubric.version}"

    def prompt(self, messages: list[dict]) -> str:
        if self.tokenizer.chat_template:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return "\n\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\n\nassistant:"

    def score_many(self, items: list[dict]) -> list[Judgement | None]:
        import time

        import torch

        usage = Usage(items=len(items))
        prompts = [self.prompt(self.rubric.messages(it["response"], it["persona"], it["context"])) for it in items]
        out: list[Judgement | None] = []
        for i in range(0, len(prompts), self.batch_size):
            batch = self.tokenizer(prompts[i:i + self.batch_size], return_tensors="pt", padding=True,
                                   add_special_tokens=False)
            start = time.perf_counter()
            with torch.no_grad():  # greedy: a judge should answer the same input the same way
                ids = self.model.generate(**batch, max_new_tokens=self.max_new_tokens, do_sample=False,
                                          pad_token_id=self.tokenizer.pad_token_id)
            usage.latencies_s.append(time.perf_counter() - start)
            usage.requests += 1
            new = ids[:, batch["input_ids"].shape[1]:]
            usage.prompt_tokens += int(batch["attention_mask"].sum())
            usage.completion_tokens += int((new != self.tokenizer.pad_token_id).sum())
            out += [self._parse(t, usage) for t in self.tokenizer.batch_decode(new, skip_special_tokens=True)]
        self._finish(usage)
        return out
