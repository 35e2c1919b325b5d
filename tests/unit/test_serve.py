"""`python -m stages.serve` (what `make serve` runs): a real server process on a free 127.0.0.1 port
with a tiny four-span checkpoint, asked by the project's own OpenAI-compatible client
(stages/core/chat.py) and by urllib; the answer's spans parse with ResponseFormat."""

import json
import socket
import sys
import urllib.error
import urllib.request

import pytest

from stages.core.chat import ChatClient, ClientSettings
from stages.core.serving import serving
from tests.support.chat_checkpoint import FMT, SPANS, shared_chat_checkpoint


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, root):
    tmp = tmp_path_factory.mktemp("serve")
    checkpoint = shared_chat_checkpoint(tmp_path_factory)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "stages.serve", "--checkpoint", str(checkpoint), "--port", str(port)]
    with serving(command, f"{base}/health", log_path=tmp / "serve.log", timeout_s=90, grace_s=5, name="serve"):
        yield base, tmp / "serve.log"


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_the_projects_client_gets_four_parseable_spans(server):
    base, _ = server
    client = ChatClient(ClientSettings(base_url=f"{base}/v1", model="grpo", api_key_env=None, concurrency=2,
                                       timeout_s=60, max_retries=0, backoff_s=0.1, sampling={"max_tokens": 48}))
    answers = client.complete_many([[{"role": "user", "content": "I failed my driving test."}],
                                    [{"role": "system", "content": FMT.system_prompt("MBTI: INFJ About: a nurse")},
                                     {"role": "user", "content": "My exam went badly."}]])
    for answer in answers:
        assert isinstance(answer, str), answer
        parsed = FMT.parse(answer)
        assert parsed.ok, (parsed.error, answer)
        assert parsed.spans == SPANS


def test_a_curl_style_request_gets_a_chat_completion(server):
    base, _ = server
    status, data = post(f"{base}/v1/chat/completions",
                        {"model": "grpo", "messages": [{"role": "user", "content": "I feel sad today."}], "temperature": 0})
    assert status == 200, data
    assert data["object"] == "chat.completion" and data["model"] == "grpo"
    choice = data["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["message"]["role"] == "assistant"
    assert FMT.parse(choice["message"]["content"]).spans["emotion"] == "sad"
    assert data["usage"]["completion_tokens"] > 0 and data["usage"]["total_tokens"] > data["usage"]["prompt_tokens"]


def test_max_tokens_cuts_the_answer_with_finish_reason_length(server):
    base, _ = server
    status, data = post(f"{base}/v1/chat/completions",
                        {"messages": [{"role": "user", "content": "I feel sad today."}], "max_tokens": 3})
    assert status == 200, data
    assert data["choices"][0]["finish_reason"] == "length" and data["usage"]["completion_tokens"] <= 3


def test_models_lists_the_checkpoint(server):
    base, _ = server
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{base}/v1/models", timeout=10) as r:
        data = json.loads(r.read())
    assert [m["id"] for m in data["data"]] == ["grpo"] and data["data"][0]["max_model_len"] == 256


def test_bad_requests_get_openai_style_errors(server):
    base, _ = server
    status, data = post(f"{base}/v1/chat/completions", {"messages": []})
    assert status == 400 and "messages" in data["error"]["message"]
    status, data = post(f"{base}/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]})
    assert status == 404 and "'grpo'" in data["error"]["message"]
    status, data = post(f"{base}/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "max_tokens": 0})
    assert status == 400 and "max_tokens" in data["error"]["message"]


def test_missing_checkpoint_names_the_path(tmp_path, capsys):
    from stages import serve

    assert serve.main(["--checkpoint", str(tmp_path / "nope"), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "nope") in err and "make pipeline" in err


def test_stream_true_gets_the_answer_as_server_sent_events(server):
    base, _ = server
    body = {"messages": [{"role": "user", "content": "I feel sad today."}], "stream": True}
    request = urllib.request.Request(f"{base}/v1/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=60) as r:
        assert r.headers["Content-Type"] == "text/event-stream"
        events = [line.removeprefix("data: ") for line in r.read().decode().splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert FMT.parse(text).spans == SPANS and chunks[-1]["choices"][0]["finish_reason"] == "stop"
