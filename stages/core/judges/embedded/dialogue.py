"""What the judge reads from the profile and the dialogue, memoised per string (a GRPO group shares
them): the profile's concepts, MBTI type and the kinds of fact it holds (occupation, pet, partner);
the dialogue's last user turn, its background, and every word said."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from .lexicon import OCCUPATIONS, PARTNERS, PETS
from .text import alt, concepts, lower, words

_ROLE_LINE = re.compile(
    r"^\s*(user|human|seeker|assistant|supporter|system|situation|emotion)\s*:\s*", re.IGNORECASE
)
_USER_ROLES = frozenset(("user", "human", "seeker"))  # "seeker" as in ESConv-style transcripts
_PROFILE_KEY = re.compile(r"^\s*(mbti|about|signature|recent activit(?:y|ies))\s*:\s*", re.IGNORECASE)
_MBTI = re.compile(r"\b([ie][ns][tf][jp])\b", re.IGNORECASE)
MBTI_TYPES = frozenset(a + b + c + d for a in "ie" for b in "ns" for c in "tf" for d in "jp")

# Persona contradiction claims in the reply: "as a teacher", "you're such a caring nurse", ...
OCC_WORDS = frozenset(OCCUPATIONS) | frozenset(w + "s" for w in OCCUPATIONS)
PET_WORDS = frozenset(PETS) | frozenset(w + "s" for w in PETS)
PARTNER_WORDS = frozenset(PARTNERS) | frozenset(w + "s" for w in PARTNERS)
_OCC_ALT = alt(OCCUPATIONS)
# "the nurse in you" is the synthetic replies' own way of naming the job; group 1 or 2 is the job word.
OCC_CLAIM = re.compile(
    r"\b(?:(?:as an?|you(?:'re| are) (?:an?|such an?)|being an?|fellow|your (?:job|work|career|role) as an?)\s+"
    r"(?:[a-z]+\s+){0,2}?(" + _OCC_ALT + r")s?|the (" + _OCC_ALT + r") in you)\b"
)
OCC_ANY = re.compile(r"\b(" + _OCC_ALT + r")s?\b")
# A pet's name in the profile ("My cat Miso", "a dog named Pepper"), matched on the original case.
_PET_NAMED = re.compile(r"(?i:\b(?:" + alt(PETS) + r")s?)\s+(?:(?i:named|called)\s+)?([A-Z][a-z]+)\b")
# A name the reply gives the user's pet: "your dog Mochi", or the synthetic replies' companion frames
# ("Let Miso keep you company", "a quiet evening with Miso", "give Miso a treat").
PET_NAME_CLAIM = re.compile(
    r"(?i:\byour\s+(?:" + alt(PETS) + r")|\blet|\bwith|\bgive|\bhug|\bcuddle)\s+([A-Z][a-z]+)\b"
)
PET_CLAIM = re.compile(r"\byour (?:[a-z]+\s+){0,2}?(" + alt(PETS) + r")s?\b")
PARTNER_CLAIM = re.compile(r"\byour (?:[a-z]+\s+)?(" + alt(PARTNERS) + r")s?\b")


class Profile(NamedTuple):  # a NamedTuple: built in a third of a frozen dataclass's time
    concepts: frozenset[str]  # About + Signature + Recent Activities
    mbti: str  # lower case, "" when absent
    occupations: frozenset[str]  # the kinds the profile fills, for the contradiction check
    pets: frozenset[str]
    pet_names: frozenset[str]  # lower case: "miso" from "My cat Miso"
    partners: frozenset[str]


_NONE: frozenset[str] = frozenset()


def _kinds(wordset: frozenset[str], forms: frozenset[str], table: dict[str, str]) -> frozenset[str]:
    """The kinds (table values) the words name; a plural form names its singular's kind."""
    named = wordset & forms
    if not named:
        return _NONE
    return frozenset(table[w] if w in table else table[w.removesuffix("s")] for w in named)


@lru_cache(maxsize=4096)
def profile(persona: str) -> Profile:
    facts: list[str] = []
    mbti = ""
    keyed = False
    for line in lower(persona).splitlines():
        m = _PROFILE_KEY.match(line)
        if m is None:
            # Free-form profile, or a value continued on the next line: keep it as a fact.
            facts.append(line)
            continue
        keyed = True
        value = line[m.end():]
        if m[1] == "mbti":
            found = _MBTI.search(value)
            mbti = found[1] if found else ""
        else:
            facts.append(value)
    if not keyed:
        found = _MBTI.search(persona.lower())
        mbti = found[1] if found else ""
    text = " ".join(facts)
    wordset = frozenset(words(text))
    occupations = frozenset(OCCUPATIONS[m[1]] for m in OCC_ANY.finditer(text))  # finds "social worker" too
    pet_names = frozenset(m[1].lower() for m in _PET_NAMED.finditer(persona))
    return Profile(concepts(wordset), mbti, occupations, _kinds(wordset, PET_WORDS, PETS),
                   pet_names, _kinds(wordset, PARTNER_WORDS, PARTNERS))


class Context(NamedTuple):
    last_user: frozenset[str]  # concepts of the last user turn
    background: frozenset[str]  # concepts of everything else (situation, earlier turns)
    words: frozenset[str]  # every word, so a term the user brought up is never a contradiction


@lru_cache(maxsize=4096)
def context(context: str) -> Context:
    low = lower(context)
    roles: list[str] = []
    turns: list[list[str]] = []  # the lines of each turn, role prefix removed
    for line in low.splitlines():
        m = _ROLE_LINE.match(line)
        if m is not None:
            roles.append(m[1])
            turns.append([line[m.end():]])
        elif turns:
            turns[-1].append(line)  # continuation of a multi-line turn
        else:
            roles.append("")
            turns.append([line])
    last = max((i for i, role in enumerate(roles) if role in _USER_ROLES), default=-1)
    if last < 0:
        # No "User:" lines: the whole context is what the user said.
        said = frozenset(words(low))
        return Context(concepts(said), _NONE, said)
    last_words = frozenset(words(" ".join(turns[last])))
    # A system prompt is instructions, not the topic.
    other = " ".join(" ".join(lines) for i, lines in enumerate(turns) if i != last and roles[i] != "system")
    other_words = frozenset(words(other))
    return Context(concepts(last_words), concepts(other_words), last_words | other_words)
