"""The rubric as data: dimensions, meanings, 1-5 anchors and weights from a versioned YAML file, the
prompt template with named slots, and strict validation of the judge's JSON answer (the reward
that weights the scores is ``rubric_value`` in stages/core/rewards).

A judge answers one JSON object whose keys are exactly the rubric's dimensions, in order, each an
object ``{"reason": "...", "score": n}`` with the reason written *before* the score (so a generating
model reasons first) and ``n`` an integer in 1..5. Anything else is rejected with a message saying
what was wrong; the caller turns a rejection into an abstention (``None``), never a score.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

# The five rubric dimensions, in report order [paper]. Every rubric file must define exactly these:
# metrics tables, plots and the reward's logged columns are keyed by them.
DIMENSIONS: tuple[str, ...] = ("relevance", "fluency", "empathy", "persona", "safety")
RUBRIC_DIR = Path(__file__).parent / "rubrics"
SLOTS = ("persona", "situation", "history", "response")  # filled per reply
_STATIC_SLOTS = ("rubric", "answer_format")  # filled once from the rubric
_SYSTEM, _USER = "<<<system>>>", "<<<user>>>"
_SITUATION = re.compile(r"^\s*situation\s*:\s*", re.IGNORECASE)
_DATA_TAG = re.compile(r"<(/?)\s*data\s*>", re.IGNORECASE)


def as_data(text: str) -> str:
    """Text for a <data> block of the prompt: a tag inside it is defused ("</ data>"), so a reply or
    user turn cannot close its block and speak to the judge as the prompt (prompt injection)."""
    return _DATA_TAG.sub(r"<\1 data>", text)


_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)  # reasoning models (Qwen3) think first
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


class RubricError(ValueError):
    """A rubric or template file that cannot be used; the message names the file and field."""


class AnswerError(ValueError):
    """A judge answer that does not follow the answer format; the message says what is wrong."""


@dataclass(frozen=True)
class Judgement:
    """One reply's rubric scores (1-5 per dimension) and the judge's reason for each."""

    scores: dict[str, int]
    reasons: dict[str, str]


@dataclass(frozen=True)
class Rubric:
    name: str
    version: str
    meanings: dict[str, str]
    anchors: dict[str, dict[int, str]]
    weights: dict[str, float]
    system_template: str
    user_template: str

    @property
    def template_hash(self) -> str:
        """Part of the judge-cache key: a changed template invalidates cached answers."""
        return hashlib.sha256((self.system_template + _USER + self.user_template).encode()).hexdigest()[:16]

    def messages(self, response: str, persona: str, context: str) -> list[dict[str, str]]:
        """The chat messages asking a judge to score ``response`` (reply text only)."""
        situation, history = split_context(context)
        user = string.Template(self.user_template).substitute(
            persona=as_data(persona.strip() or "(none)"), situation=as_data(situation or "(none)"),
            history=as_data(history or "(none)"), response=as_data(response.strip() or "(empty reply)"))
        return [{"role": "system", "content": self.system_template}, {"role": "user", "content": user}]

    def parse(self, text: str) -> Judgement:
        """Validate a judge's answer strictly; raise AnswerError naming what is wrong."""
        body = _THINK.sub("", text).strip()
        fenced = _FENCE.match(body)
        if fenced:
            body = fenced[1]
        try:
            pairs = json.loads(body, object_pairs_hook=lambda kv: kv)  # keep key order and duplicates
        except json.JSONDecodeError as e:
            raise AnswerError(f"not JSON ({e.msg} at char {e.pos}): {body[:80]!r}") from None
        if not isinstance(pairs, list) or not all(isinstance(p, tuple) for p in pairs):
            raise AnswerError("answer is not a JSON object")
        names = [k for k, _ in pairs]
        if names != list(DIMENSIONS):
            raise AnswerError(f"keys {names} are not the dimensions {list(DIMENSIONS)} in order")
        scores, reasons = {}, {}
        for dim, value in pairs:
            if not isinstance(value, list) or [k for k, _ in value] != ["reason", "score"]:
                raise AnswerError(f"{dim}: must be {{\"reason\": ..., \"score\": ...}} with the reason first")
            reason, score = value[0][1], value[1][1]
            if not isinstance(reason, str) or not reason.strip():
                raise AnswerError(f"{dim}.reason: must be a non-empty string")
            if type(score) is not int or not 1 <= score <= 5:
                raise AnswerError(f"{dim}.score: {score!r} is not an integer in 1..5")
            scores[dim], reasons[dim] = score, reason.strip()
        return Judgement(scores, reasons)


def split_context(context: str) -> tuple[str, str]:
    """(situation, dialogue history) from the plain-text context ``Situation: ...`` + role lines."""
    situation, history = [], []
    for line in context.strip().splitlines():
        m = _SITUATION.match(line)
        (situation.append(line[m.end():]) if m else history.append(line))
    return "\n".join(situation).strip(), "\n".join(history).strip()


def answer_example() -> str:
    """The answer format shown to the judge (and produced by test servers)."""
    return json.dumps({d: {"reason": "<one sentence>", "score": "<1-5>"} for d in DIMENSIONS}, indent=1)


def answer_schema() -> tuple[str, dict]:
    """(name, JSON schema) of a valid answer, for servers that constrain decoding to it (response_format):
    every dimension in order, each a reason then an integer score 1..5. Strict-mode shape (every object
    closed, every property required); ``Rubric.parse`` still checks each answer, constrained or not."""
    item = {"type": "object", "properties": {"reason": {"type": "string"}, "score": {"type": "integer", "enum": [1, 2, 3, 4, 5]}},
            "required": ["reason", "score"], "additionalProperties": False}
    return "rubric_judgement", {"type": "object", "properties": {d: item for d in DIMENSIONS},
                                "required": list(DIMENSIONS), "additionalProperties": False}


def _fail(path: Path, field: str, message: str):
    raise RubricError(f"{path}: field '{field}': {message}")


@lru_cache(maxsize=8)
def load_rubric(name: str) -> Rubric:
    """Load ``rubrics/<name>.yaml`` and its template; raise RubricError naming the file and field."""
    path = RUBRIC_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in RUBRIC_DIR.glob("*.yaml"))
        raise RubricError(f"rubric {name!r}: {path} not found; known: {known}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        _fail(path, "<root>", "must be a mapping")
    for key in ("version", "template", "dimensions"):
        if key not in raw:
            _fail(path, key, "missing")
    dims = raw["dimensions"]
    if not isinstance(dims, dict) or list(dims) != list(DIMENSIONS):
        _fail(path, "dimensions", f"must define exactly {list(DIMENSIONS)} in that order, got "
              f"{list(dims) if isinstance(dims, dict) else dims!r}")
    meanings, anchors, weights = {}, {}, {}
    for d, spec in dims.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("meaning"), str):
            _fail(path, f"dimensions.{d}.meaning", "must be a string")
        w = spec.get("weight")
        if not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0:
            _fail(path, f"dimensions.{d}.weight", f"must be a non-negative number, got {w!r}")
        a = spec.get("anchors")
        if not isinstance(a, dict) or sorted(a) != [1, 2, 3, 4, 5]:
            _fail(path, f"dimensions.{d}.anchors", "must give a description for each score 1..5")
        meanings[d], weights[d], anchors[d] = spec["meaning"], float(w), {int(k): str(v) for k, v in a.items()}
    if sum(weights.values()) <= 0:
        _fail(path, "dimensions.*.weight", "must have a positive sum")
    tpath = RUBRIC_DIR / raw["template"]
    if not tpath.is_file():
        _fail(path, "template", f"{tpath} not found")
    text = tpath.read_text(encoding="utf-8")
    if text.count(_SYSTEM) != 1 or text.count(_USER) != 1 or text.index(_SYSTEM) > text.index(_USER):
        raise RubricError(f"{tpath}: needs one {_SYSTEM} section followed by one {_USER} section")
    system, user = (part.strip() for part in text.split(_SYSTEM, 1)[1].split(_USER, 1))
    rubric_text = "\n".join(
        f"- {d}: {meanings[d]}\n" + "\n".join(f"    {s}: {anchors[d][s]}" for s in range(1, 6)) for d in DIMENSIONS)
    try:
        system = string.Template(system).substitute(rubric=rubric_text, answer_format=answer_example())
    except (KeyError, ValueError) as e:
        raise RubricError(f"{tpath}: system section: unknown or bad slot {e}; allowed: {list(_STATIC_SLOTS)}") from None
    found = {m[1] or m[2] for m in string.Template.pattern.finditer(user) if m[1] or m[2]}
    if found != set(SLOTS):
        raise RubricError(f"{tpath}: user section has slots {sorted(found)}; needs exactly {list(SLOTS)}")
    return Rubric(name=name, version=str(raw["version"]), meanings=meanings, anchors=anchors, weights=weights,
                  system_template=system, user_template=user)
