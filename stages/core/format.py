"""ResponseFormat: the only place that knows the span strings of an assistant turn.

A Kardia-R1 assistant turn is four spans in a fixed order [paper]:

    <|understanding_begin|>...<|understanding_end|><|reasoning_begin|>...<|reasoning_end|>
    <|emotion_begin|>...<|emotion_end|><|response_begin|>...<|response_end|>

The dataset card also writes them as XML-like tags (``<understanding>...</understanding>``);
``normalize`` maps that form onto the token form so everything downstream sees one format.
The ``response_only`` style (an ablation: plain reply, no reasoning) keeps only the response span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STYLES: dict[str, tuple[str, ...]] = {
    "four_span": ("understanding", "reasoning", "emotion", "response"),
    "response_only": ("response",),
}
ALL_SPANS = STYLES["four_span"]


def begin(span: str) -> str:
    return f"<|{span}_begin|>"


def end(span: str) -> str:
    return f"<|{span}_end|>"


# Every span token, whatever the style: the tokenizer always knows all eight, so one backbone
# serves both styles.
SPAN_TOKENS: tuple[str, ...] = tuple(t for s in ALL_SPANS for t in (begin(s), end(s)))

_XML_TAG = re.compile(r"<(/?)(" + "|".join(ALL_SPANS) + r")>")


@dataclass(frozen=True)
class Parsed:
    """Result of parsing one assistant turn: ``spans`` is set iff the turn is well formed."""

    spans: dict[str, str] | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.spans is not None


class ResponseFormat:
    """Renders, parses and validates assistant turns, and writes the system prompt."""

    def __init__(self, style: str = "four_span", system_prompt: str = "{persona}"):
        if style not in STYLES:
            raise ValueError(f"format.style={style!r} is not one of {sorted(STYLES)}")
        self.style = style
        self.spans = STYLES[style]
        self.system_template = system_prompt
        # One regex for the whole turn: spans in order, nothing but whitespace between them.
        body = r"\s*".join(
            re.escape(begin(s)) + r"(?P<" + s + r">.*?)" + re.escape(end(s)) for s in self.spans
        )
        self._turn = re.compile(r"\s*" + body + r"\s*", re.DOTALL)

    @classmethod
    def from_config(cls, cfg) -> ResponseFormat:
        return cls(style=cfg.style, system_prompt=cfg.system_prompt)

    @property
    def tokens(self) -> tuple[str, ...]:
        return SPAN_TOKENS

    def system_prompt(self, persona: str) -> str:
        return self.system_template.format(persona=persona.strip())

    def render(self, spans: dict[str, str]) -> str:
        missing = [s for s in self.spans if s not in spans]
        if missing:
            raise KeyError(f"render() needs spans {missing}")
        return "".join(f"{begin(s)}{spans[s].strip()}{end(s)}" for s in self.spans)

    @staticmethod
    def normalize(text: str) -> str:
        """Map the card's ``<understanding>``/``</understanding>`` tags onto span tokens."""
        return _XML_TAG.sub(lambda m: end(m[2]) if m[1] else begin(m[2]), text)

    def parse(self, text: str) -> Parsed:
        text = self.normalize(text)
        error = self._structure_error(text)
        if error:
            return Parsed(None, error)
        m = self._turn.fullmatch(text)
        if m is None:
            return Parsed(None, "text outside spans")
        spans = {s: m[s].strip() for s in self.spans}
        for s, v in spans.items():
            if not v:
                return Parsed(None, f"empty span: {s}")
            if any(t in v for t in SPAN_TOKENS):
                return Parsed(None, f"span token inside span: {s}")
        return Parsed(spans)

    def is_valid(self, text: str) -> bool:
        return self.parse(text).ok

    def response_text(self, text: str) -> str:
        """The reply a user would see: the response span, or the raw text when unparseable."""
        parsed = self.parse(text)
        return parsed.spans["response"] if parsed.ok else text

    @staticmethod
    def plain_text(text: str) -> str:
        """The turn with every span tag (either form) replaced by a space: text for similarity checks."""
        text = ResponseFormat.normalize(text)
        for tok in SPAN_TOKENS:
            text = text.replace(tok, " ")
        return text

    def _structure_error(self, text: str) -> str | None:
        """Each span token of this style exactly once, in order; None if so."""
        positions = []
        for s in self.spans:
            for tok in (begin(s), end(s)):
                count = text.count(tok)
                if count != 1:
                    return f"{'missing' if count == 0 else 'repeated'} {tok}"
                positions.append(text.index(tok))
        return "spans out of order" if positions != sorted(positions) else None
