"""Text helpers of the embedded judge: lower-casing, words, crude stems, concepts, clauses.

A word's *concept* is its crude stem (suffix stripping) folded through the synonym groups; emotion
words fold onto their EmpatheticDialogues label ("~anxious"). Stop words and the stock vocabulary of
support replies are no concept at all. Per-word lookups are memoised in plain dicts (``Memo``).
"""

from __future__ import annotations

import re

from .lexicon import EMOTION_FORMS, SHORT_CONTENT, STOPWORDS, SUPPORT_VOCAB, SYNONYM_GROUPS

WORD = re.compile(r"[a-zà-ÿ]+(?:'[a-zà-ÿ]+)*")
# words() finds the same words twice as fast: one C pass maps every byte that is not a letter of
# WORD (a-z, à-ÿ; anything beyond Latin-1 is encoded as '?') or an apostrophe to a space.
_WORD_BYTES = bytes(b if (97 <= b <= 122 or b >= 0xE0 or b == 39) else 32 for b in range(256))


class Memo(dict):
    """word -> f(word), computed on first use; use ``Memo(f).__getitem__`` in place of ``f``.

    A hit of that bound C method costs half an lru_cache hit, and per-word lookups are what the
    judge does most. Bounded like lru_cache, more bluntly: full means start afresh.
    """

    __slots__ = ("_f", "_limit")

    def __init__(self, f, limit: int = 1 << 16):
        super().__init__()
        self._f, self._limit = f, limit

    def __missing__(self, key):
        if len(self) >= self._limit:
            self.clear()
        value = self[key] = self._f(key)
        return value


_SUFFIXES = ("ingly", "edly", "ings", "ness", "ment", "ing", "ful", "ed", "es", "ly", "er", "s")


def raw_stem(w: str) -> str:
    """Crude suffix stripping: enough to meet 'baking'/'bakes'/'bake', not a linguist's stemmer."""
    w = w.removesuffix("'s")
    if len(w) <= 3:
        return w
    if w.endswith(("ies", "ied")) and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("iness") and len(w) > 6:
        w = w[:-5] + "y"
    elif not w.endswith("ss"):
        for suf in _SUFFIXES:
            # "ly" after "i" is part of the word (family), not an adverb suffix.
            if w.endswith(suf) and len(w) - len(suf) >= 3 and not (suf == "ly" and w[-3] == "i"):
                w = w[: -len(suf)]
                break
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":  # running -> runn -> run
        w = w[:-1]
    if len(w) > 3 and w[-1] == "e":  # bake/baking/baked -> bak
        w = w[:-1]
    return w


# Stem of a synonym -> stem of its group's first word.
SYNONYMS: dict[str, str] = {raw_stem(w): raw_stem(group[0]) for group in SYNONYM_GROUPS for w in group}
# The concepts of support advice: neither a relevance hit nor foreign to the dialogue.
NEUTRAL: frozenset[str] = frozenset(SYNONYMS.get(raw_stem(w), raw_stem(w)) for w in SUPPORT_VOCAB)


def concept_of(word: str) -> str | None:
    """Concept of a lower-cased word, None for stop words. Emotion concepts start with '~'."""
    if word in STOPWORDS:
        return None
    emotion = EMOTION_FORMS.get(word)
    if emotion is not None:
        return emotion if emotion.startswith("~") else "~" + emotion
    stem = raw_stem(word)
    stem = SYNONYMS.get(stem, stem)
    if (len(stem) < 3 and stem not in SHORT_CONTENT) or stem in STOPWORDS:
        return None
    return stem


_concept = Memo(concept_of).__getitem__
# Every concept that names a feeling, so set operations can take them out or look for them.
FEELINGS: frozenset[str] = frozenset(filter(None, map(concept_of, EMOTION_FORMS)))
assert all(c[0] == "~" for c in FEELINGS)


def concepts(words) -> frozenset[str]:
    out = set(map(_concept, words))  # a C map over a C lookup: no Python frame per known word
    out.discard(None)
    return frozenset(out)


def words(low: str) -> list[str]:
    """``WORD.findall(low)`` for lower-cased text, without a regex match per word."""
    spaced = low.encode("latin-1", "replace").translate(_WORD_BYTES).decode("latin-1")
    # An apostrophe belongs to a word only between two letters ("don't"). Quotes, a leading or
    # trailing one ("dogs'", "'cause") or a double one are rare: leave those texts to the regex.
    if "'" in spaced and ("' " in spaced or " '" in spaced or "''" in spaced
                          or spaced[0] == "'" or spaced[-1] == "'"):
        return WORD.findall(low)
    return spaced.split()


def lower(text: str) -> str:
    """Lower case with typographic apostrophes made ASCII (str.translate is ~10x slower)."""
    text = text.lower()
    if "\u2019" in text or "\u2018" in text or "\u02bc" in text:
        text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")
    return text


def clause_before(text: str, start: int, width: int = 40) -> str:
    """The text before a match, back to the start of its clause, at most `width` characters."""
    before = text[max(0, start - width): start]
    cut = max(before.rfind("."), before.rfind("!"), before.rfind("?"), before.rfind(","),
              before.rfind(";"), before.rfind(":"), before.rfind("\n"))
    return before[cut + 1:] if cut >= 0 else before


def clause_after(text: str, end: int, width: int = 60) -> str:
    """The text after a match, up to the end of its sentence, at most `width` characters."""
    after = text[end: end + width]
    for i, ch in enumerate(after):
        if ch in ".!?;\n":
            return after[:i]
    return after


def alt(words) -> str:
    """Regex alternation of literal words, longest first so that 'developer' beats a prefix."""
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))
