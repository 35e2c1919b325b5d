"""The turns of a synthetic dialogue: the user's (cue, situation, distractor, follow-ups) and the
candidates for the assistant's understanding, reasoning and response spans, fitted to the word budgets."""

from __future__ import annotations

import random

from .synthetic_personas import persona_slots
from .synthetic_text import cap, fit, fresh, words
from .synthetic_vocab import (
    CLUSTER_OF,
    CUE_NOTES,
    DETAIL_LINKS,
    DISTRACTOR_LABELS,
    DISTRACTOR_NEGATED,
    DISTRACTOR_NOTES,
    DISTRACTOR_OTHER,
    DISTRACTOR_RATE,
    EXPLICIT_ADJ,
    EXPLICIT_ANY,
    FACT_LINES,
    FACT_REACTIONS,
    FOLLOWUP_OPENERS,
    FOLLOWUP_REACTIONS,
    MAX_ASSISTANT_WORDS,
    MAX_SPAN_WORDS,
    MAX_USER_WORDS,
    MBTI_TRAITS,
    NON_ADJECTIVE,
    OPENERS,
    PARAPHRASE_FRAMES,
    QUESTIONS,
    REASONING,
    REASONING_BARE,
    REASONING_SHORT,
    RESTATE_RATE,
    SAME_CLUSTER_DISTRACTOR,
    SLOTS,
    TABLE,
    UNDERSTANDING_FIRST,
    UNDERSTANDING_FOLLOWUP,
    UNDERSTANDING_FOLLOWUP_SHORT,
    UNDERSTANDING_SHORT,
    USER_OPENERS,
    Emotion,
)


def explicit_sentence(rng: random.Random, label: str) -> str:
    emo = TABLE[label]
    options = EXPLICIT_ANY + emo.explicit + (() if label in NON_ADJECTIVE else EXPLICIT_ADJ)
    return rng.choice(options).format(w=label, W=cap(label))


def paraphrase_sentence(rng: random.Random, para: str) -> str:
    return rng.choice(PARAPHRASE_FRAMES).format(p=para, P=cap(para))


def draw_distractor(rng: random.Random, label: str) -> dict | None:
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


def first_user_turn(rng, label, cue, scenario_text, para, distractor) -> str:
    emo = TABLE[label]
    parts = [scenario_text]
    if cue == "explicit":
        feeling = explicit_sentence(rng, label)
    elif cue == "paraphrase":
        feeling = paraphrase_sentence(rng, para)
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
    return fit(candidates, MAX_USER_WORDS)


def draw_cue_notes(rng, level: str, label: str, para: str | None) -> tuple[str, str]:
    """(a drawn note on the cue, the level's shortest note as a fallback for the word budget)."""
    drawn = rng.choice(CUE_NOTES[level]).format(w=label, p=para or "")
    shortest = min((n.format(w=label, p=para or "") for n in CUE_NOTES[level]), key=words)
    return drawn, shortest


def understanding_candidates(rng, persona, fact_slots, gist3, cue_notes, distractor,
                              followup_reaction=None) -> list[str]:
    cue, short_cue = cue_notes
    slots = dict(fact_slots, mbti=persona["mbti"], A_occ=cap(persona["a_occ"]), gist=gist3, cue=cue)
    if followup_reaction is None:
        note = DISTRACTOR_NOTES[distractor["kind"]].format(o=distractor["label"]) if distractor else ""
        first = rng.choice(UNDERSTANDING_FIRST)
        return [first.format(**dict(slots, cue=cue + note)), first.format(**slots),
                UNDERSTANDING_FIRST[-1].format(**slots), UNDERSTANDING_SHORT.format(**slots),
                UNDERSTANDING_SHORT.format(**dict(slots, cue=short_cue))]
    slots["reaction"] = followup_reaction
    return [rng.choice(UNDERSTANDING_FOLLOWUP).format(**slots), UNDERSTANDING_FOLLOWUP_SHORT.format(**slots),
            UNDERSTANDING_FOLLOWUP_SHORT.format(**dict(slots, cue=short_cue))]


def reasoning_candidates(rng, persona, emo: Emotion, appraisal: str) -> list[str]:
    slots = {"a_mbti": f"an {persona['mbti']}", "trait": rng.choice(MBTI_TRAITS[persona["mbti"]]),
             "a_occ": persona["a_occ"], "appraisal": appraisal, "need": rng.choice(emo.needs)}
    return [rng.choice(REASONING).format(**slots), REASONING_SHORT.format(**slots),
            REASONING_BARE.format(**slots)]


def response_candidates(rng, emo: Emotion, validation: str, fact_slots: dict, fact_kind: str,
                         followup: bool, used: set) -> list[str]:
    openers = FOLLOWUP_OPENERS if followup and rng.random() < 0.5 else OPENERS[emo.group]
    opener = fresh(rng, openers, used)
    lines = [line.format(**fact_slots) for line in FACT_LINES[emo.group][fact_kind]]
    fact_line, shortest = rng.choice(lines), min(lines, key=words)
    question = fresh(rng, QUESTIONS[emo.group], used)
    # Richest first; the barest keeps what the rubric asks of a reply: the situation and a persona fact.
    candidates = [f"{opener} {validation} {fact_line} {question}", f"{opener} {validation} {fact_line}",
                  f"{validation} {shortest}"]
    if fact_line.endswith("?"):  # the fact line already asks; a second question would pile on
        candidates = candidates[1:]
    return candidates


def fit_turn(understandings: list[str], reasonings: list[str], responses: list[str]) -> tuple[str, str, str]:
    """The richest (understanding, reasoning, response) within the span caps and the turn budget.

    Each list runs from richest to barest. Preference: keep an opener in the response (the
    barest response, validation + persona fact only, comes last), then the fuller reasoning,
    then the fullest understanding, then the reply's closing question.
    """
    caps = (MAX_SPAN_WORDS["understanding"], MAX_SPAN_WORDS["reasoning"], MAX_SPAN_WORDS["response"])
    nu, nr, ns = ([words(x) for x in xs] for xs in (understandings, reasonings, responses))
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


def followup_user_turn(rng, label, cue, prev_fact, persona, detail_text, para, used) -> tuple[str, str,
                                                                                               str | None]:
    """A user reply: reaction to the last reply, one new detail, sometimes the feeling restated.

    Returns (text, reaction as reported by the analysis, restated cue level or None). Implied
    dialogues never restate the label word, so they stay implied at the word level.
    """
    emo = TABLE[label]
    kind, _ = prev_fact
    if kind in FACT_REACTIONS and rng.random() < 0.4:
        text, report = FACT_REACTIONS[kind]
        slots = persona_slots(persona, prev_fact)
        reaction, reaction_3p = text.format(**slots), report.format(**slots)
    else:
        reaction, reaction_3p = fresh(rng, FOLLOWUP_REACTIONS[emo.group], used)
    # A link word ("Also, ") only before "I ...", so no other sentence start needs re-casing.
    detail = rng.choice(DETAIL_LINKS) + detail_text if detail_text.startswith(("I ", "I'")) else detail_text
    restated = None
    if rng.random() < RESTATE_RATE:
        restated = {"explicit": "paraphrase", "paraphrase": "explicit", "implied": "paraphrase"}[cue]
    parts = [reaction, detail]
    if restated == "explicit":
        parts.append(explicit_sentence(rng, label))
    elif restated == "paraphrase":
        parts.append(paraphrase_sentence(rng, para))
    text = fit([" ".join(parts), " ".join(parts[1:])], MAX_USER_WORDS)
    return text, reaction_3p, restated
