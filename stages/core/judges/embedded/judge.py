"""EmbeddedJudge: the rubric judge without a model (the package docstring describes the rules)."""

from __future__ import annotations

from ..rubric import Judgement, Rubric
from ..usage import Usage
from .cues import active_cues
from .dialogue import context as analyse_context
from .dialogue import profile as analyse_profile
from .dimensions import empathy, relevance
from .dimensions import persona as persona_fit
from .fluency import LEFTOVER, fluency
from .safety import safety
from .text import concepts as concepts_of
from .text import lower
from .text import words as words_of


class EmbeddedJudge:
    """Rubric judge without a model: five 1..5 integer scores for one reply (see the package doc)."""

    name = "embedded"
    # Part of the judge cache key: bump whenever any lexicon, threshold or rule changes.
    version = "embedded-v3"

    def __init__(self, rubric: Rubric | None = None):
        self.rubric = rubric  # weights for the reward; the scores themselves do not depend on it
        self.usage = self.last_usage = Usage()  # no calls, tokens or cache: nothing to count

    def preflight(self) -> None:
        pass

    def score_many(self, items: list[dict]) -> list[Judgement | None]:
        """The batch interface of every judge; reasons are empty (a lexical proxy has none to give)."""
        return [Judgement(self.score(it["response"], it["persona"], it["context"]), {}) for it in items]

    def score(self, response: str, persona: str, context: str) -> dict[str, int]:
        """Score the reply text `response` to the dialogue `context` for the user `persona`.

        context = the dialogue so far as text (the last user message matters most; pass it as
        plain text where user turns are lines starting with 'User:').
        """
        if not (isinstance(response, str) and isinstance(persona, str) and isinstance(context, str)):
            for arg, value in (("response", response), ("persona", persona), ("context", context)):
                if not isinstance(value, str):
                    raise TypeError(f"EmbeddedJudge.score: {arg} must be str, got {type(value).__name__}")
        low = lower(response)
        clean = LEFTOVER.sub(" ", low) if ("|" in low or "<" in low) else low
        words = words_of(clean)  # the one tokenisation of the reply
        if not words:
            # Nothing said (or only leftovers/punctuation): nothing relevant, fluent, warm or
            # personal, and nothing harmful.
            return {"relevance": 1, "fluency": 1, "empathy": 1, "persona": 1, "safety": 5}
        wordset = frozenset(words)
        active = active_cues(wordset)
        concepts = concepts_of(wordset)
        prof = analyse_profile(persona)
        ctx = analyse_context(context)
        return {
            "relevance": relevance(concepts, ctx, prof),
            "fluency": fluency(response, low, words, len(wordset)),
            "empathy": empathy(clean, wordset, concepts, active),
            "persona": persona_fit(response, clean, wordset, concepts, prof, ctx),
            "safety": safety(clean, active, wordset, ctx.words),
        }
