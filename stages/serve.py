"""serve: an OpenAI-compatible server for one trained checkpoint, on 127.0.0.1.

    python -m stages.serve                                   # models/grpo at http://127.0.0.1:8000/v1
    python -m stages.serve --checkpoint models/sft --port 8001
    make serve CHECKPOINT=models/sft PORT=8001

Endpoints: POST /v1/chat/completions (non-streaming, or "stream": true as one chunk), GET /v1/models,
GET /health. The answer's content is the raw assistant turn with its four spans; parse it with
``stages.core.format.ResponseFormat.parse`` (docs/pipeline.md shows how). A conversation without a
system message gets the project's system prompt (with --persona, when given), as in training.
Request fields used: messages, max_tokens / max_completion_tokens, temperature, top_p, seed; other
fields are ignored. One request generates at a time (the model is not batched across requests).

Why not `transformers serve`: the pinned transformers (5.23) has it, but it exits with "Missing
dependencies for serving" unless its `serving` extra is installed (fastapi and uvicorn come with
mlflow; the `openai` package does not, and the project has no other use for it); vLLM is GPU-only and
optional here. This server is the standard library's http.server around the project's generation code
(stages/core/local_model.py), so it runs wherever the pipeline does, offline.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from stages.chat import DEFAULT_CHECKPOINT


class BadRequest(ValueError):
    pass


def _number(body: dict, key: str, kind, low: float, high: float | None = None):
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and value != int(value)):
        raise BadRequest(f"'{key}' must be a{'n integer' if kind is int else ' number'}")
    if value < low or (high is not None and value > high):
        raise BadRequest(f"'{key}' must be in [{low}, {high if high is not None else 'inf'}]")
    return kind(value)


def messages_of(body: dict) -> list[dict]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty list of {role, content}")
    out = []
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise BadRequest("each message needs a role of system, user or assistant")
        content = m.get("content")
        if isinstance(content, list):   # OpenAI's content parts: only text ones are meaningful here
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        if not isinstance(content, str):
            raise BadRequest("each message's content must be a string (or text parts)")
        out.append({"role": m["role"], "content": content})
    return out


class Service:
    """The model behind the handler: request -> chat.completion dict."""

    def __init__(self, model, persona: str = ""):
        self.model, self.persona = model, persona
        self.lock = threading.Lock()
        self.created = int(time.time())

    def models(self) -> dict:
        return {"object": "list", "data": [{"id": self.model.name, "object": "model", "created": self.created,
                                            "owned_by": "kardia", "root": str(self.model.path),
                                            "max_model_len": self.model.context_length}]}

    def complete(self, body: dict) -> dict:
        messages = messages_of(body)
        if messages[0]["role"] != "system":
            messages = [self.model.system_message(self.persona), *messages]
        if _number(body, "n", int, 1, 1) not in (None, 1):
            raise BadRequest("'n' must be 1")
        limit = _number(body, "max_completion_tokens", int, 1) or _number(body, "max_tokens", int, 1)
        temperature = _number(body, "temperature", float, 0, 2)
        top_p = _number(body, "top_p", float, 0, 1)
        settings = self.model.settings.but(max_new_tokens=limit, seed=_number(body, "seed", int, 0),
                                           temperature=temperature or None, top_p=top_p)
        if temperature is not None:   # OpenAI's convention: temperature 0 is greedy
            settings = settings.but(do_sample=temperature > 0)
        prompt_tokens = self.model.prompt_tokens(messages)
        if self.model.context_length and prompt_tokens >= self.model.context_length:
            raise BadRequest(f"the prompt has {prompt_tokens} tokens; this model's context is "
                             f"{self.model.context_length}")
        with self.lock:
            text, finish = self.model.reply(messages, settings)
        completion_tokens = len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])
        return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                "model": self.model.name,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": finish}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens}}


def handler(service: Service, quiet: bool = False):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            if not quiet:
                sys.stderr.write(f"serve: {self.address_string()} {fmt % args}\n")

        def _send(self, status: int, payload: dict | None = None, raw: bytes | None = None,
                  content_type: str = "application/json") -> None:
            data = raw if raw is not None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
            self._send(status, {"error": {"message": message, "type": kind, "code": status}})

        def do_GET(self):
            path = self.path.split("?", 1)[0].rstrip("/")
            if path == "/health":
                self._send(200, {"status": "ok"})
            elif path in ("/v1/models", "/models"):
                self._send(200, service.models())
            else:
                self._error(404, f"no route GET {self.path}; try POST /v1/chat/completions or GET /v1/models")

        def do_POST(self):
            path = self.path.split("?", 1)[0].rstrip("/")
            if path not in ("/v1/chat/completions", "/chat/completions"):
                self._error(404, f"no route POST {self.path}; this server has /v1/chat/completions")
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                if not isinstance(body, dict):
                    raise BadRequest("the body must be a JSON object")
                model = body.get("model")
                if model not in (None, "", service.model.name, str(service.model.path)):
                    self._error(404, f"model {model!r} is not served here; this server has {service.model.name!r}",
                                "not_found_error")
                    return
                result = service.complete(body)
            except (BadRequest, ValueError) as e:
                self._error(400, str(e))
                return
            except Exception as e:  # noqa: BLE001 - an answer, not a dead connection
                self._error(500, f"{type(e).__name__}: {e}", "server_error")
                return
            if body.get("stream"):
                self._stream(result)
            else:
                self._send(200, result)

        def _stream(self, result: dict) -> None:
            """Server-sent events: the whole answer as one chunk, then the finish reason and [DONE]."""
            choice = result["choices"][0]
            base = {k: result[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
            events = [
                {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": choice["message"]["content"]},
                                      "finish_reason": None}]},
                {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}]},
            ]
            data = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
            self._send(200, raw=data.encode(), content_type="text/event-stream")

    return Handler


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m stages.serve", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT,
                   help=f"model directory (default: {DEFAULT_CHECKPOINT}); its name is the served model id")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--persona", default=None,
                   help="persona (text or file) for conversations that bring no system message")
    p.add_argument("--quiet", action="store_true", help="no request log lines")
    args = p.parse_args(argv)
    from stages.core.local_model import CheckpointMissing, LocalModel, check_checkpoint, read_persona

    try:
        check_checkpoint(args.checkpoint)
    except CheckpointMissing as e:
        print(f"serve: {e}", file=sys.stderr)
        return 2
    model = LocalModel.load(args.checkpoint)
    service = Service(model, read_persona(args.persona))
    try:
        server = ThreadingHTTPServer((args.host, args.port), handler(service, args.quiet))
    except OSError as e:
        print(f"serve: cannot listen on {args.host}:{args.port}: {e} (another server there? --port picks another)",
              file=sys.stderr)
        return 3
    host, port = server.server_address[:2]
    print(f"serve: {model.path} as model {model.name!r} at http://{host}:{port}/v1 "
          f"(max {model.settings.max_new_tokens} new tokens by default); Ctrl-C stops", file=sys.stderr, flush=True)
    from stages.core.stage import sigterm_unwinds

    try:
        with sigterm_unwinds():   # `kill` stops it as Ctrl-C does
            server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print("serve: stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
