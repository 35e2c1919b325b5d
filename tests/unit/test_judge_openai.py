"""The openai judge backend against a real HTTP server on 127.0.0.1: answers, every failure mode,
retries, the cache, concurrency and the API key."""

import threading

import pytest

from stages.core.judges import DIMENSIONS, JudgeUnavailable, build_judge
from stages.core.judges.usage import Usage
from tests.support.fake_openai import (
    FakeOpenAI,
    Reply,
    closed_port_url,
    hashed_scores,
    judge_responder,
    rubric_answer,
    with_faults,
)

PERSONA = "MBTI: ISFJ\nAbout: I'm a pediatric nurse.\nSignature: Kindness is free.\nRecent Activities: night shifts."
CONTEXT = "Situation: New night shifts.\nUser: I can't sleep after my shifts."
ITEMS = [{"response": f"That sounds exhausting ({i}). Would rest help?", "persona": PERSONA, "context": CONTEXT}
         for i in range(6)]


def judge_for(url, tmp_path=None, **over):
    cfg = {"backend": "openai", "model": "fake-judge", "base_url": url, "timeout_s": 2.0, "max_retries": 2,
           "backoff_s": 0.01, "concurrency": 4, **over}
    return build_judge(cfg, str(tmp_path / "judge.sqlite") if tmp_path else None)


def test_usage_sums_every_call_and_reports_nothing_when_unused():
    # The very first request gets a 500 and is retried; every other one succeeds.
    with FakeOpenAI(with_faults(judge_responder(), ["500"] + ["ok"] * 20)) as server:
        judge = judge_for(server.url, concurrency=1)
        judge.score_many(ITEMS[:2])
        first = judge.last_usage.metrics()
        judge.score_many(ITEMS[2:])
        second = judge.last_usage.metrics()
    total = judge.usage.metrics()
    assert first["judge_usage/retries"] == 1 and first["judge_usage/items"] == 2
    for key in ("requests", "retries", "items", "prompt_tokens", "completion_tokens"):
        assert total[f"judge_usage/{key}"] == first[f"judge_usage/{key}"] + second[f"judge_usage/{key}"]
    assert total["judge_usage/requests"] == len(ITEMS) + 1 and total["judge_usage/prompt_tokens"] > 0
    assert len(judge.usage.latencies_s) == len(ITEMS) and judge.usage.attempt_errors["http_500"] == 1
    assert Usage().metrics() == {}


def test_valid_answers_give_scores_reasons_and_usage():
    with FakeOpenAI(judge_responder()) as server:
        judge = judge_for(server.url)
        out = judge.score_many(ITEMS)
    assert [j.scores for j in out] == [hashed_scores(it["response"]) for it in ITEMS]
    assert all(set(j.reasons) == set(DIMENSIONS) and all(j.reasons.values()) for j in out)
    assert server.calls == len(ITEMS)
    m = judge.usage.metrics()
    assert m["judge_usage/requests"] == len(ITEMS) and m["judge_usage/failures"] == 0
    assert m["judge_usage/prompt_tokens"] > 0 and m["judge_usage/completion_tokens"] > 0
    assert 0 < m["judge_usage/latency_p50_s"] <= m["judge_usage/latency_p95_s"]
    # The prompt carries the rubric and every slot.
    system, user = server.requests[0]["messages"]
    assert "empathy" in system["content"] and "Kindness is free." in user["content"]
    assert "New night shifts." in user["content"] and "I can't sleep" in user["content"]
    assert server.requests[0]["temperature"] == 0.0


GARBAGE = pytest.mark.reliability(probe="judge answers garbage", kind="fault", outcome="survived",
                                  lost="that judgement: the rubric reward abstains, counted in metrics")
TRANSIENT = pytest.mark.reliability(probe="judge HTTP 429 / 5xx / timeout", kind="fault", outcome="survived",
                                    lost="nothing when a retry succeeds; else that judgement (abstains, counted)")


@GARBAGE
@pytest.mark.parametrize("mode", ["malformed", "missing", "out_of_range"])
def test_invalid_answers_abstain_and_are_not_retried(mode):
    with FakeOpenAI(with_faults(judge_responder(), [mode])) as server:
        judge = judge_for(server.url)
        assert judge.score_many(ITEMS[:3]) == [None] * 3
    assert server.calls == 3  # a bad answer is the model's, not the network's: no retry
    assert judge.usage.failures["invalid_answer"] == 3


@TRANSIENT
@pytest.mark.parametrize("mode", ["429", "500", "slow"])
def test_transient_failures_are_retried(mode):
    # Every other request fails; each item's retry succeeds.
    with FakeOpenAI(with_faults(judge_responder(), [mode, "ok"], slow_s=1.5)) as server:
        judge = judge_for(server.url, timeout_s=0.5, concurrency=1)
        out = judge.score_many(ITEMS[:3])
    assert all(j is not None for j in out)
    assert judge.usage.retries == 3 and judge.usage.requests == 6


@TRANSIENT
@pytest.mark.parametrize("mode, kind", [("500", "http_500"), ("429", "http_429"), ("slow", "timeout")])
def test_persistent_transient_failure_gives_up_after_max_retries(mode, kind):
    with FakeOpenAI(with_faults(judge_responder(), [mode], slow_s=1.0)) as server:
        judge = judge_for(server.url, timeout_s=0.3, max_retries=2)
        assert judge.score_many(ITEMS[:1]) == [None]
    assert server.calls == 3  # 1 + max_retries
    assert judge.usage.failures[kind] == 1


def test_client_errors_are_not_retried():
    with FakeOpenAI(lambda req: Reply(400, body='{"error": "bad request"}')) as server:
        judge = judge_for(server.url)
        assert judge.score_many(ITEMS[:2]) == [None, None]
    assert server.calls == 2 and judge.usage.failures["http_400"] == 2


@GARBAGE
def test_non_completion_body_is_a_failure():
    with FakeOpenAI(lambda req: Reply(200, body="<html>gateway</html>")) as server:
        judge = judge_for(server.url)
        assert judge.score_many(ITEMS[:1]) == [None]
    assert judge.usage.failures["bad_response"] == 1


def test_refused_connection_abstains_and_preflight_explains():
    judge = judge_for(closed_port_url(), max_retries=1)
    assert judge.score_many(ITEMS[:2]) == [None, None]
    assert judge.usage.failures["connection"] == 2
    with pytest.raises(JudgeUnavailable, match="pre-flight.*server running"):
        judge.preflight()


def test_preflight_passes_on_a_live_server():
    with FakeOpenAI(judge_responder()) as server:
        judge_for(server.url).preflight()
        assert server.calls == 1


@pytest.mark.reliability(probe="judge cache shared by two endpoints (key includes the endpoint)", kind="fault",
                         outcome="survived")
def test_cache_rescoring_makes_no_http_calls(tmp_path):
    with FakeOpenAI(judge_responder()) as server:
        first = judge_for(server.url, tmp_path).score_many(ITEMS + ITEMS[:2])  # duplicates: one call each
        assert server.calls == len(ITEMS)
        again = judge_for(server.url, tmp_path)  # a new process would see the same file
        assert again.score_many(ITEMS) == first[:len(ITEMS)]
        assert server.calls == len(ITEMS) and again.usage.cache_hits == len(ITEMS)
        # Anything in the key changes -> asked again.
        judge_for(server.url, tmp_path, temperature=0.7).score_many(ITEMS[:1])
        judge_for(server.url, tmp_path, model="other-judge").score_many(ITEMS[:1])
        assert server.calls == len(ITEMS) + 2
    with FakeOpenAI(judge_responder()) as other:  # same model name, another server: not replayed
        judge_for(other.url, tmp_path).score_many(ITEMS[:1])
        assert other.calls == 1


def test_invalid_answers_are_not_cached(tmp_path):
    with FakeOpenAI(with_faults(judge_responder(), ["malformed", "ok"])) as server:
        judge = judge_for(server.url, tmp_path, concurrency=1)
        assert judge.score_many(ITEMS[:1]) == [None]
        assert judge.score_many(ITEMS[:1])[0] is not None  # asked again, answered this time
        assert server.calls == 2


def test_concurrency_limit_is_respected():
    state = {"now": 0, "max": 0}
    lock = threading.Lock()
    ok = judge_responder()

    def counting(request):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        import time
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return ok(request)

    items = [{**ITEMS[0], "response": f"reply {i}."} for i in range(24)]
    with FakeOpenAI(counting) as server:
        assert all(j is not None for j in judge_for(server.url, concurrency=4).score_many(items))
    assert 2 <= state["max"] <= 4


def test_api_key_comes_from_the_named_env_var_and_is_never_shown(monkeypatch):
    monkeypatch.setenv("KARDIA_TEST_JUDGE_KEY", "sk-secret-123")
    with FakeOpenAI(judge_responder()) as server:
        judge = judge_for(server.url, api_key_env="KARDIA_TEST_JUDGE_KEY")
        judge.score_many(ITEMS[:1])
    assert server.request_headers[0]["Authorization"] == "Bearer sk-secret-123"
    assert "sk-secret" not in repr(judge.client) and "sk-secret" not in str(vars(judge.settings))
    monkeypatch.delenv("KARDIA_TEST_JUDGE_KEY")
    with pytest.raises(JudgeUnavailable, match="KARDIA_TEST_JUDGE_KEY is not set"):
        judge_for("http://127.0.0.1:1/v1", api_key_env="KARDIA_TEST_JUDGE_KEY")


def test_reasoning_blocks_and_code_fences_are_accepted():
    answer = rubric_answer(dict.fromkeys(DIMENSIONS, 4))
    with FakeOpenAI(lambda req: Reply(content=f"<think>hmm</think>\n```json\n{answer}\n```")) as server:
        assert judge_for(server.url).score_many(ITEMS[:1])[0].scores == dict.fromkeys(DIMENSIONS, 4)


def test_chat_template_kwargs_reach_the_server_in_every_request(root, tmp_path):
    """judge=openai switches Qwen3's thinking off in the request body (vLLM hands it to the chat template);
    unset, the field is not sent (an API such as OpenAI's rejects unknown fields)."""
    import yaml

    from stages.core.config import load_config
    from tests.unit.test_config import compose

    with FakeOpenAI(judge_responder()) as server:
        params = tmp_path / "params.yaml"
        params.write_text(yaml.safe_dump(compose(root, ["judge=openai", f"judge.base_url={server.url}"])))
        build_judge(load_config(params).judge).score_many(ITEMS[:2])
        judge_for(server.url).score_many(ITEMS[:1])
    assert [r.get("chat_template_kwargs") for r in server.requests] == [{"enable_thinking": False}] * 2 + [None]


def test_a_reasoning_model_judge_gets_max_completion_tokens_and_no_temperature():
    """OpenAI's GPT-5 models refuse max_tokens and a non-default temperature: with
    max_tokens_field=max_completion_tokens and temperature=null neither is sent, pre-flight included."""
    with FakeOpenAI(judge_responder()) as server:
        judge = judge_for(server.url, temperature=None, max_tokens=4096, max_tokens_field="max_completion_tokens",
                          reasoning_effort="low")
        judge.preflight()
        assert judge.score_many(ITEMS[:1])[0] is not None
    for body in server.requests:
        assert "max_tokens" not in body and "temperature" not in body, body
        assert body["max_completion_tokens"] == 4096 and body["reasoning_effort"] == "low"
