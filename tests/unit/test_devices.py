"""Every Hugging Face generation path (evaluate's hf backend, the hf judge, rollout sampling, the
throughput bench) asks for the accelerator when one is present, says so in its log, and feeds its
inputs to the model's device; with none present it stays on the CPU without moving anything.

No GPU here: CUDA is reported present and a model asked to move records the request and stays on
the CPU, so the real generation still runs on the tiny backbone."""

import logging
from types import SimpleNamespace

import pytest
import torch
from transformers import PreTrainedModel

from stages.core.devices import generation_device
from stages.core.evaluation import backends
from stages.core.generation import generate_ids
from stages.core.io import write_jsonl
from stages.core.judges import build_judge
from stages.core.rollouts import sample_completions
from tests.unit.test_modeling import build
from tools import generation_bench

PROMPT = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "I lost my job today."}]
ITEM = {"response": "That sounds hard.", "persona": "MBTI: INFP", "context": "User: I'm sad."}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return build(tmp_path_factory.mktemp("devices"))[2]


def evaluate_hf(ckpt, tmp_path, monkeypatch):
    ev = SimpleNamespace(batch_size=2, max_new_tokens=4, do_sample=False)
    assert len(backends.generate_hf(str(ckpt), "float32", [PROMPT] * 2, ev, 0, "evaluate sft")) == 2
    return "evaluate sft"


def hf_judge(ckpt, tmp_path, monkeypatch):
    judge = build_judge({"backend": "hf", "model": str(ckpt), "max_tokens": 4, "batch_size": 2, "dtype": "float32"})
    assert judge.score_many([ITEM]) == [None]  # the tiny model cannot answer JSON: it abstains
    return f"hf judge {ckpt}"


def rollouts(ckpt, tmp_path, monkeypatch):
    ro = SimpleNamespace(num_generations=2, batch_size=4, max_new_tokens=4, temperature=1.0, top_p=1.0)
    cfg = SimpleNamespace(partition=SimpleNamespace(rollouts=ro), model=SimpleNamespace(dtype="float32"), seed=0)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # leave this test process's threads alone
    assert [len(g) for g in sample_completions(cfg, ckpt, [{"prompt": PROMPT}])] == [2]
    return "rollouts"


def throughput_bench(ckpt, tmp_path, monkeypatch):
    write_jsonl(tmp_path / "test.jsonl", [{"prompt": PROMPT}] * 2)
    cfg = SimpleNamespace(paths=SimpleNamespace(partitioned=str(tmp_path)), model=SimpleNamespace(dtype="float32"))
    monkeypatch.setattr(generation_bench, "load_config", lambda _: cfg)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    assert generation_bench.main(["--checkpoint", str(ckpt), "--n", "2", "--batch-size", "2", "--max-new-tokens", "3"]) == 0
    return f"bench {ckpt}"


PATHS = [evaluate_hf, hf_judge, rollouts, throughput_bench]


def said(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "kardia.devices"]


@pytest.fixture
def moves(monkeypatch):
    """The devices models were asked to move to (the model stays where it is)."""
    asked = []
    monkeypatch.setattr(PreTrainedModel, "to", lambda self, device: asked.append(device) or self)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    return asked


@pytest.mark.parametrize("path", PATHS, ids=lambda f: f.__name__)
def test_with_an_accelerator_every_path_asks_for_it_and_says_so(path, checkpoint, tmp_path, monkeypatch,
                                                                 moves, caplog):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with caplog.at_level(logging.INFO, logger="kardia.devices"):
        what = path(checkpoint, tmp_path, monkeypatch)
    assert moves == [torch.device("cuda", 0)]
    assert said(caplog) == [f"{what}: generating on cuda:0 (float32)"]


@pytest.mark.parametrize("path", PATHS, ids=lambda f: f.__name__)
def test_without_one_every_path_stays_on_the_cpu(path, checkpoint, tmp_path, monkeypatch, moves, caplog):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.xpu, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with caplog.at_level(logging.INFO, logger="kardia.devices"):
        what = path(checkpoint, tmp_path, monkeypatch)
    assert moves == []  # untouched: CPU outputs are exactly those of an unplaced model
    assert said(caplog) == [f"{what}: generating on cpu (float32)"]


def test_each_launched_process_takes_its_own_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert generation_device() == torch.device("cuda", 3)


class Seen(Exception):
    def __init__(self, devices):
        self.devices = devices


class Elsewhere:
    """A model that lives on another device: generate() records where its inputs are, then stops."""

    device = torch.device("meta")

    def eval(self):
        return self

    def generate(self, **inputs):
        raise Seen({v.device for v in inputs.values() if isinstance(v, torch.Tensor)})


def test_inputs_go_to_the_models_device(checkpoint):
    from transformers import AutoTokenizer

    with pytest.raises(Seen) as batched:
        generate_ids(Elsewhere(), AutoTokenizer.from_pretrained(checkpoint), [PROMPT], batch_size=1,
                     max_new_tokens=2, progress=False)
    judge = build_judge({"backend": "hf", "model": str(checkpoint), "max_tokens": 2, "batch_size": 1,
                         "dtype": "float32"})
    judge.model = Elsewhere()
    with pytest.raises(Seen) as judged:
        judge.score_many([ITEM])
    assert batched.value.devices == judged.value.devices == {torch.device("meta")}
