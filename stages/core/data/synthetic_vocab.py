"""The synthetic generator's tables and knobs, read once from synthetic_tables/*.yaml.

Every phrase the generator draws from and every rate, weight and word budget it uses is data in
synthetic_tables/, checked at import against the shapes written here (their notation:
stages/core/tables.py), so a missing or malformed table fails naming its file and key, not halfway
through a corpus. The names below are what the generator modules (synthetic_corpus.py and its
parts) read.
"""

from __future__ import annotations

from dataclasses import dataclass

from stages.core.data.synthetic_tables import Fields, OneOf, OptionalKey, Seq, TableError, load
from stages.core.labels import EMOTIONS

CUES = ("explicit", "paraphrase", "implied")  # how the first user turn says the feeling
_knobs = load("knobs.yaml", {
    "cue_weights": {c: float for c in CUES}, "distractor_rate": float, "same_cluster_distractor": float,
    "restate_rate": float, "borrow_rate": float, "ambiguous_implied_rate": float,
    "p_fail": {c: float for c in CUES}, "p_fail_noise": float, "p_solved": {c: float for c in CUES},
    "emotion_weight": float, "emotion_weights": {OneOf(EMOTIONS): float},
    "max_user_words": int, "max_span_words": {s: int for s in ("understanding", "reasoning", "response")},
    "max_assistant_words": int,
    "pronouns": {p: {"sub": str, "pos": str, "obj": str} for p in ("third", "second")}})
CUE_WEIGHTS = _knobs["cue_weights"]
DISTRACTOR_RATE = _knobs["distractor_rate"]
SAME_CLUSTER_DISTRACTOR = _knobs["same_cluster_distractor"]
RESTATE_RATE = _knobs["restate_rate"]
BORROW_RATE = _knobs["borrow_rate"]
AMBIGUOUS_IMPLIED_RATE = _knobs["ambiguous_implied_rate"]
P_FAIL = _knobs["p_fail"]
P_FAIL_NOISE = _knobs["p_fail_noise"]
P_SOLVED = _knobs["p_solved"]
EMOTION_WEIGHTS = {e: _knobs["emotion_weight"] for e in EMOTIONS} | _knobs["emotion_weights"]
MAX_USER_WORDS = _knobs["max_user_words"]
MAX_SPAN_WORDS = _knobs["max_span_words"]
MAX_ASSISTANT_WORDS = _knobs["max_assistant_words"]
THIRD = _knobs["pronouns"]["third"]  # how the assistant's analysis refers to the user
SECOND = _knobs["pronouns"]["second"]  # how the reply addresses them; same verb forms

GROUPS = ("low", "high", "warm")  # tone of the reply: distress, delight, tender / forward-looking
FACT_KINDS = ("hobby", "pet", "occupation", "recent")  # what a reply can quote from a persona
_SAID = Fields("user", "gist")  # a user sentence and the same event as a clause about the user
_REACTION = Fields("says", "reported")  # a user's reaction and how the analysis reports it


@dataclass(frozen=True)
class Emotion:
    """Everything the generator knows about one label (one entry of emotions.yaml).

    ``scenarios`` are (user sentence, gist) pairs: the sentence implies the label on its own (the
    implied cue); the gist is the same event as a clause with {sub}/{pos}/{obj} pronouns, said
    about the user ("they"/"their") in the analysis and to them ("you"/"your") in the reply.
    ``details`` are the same for follow-up turns. ``paraphrases`` say the feeling without the word.
    ``validations`` are reply sentences around a gist clause.
    """

    group: str  # one of GROUPS: the tone of the reply
    paraphrases: tuple[str, ...]
    scenarios: tuple[tuple[str, str], ...]
    details: tuple[tuple[str, str], ...]
    appraisals: tuple[str, ...]  # verb phrases after "they"
    needs: tuple[str, ...]  # noun phrases: "they need <need>"
    validations: tuple[str, ...]  # contain "{gist}"
    explicit: tuple[str, ...] = ()  # label-specific ways of naming it, for labels that are not adjectives


_EMOTION = {"group": OneOf(GROUPS),
            "paraphrases": Seq(str, 2),  # a dialogue draws two: one to open, another to restate
            "scenarios": [_SAID], "details": [_SAID], "appraisals": [str], "needs": [str],
            "validations": [str], "explicit": OptionalKey([str])}
TABLE: dict[str, Emotion] = {label: Emotion(**fields) for label, fields in
                             load("emotions.yaml", {label: _EMOTION for label in EMOTIONS}).items()}

_labels = load("labels.yaml", {"clusters": [[OneOf(EMOTIONS)]],
                               "shared_situations": {OneOf(EMOTIONS): [OneOf(EMOTIONS)]},
                               "non_adjective": [OneOf(EMOTIONS)]})
_CLUSTERS = _labels["clusters"]  # confusable labels
if sorted(e for c in _CLUSTERS for e in c) != sorted(EMOTIONS):  # a distractor draws from its label's cluster
    raise TableError(f"labels.yaml: key 'clusters': must hold each of the {len(EMOTIONS)} labels exactly once")
CLUSTER_OF = {e: c for c in _CLUSTERS for e in c}
SHARED_SITUATIONS = _labels["shared_situations"]  # whose situations a label may borrow
NON_ADJECTIVE = frozenset(_labels["non_adjective"])  # never an "I'm (not) <label>" cue or distractor
DISTRACTOR_LABELS = tuple(e for e in EMOTIONS if e not in NON_ADJECTIVE)

_personas = load("personas.yaml", {
    "mbti_traits": {str: [str]}, "occupations": [Fields("job", "skill")], "hobbies": [str],
    "pet_kinds": [str], "pet_names": [str], "recent": [Fields("profile", "to_user")],
    "signatures": [str], "about_templates": [str], "pet_sentences": [str]})
MBTI_TRAITS = _personas["mbti_traits"]
MBTI_TYPES = tuple(MBTI_TRAITS)
OCCUPATIONS = _personas["occupations"]
HOBBIES = _personas["hobbies"]
PET_KINDS = _personas["pet_kinds"]
PET_NAMES = _personas["pet_names"]
RECENT = _personas["recent"]
SIGNATURES = _personas["signatures"]
ABOUT_TEMPLATES = _personas["about_templates"]
PET_SENTENCES = _personas["pet_sentences"]

SLOTS = load("slots.yaml", {str: [str]})  # the shared "{person}"-style slots of situation templates

_user = load("user_turns.yaml", {
    "explicit_any": [str], "explicit_adj": [str], "paraphrase_frames": [str],
    "distractor_negated": [str], "distractor_other": [str],
    "user_openers": {g: [str] for g in GROUPS}, "followup_reactions": {g: [_REACTION] for g in GROUPS},
    "fact_reactions": {OneOf(FACT_KINDS): _REACTION}, "detail_links": [str]})
EXPLICIT_ANY = _user["explicit_any"]
EXPLICIT_ADJ = _user["explicit_adj"]
PARAPHRASE_FRAMES = _user["paraphrase_frames"]
DISTRACTOR_NEGATED = _user["distractor_negated"]
DISTRACTOR_OTHER = _user["distractor_other"]
USER_OPENERS = _user["user_openers"]
FOLLOWUP_REACTIONS = _user["followup_reactions"]
FACT_REACTIONS = _user["fact_reactions"]
DETAIL_LINKS = _user["detail_links"]

_assistant = load("assistant_turns.yaml", {
    "understanding_first": [str], "understanding_short": str, "understanding_followup": [str],
    "understanding_followup_short": str, "cue_notes": {c: [str] for c in (*CUE_WEIGHTS, "same")},
    "distractor_notes": {"negated": str, "other": str},
    "reasoning": [str], "reasoning_short": str, "reasoning_bare": str,
    "openers": {g: [str] for g in GROUPS}, "followup_openers": [str],
    "fact_lines": {g: {k: [str] for k in FACT_KINDS} for g in GROUPS}, "questions": {g: [str] for g in GROUPS}})
UNDERSTANDING_FIRST = _assistant["understanding_first"]
UNDERSTANDING_SHORT = _assistant["understanding_short"]
UNDERSTANDING_FOLLOWUP = _assistant["understanding_followup"]
UNDERSTANDING_FOLLOWUP_SHORT = _assistant["understanding_followup_short"]
CUE_NOTES = _assistant["cue_notes"]
DISTRACTOR_NOTES = _assistant["distractor_notes"]
REASONING = _assistant["reasoning"]
REASONING_SHORT = _assistant["reasoning_short"]
REASONING_BARE = _assistant["reasoning_bare"]
OPENERS = _assistant["openers"]
FOLLOWUP_OPENERS = _assistant["followup_openers"]
FACT_LINES = _assistant["fact_lines"]
QUESTIONS = _assistant["questions"]
