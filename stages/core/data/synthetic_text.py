"""Text pieces of the synthetic generator: slot filling, capitals, word budgets, weighted and fresh draws."""

from __future__ import annotations

import random
import re

from .synthetic_vocab import SLOTS

SLOT = re.compile(r"\{([^{}]+)\}")


def fill(template: str, rng: random.Random | None, bindings: dict[str, str]) -> str:
    """Fill ``{name}``, ``{name=a|b}`` and ``{a|b}`` slots, recording choices in ``bindings``.

    With ``rng=None`` every slot must already be bound: gists re-use the user sentence's choices,
    and an unbound slot there would silently tell a different story, so it raises.
    """

    def one(m: re.Match) -> str:
        body = m[1]
        if "=" in body:
            name, alts = body.split("=", 1)
            if name not in bindings:
                bindings[name] = pick(rng, alts.split("|"), body)
            return bindings[name]
        if "|" in body:
            return pick(rng, body.split("|"), body)
        if body not in bindings:
            bindings[body] = pick(rng, SLOTS[body], body)
        return bindings[body]

    return SLOT.sub(one, template)


def pick(rng: random.Random | None, options, slot: str) -> str:
    if rng is None:
        raise KeyError(f"slot {{{slot}}} is not bound")
    return rng.choice(list(options))


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def words(s: str) -> int:
    return len(s.split())


def fit(candidates: list[str], limit: int) -> str:
    """The first candidate within ``limit`` words (candidates go from richest to barest)."""
    for c in candidates:
        if words(c) <= limit:
            return c
    return min(candidates, key=words)


def weighted(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def fresh(rng: random.Random, options, used: set):
    """A choice not yet used in this dialogue, so a reply does not repeat the previous one's opener."""
    unused = [o for o in options if o not in used] or list(options)
    choice = rng.choice(unused)
    used.add(choice)
    return choice
