"""What is byte-identical whatever the CPU: prepare and partition run once with this machine's
kernels and threads and once with the generic kernels (ATEN_CPU_CAPABILITY=default, standing in for
another CPU) on one thread; the data, tokenizer, model config and the backbone's initial weights
(drawn by numpy, not by torch's per-kernel normal_) must match byte for byte. Training itself runs
on per-kernel matrix code, which is why training metrics get tolerances rather than equality."""

import hashlib
import os
import subprocess
import sys

import pytest

from tests.pipeline.conftest import TINY, compose_params

pytestmark = pytest.mark.slow

EXACT = ["data/corpus/dialogues.jsonl", "data/corpus/rejects.jsonl", "data/prepared/train.jsonl",
         "data/prepared/test.jsonl", "data/partitioned/easy.jsonl", "data/partitioned/hard.jsonl",
         "data/partitioned/test.jsonl", "models/base/tokenizer.json", "models/base/config.json",
         "models/base/model.safetensors"]


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
