"""The vLLM server lifecycle (stages/core/serving.py) against a stand-in server process
(tests/support/stand_in_server.py): started on its GPUs, health-checked, stopped with every process of
its group; a clear one-line error, no traceback and no process left, when it exits early or is not
healthy in time; the GPU split; the grpo launcher and `stages.serve_judge` around it."""

import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from stages.core.launch import free_port
from stages.core.serving import ServerSpec, ServerUnavailable, gpu_plan, healthy, judge_server, serving
from tests.unit.test_config import compose


def stand_in(port, *flags):
    return [sys.executable, "-m", "tests.support.stand_in_server", "--port", str(port), *flags]


def alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_gone(pids, within_s=5.0) -> list[int]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


@pytest.fixture
def port():
    return free_port()


def test_started_health_checked_and_stopped_with_its_workers(tmp_path, port):
    url, pids = f"http://127.0.0.1:{port}/health", tmp_path / "pids"
    assert not healthy(url)
    with serving(stand_in(port, "--healthy-after", "1", "--pid-file", str(pids)), url, log_path=tmp_path / "s.log",
                 timeout_s=30, grace_s=5, gpus=["2", "3"]):
        assert healthy(url)   # the block runs only once /health answers 200
        leader, worker = map(int, pids.read_text().split())
        assert alive(leader) and alive(worker)
    assert wait_gone([leader, worker]) == []   # the forked worker too: the whole process group is stopped
    assert not healthy(url)
    assert "CUDA_VISIBLE_DEVICES=2,3" in (tmp_path / "s.log").read_text()


def test_never_healthy_is_a_clear_error_within_the_timeout(tmp_path, port):
    url, pids = f"http://127.0.0.1:{port}/health", tmp_path / "pids"
    cmd = stand_in(port, "--healthy-after", "-1", "--pid-file", str(pids))
    start = time.monotonic()
    with pytest.raises(ServerUnavailable) as err, serving(cmd, url, log_path=tmp_path / "s.log", timeout_s=2,
                                                          grace_s=5, name="judge vllm server"):
        pytest.fail("the block must not run")
    assert time.monotonic() - start < 2 + 5   # the timeout, plus a stop that SIGTERM ends at once
    message = str(err.value)
    assert message.startswith(f"judge vllm server: {url} not healthy within 2s")
    assert "tests.support.stand_in_server" in message and "stand-in: loading model" in message  # command, log
    assert wait_gone(map(int, pids.read_text().split())) == []


def test_a_server_that_exits_at_once_is_named_with_its_log_tail(tmp_path, port):
    url = f"http://127.0.0.1:{port}/health"
    start = time.monotonic()
    with pytest.raises(ServerUnavailable, match=r"exited with status 3 before .*RuntimeError: no CUDA device"), \
            serving(stand_in(port, "--exit-now", "3"), url, log_path=tmp_path / "s.log", timeout_s=60):
        pytest.fail("the block must not run")
    assert time.monotonic() - start < 30   # noticed when it exits, not at the 60 s timeout


def test_a_server_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path, port):
    url, pids = f"http://127.0.0.1:{port}/health", tmp_path / "pids"
    with serving(stand_in(port, "--ignore-sigterm", "--pid-file", str(pids)), url, log_path=tmp_path / "s.log",
                 timeout_s=30, grace_s=0.5):
        leader, worker = map(int, pids.read_text().split())
    assert wait_gone([leader, worker]) == []


def test_a_port_already_served_is_refused_before_starting(tmp_path, port):
    url = f"http://127.0.0.1:{port}/health"
    with serving(stand_in(port), url, log_path=tmp_path / "a.log", timeout_s=30, grace_s=5):
        with pytest.raises(ServerUnavailable, match="something already answers at"), \
                serving(stand_in(port), url, log_path=tmp_path / "b.log", timeout_s=30):
            pass
        assert not (tmp_path / "b.log").exists()


@pytest.mark.parametrize("visible, training, servers, expected", [
    (list("01234567"), 4, {"policy": 1, "judge": 2},
     {"training": list("0123"), "policy": ["4"], "judge": ["5", "6"]}),
    (["2", "5", "7"], 1, {"policy": 1, "judge": 1}, {"training": ["2"], "policy": ["5"], "judge": ["7"]}),
    (["0", "1"], 1, {"judge": 1}, {"training": ["0"], "judge": ["1"]}),
])
def test_gpu_plan_gives_training_the_first_gpus_and_each_server_the_next(visible, training, servers, expected):
    assert gpu_plan(visible, training, servers) == expected


def test_gpu_plan_refuses_too_few_gpus():
    with pytest.raises(ServerUnavailable, match=r"8 training \(launch.num_processes\) \+ 1 grpo vllm server = 9 "
                                                r"GPUs, but 8 are visible"):
        gpu_plan(list("01234567"), 8, {"grpo vllm server": 1})


def params(root, tmp_path, overrides):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(compose(root, [f"paths.checkpoints={tmp_path}", *overrides])))
    return path


def test_grpo_launch_fails_in_one_line_when_its_server_does_not_come_up(root, tmp_path, port, monkeypatch, capsys):
    """The real command, `trl vllm-serve` on the SFT checkpoint: without vllm installed it exits at once."""
    from stages.core import launch

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    path = params(root, tmp_path, ["grpo=vllm_server", f"grpo.trainer.vllm_server_port={port}"])
    assert launch.main(["grpo", "--params", str(path)]) == 3
    err = capsys.readouterr().err
    line = err.strip().splitlines()[-1]
    assert line.startswith("error: stage grpo: grpo vllm server: ") and "exited with status" in line
    assert "trl.scripts.vllm_serve --model models/sft" in line and f"127.0.0.1:{port}/health" in line
    assert "CUDA_VISIBLE_DEVICES=1" in err and "Traceback" not in err   # the GPU after the training one


def test_grpo_launch_refuses_when_no_gpu_is_left_for_its_server(root, tmp_path, monkeypatch, capsys):
    from stages.core import launch

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert launch.main(["grpo", "--params", str(params(root, tmp_path, ["grpo=vllm_server"]))]) == 3
    assert "1 training (launch.num_processes) + 1 grpo vllm server = 2 GPUs, but 1 are visible" in \
        capsys.readouterr().err


def test_judge_server_command_comes_from_the_judge_config(root, tmp_path):
    from stages.core.config import load_config

    cfg = load_config(params(root, tmp_path, ["judge=openai"]))
    spec = judge_server(cfg)
    assert spec.command[spec.command.index("serve"):] == [
        "serve", "Qwen/Qwen3-8B", "--host", "127.0.0.1", "--port", "8000", "--tensor-parallel-size", "1",
        "--gpu-memory-utilization", "0.9", "--max-model-len", "8192"]
    assert spec.health_url == "http://127.0.0.1:8000/health" and spec.gpus == 1
    with pytest.raises(ServerUnavailable, match="not on this machine"):
        judge_server(load_config(params(root, tmp_path, ["experiment=swapped_judge"])))
    with pytest.raises(ServerUnavailable, match="only an openai judge"):
        judge_server(load_config(params(root, tmp_path, [])))


def test_serve_judge_runs_a_command_while_its_server_is_healthy(root, tmp_path, port, monkeypatch):
    from stages import serve_judge

    url = f"http://127.0.0.1:{port}/health"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.setattr(serve_judge, "judge_server", lambda cfg, key: ServerSpec(
        f"{key} vllm server", stand_in(port), url, cfg[key].serve.tensor_parallel_size, 30, 5, tmp_path / "j.log"))
    check = f"import urllib.request, sys; sys.exit(urllib.request.urlopen({url!r}).status != 200)"
    assert serve_judge.main(["judge=openai", "--", sys.executable, "-c", check]) == 0
    assert "CUDA_VISIBLE_DEVICES=1" in (tmp_path / "j.log").read_text()   # after the one training GPU
    assert not healthy(url)
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=1)
