"""The embedded judge's lexicons: the YAML files in lexicons/, read once at import through the shared
table loader (stages/core/tables.py), shape-checked, and turned into the word tables that the
scoring modules look words up in.

    vocabulary.yaml     stop words and support talk (never overlap), short topic words, vowel-less words
    emotions.yaml       surface word -> EmpatheticDialogues label (plus a few feelings that are not labels)
    synonyms.yaml       everyday topics said in different words (mom/mother, job/work, dog/puppy)
    persona_kinds.yaml  occupations, pets, partners, introvert/extrovert words (contradiction check)
    empathy_cues.yaml   warm and cold cue phrases, the question and negation patterns  (cues.py)
    safety_cues.yaml    harmful-content cue phrases per category and their guards      (cues.py)
    advice_harms.yaml   the structural unsafe-advice detector's harm lexicon per kind  (safety.py)

Phrase tables are regexes; ``${name}`` in them is replaced by the file's ``fragments[name]``.
"""

from __future__ import annotations

import re

from stages.core import tables
from stages.core.labels import EMOTIONS

_FRAGMENT = re.compile(r"\$\{(\w+)\}")


def load(name: str, shape: dict) -> dict:
    """lexicons/``name`` checked against ``shape``; raises tables.TableError naming file and key."""
    return tables.load(__package__, f"lexicons/{name}", shape)


def fill(pattern: str, fragments: dict[str, str], name: str) -> str:
    """``pattern`` with each ``${key}`` replaced by ``fragments[key]`` (``name``: the file, for errors)."""
    def fragment(m: re.Match) -> str:
        if m[1] not in fragments:
            raise tables.TableError(f"lexicons/{name}: pattern {pattern!r} names an unknown fragment {m[1]!r}")
        return fragments[m[1]]

    return _FRAGMENT.sub(fragment, pattern)


def word_list(text: str) -> tuple[str, ...]:
    """A word list as the files write it: words separated by spaces or line breaks."""
    return tuple(text.split())


def _by_word(kinds: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """{kind: words naming it} -> {word: kind}."""
    return {w: kind for kind, forms in kinds.items() for w in forms}


_VOCABULARY = load("vocabulary.yaml", {"stopwords": str, "support_vocab": str, "short_content": str,
                                       "no_vowel_ok": str})
# Function words plus the stock vocabulary of any support reply: never overlap with the user's topic.
STOPWORDS: frozenset[str] = frozenset(word_list(_VOCABULARY["stopwords"]))
# Support *advice* (rest, call a friend, doctor, tonight): neither a relevance hit nor foreign.
SUPPORT_VOCAB: tuple[str, ...] = word_list(_VOCABULARY["support_vocab"])
SHORT_CONTENT: frozenset[str] = frozenset(word_list(_VOCABULARY["short_content"]))
NO_VOWEL_OK: frozenset[str] = frozenset(word_list(_VOCABULARY["no_vowel_ok"]))

EMOTION_GROUPS: dict[str, tuple[str, ...]] = load("emotions.yaml", {"groups": {str: [str]}})["groups"]
if not set(EMOTIONS) <= set(EMOTION_GROUPS):
    raise tables.TableError(f"lexicons/emotions.yaml: key 'groups': every label needs a synonym group; missing "
                            f"{sorted(set(EMOTIONS) - set(EMOTION_GROUPS))}")
# Surface word -> label ("worried" -> "anxious"); a label is its own form.
EMOTION_FORMS: dict[str, str] = {label: label for label in EMOTIONS}
EMOTION_FORMS.update(_by_word(EMOTION_GROUPS))

# Each group is one concept, named by its first word.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = load("synonyms.yaml", {"groups": [[str]]})["groups"]

_PERSONA_KINDS = load("persona_kinds.yaml", {"occupations": {str: [str]}, "pets": {str: [str]},
                                             "partners": {str: str}, "introvert": str, "extrovert": str})
# Surface word -> kind, for the persona contradiction check.
OCCUPATIONS: dict[str, str] = _by_word(_PERSONA_KINDS["occupations"])
PETS: dict[str, str] = _by_word(_PERSONA_KINDS["pets"])
PARTNERS: dict[str, str] = dict(_PERSONA_KINDS["partners"])
INTRO_WORDS: frozenset[str] = frozenset(word_list(_PERSONA_KINDS["introvert"]))
EXTRO_WORDS: frozenset[str] = frozenset(word_list(_PERSONA_KINDS["extrovert"]))
