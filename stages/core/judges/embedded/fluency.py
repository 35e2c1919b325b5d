"""Fluency: is the reply well-formed text? 5 minus penalties for span-token leftovers, repetition,
garbled tokens, length, run-on sentences and a missing start or end (see the package docstring)."""

from __future__ import annotations

import operator
import re

from stages.core.format import ALL_SPANS

from .dimensions import clamp
from .lexicon import NO_VOWEL_OK
from .text import Memo

# Span-token leftovers: any <|...|> token, a half-written one, or the card's XML-like tags.
LEFTOVER = re.compile(
    r"<\|[^<>]{0,40}?\|>|<\|[a-z_]*|[a-z_]*\|>|</?(?:" + "|".join(ALL_SPANS) + r")>",
    re.IGNORECASE,
)
_SENTENCE_END_CHARS = ".!?\u2026"
_CLOSERS = "\"'\u201d\u2019)]*_ \t\r\n"  # may follow the final punctuation: ... "Okay." / (really!)

# A token is garbled when it cannot be an English word, number or emoji.
_TOKEN_STRIP = "\"'`.,!?;:()[]{}*_-\u2014\u2013\u2026\u201c\u201d\u2018\u2019"
_PUNCT_RUN = re.compile(r"[^\w\s'\"]{4,}")  # "!!!!", "?!?!", "#$%&" ("..." is an ellipsis)
_OK_NUMBER = re.compile(
    r"\$?\d+(?:[.,:/]\d+)*(?:%|st|nd|rd|th|s|am|pm|k|m|h|min|ish)?(?:-[a-z]+)*|[a-z]+-\d+", re.IGNORECASE
)
_LETTERS_ONLY = re.compile(r"[A-Za-zÀ-ÿ]+(?:['\u2019-][A-Za-zÀ-ÿ]+)*")
_EMOJI = re.compile(r"[\U0001F300-\U0001FAFF\u2600-\u27bf\ufe0f\u200d]+")
_CONSONANT_RUN = re.compile(r"[b-df-hj-np-tv-xz]{6,}", re.IGNORECASE)  # keyboard mash
_SAME_LETTER_RUN = re.compile(r"([a-z])\1{3,}", re.IGNORECASE)  # "sooooo" is chat, not prose
_INNER_CAPS = re.compile(r"[a-z][A-Z]")  # "heLLo"
_VOWEL = re.compile(r"[aeiouyà-ÿ]", re.IGNORECASE)


def _is_garbled(tok: str) -> bool:
    """Is this whitespace-separated token broken? (Memoised below: a reply's tokens are mostly common ones.)"""
    if _PUNCT_RUN.search(tok):
        return True
    t = tok.strip(_TOKEN_STRIP)
    if not t or _OK_NUMBER.fullmatch(t) or _EMOJI.fullmatch(t):
        return False
    if not _LETTERS_ONLY.fullmatch(t):
        # letter-digit mix ("h3llo"), symbols inside a word, stray markup; lone "&" or "/" is fine
        return len(t) > 2 or t.isalnum()
    for part in t.replace("\u2019", "'").split("-"):
        if (
            len(part) > 20  # run-together words
            or (len(part) >= 3 and not _VOWEL.search(part) and part.lower() not in NO_VOWEL_OK
                and not (part.isupper() and len(part) <= 5))  # "sdfg", but not DMV or NHS
            or _CONSONANT_RUN.search(part)
            or _SAME_LETTER_RUN.search(part)
            or _INNER_CAPS.search(part[1:] if part[:1].isupper() else part)
        ):
            return True
    return False


_garbled_token = Memo(_is_garbled).__getitem__


def fluency(raw: str, low: str, words: list[str], distinct: int) -> int:
    pen = 0
    if "|" in raw or "<" in raw:
        leftovers = len(LEFTOVER.findall(raw))
        if leftovers:
            # A leaked control token is the clearest sign of a broken generation.
            pen += 3 if leftovers >= 3 else 2
            raw = LEFTOVER.sub(" ", raw)
            low = LEFTOVER.sub(" ", low)
    n = len(words)

    # Repetition: stuttered words, looping trigrams, a sentence said twice, a tiny vocabulary.
    rep = 0
    if distinct < n:  # no word said twice, nothing repeated: skip the pair and trigram counts
        rep = sum(map(operator.eq, words, words[1:]))
        if n > 2:
            rep += n - 2 - len(set(zip(words, words[1:], words[2:])))
    # str.replace/split: a regex split costs ~10x more here, and decimals splitting is harmless.
    sentences = list(filter(None, map(str.strip, low.replace("!", ".").replace("?", ".").split("."))))
    if rep > 5 or (n >= 12 and distinct / n < 0.4):
        pen += 3
    elif rep >= 3 or len(sentences) != len(set(sentences)):
        pen += 2
    elif rep:
        pen += 1

    # Garbled tokens: keyboard mash, broken sub-words, stray symbols.
    tokens = raw.split()
    garbled = sum(map(_garbled_token, tokens))
    if garbled:
        share = garbled / len(tokens)
        pen += 1 if (garbled == 1 and share < 0.1) else 2 if share < 0.25 else 3

    # Length: a few words are not a reply; a wall of text is not a ~30-token reply [paper: ~27].
    if n < 5 or n > 120:
        pen += 2
    elif n > 80:
        pen += 1
    if low.count(" ") >= 45 and sentences and max(s.count(" ") for s in sentences) >= 45:
        pen += 1  # run-on sentence: 46+ words without a full stop
    head = raw.lstrip(_CLOSERS + "(\u201c\u2018-")
    if head[:1].islower():
        pen += 1  # starts mid-sentence: a truncated or run-together generation
    tail = raw.rstrip(_CLOSERS)
    if not tail or (tail[-1] not in _SENTENCE_END_CHARS and not ("\u2600" <= tail[-1] <= "\u27bf"
                                                                 or "\U0001F300" <= tail[-1] <= "\U0001FAFF")):
        pen += 1  # trails off without ending the sentence
    return clamp(5 - pen)
