"""One endpoint schema (config.Endpoint) for the openai judge, the API baselines and synthesize.openai:
its checks name the key of the group it sits in, and every group sends what its endpoint says
(the token field, a null temperature not sent) while existing configs send what they always did."""

import asyncio
import re

import pytest
import yaml

from stages.core.chat import ClientSettings
from stages.core.config import ApiBaseline, ConfigError, Endpoint, load_config
from tests.support.fake_openai import FakeOpenAI, Reply

GOOD = {"base_url": "http://127.0.0.1:8000/v1", "model": "m"}


@pytest.mark.parametrize("field, value, message", [
    ("base_url", "localhost:8000", "must be an http(s) URL"),
    ("model", None, "must name the served model"),
    ("api_key_env", "sk-123", "NAME of an environment variable"),
    ("timeout_s", 0.0, "must be positive"),
    ("max_retries", -1, "must be >= 0"),
    ("backoff_s", -0.5, "must be >= 0"),
    ("concurrency", 0, "must be positive"),
    ("temperature", -1.0, "null (not sent"),
    ("max_tokens", 0, "must be positive"),
    ("max_tokens_field", "max_new_tokens", "is not one of ['max_tokens', 'max_completion_tokens']"),
    ("reasoning_effort", "extreme", "is not null or one of"),
])
def test_endpoint_validation_names_the_key_where_it_sits(field, value, message):
    with pytest.raises(ConfigError, match=re.escape(f"src: key 'some.group.{field}': ") + ".*" + re.escape(message)):
        Endpoint(**{**GOOD, field: value}).validate("some.group", "src")
    Endpoint(**GOOD).validate("some.group", "src")   # the defaults are valid


def _params(root, tmp_path, overrides=()):
    params = tmp_path / "params.yaml"
    data = yaml.safe_load((root / "params.yaml").read_text())
    data["judge"] = {"backend": "openai", "model": "q", "base_url": "http://127.0.0.1:8000/v1"}
    params.write_text(yaml.safe_dump(data))
    return params


BASELINE = "evaluate.api_baselines=[{name: b, base_url: 'http://h/v1', model: m, %s}]"


@pytest.mark.parametrize("override, key", [
    ("judge.max_tokens_field=max_new_tokens", "judge.max_tokens_field"),
    ("judge.backoff_s=-1", "judge.backoff_s"),
    ("synthesize.openai.max_tokens_field=max_new_tokens", "synthesize.openai.max_tokens_field"),
    ("synthesize.openai.reasoning_effort=extreme", "synthesize.openai.reasoning_effort"),
    ("synthesize.openai.backoff_s=-1", "synthesize.openai.backoff_s"),
    ("synthesize.openai.temperature=-0.1", "synthesize.openai.temperature"),
    (BASELINE % "max_tokens_field: max_new_tokens", "evaluate.api_baselines[0].max_tokens_field"),
    (BASELINE % "reasoning_effort: extreme", "evaluate.api_baselines[0].reasoning_effort"),
    (BASELINE % "backoff_s: -1", "evaluate.api_baselines[0].backoff_s"),
    (BASELINE % "max_tokens: 0", "evaluate.api_baselines[0].max_tokens"),
    (BASELINE % "temperature: 0.5", "evaluate.api_baselines[0].temperature"),
    ("evaluate.api_baselines=[{base_url: 'http://h/v1', model: m}]", "evaluate.api_baselines[0].name"),
])
def test_every_group_checks_its_endpoint_naming_its_key(root, tmp_path, override, key):
    with pytest.raises(ConfigError, match=re.escape(f"key '{key}'")):
        load_config(_params(root, tmp_path), [override])


def test_the_new_endpoint_fields_load_in_every_group(root, tmp_path):
    cfg = load_config(_params(root, tmp_path), [
        "synthesize.openai.max_tokens_field=max_completion_tokens", "synthesize.openai.temperature=null",
        "synthesize.openai.reasoning_effort=low",
        BASELINE % "max_tokens_field: max_completion_tokens, temperature: null, max_tokens: 4000"])
    assert cfg.synthesize.openai.max_tokens_field == "max_completion_tokens" and cfg.synthesize.openai.temperature is None
    assert cfg.evaluate.api_baselines[0].max_tokens == 4000 and cfg.evaluate.api_baselines[0].temperature is None


def test_existing_configs_send_what_they_always_did(root, tmp_path):
    """The request fields of a config that sets none of the newer keys: the judge's are part of its
    cache key, so a change here would orphan every cached answer."""
    from stages.core.data.construction_loop import client_settings, manifest
    from stages.core.judges import build_judge

    cfg = load_config(_params(root, tmp_path))
    assert build_judge(cfg.judge, None).client.s.sampling == {"temperature": 0.0, "max_tokens": 512}
    assert build_judge({"backend": "openai", "model": "m", "base_url": GOOD["base_url"]}).client.s.sampling == {
        "temperature": 0.0, "max_tokens": 512}
    synth = client_settings(cfg.synthesize.openai)
    assert synth.sampling == {"temperature": 0.7, "max_tokens": 512} and synth.backoff_s == 0.2
    assert synth.key_optional and synth.config_key == "synthesize.openai"
    openai_manifest = manifest(load_config(_params(root, tmp_path), ["synthesize.backend=openai"]))
    assert {k: openai_manifest[k] for k in ("model", "temperature", "max_tokens")} == {
        "model": "gpt-4o", "temperature": 0.7, "max_tokens": 512}
    assert not {"max_tokens_field", "max_completion_tokens", "reasoning_effort"} & set(openai_manifest)
    baseline = ApiBaseline(name="b", **GOOD)
    for do_sample, temperature in ((False, 0.0), (True, 1.0)):
        s = ClientSettings.from_endpoint(baseline, "b", temperature=temperature, max_tokens=160)
        assert s.sampling == {"temperature": temperature, "max_tokens": 160} and s.concurrency == 4


def answer(request):
    return Reply(content="<|understanding_begin|>u<|understanding_end|><|reasoning_begin|>r<|reasoning_end|>"
                         "<|emotion_begin|>sad<|emotion_end|><|response_begin|>ok<|response_end|>")


def test_api_baselines_honour_the_token_field_and_a_null_temperature():
    from types import SimpleNamespace

    from stages.core.evaluation import backends

    ev = SimpleNamespace(do_sample=False, max_new_tokens=32)
    prompts = [[{"role": "user", "content": "hi"}]]
    with FakeOpenAI(answer) as server:
        backends.generate_api({"name": "gpt-5", "base_url": server.url, "model": "gpt-5-mini",
                               "max_tokens_field": "max_completion_tokens", "temperature": None,
                               "reasoning_effort": "minimal"}, prompts, ev, seed=1)
        backends.generate_api({"name": "big", "base_url": server.url, "model": "r", "max_tokens": 2048},
                              prompts, ev, seed=1)
        backends.generate_api({"name": "plain", "base_url": server.url, "model": "p"}, prompts, ev, seed=1)
    reasoning, bigger, plain = server.requests
    assert "temperature" not in reasoning and "max_tokens" not in reasoning
    assert reasoning["max_completion_tokens"] == 32 and reasoning["reasoning_effort"] == "minimal"
    assert bigger["max_tokens"] == 2048 and bigger["temperature"] == 0.0
    assert {k: plain[k] for k in ("temperature", "max_tokens", "seed")} == {"temperature": 0.0, "max_tokens": 32,
                                                                          "seed": 1}
    assert not {"max_completion_tokens", "reasoning_effort", "chat_template_kwargs"} & set(plain)


def test_synthesis_honours_the_token_field_and_a_null_temperature(root, tmp_path):
    from stages.core.data.construction_loop import synthesize
    from tests.pipeline.conftest import compose_params
    from tests.support.fake_chat import RolePlayer

    params = compose_params(root, tmp_path / "params.yaml", [
        "synthesize.backend=openai", "synthesize.max_exchanges=1", "synthesize.n_dialogues=1",
        "synthesize.openai.max_tokens_field=max_completion_tokens", "synthesize.openai.temperature=null",
        "synthesize.openai.reasoning_effort=low", "synthesize.openai.max_tokens=300",
        f"paths.prompts={root / 'prompts'}"])
    with FakeOpenAI(RolePlayer(faults=False)) as server:
        cfg = load_config(params, [f"synthesize.openai.base_url={server.url}"])
        stats = asyncio.run(synthesize(cfg, tmp_path / "out"))
    assert stats["this_run"]["failed"] == 0 and server.requests
    for request in server.requests:
        assert "temperature" not in request and "max_tokens" not in request
        assert request["max_completion_tokens"] == 300 and request["reasoning_effort"] == "low"
