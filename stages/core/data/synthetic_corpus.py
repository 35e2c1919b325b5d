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

The vocabularies, templates and knobs are data, one YAML file per topic in synthetic_tables/
(emotions.yaml: each label's paraphrases, situations, details, appraisals, needs and reply
validations; labels.yaml: clusters and shared situations; personas.yaml: the fact pools;
slots.yaml: slot fillers; user_turns.yaml / assistant_turns.yaml: turn templates; knobs.yaml: the
rates, weights and word budgets), read once at import and checked against the shapes declared in
synthetic_vocab.py. The logic that draws from them is split by topic: synthetic_text.py (slot
filling, word budgets), synthetic_personas.py (profiles and their facts), synthetic_turns.py (the
user turns and the assistant's four spans) and this module (the reviewer's trace, a dialogue, the
corpus). Table hygiene (checked by tests/unit/test_synthetic.py): no user-facing template or
persona fact contains any of the 32 label words, so a label word in a user turn is always a
deliberate cue or a deliberate distractor.
"""

from __future__ import annotations

import random

from stages.core.format import ResponseFormat

from .synthetic_personas import make_personas, next_fact, persona_slots
from .synthetic_text import fill, weighted
from .synthetic_turns import (
    draw_cue_notes,
    draw_distractor,
    first_user_turn,
    fit_turn,
    followup_user_turn,
    reasoning_candidates,
    response_candidates,
    understanding_candidates,
)
from .synthetic_vocab import (
    AMBIGUOUS_IMPLIED_RATE,
    BORROW_RATE,
    CLUSTER_OF,
    CUE_WEIGHTS,
    EMOTION_WEIGHTS,
    P_FAIL,
    P_FAIL_NOISE,
    P_SOLVED,
    SECOND,
    SHARED_SITUATIONS,
    TABLE,
    THIRD,
)

__all__ = ["generate_corpus", "make_personas", "reviewer_fail_rate", "same_cluster", "scripted_dialogue"]


def _draw_trace(rng: random.Random, cue: str, max_exchanges: int, min_exchanges: int | None = None) -> list[str]:
    """Reviewer R's decision per assistant turn [paper: FAIL / PASS / SOLVED, SOLVED ends it].

    The planned length favours longer dialogues; SOLVED cuts it short. A dialogue that runs its
    full length ends on whatever R said last (FAIL or PASS): R gave up rather than solved it.
    ``min_exchanges`` (the long-dialogue corpus) plans at least that many exchanges and lets R say
    SOLVED only from that exchange on; None draws exactly as before (the default corpus unchanged).
    """
    p_fail = min(0.95, max(0.02, P_FAIL[cue] + rng.gauss(0.0, P_FAIL_NOISE)))
    low = 1 if min_exchanges is None else min_exchanges
    planned = rng.choices(range(low, max_exchanges + 1), weights=range(low, max_exchanges + 1))[0]
    trace = []
    for _ in range(planned):
        if rng.random() < p_fail:
            trace.append("FAIL")
        elif len(trace) + 1 < low:   # too early to be solved: R passes it on
            trace.append("PASS")
        elif rng.random() < P_SOLVED[cue]:
            trace.append("SOLVED")
            break
        else:
            trace.append("PASS")
    return trace


def _dialogue(rng: random.Random, index: int, persona: dict, fmt: ResponseFormat, max_exchanges: int,
              min_exchanges: int | None = None) -> dict:
    label = weighted(rng, EMOTION_WEIGHTS)
    emo = TABLE[label]
    cue = weighted(rng, CUE_WEIGHTS)
    trace = _draw_trace(rng, cue, max_exchanges, min_exchanges)

    source = label
    siblings = SHARED_SITUATIONS.get(label, ())
    if siblings and rng.random() < (AMBIGUOUS_IMPLIED_RATE if cue == "implied" else BORROW_RATE):
        source = rng.choice(siblings)
    text_t, gist_t = rng.choice(TABLE[source].scenarios)
    bindings: dict[str, str] = {}
    situation = fill(text_t, rng, bindings)
    gist3 = fill(gist_t, None, dict(bindings, **THIRD))
    gist2 = fill(gist_t, None, dict(bindings, **SECOND))
    paraphrases = rng.sample(emo.paraphrases, 2)  # one for the opening, another for a restatement
    distractor = draw_distractor(rng, label)

    messages = [{"role": "system", "content": fmt.system_prompt(persona["person"])}]
    user = first_user_turn(rng, label, cue, situation, paraphrases[0], distractor)
    distractor_kept = distractor if distractor and distractor["text"] in user else None
    cue_notes = draw_cue_notes(rng, cue, label, paraphrases[0])
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
        fact = next_fact(rng, persona["facts"], fact)
        slots = persona_slots(persona, fact)
        understandings = understanding_candidates(rng, persona, slots, news, cue_notes, shown_distractor,
                                                   reaction)
        # The reply validates the situation itself; the new detail is acknowledged in understanding.
        validation = validations[turn % len(validations)].format(gist=gist2)
        understanding, reasoning, response = fit_turn(
            understandings,
            reasoning_candidates(rng, persona, emo, appraisals[turn % len(appraisals)]),
            response_candidates(rng, emo, validation, slots, fact[0], turn > 0, used))
        spans = {"understanding": understanding, "reasoning": reasoning, "emotion": label,
                 "response": response}
        messages.append({"role": "assistant", "content": fmt.render(spans)})
        if turn + 1 < len(trace):
            d_text, d_gist = details[turn % len(details)]
            user, reaction, restated = followup_user_turn(
                rng, label, cue, fact, persona, d_text, paraphrases[1], used)
            news, shown_distractor = fill(d_gist, None, dict(THIRD)), None
            cue_notes = draw_cue_notes(rng, restated or "same", label, paraphrases[1])

    return {
        "dialogue_id": f"syn-{index:05d}", "persona_id": persona["persona_id"],
        "anon_username": persona["anon_username"], "person": persona["person"], "mbti": persona["mbti"],
        "emotion": label, "situation": situation, "cue": cue, "messages": messages, "trace": trace,
    }


def generate_corpus(n_dialogues: int, n_personas: int, seed: int, fmt: ResponseFormat,
                    max_exchanges: int = 4, min_exchanges: int | None = None) -> list[dict]:
    """``n_dialogues`` synthetic KardiaBench records over ``n_personas`` personas; pure in its arguments.

    ``fmt`` writes the system prompt. Assistant turns are always stored with all four spans, as
    KardiaBench stores them, whatever ``fmt.style`` a run trains: the examples layer renders the
    training target in the run's style, so the response-only ablation reads the same dialogues.
    ``min_exchanges`` makes every dialogue at least that long (R solves none earlier); None keeps
    the default draw, byte for byte.
    """
    if n_dialogues < 0 or n_personas < 1 or max_exchanges < 1:
        raise ValueError(f"need n_dialogues >= 0, n_personas >= 1, max_exchanges >= 1; got "
                         f"{n_dialogues}, {n_personas}, {max_exchanges}")
    if min_exchanges is not None and not 1 <= min_exchanges <= max_exchanges:
        raise ValueError(f"need 1 <= min_exchanges <= max_exchanges; got {min_exchanges}, {max_exchanges}")
    stored = fmt if fmt.style == "four_span" else ResponseFormat("four_span", fmt.system_template)
    rng = random.Random(seed)
    personas = make_personas(rng, n_personas)
    return [_dialogue(rng, i, personas[rng.randrange(n_personas)], stored, max_exchanges, min_exchanges)
            for i in range(n_dialogues)]


# Public pieces for the construction loop (stages/core/data/construction_loop.py): its embedded backend plays
# U, A and R from one scripted dialogue (and its personas from make_personas), and its emotion-jump filter
# uses the confusable clusters.
scripted_dialogue = _dialogue


def same_cluster(a: str, b: str) -> bool:
    """Two labels are the same or confusable neighbours (one cluster of labels.yaml)."""
    return a == b or b in CLUSTER_OF.get(a, ())


def reviewer_fail_rate(cue: str) -> float:
    """The embedded reviewer's P(FAIL) for a dialogue of this cue level (the corpus's own knob)."""
    return P_FAIL[cue]
