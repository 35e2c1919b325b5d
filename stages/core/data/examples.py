"""From dialogues (KardiaBench records) to training examples: one per assistant turn.

Each example is a conversational prompt-completion pair: the prompt is the system prompt, the kept
history and the user's turn; the completion is the gold four-span assistant turn. Columns the reward
functions need (gold emotion, persona, plain-text context) travel with it.
"""

from __future__ import annotations

import random
from collections import defaultdict

from ..format import ResponseFormat
from ..labels import normalize_emotion

# Dialogues are stored with all four spans whatever style a run trains (KardiaBench's form).
SOURCE_FORMAT = ResponseFormat("four_span")


def context_text(messages: list[dict]) -> str:
    """The dialogue so far as plain text for a judge: 'User: ...' / 'Assistant: <reply>' lines."""
    lines = []
    for m in messages:
        if m["role"] == "user":
            lines.append(f"User: {m['content']}")
        elif m["role"] == "assistant":
            lines.append(f"Assistant: {SOURCE_FORMAT.response_text(m['content'])}")
    return "\n".join(lines)


def dialogue_to_examples(record: dict, fmt: ResponseFormat, history: str, max_history_turns: int | None) -> list[dict]:
    """Split one dialogue into per-assistant-turn examples.

    Source turns are read in the four-span form of the data; the target is rendered in ``fmt``'s
    style (so the response-only ablation trains on the same dialogues). The system prompt is always
    ``fmt.system_prompt(persona)``: the prompt is a config value, identical across data sources.
    history: 'full' keeps earlier assistant turns as written, 'response_only' keeps only their reply
    text (shorter contexts); at most ``max_history_turns`` earlier exchanges are kept (None: all).
    """
    turns = [{"role": m["role"], "content": SOURCE_FORMAT.normalize(m["content"])}
             for m in record["messages"] if m["role"] != "system"]
    system = {"role": "system", "content": fmt.system_prompt(record["person"])}
    examples = []
    for i, m in enumerate(turns):
        if m["role"] != "assistant":
            continue
        spans = SOURCE_FORMAT.parse(m["content"]).spans
        if spans is None:
            raise ValueError(f"dialogue {record['dialogue_id']}: assistant turn {i} does not parse "
                             f"({SOURCE_FORMAT.parse(m['content']).error})")
        first = 0 if max_history_turns is None else max(0, i - 1 - 2 * max_history_turns)
        earlier = turns[first:i - 1]
        if history == "response_only":
            earlier = [{"role": "assistant", "content": SOURCE_FORMAT.response_text(e["content"])}
                       if e["role"] == "assistant" else e for e in earlier]
        prompt = [system, *earlier, turns[i - 1]]
        examples.append({
            "id": f"{record['dialogue_id']}-t{len(examples)}",
            "dialogue_id": record["dialogue_id"],
            "turn": len(examples),
            "prompt": prompt,
            "completion": [{"role": "assistant", "content": fmt.render(spans)}],
            "emotion": normalize_emotion(spans["emotion"]),
            "persona": record["person"],
            "situation": record.get("situation", ""),
            "context": context_text(prompt[1:]),
            "reference": spans["response"],
            "trace": record.get("trace"),
            "cue": record.get("cue"),
        })
    return examples


def split_by_persona(records: list[dict], test_fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Persona-disjoint split [paper]: every dialogue of a held-out profile goes to test."""
    by_persona: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_persona[r["person"]].append(r)
    personas = sorted(by_persona)
    random.Random(seed).shuffle(personas)
    n_test = max(1, round(len(personas) * test_fraction))
    test_personas = set(personas[:n_test])
    train = [r for r in records if r["person"] not in test_personas]
    test = [r for r in records if r["person"] in test_personas]
    return train, test
