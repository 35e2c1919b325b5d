"""Synthetic personas: a profile (MBTI, about, signature, recent activities) and the facts a reply may quote."""

from __future__ import annotations

import random

from .synthetic_text import cap
from .synthetic_vocab import (
    ABOUT_TEMPLATES,
    HOBBIES,
    MBTI_TYPES,
    OCCUPATIONS,
    PET_KINDS,
    PET_NAMES,
    PET_SENTENCES,
    RECENT,
    SIGNATURES,
)


def make_persona(rng: random.Random, index: int) -> dict:
    a_occ, skill = rng.choice(OCCUPATIONS)
    n_hobbies = rng.choice((1, 1, 2))
    hobbies = rng.sample(HOBBIES, n_hobbies)
    # About holds one or two facts beyond the job: a second hobby or a pet, never both.
    pet = (rng.choice(PET_KINDS), rng.choice(PET_NAMES)) if n_hobbies == 1 and rng.random() < 0.6 else None
    recent = rng.sample(RECENT, rng.choice((1, 2)))
    about = rng.choice(ABOUT_TEMPLATES).format(a_occ=a_occ, A_occ=cap(a_occ), hobbies=" and ".join(hobbies))
    if pet:
        about += rng.choice(PET_SENTENCES).format(kind=pet[0], name=pet[1])
    mbti = rng.choice(MBTI_TYPES)
    signature = rng.choice(SIGNATURES)
    person = (f"MBTI: {mbti}\nAbout: {about}\nSignature: {signature}\n"
              f"Recent Activities: {'; '.join(r[0] for r in recent)}.")
    facts = [("hobby", h) for h in hobbies] + [("occupation", a_occ)] + [("recent", r) for r in recent]
    if pet:
        facts.append(("pet", pet))
    return {
        "persona_id": f"p{index:04d}", "anon_username": f"user_{rng.getrandbits(40):010x}",
        "person": person, "mbti": mbti, "a_occ": a_occ, "occ": a_occ.split(" ", 1)[1], "skill": skill,
        "hobbies": hobbies, "pet": pet, "facts": facts,
    }


def make_personas(rng: random.Random, n: int) -> list[dict]:
    # The persona-disjoint split keys on the profile string, so two personas must never share one.
    personas, seen = [], set()
    while len(personas) < n:
        p = make_persona(rng, len(personas))
        if p["person"] not in seen:
            seen.add(p["person"])
            personas.append(p)
    return personas


def persona_slots(persona: dict, fact: tuple[str, object]) -> dict[str, str]:
    kind, value = fact
    slots = {"a_occ": persona["a_occ"], "occ": persona["occ"], "skill": persona["skill"],
             "hobby": persona["hobbies"][0]}
    if kind == "hobby":
        slots["hobby"] = value
    elif kind == "pet":
        slots["pet"] = value[1]
        slots["Pet"] = value[1]
    elif kind == "recent":
        slots["recent_2p"] = value[1]
        slots["recent_1p"] = value[0][:1].lower() + value[0][1:]
    return slots


def next_fact(rng: random.Random, facts: list, prev) -> tuple:
    # Rotate persona facts across turns so replies do not repeat one hook.
    options = [f for f in facts if f != prev] or facts
    return rng.choice(options)
