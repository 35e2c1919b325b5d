"""What is byte-identical whatever the CPU: prepare and partition run once with this machine's
kernels and threads and once with the generic kernels (ATEN_CPU_CAPABILITY=default, standing in for
another CPU) on one thread; the data, tokenizer and model config must match byte for byte. The
backbone's initial weights are only equal to within a float32 step (torch's normal_ is vectorised
per kernel), which is why training metrics get tolerances rather than equality."""

import hashlib
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from tests.pipeline.conftest import TINY, compose_params

pytestmark = pytest.mark.slow

EXACT = ["data/corpus/dialogues.jsonl", "data/corpus/rejects.jsonl", "data/prepared/train.jsonl",
         "data/prepared/test.jsonl", "data/partitioned/easy.jsonl", "data/partitioned/hard.jsonl",
         "data/partitioned/test.jsonl", "models/base/tokenizer.json", "models/base/config.json"]


def run_data_stages(root, work, env_extra):
    work.mkdir()
    params = compose_params(root, work / "params.yaml", TINY)
    env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "OMP_NUM_THREADS")}
    env.update(PYTHONPATH=str(root), **env_extra)
    for stage in ("prepare", "partition"):
        subprocess.run([sys.executable, "-m", f"stages.{stage}", "--params", str(params), "--no-track"],
                       cwd=work, env=env, check=True, capture_output=True)
    return work


def test_data_stages_are_byte_identical_under_other_kernels_and_threads(root, tmp_path):
    here = run_data_stages(root, tmp_path / "native", {})
    other = run_data_stages(root, tmp_path / "generic", {"ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "1"})
    for rel in EXACT:
        assert hashlib.sha256((here / rel).read_bytes()).digest() == \
            hashlib.sha256((other / rel).read_bytes()).digest(), rel
    a, b = (load_file(w / "models/base/model.safetensors") for w in (here, other))
    assert a.keys() == b.keys()
    for name in a:
        assert torch.allclose(a[name], b[name], rtol=0, atol=1e-6), name
