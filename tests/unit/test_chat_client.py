"""The chat client's structured-answer behaviour against the real test server on 127.0.0.1:
response_format with the judge's JSON schema (and the fallback when a server refuses it), answers cut
at the token limit, prompts checked against the served model's context length, and the synthesis
endpoint's pre-flight call before any dialogue is built."""

import asyncio
import json
import logging
from types import SimpleNamespace

import pytest

from stages.core.chat import PREFLIGHT_MESSAGES, ChatClient, ChatError, ClientSettings, EndpointUnavailable
from stages.core.config import ConfigError, Endpoint, load_config
from stages.core.evaluation import backends
from stages.core.judges import DIMENSIONS, build_judge
from stages.core.judges.rubric import answer_schema, load_rubric
from tests.support.fake_openai import (
    FakeOpenAI,
    Reply,
    closed_port_url,
    hashed_scores,
    judge_responder,
    prompt_tokens,
    rubric_answer,
)

ITEMS = [{"response": f"That sounds hard ({i}). What would help tonight?", "persona": "MBTI: INFP",
          "context": "Situation: A lost job.\nUser: I was let go today."} for i in range(4)]


def judge_for(url, **over):
    return build_judge({"backend": "openai", "model": "fake", "base_url": url, "timeout_s": 2.0, "max_retries": 2,
                        "backoff_s": 0.01, "concurrency": 2, **over})


def client_for(url, max_tokens=32, **over) -> ChatClient:
    endpoint = Endpoint(base_url=url, model="fake", max_tokens=max_tokens, max_retries=2, backoff_s=0.01,
                        timeout_s=2.0, concurrency=2, **over)
    return ChatClient(ClientSettings.from_endpoint(endpoint, "judge"))


# --- response_format -------------------------------------------------------------------------------

def test_the_judge_sends_its_answer_schema_and_a_valid_answer_fits_it():
    with FakeOpenAI(judge_responder()) as server:
        judge = judge_for(server.url)
        judge.preflight()
        out = judge.score_many(ITEMS)
    assert [j.scores for j in out] == [hashed_scores(it["response"]) for it in ITEMS]
    formats = [r.get("response_format") for r in server.requests]
    assert len(formats) == len(ITEMS) + 1 and all(f == formats[0] for f in formats)  # preflight included
    spec = formats[0]
    assert spec["type"] == "json_schema" and spec["json_schema"]["strict"] is True
    schema = spec["json_schema"]["schema"]
    assert list(schema["properties"]) == list(DIMENSIONS) == schema["required"]
    assert schema["additionalProperties"] is False
    # the answer the rubric accepts is an instance of the schema: keys, order, types, score range
    answer = json.loads(rubric_answer(hashed_scores("x")))
    for dim, value in answer.items():
        item = schema["properties"][dim]
        assert list(value) == item["required"] == ["reason", "score"]
        assert value["score"] in item["properties"]["score"]["enum"]
    assert item["properties"]["score"]["enum"] == [1, 2, 3, 4, 5]


def test_response_format_none_sends_nothing_and_keeps_the_cache_key_as_before():
    with FakeOpenAI(judge_responder()) as server:
        plain = judge_for(server.url, response_format="none")
        assert all(j is not None for j in plain.score_many(ITEMS[:2]))
    assert not any("response_format" in r for r in server.requests)
    assert "response_format" not in plain.identity
    assert "response_format" in judge_for(server.url).identity  # constrained answers are another key


def test_a_server_that_refuses_response_format_is_asked_once_then_never_again(caplog):
    with FakeOpenAI(judge_responder(), response_format=False) as server, caplog.at_level(logging.WARNING):
        judge = judge_for(server.url)
        first = judge.score_many(ITEMS[:2])
        second = judge.score_many(ITEMS[2:])
    assert all(j is not None for j in first + second)
    refused = [r for r in server.requests if "response_format" in r]
    # concurrency 2: both first requests may carry it before the first refusal lands, none started
    # after; the server may log the first one's retry before the second (so no order is asserted)
    assert 1 <= len(refused) <= 2
    assert len(server.requests) == len(ITEMS) + len(refused)
    assert judge.usage.failures == {} and judge.usage.retries == 0
    warnings = [r for r in caplog.records if "refused response_format" in r.getMessage()]
    assert len(warnings) == 1 and "judge.response_format=none" in warnings[0].getMessage()


def test_the_preflight_learns_the_refusal_before_the_run():
    with FakeOpenAI(judge_responder(), response_format=False) as server:
        judge = judge_for(server.url)
        judge.preflight()
        judge.score_many(ITEMS)
    assert ["response_format" in r for r in server.requests] == [True, False] + [False] * len(ITEMS)


def test_another_4xx_is_not_taken_for_a_refused_response_format():
    with FakeOpenAI(lambda req: Reply(400, body='{"error": {"message": "unknown model"}}')) as server:
        judge = judge_for(server.url)
        assert judge.score_many(ITEMS[:1]) == [None]
    assert server.calls == 1 and judge.usage.failures["http_400"] == 1
    assert judge.client.response_format is not None


def test_the_endpoint_option_is_validated(root, tmp_path):
    from tests.pipeline.conftest import compose_params

    params = compose_params(root, tmp_path / "params.yaml", ["judge=openai"])
    assert load_config(params).judge.response_format == "json_schema"
    with pytest.raises(ConfigError, match=r"key 'judge.response_format'.*'json_schema', 'none'"):
        load_config(params, ["judge.response_format=json"])


# --- finish_reason: length ----------------------------------------------------------------------

def test_a_judge_answer_cut_at_the_token_limit_is_a_failed_call_not_retried():
    cut = lambda req: Reply(content=rubric_answer(hashed_scores("x"))[:40], finish_reason="length")
    with FakeOpenAI(cut) as server:
        judge = judge_for(server.url)
        assert judge.score_many(ITEMS[:2]) == [None, None]
    assert server.calls == 2 and judge.usage.failures == {"length": 2}
    assert judge.usage.metrics()["judge_usage/failures_length"] == 2


def test_the_length_failure_says_which_limit_to_raise():
    with FakeOpenAI(lambda req: Reply(content="{\"relevance\":", finish_reason="length")) as server:
        [error] = client_for(server.url, max_tokens=7).complete_many([[{"role": "user", "content": "hi"}]])
    assert isinstance(error, ChatError) and error.kind == "length"
    assert "max_tokens=7" in str(error) and "raise judge.max_tokens" in str(error)


def test_a_complete_answer_at_the_limit_is_fine():
    with FakeOpenAI(lambda req: Reply(content="ok", finish_reason="stop")) as server:
        assert client_for(server.url).complete_many([[{"role": "user", "content": "hi"}]]) == ["ok"]


def test_a_baseline_keeps_a_truncated_answer_and_counts_it(caplog):
    """A baseline answer cut at the limit is scored as written, like a local model's cut at max_new_tokens."""
    cut = lambda req: Reply(content="<|understanding_begin|>a long", finish_reason="length")
    ev = SimpleNamespace(do_sample=False, max_new_tokens=8)
    prompts = [[{"role": "user", "content": f"hi {i}"}] for i in range(3)]
    with FakeOpenAI(cut) as server, caplog.at_level(logging.WARNING):
        out = backends.generate_api({"name": "api", "base_url": server.url, "model": "m"}, prompts, ev, seed=1)
    assert out == ["<|understanding_begin|>a long"] * 3 and server.calls == 3
    assert any("3 of 3 answers were cut" in r.getMessage() for r in caplog.records)


# --- context length ---------------------------------------------------------------------------

def test_the_preflight_reads_max_model_len_where_the_server_reports_it():
    with FakeOpenAI(judge_responder(), max_model_len=300) as server:
        judge = judge_for(server.url)
        judge.preflight()
    assert judge.client.max_model_len == 300 and server.gets == ["/v1/models"]
    with FakeOpenAI(judge_responder()) as silent:  # OpenAI's API: no max_model_len
        judge = judge_for(silent.url)
        judge.preflight()
    assert judge.client.max_model_len is None


def test_a_prompt_too_long_for_the_context_fails_before_it_is_sent():
    long = [{"role": "user", "content": "word " * 400}]
    with FakeOpenAI(lambda req: Reply(content="ok"), max_model_len=300) as server:
        client = client_for(server.url, max_tokens=32)
        client.preflight()
        sent_before = server.calls
        [error] = client.complete_many([long])
    assert isinstance(error, ChatError) and error.kind == "context_length"
    assert server.calls == sent_before  # never sent
    assert f"prompt of {prompt_tokens(long)} tokens + max_tokens=32 exceeds" in str(error)
    assert "context length 300" in str(error) and "judge.max_tokens" in str(error)
    assert client.stats.failures["context_length"] == 1


def test_a_prompt_near_the_limit_is_counted_by_the_server_and_sent_when_it_fits():
    # 200 one-letter words: 400 bytes > 300 - 32 by the byte bound, 204 tokens + 32 < 300 by the count
    near = [{"role": "user", "content": "a " * 200}]
    short = [{"role": "user", "content": "hello there"}]
    with FakeOpenAI(lambda req: Reply(content="ok"), max_model_len=300) as server:
        client = client_for(server.url, max_tokens=32)
        client.preflight()
        assert client.complete_many([near, short]) == ["ok", "ok"]
    assert len(server.tokenize_requests) == 1  # the short prompt fits by its byte count alone
    assert server.tokenize_requests[0]["messages"] == near and server.tokenize_requests[0]["model"] == "fake"


def test_without_a_token_count_the_server_decides():
    long = [{"role": "user", "content": "word " * 400}]
    with FakeOpenAI(lambda req: Reply(content="ok"), max_model_len=300, tokenize=False) as server:
        client = client_for(server.url)
        client.preflight()
        [error] = client.complete_many([long])
    assert isinstance(error, ChatError) and error.kind == "http_400" and "maximum context length" in str(error)


def test_nothing_is_checked_without_a_preflight():
    with FakeOpenAI(lambda req: Reply(content="ok"), max_model_len=10_000) as server:
        client = client_for(server.url)
        assert client.complete_many([[{"role": "user", "content": "word " * 4000}]]) == ["ok"]
    assert server.gets == [] and server.tokenize_requests == []


# --- the synthesis endpoint's pre-flight --------------------------------------------------------

@pytest.fixture
def synth_params(root, tmp_path):
    from tests.pipeline.conftest import compose_params

    return compose_params(root, tmp_path / "params.yaml", [
        "synthesize.backend=openai", "synthesize.max_exchanges=1", "synthesize.n_dialogues=2",
        "synthesize.openai.max_retries=0", "synthesize.openai.backoff_s=0.01", f"paths.prompts={root / 'prompts'}"])


def test_synthesis_stops_before_building_anything_when_its_endpoint_is_down(synth_params, tmp_path):
    from stages.core.data.construction_loop import synthesize

    cfg = load_config(synth_params, [f"synthesize.openai.base_url={closed_port_url()}"])
    with pytest.raises(EndpointUnavailable, match=r"synthesize.openai endpoint .* pre-flight.*server running"):
        asyncio.run(synthesize(cfg, tmp_path / "out"))
    assert not (tmp_path / "out").exists()  # no manifest, no empty dialogue files


def test_synthesis_exits_2_naming_the_endpoint(root, synth_params, tmp_path, capsys):
    from stages import synthesize as stage

    code = stage.main(["--params", str(synth_params), "--output", str(tmp_path / "out"),
                       f"synthesize.openai.base_url={closed_port_url()}"])
    assert code == 2 and "synthesize.openai endpoint" in capsys.readouterr().err


def test_synthesis_preflights_then_builds(synth_params, tmp_path):
    from stages.core.data.construction_loop import synthesize
    from tests.support.fake_chat import RolePlayer

    with FakeOpenAI(RolePlayer(faults=False), model="gpt-4o") as server:
        cfg = load_config(synth_params, [f"synthesize.openai.base_url={server.url}"])
        stats = asyncio.run(synthesize(cfg, tmp_path / "out"))
    assert stats["kept"] + stats["dropped"] == 2 and stats["this_run"]["failed"] == 0
    assert server.requests[0]["messages"] == PREFLIGHT_MESSAGES
    assert server.gets == ["/v1/models"]


def test_the_answer_schema_names_every_dimension_of_every_rubric():
    name, schema = answer_schema()
    assert name and list(schema["properties"]) == list(load_rubric("kardia_v1").weights)
