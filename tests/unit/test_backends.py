"""Generation backends: vLLM's missing-dependency message, and OpenAI-compatible baselines against a
real HTTP server on 127.0.0.1 — including a whole evaluate stage run on such a baseline."""

import json
from types import SimpleNamespace

import pytest
import yaml

from stages.core.evaluation import backends
from tests.support.fake_openai import FakeOpenAI, Reply, with_faults

EV = SimpleNamespace(max_new_tokens=32, do_sample=False, batch_size=4)
REPLY = ("<|understanding_begin|>u<|understanding_end|><|reasoning_begin|>r<|reasoning_end|>"
         "<|emotion_begin|>sad<|emotion_end|><|response_begin|>I hear you: {last}<|response_end|>")


def answer(request):
    """The baseline's reply: four spans that echo the last message (so order can be checked)."""
    return Reply(content=REPLY.format(last=request["messages"][-1]["content"][:30]))


@pytest.fixture
def server():
    with FakeOpenAI(answer) as s:
        yield s


def baseline(url, api_key_env=None, max_retries=2):
    return SimpleNamespace(name="gpt-x", base_url=url, model="gpt-x-2025", api_key_env=api_key_env,
                           timeout_s=10.0, concurrency=3, max_retries=max_retries, backoff_s=0.01)


def test_vllm_missing_says_what_to_do(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_vllm(name, *args, **kwargs):
        if name == "vllm":
            raise ImportError("No module named 'vllm'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_vllm)
    with pytest.raises(backends.BackendUnavailable, match=r"vllm package.*\[vllm\].*evaluate.backend=hf"):
        backends.generate_vllm("models/sft", "float32", [[{"role": "user", "content": "hi"}]], EV, 0, "x")


def test_api_baseline_gets_the_same_conversation_and_greedy_settings(server, monkeypatch):
    monkeypatch.setenv("TEST_KEY", "sk-test")
    prompts = [[{"role": "system", "content": f"Support this user.\npersona {i}"},
                {"role": "user", "content": f"message {i}"}] for i in range(7)]
    outputs = backends.generate_api(baseline(server.url, api_key_env="TEST_KEY"), prompts, EV, seed=42)
    assert outputs == [REPLY.format(last=f"message {i}") for i in range(7)]   # input order kept
    assert len(server.requests) == 7
    i = next(i for i, r in enumerate(server.requests) if r["messages"][1]["content"] == "message 3")
    r = server.requests[i]
    assert server.paths[i] == "/v1/chat/completions" and r["model"] == "gpt-x-2025"
    assert r["messages"] == prompts[3] and r["temperature"] == 0.0 and r["max_tokens"] == 32 and r["seed"] == 42
    assert server.request_headers[i]["Authorization"] == "Bearer sk-test"


def test_api_baseline_retries_transient_failures():
    prompts = [[{"role": "user", "content": f"message {i}"}] for i in range(6)]
    with FakeOpenAI(with_faults(answer, ["429", "500", "500"] + ["ok"] * 20)) as flaky:  # the first three fail
        outputs = backends.generate_api(baseline(flaky.url, max_retries=3), prompts, EV, seed=0)
    assert outputs == [REPLY.format(last=f"message {i}") for i in range(6)]
    assert len(flaky.requests) == len(prompts) + 3


def test_api_baseline_errors_name_the_baseline(monkeypatch):
    with (FakeOpenAI(lambda request: Reply(503, body='{"error": "overloaded"}')) as failing,
          pytest.raises(RuntimeError, match="baseline gpt-x: HTTP 503")):
        backends.generate_api(baseline(failing.url), [[{"role": "user", "content": "hi"}]], EV, seed=0)
    assert len(failing.requests) == 3  # the request and its two retries
    monkeypatch.delenv("NOPE_KEY", raising=False)
    with pytest.raises(backends.BackendUnavailable, match="NOPE_KEY"):
        backends.generate_api(baseline("http://127.0.0.1:9/v1", api_key_env="NOPE_KEY"),
                              [[{"role": "user", "content": "hi"}]], EV, seed=0)


def test_a_baseline_endpoint_is_preflighted_before_any_model_generates(root, tmp_path, monkeypatch):
    from stages import evaluate
    from tests.support.fake_openai import closed_port_url

    cfg = stage_config(root, tmp_path, closed_port_url())
    monkeypatch.setattr(evaluate, "generate_all", lambda *a: pytest.fail("generated before the preflight"))
    with pytest.raises(backends.BackendUnavailable,
                       match=r"evaluate.api_baselines\[local\] endpoint .* failed the pre-flight call: connection"):
        evaluate.run(cfg)


def stage_config(root, tmp_path, url, **extra):
    from stages.core.config import load_config

    test = tmp_path / "partitioned" / "test.jsonl"
    test.parent.mkdir()
    records = []
    for i, emotion in enumerate(["sad", "angry", "sad", "joyful", "sad", "lonely"]):
        records.append({"id": f"d{i}-t0", "dialogue_id": f"d{i}", "turn": 0, "emotion": emotion,
                        "difficulty": "hard" if i % 2 else "easy", "persona": "MBTI: INFP\nAbout: I bake.",
                        "context": f"User: my day {i} was bad", "reference": "That sounds hard, I hear you.",
                        "prompt": [{"role": "system", "content": "Support this user.\nMBTI: INFP"},
                                   {"role": "user", "content": f"my day {i} was bad"}]})
    test.write_text("".join(json.dumps(r) + "\n" for r in records))
    # the training split the reference rows (majority label, bag of words) are fitted on
    train = [{"emotion": e, "context": f"User: I feel {e} today, so {e}"} for e in ["sad", "sad", "angry", "angry", "sad"]]
    for name, part in (("easy", train[:3]), ("hard", train[3:])):
        (test.parent / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["paths"].update(partitioned=str(test.parent), reports=str(tmp_path / "reports"),
                           eval_plots=str(tmp_path / "plots/evaluate"), metrics=str(tmp_path / "metrics"))
    params["evaluate"].update(models=[], max_examples=None, **extra,
                              api_baselines=[{"name": "local", "base_url": url, "model": "m"}])
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return load_config(path)


def test_evaluate_stage_on_an_api_baseline_writes_every_output(root, tmp_path, server):
    from stages import evaluate

    cfg = stage_config(root, tmp_path, server.url)
    metrics = evaluate.run(cfg)
    assert metrics["eval/local/n"] == 6 and metrics["eval/local/format_compliance"] == 1.0
    assert metrics["eval/local/emotion_acc"] == pytest.approx(3 / 6)
    assert metrics["eval_hard/local/n"] == 3 and metrics["eval/local/judge_coverage"] == 1.0
    assert metrics["eval/majority/emotion_acc"] == pytest.approx(3 / 6)  # "sad", the training majority
    assert 0.0 <= metrics["eval/bow/emotion_acc_low"] <= metrics["eval/bow/emotion_acc"] <= 1.0
    preds = [json.loads(line) for line in (tmp_path / "reports/predictions.jsonl").read_text().splitlines()]
    assert {p["model"] for p in preds} == {"local"} and preds[0]["spans"]["emotion"] == "sad"
    assert preds[0]["response"].startswith("I hear you") and preds[0]["reference"] and "scores" in preds[0]
    confusion = json.loads((tmp_path / "plots/evaluate/confusion_local.json").read_text())
    assert confusion[1] == {"actual": "angry", "predicted": "sad"}
    assert (tmp_path / "plots/evaluate/radar.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "plots/evaluate/confusion_local.png").read_bytes()[:4] == b"\x89PNG"
    # the headline keeps the configured keys this run has (no sft/grpo models here: the reference rows)
    headline = json.loads((tmp_path / "metrics/headline.json").read_text())
    assert headline["eval/majority/emotion_acc"] == pytest.approx(3 / 6) and "eval/grpo/emotion_acc" not in headline
    report = (tmp_path / "reports/eval.md").read_text()
    assert "| local | eval | 6 |" in report and '"backend": "hf"' in report and "Distinct-n =" in report
    assert "**Not comparable:**" in (tmp_path / "reports/paper_vs_ours.md").read_text()


def test_evaluate_stage_fails_below_the_coverage_threshold(root, tmp_path, server, monkeypatch):
    from stages import evaluate
    from stages.core.judges import build_judge
    from stages.core.stage import StageFailed

    class FlakyJudge:  # abstains on every other reply, like a rate-limited remote judge
        def __init__(self):
            self.inner = build_judge({"backend": "embedded"})
            self.usage = self.inner.usage

        def preflight(self):
            pass

        def score_many(self, items):
            return [j if i % 2 else None for i, j in enumerate(self.inner.score_many(items))]

    monkeypatch.setattr(evaluate, "build_judge", lambda *args: FlakyJudge())
    cfg = stage_config(root, tmp_path, server.url, min_judge_coverage=0.9)
    with pytest.raises(StageFailed, match=r"min_judge_coverage=0.90 for local \(0.50\)"):
        evaluate.run(cfg)
    assert (tmp_path / "reports/predictions.jsonl").exists()      # kept for diagnosis
    assert "cov 0.50" in (tmp_path / "reports/eval.md").read_text()


def test_api_baselines_config_is_validated(root, tmp_path):
    from stages.core.config import ConfigError, load_config

    params = yaml.safe_load((root / "params.yaml").read_text())
    params["evaluate"]["api_baselines"] = [{"name": "sft", "base_url": "http://x/v1", "model": "m"}]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(ConfigError, match=r"key 'evaluate.api_baselines\[0\].name'"):
        load_config(path)
    params["evaluate"]["api_baselines"] = [{"name": "gpt", "base_url": "ftp://x", "model": "m"}]
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(ConfigError, match=r"key 'evaluate.api_baselines\[0\].base_url'"):
        load_config(path)
    params["evaluate"]["api_baselines"] = [{"name": "gpt", "base_url": "http://x/v1", "model": "m", "max_retries": -1}]
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(ConfigError, match=r"key 'evaluate.api_baselines\[0\].max_retries'"):
        load_config(path)


def test_vllm_evaluates_one_model_at_a_time_and_frees_it(root, tmp_path, monkeypatch):
    """evaluate.backend=vllm with vllm mocked: each model's engine is built with evaluate.vllm's sizes, used,
    shut down, released and the CUDA cache emptied before the next model's engine is built."""
    import gc

    import torch

    from stages import evaluate
    from stages.core.config import load_config
    from tests.unit.test_config import compose

    events, live = [], set()

    class FakeLLM:
        def __init__(self, model, **kwargs):
            assert not live, f"{model} built while {live} is still alive"
            self.model = model
            live.add(model)
            events.append(("build", model, kwargs["tensor_parallel_size"], kwargs["max_model_len"]))

        def chat(self, prompts, params, use_tqdm):
            events.append(("chat", self.model, params["temperature"], params.get("top_k"), params.get("top_p"),
                           params["max_tokens"]))
            return [SimpleNamespace(outputs=[SimpleNamespace(text=f"{self.model}:{i}")]) for i in range(len(prompts))]

        def shutdown(self):
            events.append(("shutdown", self.model))

        def __del__(self):
            live.discard(self.model)

    collect = gc.collect
    monkeypatch.setattr(backends, "_import_vllm", lambda: (FakeLLM, lambda **kw: kw))
    monkeypatch.setattr(gc, "collect", lambda: (collect(), events.append(("gc", sorted(live))))[0])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: events.append(("empty_cache",)))
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(compose(root, ["evaluate.backend=vllm", "evaluate.vllm.tensor_parallel_size=2",
                                                    "evaluate.vllm.max_model_len=4096"])))
    cfg = load_config(params)
    outputs = evaluate.generate_all(cfg, [[{"role": "user", "content": "hi"}]] * 2)
    assert outputs["sft"] == ["models/sft:0", "models/sft:1"]
    assert len(outputs["grpo_sampled"]) == 2 * cfg.evaluate.sampled.samples   # evaluate.sampled: its own engine
    expected = []
    greedy, sampled = (0.0, None, None, 160), (1.0, -1, 1.0, 128)   # sampled rows: GRPO's temperature, top_k
                                                                    # (0: vLLM's -1), top_p, max_completion_length
    for model, knobs in (("base", greedy), ("sft", greedy), ("grpo", greedy), ("sft", sampled), ("grpo", sampled)):
        model = f"models/{model}"
        expected += [("build", model, 2, 4096), ("chat", model, *knobs), ("shutdown", model), ("gc", []),
                     ("empty_cache",)]
    assert events == expected   # ("gc", []): no engine left alive when the cache is emptied


def test_a_conf_baseline_file_runs_as_an_api_baseline(root, tmp_path, server):
    """`-S 'baseline=[psyllm]'` (conf/baseline/psyllm.yaml, its URL pointed at the local server) is what
    evaluate generates with and scores, under the file's name, with the same intervals as any model."""
    from stages import evaluate
    from stages.core.config import load_config
    from tests.unit.test_config import compose

    composed = compose(root, ["baseline=[psyllm]", f"baseline.psyllm.base_url={server.url}"])
    stage_config(root, tmp_path, server.url)
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["evaluate"]["api_baselines"] = composed["evaluate"]["api_baselines"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    cfg = load_config(tmp_path / "params.yaml")
    metrics = evaluate.run(cfg)
    assert metrics["eval/psyllm/n"] == 6 and metrics["eval/psyllm/format_compliance"] == 1.0
    assert metrics["eval/psyllm/emotion_acc_low"] <= metrics["eval/psyllm/emotion_acc"] <= metrics["eval/psyllm/emotion_acc_high"]
    assert {r["model"] for r in server.requests} == {"psyllm"}   # the file's served-model name
    # and its Qwen3 switch: every generation request (after the one-token preflight) asks for no thinking block
    generation = server.requests[1:]
    assert len(generation) == 6 and all(r["chat_template_kwargs"] == {"enable_thinking": False} for r in generation)


def test_sampled_rows_sample_from_the_distribution_grpo_trains(root, tmp_path, monkeypatch):
    """evaluate.sampled takes GRPO's temperature, top_k, top_p and length limit (one source: conf/grpo),
    and they reach generate: top_k 1 samples the greedy reply, top_k 0 cuts nothing (transformers'
    generate would otherwise apply its default top-k of 50, a narrower distribution than GRPO's
    rollouts), max_new_tokens replaces evaluate's own."""
    from transformers.generation.logits_process import TopKLogitsWarper

    from tests.unit.test_config import compose
    from tests.unit.test_modeling import build

    cfg = compose(root)
    assert [cfg["evaluate"]["sampled"][k] for k in ("temperature", "top_k", "top_p", "max_new_tokens")] == \
        [cfg["grpo"]["trainer"][k] for k in ("temperature", "top_k", "top_p", "max_completion_length")]
    ckpt = str(build(tmp_path)[2])
    prompts = [[{"role": "user", "content": f"I lost my job {i}."}] for i in range(3)]
    cuts = []
    call = TopKLogitsWarper.__call__
    monkeypatch.setattr(TopKLogitsWarper, "__call__", lambda self, ids, scores: (cuts.append(self.top_k),
                                                                                 call(self, ids, scores))[1])

    def sampled(top_k):
        knobs = SimpleNamespace(temperature=1.0, top_k=top_k, top_p=1.0, max_new_tokens=EV.max_new_tokens)
        return backends.generate_hf(ckpt, "float32", prompts, EV, 0, "x", sampled=knobs)

    assert sampled(1) == backends.generate_hf(ckpt, "float32", prompts, EV, 0, "x") and set(cuts) == {1}
    cuts.clear()
    sampled(0)
    assert cuts == []
    short = backends.generate_hf(ckpt, "float32", prompts, EV, 0, "x", sampled=SimpleNamespace(
        temperature=1.0, top_k=1, top_p=1.0, max_new_tokens=2))
    assert short != sampled(1)   # two tokens, not EV's 32
