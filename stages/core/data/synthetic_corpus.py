"""A deterministic synthetic corpus in the KardiaBench record schema: the offline default dataset.

KardiaBench itself is gated, so the pipeline trains and evaluates on this stand-in by default.
It copies the real corpus's *shape* (persona profile, four-span assistant turns, the reviewer's
FAIL / PASS / SOLVED trace that drives the easy/hard curriculum [paper]) at a size a 0.5-4M
parameter model with a ~512-token window can learn in minutes.

What makes it learnable
    * The gold emotion is recoverable from the user's words: the label word, one of four
      paraphrases written for that label alone, or a situation template of that label (only
      ``AMBIGUOUS_IMPLIED_RATE`` of implied openings are ambiguous, and their follow-up turns
      carry label-specific details). The assistant turn is a fixed recipe (understanding ->
      reasoning -> emotion -> response) whose slots are copied from the context (persona facts
      from the system prompt, the event from the user turn).
    * Persona facts are short concrete nouns ("nurse", "rock climbing", "my cat Miso") that the
      response quotes verbatim, so persona consistency is a copy skill, not world knowledge.

What makes it hard
    * Cue difficulty: 40% of dialogues name the label ("honestly I'm just anxious"), 30% only
      paraphrase it ("my stomach is in knots") and 30% only imply it through the situation.
      Keyword matching solves the first kind, not the other two.
    * Confusable labels: each cluster (``clusters`` in labels.yaml: anxious / apprehensive /
      afraid / terrified, angry / annoyed / furious, nostalgic / sentimental, ...) has situations
      that differ in a few words of intensity or time.
    * The situation is not a lookup key: half the named or paraphrased feelings sit on a
      sibling label's situation (``shared_situations``: "I have a job interview tomorrow ...
      Honestly, I'm just apprehensive"), so the same event appears under several labels and a
      model must read the cue when there is one, and the situation only when there is none.
    * Distractors in ~30% of dialogues: another label word that is negated ("I'm not angry,
      to be clear") or belongs to someone else ("my sister seemed excited, not me"). Half the
      time it comes from the gold label's own cluster.
    * Slot filling (people, places, objects, times), several templates per span and per-turn
      persona-fact rotation keep surface strings varied, so memorising strings does not carry
      over to held-out personas: those are new combinations of the same fact pools, and the
      response must copy *their* facts.
    * The reviewer trace is noisy: P(FAIL) depends on the cue level plus per-dialogue noise, so
      under the paper's rule explicit/paraphrase dialogues are mostly easy and implied ones
      mostly hard, but not perfectly.

Everything is a pure function of the arguments: one ``random.Random(seed)`` draws every choice
in a fixed order (personas first, then dialogues one after another), so a corpus of N dialogues
is a prefix of a corpus of N+k with the same other arguments.

The vocabularies and templates are data, one YAML file per topic in synthetic_tables/ beside this
module (emotions.yaml: each label's paraphrases, situations, details, appraisals, needs and reply
validations; labels.yaml: clusters and shared situations; personas.yaml: the fact pools;
slots.yaml: slot fillers; user_turns.yaml / assistant_turns.yaml: turn templates). They are read
once at import and checked against the shapes declared below; this module is the logic that draws
from them. Table hygiene (checked by tests/unit/test_synthetic.py): no user-facing template or
persona fact contains any of the 32 label words, so a label word in a user turn is always a
deliberate cue or a deliberate distractor.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from stages.core.data.synthetic_tables import Fields, OneOf, OptionalKey, Seq, TableError, load
from stages.core.format import ResponseFormat
from stages.core.labels import EMOTIONS

# ---------------------------------------------------------------------------------------------
# Corpus-level knobs [ours]. The paper publishes none of these; they are chosen so the three cue
# levels land mostly, not perfectly, on the easy/hard sides of the curriculum rule.
# ---------------------------------------------------------------------------------------------

CUE_WEIGHTS = {"explicit": 0.4, "paraphrase": 0.3, "implied": 0.3}
DISTRACTOR_RATE = 0.3
SAME_CLUSTER_DISTRACTOR = 0.5  # a distractor from the gold label's cluster is the hard kind
RESTATE_RATE = 0.35  # a follow-up user turn restates the feeling at another cue level
# A named or paraphrased feeling may sit on a sibling label's situation ("I have an interview
# tomorrow. Honestly, I'm just apprehensive."), so situation -> label is not a lookup table and
# the cue must be read. A few implied openings do the same: there the first turn is genuinely
# ambiguous within the pair and only later turns (the gold label's own details) settle it.
BORROW_RATE = 0.5
AMBIGUOUS_IMPLIED_RATE = 0.15
# Reviewer R: per assistant turn FAIL with P_FAIL[cue] (+ per-dialogue noise); a non-FAIL turn
# is SOLVED (ending the dialogue) with P_SOLVED[cue]. Implied cues are hard for the assistant.
P_FAIL = {"explicit": 0.15, "paraphrase": 0.35, "implied": 0.7}
P_FAIL_NOISE = 0.08  # s.d. of the per-dialogue shift
P_SOLVED = {"explicit": 0.45, "paraphrase": 0.3, "implied": 0.15}

# Natural imbalance [paper: caring / hopeful / grateful frequent]; the rest is [ours].
EMOTION_WEIGHTS = {e: 1.0 for e in EMOTIONS} | {
    "caring": 3.0, "hopeful": 3.0, "grateful": 3.0,
    "anxious": 1.5, "sad": 1.5, "proud": 1.5, "excited": 1.5, "lonely": 1.5,
}

# Word budgets. The model sees ~512 tokens; the paper's spans are far longer (41/53/27 words),
# ours are cut to fit system prompt + history + one turn.
MAX_USER_WORDS = 30
MAX_SPAN_WORDS = {"understanding": 22, "reasoning": 22, "response": 30}
MAX_ASSISTANT_WORDS = 70  # all four spans together; reasoning and response share what is left

THIRD = {"sub": "they", "pos": "their", "obj": "them"}  # how the assistant's analysis refers to the user
SECOND = {"sub": "you", "pos": "your", "obj": "you"}  # how the reply addresses them; same verb forms

# ---------------------------------------------------------------------------------------------
# The tables. Every phrase the generator draws from is data in synthetic_tables/*.yaml, checked at
# import against the shapes written here (their notation: synthetic_tables/__init__.py), so a
# missing or malformed table fails naming its file and key, not halfway through a corpus.
# ---------------------------------------------------------------------------------------------

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
_NON_ADJECTIVE = frozenset(_labels["non_adjective"])  # never an "I'm (not) <label>" cue or distractor
DISTRACTOR_LABELS = tuple(e for e in EMOTIONS if e not in _NON_ADJECTIVE)

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

# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

_SLOT = re.compile(r"\{([^{}]+)\}")


def _fill(template: str, rng: random.Random | None, bindings: dict[str, str]) -> str:
    """Fill ``{name}``, ``{name=a|b}`` and ``{a|b}`` slots, recording choices in ``bindings``.

    With ``rng=None`` every slot must already be bound: gists re-use the user sentence's choices,
    and an unbound slot there would silently tell a different story, so it raises.
    """

    def one(m: re.Match) -> str:
        body = m[1]
        if "=" in body:
            name, alts = body.split("=", 1)
            if name not in bindings:
                bindings[name] = _pick(rng, alts.split("|"), body)
            return bindings[name]
        if "|" in body:
            return _pick(rng, body.split("|"), body)
        if body not in bindings:
            bindings[body] = _pick(rng, SLOTS[body], body)
        return bindings[body]

    return _SLOT.sub(one, template)


def _pick(rng: random.Random | None, options, slot: str) -> str:
    if rng is None:
        raise KeyError(f"slot {{{slot}}} is not bound")
    return rng.choice(list(options))


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _words(s: str) -> int:
    return len(s.split())


def _fit(candidates: list[str], limit: int) -> str:
    """The first candidate within ``limit`` words (candidates go from richest to barest)."""
    for c in candidates:
        if _words(c) <= limit:
            return c
    return min(candidates, key=_words)


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


# ---------------------------------------------------------------------------------------------
# Personas
# ---------------------------------------------------------------------------------------------


def _make_persona(rng: random.Random, index: int) -> dict:
    a_occ, skill = rng.choice(OCCUPATIONS)
    n_hobbies = rng.choice((1, 1, 2))
    hobbies = rng.sample(HOBBIES, n_hobbies)
    # About holds one or two facts beyond the job: a second hobby or a pet, never both.
    pet = (rng.choice(PET_KINDS), rng.choice(PET_NAMES)) if n_hobbies == 1 and rng.random() < 0.6 else None
    recent = rng.sample(RECENT, rng.choice((1, 2)))
    about = rng.choice(ABOUT_TEMPLATES).format(a_occ=a_occ, A_occ=_cap(a_occ), hobbies=" and ".join(hobbies))
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


def _make_personas(rng: random.Random, n: int) -> list[dict]:
    # The persona-disjoint split keys on the profile string, so two personas must never share one.
    personas, seen = [], set()
    while len(personas) < n:
        p = _make_persona(rng, len(personas))
        if p["person"] not in seen:
            seen.add(p["person"])
            personas.append(p)
    return personas


def _fact_slots(persona: dict, fact: tuple[str, object]) -> dict[str, str]:
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


# ---------------------------------------------------------------------------------------------
# Dialogue pieces
# ---------------------------------------------------------------------------------------------


def _explicit_sentence(rng: random.Random, label: str) -> str:
    emo = TABLE[label]
    options = EXPLICIT_ANY + emo.explicit + (() if label in _NON_ADJECTIVE else EXPLICIT_ADJ)
    return rng.choice(options).format(w=label, W=_cap(label))


def _paraphrase_sentence(rng: random.Random, para: str) -> str:
    return rng.choice(PARAPHRASE_FRAMES).format(p=para, P=_cap(para))


def _draw_distractor(rng: random.Random, label: str) -> dict | None:
    if rng.random() >= DISTRACTOR_RATE:
        return None
    near = [e for e in CLUSTER_OF[label] if e != label and e in DISTRACTOR_LABELS]
    if near and rng.random() < SAME_CLUSTER_DISTRACTOR:
        pool = near
    else:
        pool = [e for e in DISTRACTOR_LABELS if e != label]
    other = rng.choice(pool)
    kind = rng.choice(("negated", "other"))
    templates = DISTRACTOR_NEGATED if kind == "negated" else DISTRACTOR_OTHER
    text = rng.choice(templates).format(o=other, q=rng.choice(SLOTS["person"]))
    return {"label": other, "kind": kind, "text": text}


def _draw_trace(rng: random.Random, cue: str, max_exchanges: int) -> list[str]:
    """Reviewer R's decision per assistant turn [paper: FAIL / PASS / SOLVED, SOLVED ends it].

    The planned length favours longer dialogues; SOLVED cuts it short. A dialogue that runs its
    full length ends on whatever R said last (FAIL or PASS): R gave up rather than solved it.
    """
    p_fail = min(0.95, max(0.02, P_FAIL[cue] + rng.gauss(0.0, P_FAIL_NOISE)))
    planned = rng.choices(range(1, max_exchanges + 1), weights=range(1, max_exchanges + 1))[0]
    trace = []
    for _ in range(planned):
        if rng.random() < p_fail:
            trace.append("FAIL")
        elif rng.random() < P_SOLVED[cue]:
            trace.append("SOLVED")
            break
        else:
            trace.append("PASS")
    return trace


def _first_user_turn(rng, label, cue, scenario_text, para, distractor) -> str:
    emo = TABLE[label]
    parts = [scenario_text]
    if cue == "explicit":
        feeling = _explicit_sentence(rng, label)
    elif cue == "paraphrase":
        feeling = _paraphrase_sentence(rng, para)
    else:
        feeling = None
    if feeling:
        # Feeling first or event first, so the cue is not always in the same place.
        parts = [feeling, scenario_text] if rng.random() < 0.35 else [scenario_text, feeling]
    if distractor:
        parts.insert(rng.randrange(len(parts) + 1), distractor["text"])
    opener = rng.choice(USER_OPENERS[emo.group])
    candidates = [" ".join([opener] + parts).strip(), " ".join(parts)]
    if distractor:  # over budget: keep the cue, drop the distractor
        rest = [p for p in parts if p != distractor["text"]]
        candidates.append(" ".join(rest))
    return _fit(candidates, MAX_USER_WORDS)


def _cue_notes(rng, level: str, label: str, para: str | None) -> tuple[str, str]:
    """(a drawn note on the cue, the level's shortest note as a fallback for the word budget)."""
    drawn = rng.choice(CUE_NOTES[level]).format(w=label, p=para or "")
    shortest = min((n.format(w=label, p=para or "") for n in CUE_NOTES[level]), key=_words)
    return drawn, shortest


def _understanding_candidates(rng, persona, fact_slots, gist3, cue_notes, distractor,
                              followup_reaction=None) -> list[str]:
    cue, short_cue = cue_notes
    slots = dict(fact_slots, mbti=persona["mbti"], A_occ=_cap(persona["a_occ"]), gist=gist3, cue=cue)
    if followup_reaction is None:
        note = DISTRACTOR_NOTES[distractor["kind"]].format(o=distractor["label"]) if distractor else ""
        first = rng.choice(UNDERSTANDING_FIRST)
        return [first.format(**dict(slots, cue=cue + note)), first.format(**slots),
                UNDERSTANDING_FIRST[-1].format(**slots), UNDERSTANDING_SHORT.format(**slots),
                UNDERSTANDING_SHORT.format(**dict(slots, cue=short_cue))]
    slots["reaction"] = followup_reaction
    return [rng.choice(UNDERSTANDING_FOLLOWUP).format(**slots), UNDERSTANDING_FOLLOWUP_SHORT.format(**slots),
            UNDERSTANDING_FOLLOWUP_SHORT.format(**dict(slots, cue=short_cue))]


def _reasoning_candidates(rng, persona, emo: Emotion, appraisal: str) -> list[str]:
    slots = {"a_mbti": f"an {persona['mbti']}", "trait": rng.choice(MBTI_TRAITS[persona["mbti"]]),
             "a_occ": persona["a_occ"], "appraisal": appraisal, "need": rng.choice(emo.needs)}
    return [rng.choice(REASONING).format(**slots), REASONING_SHORT.format(**slots),
            REASONING_BARE.format(**slots)]


def _response_candidates(rng, emo: Emotion, validation: str, fact_slots: dict, fact_kind: str,
                         followup: bool, used: set) -> list[str]:
    openers = FOLLOWUP_OPENERS if followup and rng.random() < 0.5 else OPENERS[emo.group]
    opener = _fresh(rng, openers, used)
    lines = [line.format(**fact_slots) for line in FACT_LINES[emo.group][fact_kind]]
    fact_line, shortest = rng.choice(lines), min(lines, key=_words)
    question = _fresh(rng, QUESTIONS[emo.group], used)
    # Richest first; the barest keeps what the rubric asks of a reply: the situation and a persona fact.
    candidates = [f"{opener} {validation} {fact_line} {question}", f"{opener} {validation} {fact_line}",
                  f"{validation} {shortest}"]
    if fact_line.endswith("?"):  # the fact line already asks; a second question would pile on
        candidates = candidates[1:]
    return candidates


def _fit_turn(understandings: list[str], reasonings: list[str], responses: list[str]) -> tuple[str, str, str]:
    """The richest (understanding, reasoning, response) within the span caps and the turn budget.

    Each list runs from richest to barest. Preference: keep an opener in the response (the
    barest response, validation + persona fact only, comes last), then the reasoning with its
    MBTI trait, then the fullest understanding, then the reply's closing question.
    """
    caps = (MAX_SPAN_WORDS["understanding"], MAX_SPAN_WORDS["reasoning"], MAX_SPAN_WORDS["response"])
    nu, nr, ns = ([_words(x) for x in xs] for xs in (understandings, reasonings, responses))
    last = len(responses) - 1
    for ks in (range(last), (last,)):
        for j in range(len(reasonings)):
            for i in range(len(understandings)):
                for k in ks:
                    if (nu[i] <= caps[0] and nr[j] <= caps[1] and ns[k] <= caps[2]
                            and nu[i] + nr[j] + ns[k] + 1 <= MAX_ASSISTANT_WORDS):  # + the emotion word
                        return understandings[i], reasonings[j], responses[k]
    # Unreachable with the tables' length bounds (tested); keep the turn short rather than fail.
    return understandings[nu.index(min(nu))], reasonings[nr.index(min(nr))], responses[ns.index(min(ns))]


def _fresh(rng: random.Random, options, used: set):
    """A choice not yet used in this dialogue, so a reply does not repeat the previous one's opener."""
    fresh = [o for o in options if o not in used] or list(options)
    choice = rng.choice(fresh)
    used.add(choice)
    return choice


def _followup_user_turn(rng, label, cue, prev_fact, persona, detail_text, para, used) -> tuple[str, str,
                                                                                               str | None]:
    """A user reply: reaction to the last reply, one new detail, sometimes the feeling restated.

    Returns (text, reaction as reported by the analysis, restated cue level or None). Implied
    dialogues never restate the label word, so they stay implied at the word level.
    """
    emo = TABLE[label]
    kind, _ = prev_fact
    if kind in FACT_REACTIONS and rng.random() < 0.4:
        text, report = FACT_REACTIONS[kind]
        slots = _fact_slots(persona, prev_fact)
        reaction, reaction_3p = text.format(**slots), report.format(**slots)
    else:
        reaction, reaction_3p = _fresh(rng, FOLLOWUP_REACTIONS[emo.group], used)
    # A link word ("Also, ") only before "I ...", so no other sentence start needs re-casing.
    detail = rng.choice(DETAIL_LINKS) + detail_text if detail_text.startswith(("I ", "I'")) else detail_text
    restated = None
    if rng.random() < RESTATE_RATE:
        restated = {"explicit": "paraphrase", "paraphrase": "explicit", "implied": "paraphrase"}[cue]
    parts = [reaction, detail]
    if restated == "explicit":
        parts.append(_explicit_sentence(rng, label))
    elif restated == "paraphrase":
        parts.append(_paraphrase_sentence(rng, para))
    text = _fit([" ".join(parts), " ".join(parts[1:])], MAX_USER_WORDS)
    return text, reaction_3p, restated


def _next_fact(rng: random.Random, facts: list, prev) -> tuple:
    # Rotate persona facts across turns so replies do not repeat one hook.
    options = [f for f in facts if f != prev] or facts
    return rng.choice(options)


def _dialogue(rng: random.Random, index: int, persona: dict, fmt: ResponseFormat, max_exchanges: int) -> dict:
    label = _weighted(rng, EMOTION_WEIGHTS)
    emo = TABLE[label]
    cue = _weighted(rng, CUE_WEIGHTS)
    trace = _draw_trace(rng, cue, max_exchanges)

    source = label
    siblings = SHARED_SITUATIONS.get(label, ())
    if siblings and rng.random() < (AMBIGUOUS_IMPLIED_RATE if cue == "implied" else BORROW_RATE):
        source = rng.choice(siblings)
    text_t, gist_t = rng.choice(TABLE[source].scenarios)
    bindings: dict[str, str] = {}
    situation = _fill(text_t, rng, bindings)
    gist3 = _fill(gist_t, None, dict(bindings, **THIRD))
    gist2 = _fill(gist_t, None, dict(bindings, **SECOND))
    paraphrases = rng.sample(emo.paraphrases, 2)  # one for the opening, another for a restatement
    distractor = _draw_distractor(rng, label)

    messages = [{"role": "system", "content": fmt.system_prompt(persona["person"])}]
    user = _first_user_turn(rng, label, cue, situation, paraphrases[0], distractor)
    distractor_kept = distractor if distractor and distractor["text"] in user else None
    cue_notes = _cue_notes(rng, cue, label, paraphrases[0])
    details = rng.sample(emo.details, min(len(emo.details), max(0, len(trace) - 1)))
    # Later turns take the label's other appraisal and validation, so replies do not repeat.
    appraisals = rng.sample(emo.appraisals, len(emo.appraisals))
    validations = rng.sample(emo.validations, len(emo.validations))
    used: set = set()
    fact = None
    # What the analysis reports of the latest user turn: its news, how it reacted, its distractor.
    news, reaction, shown_distractor = gist3, None, distractor_kept
    for turn in range(len(trace)):
        messages.append({"role": "user", "content": user})
        fact = _next_fact(rng, persona["facts"], fact)
        slots = _fact_slots(persona, fact)
        understandings = _understanding_candidates(rng, persona, slots, news, cue_notes, shown_distractor,
                                                   reaction)
        # The reply validates the situation itself; the new detail is acknowledged in understanding.
        validation = validations[turn % len(validations)].format(gist=gist2)
        understanding, reasoning, response = _fit_turn(
            understandings,
            _reasoning_candidates(rng, persona, emo, appraisals[turn % len(appraisals)]),
            _response_candidates(rng, emo, validation, slots, fact[0], turn > 0, used))
        spans = {"understanding": understanding, "reasoning": reasoning, "emotion": label,
                 "response": response}
        messages.append({"role": "assistant", "content": fmt.render(spans)})
        if turn + 1 < len(trace):
            d_text, d_gist = details[turn % len(details)]
            user, reaction, restated = _followup_user_turn(
                rng, label, cue, fact, persona, d_text, paraphrases[1], used)
            news, shown_distractor = _fill(d_gist, None, dict(THIRD)), None
            cue_notes = _cue_notes(rng, restated or "same", label, paraphrases[1])

    return {
        "dialogue_id": f"syn-{index:05d}", "persona_id": persona["persona_id"],
        "anon_username": persona["anon_username"], "person": persona["person"], "mbti": persona["mbti"],
        "emotion": label, "situation": situation, "cue": cue, "messages": messages, "trace": trace,
    }


def generate_corpus(n_dialogues: int, n_personas: int, seed: int, fmt: ResponseFormat,
                    max_exchanges: int = 4) -> list[dict]:
    """``n_dialogues`` synthetic KardiaBench records over ``n_personas`` personas; pure in its arguments.

    ``fmt`` writes the system prompt. Assistant turns are always stored with all four spans, as
    KardiaBench stores them, whatever ``fmt.style`` a run trains: the examples layer renders the
    training target in the run's style, so the response-only ablation reads the same dialogues.
    """
    if n_dialogues < 0 or n_personas < 1 or max_exchanges < 1:
        raise ValueError(f"need n_dialogues >= 0, n_personas >= 1, max_exchanges >= 1; got "
                         f"{n_dialogues}, {n_personas}, {max_exchanges}")
    stored = fmt if fmt.style == "four_span" else ResponseFormat("four_span", fmt.system_template)
    rng = random.Random(seed)
    personas = _make_personas(rng, n_personas)
    return [_dialogue(rng, i, personas[rng.randrange(n_personas)], stored, max_exchanges)
            for i in range(n_dialogues)]


# Public pieces for the construction loop (stages/core/data/construction_loop.py): its embedded backend plays
# U, A and R from one scripted dialogue, and its emotion-jump filter uses the confusable clusters.
make_personas = _make_personas
scripted_dialogue = _dialogue


def same_cluster(a: str, b: str) -> bool:
    """Two labels are the same or confusable neighbours (one cluster of labels.yaml)."""
    return a == b or b in CLUSTER_OF.get(a, ())


def reviewer_fail_rate(cue: str) -> float:
    """The embedded reviewer's P(FAIL) for a dialogue of this cue level (the corpus's own knob)."""
    return P_FAIL[cue]
