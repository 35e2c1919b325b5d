"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks (no model behind it).

``FakeOpenAI(responder)`` serves ``POST /v1/chat/completions`` from a thread; ``responder(request)``
gets the request JSON and returns a ``Reply`` (status, message content or raw body, finish_reason,
delay, headers), so any role can be played: a rubric judge (``judge_responder``), or a user /
assistant / reviewer with a custom callable. ``with_faults`` injects failures by request number;
``closed_port_url`` gives an address that refuses connections.

Server traits, as vLLM and other servers have them: ``max_model_len`` makes it report the context
length in ``GET /v1/models``, count tokens at ``POST /tokenize`` (one per word, plus
``TEMPLATE_TOKENS`` per message) and refuse a request whose prompt + max_tokens exceeds it, with
vLLM's 400; ``response_format=False`` makes it refuse a request carrying ``response_format`` with a
400 naming the field (servers without structured outputs); ``tokenize=False``: no ``/tokenize``.

    with FakeOpenAI(with_faults(judge_responder(), ["ok", "429", "malformed"]), latency_s=0.05) as srv:
        judge = build_judge({"backend": "openai", "base_url": srv.url, "model": "fake"})
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from stages.core.judges.rubric import DIMENSIONS


@dataclass
class Reply:
    status: int = 200
    content: str | None = None  # the assistant message, wrapped in a chat.completion
    body: str | None = None     # a raw body instead (e.g. an error page)
    delay_s: float = 0.0        # on top of the server's latency
    headers: dict[str, str] = field(default_factory=dict)
    finish_reason: str = "stop"  # "length": the answer was cut at the token limit


Responder = Callable[[dict], Reply]


TEMPLATE_TOKENS = 4  # what the fake chat template adds per message (vLLM's Qwen template: about as many)


def prompt_tokens(messages: list[dict]) -> int:
    """The fake tokenizer: one token per word, plus the template's per message."""
    return sum(len(str(m.get("content", "")).split()) + TEMPLATE_TOKENS for m in messages)


def completion_body(content: str, request: dict, finish_reason: str = "stop") -> str:
    prompt = " ".join(str(m.get("content", "")) for m in request.get("messages", []))
    return json.dumps({
        "id": "chatcmpl-fake", "object": "chat.completion", "model": request.get("model", "fake"),
        "choices": [{"index": 0, "finish_reason": finish_reason, "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": len(content.split()),
                  "total_tokens": len(prompt.split()) + len(content.split())},
    })


class FakeOpenAI:
    """``with FakeOpenAI(responder, latency_s) as server:`` -> ``server.url`` (ends in /v1), ``server.calls``."""

    def __init__(self, responder: Responder, latency_s: float = 0.0, *, model: str = "fake",
                 max_model_len: int | None = None, response_format: bool = True, tokenize: bool = True):
        self.responder, self.latency_s = responder, latency_s
        self.model, self.max_model_len = model, max_model_len
        self.takes_response_format, self.counts_tokens = response_format, tokenize
        self.tokenize_requests: list[dict] = []  # POST /tokenize bodies
        self.gets: list[str] = []                # GET paths
        self.requests: list[dict] = []
        self.request_headers: list[dict[str, str]] = []
        self.paths: list[str] = []  # of the answered requests, in the order of ``requests``
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do (every reply has a Content-Length)

            def setup(self):
                super().setup()
                # Headers and body go out in two writes; without NODELAY, Nagle + delayed ACK add ~40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                with server._lock:
                    server.gets.append(self.path)
                if self.path.rstrip("/").endswith("/v1/models"):  # vLLM's shape: max_model_len per model
                    entry = {"id": server.model, "object": "model", "owned_by": "fake",
                             **({"max_model_len": server.max_model_len} if server.max_model_len else {})}
                    return self._send(Reply(body=json.dumps({"object": "list", "data": [entry]})), {})
                self._send(Reply(404, body='{"error": "not found"}'), {})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                if self.path == "/tokenize" and server.counts_tokens:  # vLLM: at the root, not under /v1
                    request = json.loads(raw)
                    with server._lock:
                        server.tokenize_requests.append(request)
                    count = prompt_tokens(request.get("messages", []))
                    return self._send(Reply(body=json.dumps({"count": count, "max_model_len": server.max_model_len,
                                                             "tokens": list(range(count))})), {})
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    return self._send(Reply(404, body='{"error": "not found"}'), {})
                try:
                    request = json.loads(raw)
                except json.JSONDecodeError:
                    return self._send(Reply(400, body='{"error": "bad json"}'), {})
                with server._lock:
                    server.requests.append(request)
                    server.request_headers.append(dict(self.headers))
                    server.paths.append(self.path)
                try:
                    reply = server.refusal(request) or server.responder(request)
                except Exception as e:  # noqa: BLE001 - a responder bug answers 500, as a real server would
                    reply = Reply(500, body=json.dumps({"error": {"message": f"responder failed: {e!r}"}}))
                time.sleep(server.latency_s + reply.delay_s)
                self._send(reply, request)

            def _send(self, reply: Reply, request: dict):
                body = (reply.body if reply.body is not None
                        else completion_body(reply.content or "", request, reply.finish_reason))
                data = body.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to answer

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # the default backlog of 5 drops connections under a burst of 16+
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def refusal(self, request: dict) -> Reply | None:
        """The 400 a server with this one's traits answers the request with, or None."""
        if "response_format" in request and not self.takes_response_format:
            return Reply(400, body=json.dumps({"error": {"message": "response_format is not supported by this "
                                                         "server", "type": "BadRequestError"}}))
        wanted = request.get("max_tokens") or request.get("max_completion_tokens") or 0
        prompt = prompt_tokens(request.get("messages", []))
        if self.max_model_len and prompt + wanted > self.max_model_len:
            return Reply(400, body=json.dumps({"error": {"type": "BadRequestError", "message": (
                f"This model's maximum context length is {self.max_model_len} tokens. However, you requested "
                f"{prompt + wanted} tokens ({prompt} in the messages, {wanted} in the completion).")}}))
        return None

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.requests)

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def closed_port_url() -> str:
    """The base URL of a port nothing listens on: connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# --- the judge role ---------------------------------------------------------------------------

def reply_under_judgement(request: dict) -> str:
    """The reply text a rubric prompt asks about (the <data> block after 'Reply to evaluate:'), '' if none."""
    user = next((m["content"] for m in reversed(request.get("messages", [])) if m.get("role") == "user"), "")
    if "Reply to evaluate:" not in user:
        return ""
    block = user.rsplit("Reply to evaluate:", 1)[-1].strip()
    return block.removeprefix("<data>").removesuffix("</data>").strip()


def hashed_scores(response: str) -> dict[str, int]:
    """Deterministic pseudo-scores 1..5 per dimension, varied across replies (a stand-in LLM's taste)."""
    digest = hashlib.sha256(response.encode()).digest()
    return {d: 1 + digest[i] % 5 for i, d in enumerate(DIMENSIONS)}


def rubric_answer(scores: dict, reason: str = "Judged against the rubric anchors.") -> str:
    """A valid judge answer: each dimension {"reason": ..., "score": ...}, reason first."""
    return json.dumps({d: {"reason": reason, "score": s} for d, s in scores.items()})


def judge_responder(score_fn: Callable[[str], dict[str, int]] = hashed_scores) -> Responder:
    """Answers every rubric prompt with valid JSON scoring the reply with ``score_fn(reply)``."""
    return lambda request: Reply(content=rubric_answer(score_fn(reply_under_judgement(request))))


def fault_reply(mode: str, request: dict, ok: Responder, slow_s: float = 5.0) -> Reply:
    """One injected failure (or 'ok'): what a real endpoint or model does on a bad day."""
    scores = hashed_scores(reply_under_judgement(request))
    if mode == "ok":
        return ok(request)
    if mode == "malformed":
        return Reply(content='{"relevance": {"reason": "fine", "score": 4}, "fluency": ')  # cut off
    if mode == "missing":
        return Reply(content=rubric_answer({d: s for d, s in scores.items() if d != "safety"}))
    if mode == "out_of_range":
        return Reply(content=rubric_answer({**scores, "empathy": 7}))
    if mode == "429":
        return Reply(429, body='{"error": {"message": "rate limited"}}', headers={"Retry-After": "0"})
    if mode == "500":
        return Reply(500, body='{"error": {"message": "internal error"}}')
    if mode == "slow":
        return Reply(content=rubric_answer(scores), delay_s=slow_s)
    raise ValueError(f"unknown fault mode {mode!r}")


def with_faults(ok: Responder, schedule: Sequence[str], slow_s: float = 5.0) -> Responder:
    """Request n (0-based, in arrival order) gets ``schedule[n % len(schedule)]``."""
    counter = iter(range(1 << 62))
    lock = threading.Lock()

    def respond(request: dict) -> Reply:
        with lock:
            n = next(counter)
        return fault_reply(schedule[n % len(schedule)], request, ok, slow_s)
    return respond
