"""U, A and R for the synthesize tests, played behind the real server of ``tests/support/fake_openai.py``.

Answers are a pure function of the request (so a resumed run sees the same dialogue), except that a
request seen for the first time may be answered with a fault the client must survive: HTTP 500, a
reply slower than the client's timeout, or (for R) an answer with no decision in it. The scenario's
profile steers the content: "About: DRIFT" makes A call the user another MBTI type, "About: JUMP"
makes A's emotion jump clusters on the second turn, "About: BROKEN" makes A never write four spans.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading

from stages.core.chat import PREFLIGHT_MESSAGES
from stages.core.format import ResponseFormat
from tests.support.fake_openai import FakeOpenAI, Reply

FOUR_SPAN = ResponseFormat("four_span")


def _h(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def play(messages: list[dict]) -> str:
    """The deterministic answer of U, A or R to one request."""
    system = messages[0]["content"]
    if "role U" in system:
        emotion = re.search(r"How you feel about it: (.+)", system)[1].strip()
        turn = system.count("\nUser: ") + system.startswith("User: ")
        return f"Turn {turn}: I feel {emotion}. It keeps coming back to me (note {_h(system) % 97})."
    if "role A" in system:
        users = [m["content"] for m in messages if m["role"] == "user"]
        emotion = re.search(r"I feel (\w+)", users[-1])[1]
        if "About: BROKEN" in system:
            return f"I understand you feel {emotion}. Take care."
        if "About: JUMP" in system and len(users) == 2:
            emotion = "joyful" if emotion != "joyful" else "furious"
        mbti = re.search(r"MBTI: (\w{4})", system)[1]
        if "About: DRIFT" in system:
            mbti = "ISTJ" if mbti != "ISTJ" else "ENFP"
        revised = " I hear you." if "rejected your previous attempt" in system else ""
        return FOUR_SPAN.render({
            "understanding": f"The user shares turn {len(users) - 1} of their story.",
            "reasoning": f"As an {mbti}, they need steady support.",
            "emotion": emotion,
            "response": f"That sounds hard; I'm here with you.{revised}",
        })
    if "role R" in system:
        candidate = system.split("Candidate assistant turn:")[1].split("Judge the candidate")[0]
        if "I hear you" not in candidate and _h(candidate) % 3 == 0:
            return "FAIL"
        return "SOLVED" if system.count("User: ") >= 3 else "PASS"
    raise ValueError("unknown role")


class RolePlayer:
    """A responder for ``FakeOpenAI`` that plays U, A and R; ``faults`` turns first-sight faults on,
    ``always_status`` answers every request with that HTTP status; ``counts`` says what it did. The
client's pre-flight call ("Reply with OK.") is answered "OK", without faults."""

    def __init__(self, *, faults: bool = True, slow_s: float = 1.0, always_status: int | None = None,
                 status_after_preflight: bool = False):
        self.faults, self.slow_s, self.always_status = faults, slow_s, always_status
        # True: the pre-flight call is answered and only the dialogues' requests get always_status
        # (a server that goes bad mid-run); else every request does (a wrong key, a server down)
        self.status_after_preflight = status_after_preflight
        self.seen: set[str] = set()
        self.counts = {"requests": 0, "500": 0, "slow": 0, "malformed": 0}
        self.lock = threading.Lock()

    def __call__(self, request: dict) -> Reply:
        key = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        with self.lock:
            self.counts["requests"] += 1
            first = key not in self.seen
            self.seen.add(key)
        preflight = request["messages"] == PREFLIGHT_MESSAGES
        if self.always_status and not (preflight and self.status_after_preflight):
            return Reply(self.always_status, body='{"error": {"message": "fake failure"}}')
        if preflight:  # the client's pre-flight call: never a first-sight fault
            return Reply(content="OK")
        kind = _h(key) % 5 if (self.faults and first) else None
        if kind == 0:
            self.counts["500"] += 1
            return Reply(500, body='{"error": {"message": "overloaded"}}')
        content = play(request["messages"])
        if kind == 2 and "role R" in request["messages"][0]["content"]:
            self.counts["malformed"] += 1
            content = "Hmm, that reads fine to me overall."
        if kind == 1:
            self.counts["slow"] += 1
        return Reply(content=content, delay_s=self.slow_s if kind == 1 else 0.0)


def main() -> None:
    """Serve on a free port until killed, printing the base URL (for a subprocess test or by hand)."""
    import sys

    with FakeOpenAI(RolePlayer(), latency_s=float(sys.argv[1]) if len(sys.argv) > 1 else 0.0) as server:
        print(server.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
