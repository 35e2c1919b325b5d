"""synthesize: the U / A / R loop against a real HTTP server on 127.0.0.1 (errors, slow and malformed
answers included), its filters, and resume-after-interruption giving the same corpus."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from stages.core.config import load_config
from stages.core.data.construction_loop import OUTPUT, synthesize
from stages.core.data.kardiabench import read_local
from stages.core.data.validation import validate
from tests.pipeline.conftest import compose_params
from tests.support.fake_chat import RolePlayer
from tests.support.fake_openai import FakeOpenAI

SEEDS = [  # scenario seeds, one per dialogue index (round robin); the About line steers the fake server
    {"person": "MBTI: ENFP\nAbout: Ceramics teacher.", "mbti": "ENFP", "situation": "My kiln cracked.", "emotion": "Disappointed"},
    {"person": "MBTI: ENFP\nAbout: DRIFT", "mbti": "ENFP", "situation": "I moved cities.", "emotion": "lonely"},
    {"person": "MBTI: ISTP\nAbout: Welder who fishes.", "mbti": "ISTP", "situation": "Got a raise.", "emotion": "proud"},
    {"person": "MBTI: INFJ\nAbout: JUMP", "mbti": "INFJ", "situation": "Exam tomorrow.", "emotion": "anxious"},
    {"person": "MBTI: ESTJ\nAbout: BROKEN", "mbti": "ESTJ", "situation": "Lost my wallet.", "emotion": "annoyed"},
    {"person": "MBTI: INTP\nAbout: Astronomer.", "mbti": "INTP", "situation": "Saw a comet.", "emotion": "excited"},
]


@pytest.fixture(scope="module")
def params(root, tmp_path_factory):
    work = tmp_path_factory.mktemp("synth")
    seeds = work / "seeds.jsonl"
    seeds.write_text("".join(json.dumps(s) + "\n" for s in SEEDS))
    return compose_params(root, work / "params.yaml", [
        "synthesize.backend=openai", f"synthesize.seeds_path={seeds}", "synthesize.max_exchanges=4",
        "synthesize.openai.timeout_s=0.5", "synthesize.openai.max_retries=3", "synthesize.openai.concurrency=3",
        f"paths.prompts={root / 'prompts'}"])


def llm_cfg(params, server, *extra):
    return load_config(params, [f"synthesize.openai.base_url={server.url}", *extra])


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def finished_lines(path) -> int:
    """Complete lines so far (0 before the file exists), safe while the writer is appending."""
    return path.read_text().count("\n") if path.exists() else 0


def test_llm_backend_plays_the_loop_and_filters(params, tmp_path):
    with FakeOpenAI(roles := RolePlayer(slow_s=1.0)) as server:
        stats = asyncio.run(synthesize(llm_cfg(params, server, "synthesize.n_dialogues=6"), tmp_path))
    assert roles.counts["500"] and roles.counts["slow"] and roles.counts["malformed"], roles.counts
    run = stats["this_run"]
    assert run["failed"] == 0 and run["client"]["retries"] > 0 and run["client"]["timeouts"] > 0
    assert run["client"]["malformed"] > 0
    assert stats["kept"] == 3 and stats["dropped_by_filter"] == {"structure": 1, "persona_drift": 1, "emotion_jump": 1}
    dropped = {d["dialogue_id"]: d["reason"] for d in read(tmp_path / "dropped.log")}
    assert dropped == {"synth-000001": "persona_drift", "synth-000003": "emotion_jump", "synth-000004": "structure"}
    kept = read(tmp_path / OUTPUT)
    for record in kept:
        assert record["trace"] and record["trace"][-1] in ("PASS", "SOLVED")
        turns = [m for m in record["messages"] if m["role"] != "system"]
        assert len(turns) // 2 <= 4 and record["trace"].count("PASS") + record["trace"].count("SOLVED") == len(turns) // 2
    assert {r["emotion"] for r in kept} == {"disappointed", "proud", "excited"}  # normalised from the seeds
    assert stats["decisions"]["FAIL"] == stats["revisions"] > 0  # every FAIL here is followed by a revision
    # What it wrote is what data=kardiabench with data.path reads, every record valid.
    report = validate(read_local(str(tmp_path)), load_config(params).data)
    assert len(report.records) == 3 and not report.rejects


def test_server_errors_leave_dialogues_for_the_next_run(params, tmp_path):
    with FakeOpenAI(RolePlayer(always_status=503, status_after_preflight=True)) as server:
        stats = asyncio.run(synthesize(llm_cfg(params, server, "synthesize.n_dialogues=2",
                                               "synthesize.openai.max_retries=1"), tmp_path))
    assert stats["this_run"]["failed"] == 2 and stats["kept"] == 0 and "HTTP 503" in stats["this_run"]["failures"][0]["error"]
    with FakeOpenAI(RolePlayer()) as server:
        stats = asyncio.run(synthesize(llm_cfg(params, server, "synthesize.n_dialogues=2"), tmp_path))
    assert stats["this_run"]["failed"] == 0 and stats["kept"] == 1 and stats["dropped"] == 1


def test_wrong_key_fails_at_once(params, tmp_path):
    from stages.core.chat import ChatError, EndpointUnavailable

    with FakeOpenAI(RolePlayer(always_status=401)) as server:
        with pytest.raises(EndpointUnavailable, match="HTTP 401.*check the API key"):  # the pre-flight call
            asyncio.run(synthesize(llm_cfg(params, server, "synthesize.n_dialogues=1"), tmp_path / "a"))
        assert server.calls == 1  # no retry can fix a wrong key
    # a key revoked after the pre-flight: the first refused request stops the run
    with FakeOpenAI(RolePlayer(always_status=401, status_after_preflight=True)) as server:
        with pytest.raises(ChatError, match="HTTP 401"):
            asyncio.run(synthesize(llm_cfg(params, server, "synthesize.n_dialogues=1"), tmp_path / "b"))
        assert server.calls == 2


def cli(params, out, base_url, n):
    return [sys.executable, "-m", "stages.synthesize", "--params", str(params), "--output", str(out),
            f"synthesize.openai.base_url={base_url}", f"synthesize.n_dialogues={n}"]


@pytest.mark.reliability(probe="synthesis interrupted mid-run (and a half-written line)", kind="fault",
                         outcome="survived", lost="nothing: the resumed corpus equals an uninterrupted one")
@pytest.mark.slow  # three CLI processes (~30 s on 2 cores)
def test_interrupted_run_resumes_to_the_same_corpus(root, params, tmp_path):
    n = 18
    env = {**os.environ, "PYTHONPATH": str(root)}
    with FakeOpenAI(RolePlayer(), latency_s=0.03) as server:  # slow enough to interrupt midway
        # A shell that starts jobs in the background (nohup, `&`) hands them SIGINT ignored, and a child
        # inherits "ignored" (not a handler), so its Ctrl-C would do nothing. Spawn it from a handler.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            proc = subprocess.Popen(cli(params, tmp_path / "a", server.url, n), cwd=root, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        finally:
            signal.signal(signal.SIGINT, previous)
        out, dropped = tmp_path / "a" / OUTPUT, tmp_path / "a" / "dropped.log"
        deadline = time.time() + 120
        # finished dialogues land in either file (kept or dropped by a filter): interrupt after 3 of them
        while time.time() < deadline and proc.poll() is None and finished_lines(out) + finished_lines(dropped) < 3:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err.decode()[-2000:]
        partial = len(read(out)) + len(read(dropped))
        assert 3 <= partial < n
        with out.open("a") as f:
            f.write('{"dialogue_id": "synth-0000')  # and a crash mid-write on top
        done = subprocess.run(cli(params, tmp_path / "a", server.url, n), cwd=root, env=env, capture_output=True, check=False)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert f"{partial} of {n} dialogues already" in done.stderr.decode()
    with FakeOpenAI(RolePlayer()) as server:
        fresh = subprocess.run(cli(params, tmp_path / "b", server.url, n), cwd=root, env=env, capture_output=True, check=False)
        assert fresh.returncode == 0, fresh.stderr.decode()[-2000:]

    def corpus(d):
        return (sorted(read(d / OUTPUT), key=lambda r: r["dialogue_id"]),
                sorted(read(d / "dropped.log"), key=lambda r: r["dialogue_id"]))
    resumed, uninterrupted = corpus(tmp_path / "a"), corpus(tmp_path / "b")
    assert len(resumed[0]) + len(resumed[1]) == n
    assert resumed == uninterrupted


def test_embedded_backend_resumes_identically(root, tmp_path):
    params = compose_params(root, tmp_path / "params.yaml", [])
    cfg = lambda n: load_config(params, [f"synthesize.n_dialogues={n}"])
    asyncio.run(synthesize(cfg(30), tmp_path / "whole"))
    asyncio.run(synthesize(cfg(11), tmp_path / "parts"))
    asyncio.run(synthesize(cfg(30), tmp_path / "parts"))
    assert (tmp_path / "whole" / OUTPUT).read_text() == (tmp_path / "parts" / OUTPUT).read_text()
    records = read(tmp_path / "whole" / OUTPUT)
    exchanges = [(len(r["messages"]) - 1) // 2 for r in records]
    # One non-FAIL decision per exchange, except a last turn whose revisions ran out on FAIL.
    assert all(sum(d != "FAIL" for d in r["trace"]) in (n, n - 1) for r, n in zip(records, exchanges))
    assert any(r["trace"][-1] == "SOLVED" for r in records) and max(exchanges) <= cfg(30).synthesize.max_exchanges
    with pytest.raises(ValueError, match="other settings"):
        asyncio.run(synthesize(load_config(params, ["synthesize.n_dialogues=30", "synthesize.max_revisions=1"]),
                               tmp_path / "whole"))
