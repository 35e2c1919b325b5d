"""Cue phrases of the embedded judge (lexicons/empathy_cues.yaml, lexicons/safety_cues.yaml),
compiled once at import, and the per-reply lookups over them.

A cue is a handful of phrases plus the words ("anchors") one of which every match contains; only
cues whose anchor occurs in the reply run their regex (an index from anchor to cues is built below),
so a reply pays for the few cues its own words can wake up. Every phrase is matched as whole words:
no letter may touch it on either side.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .lexicon import fill, load, word_list
from .text import clause_after, clause_before

Cue = tuple[frozenset[str], re.Pattern]
_LEADING_GROUP = re.compile(r"\(\?:([a-z' ?|]+)\)(?![?*+{])(.*)", re.DOTALL)


def _branches(phrase: str) -> list[str]:
    """A phrase as regex branches that each start with a literal letter.

    Speed: `re` scans for a literal first character far faster than it tries a leading \\b at
    every position (measured ~1 us vs ~8 us on a 30-word reply), so the left word boundary is
    checked by a lookbehind *after* that letter: c(?<![\\w']c) == "c, not preceded by a word char".
    A leading group of plain alternatives is expanded: (?:it|that) makes -> it makes|that makes.
    """
    m = _LEADING_GROUP.fullmatch(phrase)
    alts = [alt + m[2] for alt in m[1].split("|")] if m else [phrase]
    out = []
    for alt in alts:
        if alt[:1].isalpha() and alt[1:2] not in ("?", "*", "+", "{"):
            out.append(alt[0] + "(?<![\\w']" + alt[0] + ")" + alt[1:])
        else:
            out.append(r"\b" + alt)  # not literal-first: plain boundary, slower but correct
    return out


def cue(anchors: str, *phrases: str) -> Cue:
    branches = [b for phrase in phrases for b in _branches(phrase)]
    # (?!\w), not \b, on the right: a phrase may end in punctuation ("so what?").
    return frozenset(anchors.split()), re.compile(r"(?:" + "|".join(branches) + r")(?!\w)")


_CUES = [{"anchors": str, "phrases": [str]}]


def _compile(name: str, table: tuple[dict, ...], fragments: dict[str, str]) -> tuple[Cue, ...]:
    return tuple(cue(c["anchors"], *(fill(p, fragments, name) for p in c["phrases"])) for c in table)


_EMPATHY = load("empathy_cues.yaml", {
    "fragments": {str: str}, "validation": _CUES, "sympathy": _CUES, "presence": _CUES, "cold_strong": _CUES,
    "cold_mild": _CUES, "patterns": {"question": str, "cold_whatever": str, "cold_order": str, "negation": str},
    "cold_order_anchors": str,
})
# Empathy: warm cue families (each counts once), strong and mild cold cues.
EMPATHY_FAMILIES: dict[str, tuple[Cue, ...]] = {
    family: _compile("empathy_cues.yaml", _EMPATHY[family], _EMPATHY["fragments"])
    for family in ("validation", "sympathy", "presence", "cold_strong", "cold_mild")
}
# A question to the user ("Would you like to talk about it?"), found per sentence.
QUESTION = re.compile(_EMPATHY["patterns"]["question"])
# "whatever" as a brush-off, "calm down" as an order (their anchors: COLD_ORDER_ANCHORS).
COLD_WHATEVER = re.compile(_EMPATHY["patterns"]["cold_whatever"])
COLD_ORDER = re.compile(_EMPATHY["patterns"]["cold_order"])
COLD_ORDER_ANCHORS = frozenset(word_list(_EMPATHY["cold_order_anchors"]))
# A cue preceded in its own clause by one of these is negated or framed, not asserted.
NEGATION = re.compile(_EMPATHY["patterns"]["negation"])

SAFETY_CATEGORIES = ("self_harm", "violence", "medical", "substance", "shaming", "driving", "eating", "emergency",
                     "confront", "isolation", "financial")
_SAFETY = load("safety_cues.yaml", {
    "fragments": {str: str}, "guards": {"framing": str, "ideation": str, "medical_defer": str},
    "cues": {category: _CUES for category in SAFETY_CATEGORIES},
})
# Safety: harmful content by category, and the guards that frame a match (see safety.py).
SAFETY_CUES: dict[str, tuple[Cue, ...]] = {
    category: _compile("safety_cues.yaml", _SAFETY["cues"][category], _SAFETY["fragments"])
    for category in SAFETY_CATEGORIES
}
GUARD_FRAMING, GUARD_IDEATION, MEDICAL_DEFER = (
    re.compile(fill(_SAFETY["guards"][key], _SAFETY["fragments"], "safety_cues.yaml"))
    for key in ("framing", "ideation", "medical_defer"))

# Anchor word -> the cues it wakes up, over all families; a reply looks up only its own words.
_FAMILIES: dict[str, tuple[Cue, ...]] = {**EMPATHY_FAMILIES, **SAFETY_CUES}
_CUE_LIST: tuple[tuple[str, re.Pattern], ...] = tuple(
    (family, pattern) for family, cues in _FAMILIES.items() for _anchors, pattern in cues
)
_CUE_INDEX: dict[str, tuple[int, ...]] = {}
for _i, (_anchors, _p) in enumerate(c for cues in _FAMILIES.values() for c in cues):
    for _a in _anchors:
        _CUE_INDEX[_a] = _CUE_INDEX.get(_a, ()) + (_i,)
del _i, _anchors, _p, _a
_ANCHORS = frozenset(_CUE_INDEX)


def active_cues(wordset: frozenset[str]) -> dict[str, list[re.Pattern]]:
    """family -> the patterns of its cues whose anchor word occurs in the reply (index order)."""
    return _cues_for_anchors(wordset & _ANCHORS)  # one C-level intersection instead of a lookup per word


@lru_cache(maxsize=1 << 14)
def _cues_for_anchors(anchors: frozenset[str]) -> dict[str, list[re.Pattern]]:
    # Memoised on the few anchor words a reply holds: replies share small anchor sets far more
    # often than they share text. Callers only read the result.
    ids: set[int] = set()
    for w in anchors:
        ids.update(_CUE_INDEX[w])
    active: dict[str, list[re.Pattern]] = {}
    for i in sorted(ids):  # sorted: the same order whatever the set's hash order
        family, pattern = _CUE_LIST[i]
        active.setdefault(family, []).append(pattern)
    return active


def fires(patterns: list[re.Pattern] | None, text: str) -> bool:
    """Does any of these cues occur (negated or not)?"""
    if patterns is not None:
        for p in patterns:
            if p.search(text):
                return True
    return False


def asserted(patterns: list[re.Pattern] | None, text: str,
             guard: re.Pattern | None = None, guard_after: re.Pattern | None = None) -> int:
    """How many cue matches are asserted, i.e. not negated or framed within their own clause."""
    if patterns is None:
        return 0
    n = 0
    for pattern in patterns:
        for m in pattern.finditer(text):
            before = clause_before(text, m.start())
            if NEGATION.search(before) or (guard is not None and guard.search(before)):
                continue
            if guard_after is not None and guard_after.search(clause_after(text, m.end())):
                continue
            n += 1
    return n


def asks(low: str) -> bool:
    """Does a sentence that ends in '?' ask the user something? The question regex cannot cross a
    sentence end, so only those sentences are searched (~3x faster than the whole reply)."""
    end = low.find("?")
    while end >= 0:
        start = max(low.rfind(".", 0, end), low.rfind("!", 0, end), low.rfind("?", 0, end)) + 1
        if QUESTION.search(low, start, end + 1):
            return True
        end = low.find("?", end + 1)
    return False
