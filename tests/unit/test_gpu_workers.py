"""Issue #13 part 6: `dvc queue` workers each with their own GPUs, and the DVC cache linking outputs
instead of copying them (and why a stage's atomic rewrite of a linked output leaves the cache intact)."""

import configparser
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from experiments import ablations, gpu_workers
from experiments.dvcexp import ExperimentConfigError
from stages.core.io import atomic_path


def test_slices_are_disjoint_and_too_few_gpus_is_one_readable_error():
    assert gpu_workers.slices([str(i) for i in range(8)], 4, 2) == [["0", "1"], ["2", "3"], ["4", "5"], ["6", "7"]]
    assert gpu_workers.slices(["4", "5", "6"], 3, 1) == [["4"], ["5"], ["6"]]   # ids as visible, not 0..n
    with pytest.raises(ExperimentConfigError, match=r"3 workers x 2 GPUs = 6 GPUs, but 4 are visible"):
        gpu_workers.slices(["0", "1", "2", "3"], 3, 2)


def test_without_gpus_per_worker_one_plain_queue_start():
    assert gpu_workers.start_commands(3, None) == [({}, ["dvc", "queue", "start", "-j", "3"])]


def spawn(k):
    return ["python", "-m", "experiments.gpu_workers", "--spawn-worker", str(k)]


def test_start_spawns_worker_k_alone_with_its_slice(tmp_path):
    calls = []

    def fake_run(argv, cwd, env, **_):
        calls.append((argv[1:], env["CUDA_VISIBLE_DEVICES"]))
        return SimpleNamespace(returncode=0)

    gpu_workers.start(tmp_path, 3, 2, env={}, visible=[str(i) for i in range(6)], run=fake_run)
    assert calls == [(spawn(1)[1:], "0,1"), (spawn(2)[1:], "2,3"), (spawn(3)[1:], "4,5")]


def test_a_worker_still_running_is_not_started_twice(tmp_path):
    pids = tmp_path / ".dvc/tmp/exps/celery"
    pids.mkdir(parents=True)
    (pids / "dvc-exp-worker-2.pid").write_text(str(os.getpid()))
    with pytest.raises(ExperimentConfigError, match=r"queue workers \{2: \d+\} .* are still running"):
        gpu_workers.start(tmp_path, 2, 1, env={}, visible=["0", "1"], run=lambda *a, **k: pytest.fail("started"))


def test_ablation_dry_run_prints_one_start_per_worker_with_its_gpus(monkeypatch, capsys):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    assert ablations.main(["output_format", "--dry-run", "-j", "2", "--gpus-per-worker", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [f"CUDA_VISIBLE_DEVICES=0,1 {' '.join(spawn(1))}", f"CUDA_VISIBLE_DEVICES=2,3 {' '.join(spawn(2))}"]
    assert out[0].startswith("dvc exp run --queue -n output_format-paper_recipe-s42")


def test_ablation_with_too_few_gpus_fails_before_queueing(monkeypatch, capsys):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    monkeypatch.setattr(ablations, "exp_show", lambda root: pytest.fail("must not reach dvc"))
    assert ablations.main(["output_format", "-j", "2", "--gpus-per-worker", "1"]) == 2
    assert "2 workers x 1 GPUs = 2 GPUs, but 1 are visible" in capsys.readouterr().err


def test_gpu_workers_cli_dry_run(monkeypatch):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "4,5,6,7"}
    proc = subprocess.run([sys.executable, "-m", "experiments.gpu_workers", "-j", "2", "--gpus-per-worker", "2",
                           "--dry-run"], check=False, capture_output=True, text=True, env=env, cwd=ablations.ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"CUDA_VISIBLE_DEVICES=4,5 {' '.join(spawn(1))}",
                                        f"CUDA_VISIBLE_DEVICES=6,7 {' '.join(spawn(2))}"]


# --- the cache link type ------------------------------------------------------------------------

def test_dvc_config_links_outputs_from_the_cache_copy_last(root):
    config = configparser.ConfigParser(inline_comment_prefixes=("#",))
    config.read(root / ".dvc/config")
    types = [t.strip() for t in config["cache"]["type"].split(",")]
    assert types == ["reflink", "hardlink", "symlink", "copy"]


@pytest.mark.parametrize("link", ["hardlink", "symlink"])
def test_atomic_rewrite_of_a_linked_output_leaves_the_cache_intact(tmp_path, link):
    """What makes link caches safe with our stages: DVC links the workspace file to the read-only
    cache object; a stage's atomic_path rewrite replaces the link instead of writing through it."""
    def dvc(*args):
        proc = subprocess.run([sys.executable, "-m", "dvc", *args], check=False, cwd=tmp_path, capture_output=True, text=True,
                              env={**os.environ, "DVC_NO_ANALYTICS": "1"})
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    dvc("init", "-q")
    dvc("config", "cache.type", link)
    model = tmp_path / "models" / "sft"
    model.mkdir(parents=True)
    (model / "weights.bin").write_bytes(b"old weights")
    dvc("add", "models/sft")
    dvc("checkout", "--relink", "models/sft")
    linked = model / "weights.bin"
    cached = linked.resolve() if link == "symlink" else linked
    cache_files = [p for p in (tmp_path / ".dvc/cache").rglob("*") if p.is_file() and p.read_bytes() == b"old weights"]
    assert len(cache_files) == 1
    if link == "hardlink":
        assert os.stat(linked).st_ino == os.stat(cache_files[0]).st_ino
    else:
        assert linked.is_symlink() and cached == cache_files[0].resolve()
    assert not os.access(cache_files[0], os.W_OK) or os.geteuid() == 0   # DVC keeps the cache read-only

    with atomic_path(model, is_dir=True) as tmp:     # what sft/grpo/prepare do with their outputs
        (tmp / "weights.bin").write_bytes(b"new weights")
    assert (model / "weights.bin").read_bytes() == b"new weights"
    assert cache_files[0].read_bytes() == b"old weights"
    assert "modified" in dvc("status", "models/sft.dvc")
