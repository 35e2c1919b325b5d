"""Dialogues -> per-turn examples, and the persona-disjoint split, on a hand-written record."""

from stages.core.data.examples import dialogue_to_examples, split_by_persona
from stages.core.format import ResponseFormat


def turn(u, r, e, resp, xml=False):
    if xml:
        return f"<understanding>{u}</understanding><reasoning>{r}</reasoning><emotion>{e}</emotion><response>{resp}</response>"
    return ResponseFormat().render({"understanding": u, "reasoning": r, "emotion": e, "response": resp})


RECORD = {
    "dialogue_id": "d1", "person": "MBTI: INFP\nAbout: I'm a florist.", "emotion": "anxious",
    "situation": "Exam tomorrow.", "trace": ["FAIL", "PASS", "SOLVED"], "cue": "implied",
    "messages": [
        {"role": "system", "content": "whatever the data says"},
        {"role": "user", "content": "My exam is tomorrow."},
        {"role": "assistant", "content": turn("u1", "r1", "Anxious", "That sounds stressful.")},
        {"role": "user", "content": "I keep rereading notes."},
        {"role": "assistant", "content": turn("u2", "r2", "anxious", "Take a breath.", xml=True)},
        {"role": "user", "content": "Thanks, I'll try."},
        {"role": "assistant", "content": turn("u3", "r3", "anxious", "You've got this.")},
    ],
}


def test_one_example_per_assistant_turn_with_history_limits(fmt):
    examples = dialogue_to_examples(RECORD, fmt, history="full", max_history_turns=1)
    assert [ex["id"] for ex in examples] == ["d1-t0", "d1-t1", "d1-t2"]
    first, last = examples[0], examples[2]
    assert [m["role"] for m in first["prompt"]] == ["system", "user"]
    assert first["prompt"][0]["content"] == fmt.system_prompt(RECORD["person"])  # the config's prompt
    # one earlier exchange kept: the second user turn and the second (tag-normalised) assistant turn
    assert [m["content"] for m in last["prompt"][1:]] == [
        "I keep rereading notes.", turn("u2", "r2", "anxious", "Take a breath."), "Thanks, I'll try."]
    assert first["emotion"] == "anxious" and first["reference"] == "That sounds stressful."
    assert fmt.parse(first["completion"][0]["content"]).ok
    assert last["context"].splitlines()[-1] == "User: Thanks, I'll try."
    assert all(ex["trace"] == RECORD["trace"] for ex in examples)


def test_response_only_history_and_target_style(fmt):
    [_, second, _] = dialogue_to_examples(RECORD, fmt, history="response_only", max_history_turns=2)
    assert second["prompt"][2] == {"role": "assistant", "content": "That sounds stressful."}
    plain = ResponseFormat("response_only", "{persona}")
    [first, *_] = dialogue_to_examples(RECORD, plain, history="full", max_history_turns=0)
    assert first["completion"][0]["content"] == "<|response_begin|>That sounds stressful.<|response_end|>"


def test_split_is_persona_disjoint_and_seeded():
    records = [{**RECORD, "dialogue_id": f"d{i}", "person": f"persona {i % 7}"} for i in range(40)]
    train, test = split_by_persona(records, 0.3, seed=1)
    assert len(train) + len(test) == 40
    assert not {r["person"] for r in train} & {r["person"] for r in test}
    assert len({r["person"] for r in test}) == 2  # round(7 * 0.3)
    assert split_by_persona(records, 0.3, seed=1) == (train, test)


def test_null_history_keeps_every_earlier_exchange(fmt):
    """max_history_turns None (the history_length table's 'all' row): the last turn's prompt holds the
    whole dialogue before it; a limit of 1 keeps only the last exchange."""
    everything = dialogue_to_examples(RECORD, fmt, history="response_only", max_history_turns=None)
    one = dialogue_to_examples(RECORD, fmt, history="response_only", max_history_turns=1)
    earlier_turns = [m for m in RECORD["messages"][1:-2]]   # every turn before the last user turn
    assert len(everything[-1]["prompt"]) == 1 + len(earlier_turns) + 1
    assert everything[-1]["prompt"][1]["content"] == RECORD["messages"][1]["content"]
    assert len(one[-1]["prompt"]) == 1 + 2 + 1
    # the first turns have less history than any limit: identical prompts
    assert everything[0]["prompt"] == one[0]["prompt"] and everything[1]["prompt"] == one[1]["prompt"]
