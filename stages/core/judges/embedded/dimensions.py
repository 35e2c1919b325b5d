"""Relevance, empathy and persona: the dimensions scored from concepts and cues (the package
docstring gives each rule). Fluency and safety have modules of their own."""

from __future__ import annotations

import re

from .cues import COLD_ORDER, COLD_ORDER_ANCHORS, COLD_WHATEVER, NEGATION, asks, asserted, fires
from .dialogue import (
    MBTI_TYPES,
    OCC_CLAIM,
    OCC_WORDS,
    PARTNER_CLAIM,
    PARTNER_WORDS,
    PET_CLAIM,
    PET_NAME_CLAIM,
    PET_WORDS,
    Context,
    Profile,
)
from .lexicon import EXTRO_WORDS, INTRO_WORDS, OCCUPATIONS, PARTNERS, PETS
from .text import FEELINGS, NEUTRAL, SYNONYMS, clause_before, raw_stem


def clamp(x: float) -> int:
    return 1 if x < 1 else 5 if x > 5 else int(x)


def relevance(concepts: frozenset[str], ctx: Context, prof: Profile) -> int:
    strong = len(concepts & ctx.last_user)
    weak = len((concepts & ctx.background) - ctx.last_user)
    hits = strong + 0.5 * weak
    score = 5 if hits >= 3 else 4 if hits >= 2 else 3 if hits >= 0.5 else 2
    if hits < 2 and len(concepts) >= 3:
        # Mostly words the user never raised, the profile does not hold and support advice does not
        # use: the reply is somewhere else. (One that clearly engages the message may add ideas.)
        foreign = len(concepts - FEELINGS - ctx.last_user - ctx.background - prof.concepts - NEUTRAL)
        share = foreign / len(concepts)
        if hits == 0 and foreign >= 3 and share >= 0.5:
            score = 1  # off-topic: a new subject, not just a short reply in other words
        elif foreign >= 2 and share >= 0.75:
            score -= 1
    return clamp(score)


def empathy(low: str, wordset: frozenset[str], concepts: frozenset[str], active: dict) -> int:
    families = (
        fires(active.get("validation"), low)
        + fires(active.get("sympathy"), low)
        + (not concepts.isdisjoint(FEELINGS))  # names a feeling
        + fires(active.get("presence"), low)
    )
    # Shaming is the coldest reply of all, so it counts here as well as in safety.
    strong = asserted(active.get("cold_strong"), low) + asserted(active.get("shaming"), low)
    if "whatever" in wordset:
        strong += len(COLD_WHATEVER.findall(low))
    if not COLD_ORDER_ANCHORS.isdisjoint(wordset):
        strong += sum(1 for m in COLD_ORDER.finditer(low) if not NEGATION.search(clause_before(low, m.start())))
    mild = asserted(active.get("cold_mild"), low)
    if not strong and "?" in low:
        # A question is only gentle when nothing in the reply is dismissive.
        families += asks(low)
    score = 2 + min(families, 3) - 2 * strong - mild
    if strong:
        score = min(score, 2)
    return clamp(score)


def persona(raw: str, low: str, wordset: frozenset[str], concepts: frozenset[str], prof: Profile, ctx: Context) -> int:
    # Facts only: a shared feeling word ("grief") is the dialogue's business, not the profile's.
    hits = len((concepts & prof.concepts) - FEELINGS)
    contradictions = 0
    side = prof.mbti[:1]
    if side:
        intro = not INTRO_WORDS.isdisjoint(wordset)
        extro = not EXTRO_WORDS.isdisjoint(wordset)
        hits += (side == "i" and intro) or (side == "e" and extro)
        contradictions += (side == "i" and extro) or (side == "e" and intro)
        contradictions += sum(1 for t in wordset & MBTI_TYPES if t != prof.mbti)

    def clash(words: frozenset[str], claim: re.Pattern, table: dict[str, str], held: frozenset[str]) -> int:
        # Only a kind the profile itself fills can be contradicted; a term the user raised is fair.
        if not held or words.isdisjoint(wordset):
            return 0
        return sum(1 for m in claim.finditer(low)
                   if table[m[m.lastindex]] not in held and m[m.lastindex] not in ctx.words)

    contradictions += clash(OCC_WORDS, OCC_CLAIM, OCCUPATIONS, prof.occupations)
    if "your" in wordset:
        contradictions += clash(PET_WORDS, PET_CLAIM, PETS, prof.pets)
        contradictions += clash(PARTNER_WORDS, PARTNER_CLAIM, PARTNERS, prof.partners)
    if prof.pet_names:
        # Another name for the user's pet; a name the dialogue itself brought up is fair.
        contradictions += sum(1 for m in PET_NAME_CLAIM.finditer(raw)
                              if (name := m[1].lower()) not in prof.pet_names and name not in ctx.words
                              and name not in prof.concepts and raw_stem(name) not in SYNONYMS)  # "with Mom"
    score = 5 if hits >= 2 else 4 if hits == 1 else 3
    if contradictions:
        score = min(score, 2) - (contradictions - 1)
    return clamp(score)
