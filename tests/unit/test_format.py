import pytest

from stages.core.format import SPAN_TOKENS, ResponseFormat, begin, end

SPANS = {"understanding": "She is a nurse who feels drained.", "reasoning": "Night shifts wear her down.",
         "emotion": "sad", "response": "That sounds exhausting. How are you sleeping?"}


def test_render_parse_round_trip(fmt):
    text = fmt.render(SPANS)
    assert text.startswith("<|understanding_begin|>") and text.endswith("<|response_end|>")
    parsed = fmt.parse(text)
    assert parsed.ok and parsed.spans == SPANS


def test_xml_tag_form_of_the_dataset_card_is_accepted(fmt):
    card = "".join(f"<{s}>{v}</{s}>" for s, v in SPANS.items())
    assert fmt.normalize(card) == fmt.render(SPANS)
    assert fmt.parse(card).spans == SPANS


def test_whitespace_between_spans_is_tolerated(fmt):
    text = "\n".join(f"{begin(s)} {v} {end(s)}" for s, v in SPANS.items())
    assert fmt.parse(text).spans == SPANS


@pytest.mark.parametrize("mutate, error", [
    (lambda t: t.replace("<|emotion_begin|>sad<|emotion_end|>", ""), "missing <|emotion_begin|>"),
    (lambda t: t.replace(">sad<", ">  <"), "empty span: emotion"),
    (lambda t: t.replace("<|response_end|>", ""), "missing <|response_end|>"),
    (lambda t: t + "<|response_begin|>again<|response_end|>", "repeated <|response_begin|>"),
    (lambda t: "Hello! " + t, "text outside spans"),
    (lambda t: t + " trailing", "text outside spans"),
    (lambda t: t.replace("<|understanding_begin|>She is", "<|understanding_begin|>She <|reasoning_end|>is"),
     "repeated <|reasoning_end|>"),
    (lambda t: "", "missing <|understanding_begin|>"),
])
def test_rejects_malformed_turns(fmt, mutate, error):
    parsed = fmt.parse(mutate(fmt.render(SPANS)))
    assert not parsed.ok and parsed.error == error


def test_spans_out_of_order_are_rejected(fmt):
    swapped = (f"{begin('reasoning')}r{end('reasoning')}{begin('understanding')}u{end('understanding')}"
               f"{begin('emotion')}sad{end('emotion')}{begin('response')}x{end('response')}")
    parsed = fmt.parse(swapped)
    assert not parsed.ok and parsed.error == "spans out of order"


def test_response_only_style_and_response_text(fmt):
    plain = ResponseFormat("response_only", "{persona}")
    assert plain.render(SPANS) == "<|response_begin|>That sounds exhausting. How are you sleeping?<|response_end|>"
    assert plain.parse(plain.render(SPANS)).spans == {"response": SPANS["response"]}
    assert not plain.is_valid(fmt.render(SPANS))
    assert fmt.response_text(fmt.render(SPANS)) == SPANS["response"]
    assert fmt.response_text("no spans at all") == "no spans at all"


def test_system_prompt_and_tokens(fmt):
    assert fmt.system_prompt("  MBTI: INFJ ") == "Be kind.\nUser profile:\nMBTI: INFJ"
    assert len(SPAN_TOKENS) == 8 and len(set(SPAN_TOKENS)) == 8
    with pytest.raises(ValueError, match="format.style"):
        ResponseFormat("three_span")
