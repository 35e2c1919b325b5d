"""Issue #13 part 7: tools/slurm/pipeline.sbatch --dry-run in a fake SLURM allocation prints the exact
commands: one `dvc exp run` on one node; on several, accelerate multi-node ranks from SLURM_PROCID with
the first node as the rendezvous, and the last node serving the GRPO policy."""

import os
import shlex
import subprocess

import pytest

from tools.slurm.plan import PlanError, allocation, expand_nodelist

# the paper recipe on 2 training nodes x 8 GPUs: global batches 128 (sft) and 32 (grpo) kept
PAPER_2_NODES = ["experiment=paper_qwen2.5-7b", "data.path=/data/KardiaBench", "grpo=vllm_server", "sft.trainer.gradient_accumulation_steps=2",
                 "grpo.trainer.per_device_train_batch_size=2", "grpo.trainer.gradient_accumulation_steps=1",
                 "grpo.trainer.vllm_tensor_parallel_size=4"]


def dry_run(root, slurm: dict, *overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    return subprocess.run(["bash", str(root / "tools/slurm/pipeline.sbatch"), "--dry-run", "--", *overrides],
                          env={**env, **slurm}, cwd="/", capture_output=True, text=True, check=False)


def commands(out: str) -> list[str]:
    return [line for line in out.splitlines() if line and not line.startswith("#")]


def test_nodelists_expand_like_scontrol():
    assert expand_nodelist("gpu[01-03,07],login5") == ["gpu01", "gpu02", "gpu03", "gpu07", "login5"]
    assert expand_nodelist("n[8-10]-ib") == ["n8-ib", "n9-ib", "n10-ib"]
    assert allocation({"SLURM_JOB_NODELIST": "a1", "SLURM_GPUS_PER_NODE": "h100:4"}).gpus_per_node == 4
    with pytest.raises(PlanError, match="not inside a SLURM allocation"):
        allocation({})


def test_one_node_is_one_dvc_exp_run_on_all_its_gpus(root):
    proc = dry_run(root, {"SLURM_JOB_NODELIST": "gpu07", "SLURM_GPUS_ON_NODE": "4", "SLURM_JOB_ID": "77"},
                   "launch=ddp", "seed=43")
    assert proc.returncode == 0, proc.stderr
    assert commands(proc.stdout) == ["dvc exp run -S launch=ddp -S seed=43 -S launch.num_processes=4"]


def test_one_node_leaves_the_policy_servers_gpus_to_it(root):
    proc = dry_run(root, {"SLURM_JOB_NODELIST": "gpu07", "SLURM_GPUS_ON_NODE": "5"}, "launch=ddp", "grpo=vllm_server",
                   "grpo.trainer.per_device_train_batch_size=8", "grpo.trainer.gradient_accumulation_steps=1")
    assert proc.returncode == 0, proc.stderr
    assert commands(proc.stdout)[0].endswith("-S launch.num_processes=4")   # GPU 4 serves


def test_three_nodes_two_train_under_accelerate_multi_node_and_the_last_serves_the_policy(root):
    proc = dry_run(root, {"SLURM_JOB_NODELIST": "gpu[01-03]", "SLURM_GPUS_ON_NODE": "8", "SLURM_JOB_ID": "4242"},
                   *PAPER_2_NODES)
    assert proc.returncode == 0, proc.stderr
    cmds = commands(proc.stdout)
    assert cmds[0] == ("python -m tools.compose_params " + " ".join(PAPER_2_NODES)
                       + " launch.num_processes=16 grpo.trainer.vllm_server_host=gpu03")
    assert cmds[1] == "dvc repro partition"
    ranks = {}
    for stage, line in (("sft", cmds[2]), ("grpo", cmds[4])):
        argv = shlex.split(line)
        assert argv[:7] == ["srun", "--nodes=2", "--ntasks=2", "--ntasks-per-node=1", "--nodelist=gpu01,gpu02",
                            "--gres=gpu:8", "--kill-on-bad-exit=1"]
        assert argv[7:9] == ["bash", "-c"] and f"'{argv[9]}'" in line   # single-quoted: $SLURM_PROCID per node
        ranks[stage] = argv[9].split()
        assert ranks[stage] == ["python", "-m", "accelerate.commands.launch", "--config_file", "conf/accelerate/ddp.yaml",
                                "--num_machines", "2", "--num_processes", "16", "--machine_rank", "$SLURM_PROCID",
                                "--main_process_ip", "gpu01", "--main_process_port", "29742", "--same_network",
                                "-m", f"stages.{stage}", "--params", "params.yaml"]
    server = shlex.split(cmds[3].removesuffix(" &"))
    assert server[:5] == ["srun", "--nodes=1", "--ntasks=1", "--ntasks-per-node=1", "--nodelist=gpu03"]
    assert server[7:] == ["python", "-m", "trl.scripts.vllm_serve", "--model", "models/sft", "--host", "gpu03",
                          "--port", "8001", "--tensor_parallel_size", "4", "--gpu_memory_utilization", "0.9",
                          "--dtype", "bfloat16", "--max_model_len", "2048"]
    assert "# wait until http://gpu03:8001/health answers 200" in proc.stdout
    assert cmds[5:] == ["kill %1   # stop the policy server", "dvc commit --force sft grpo", "dvc repro evaluate"]


def test_a_batch_that_does_not_fit_the_allocation_fails_before_anything_runs(root):
    proc = dry_run(root, {"SLURM_JOB_NODELIST": "gpu[01-02]", "SLURM_GPUS_ON_NODE": "8"}, "experiment=paper_qwen2.5-7b",
                   "data.path=/data/KardiaBench")
    assert proc.returncode == 2 and proc.stdout == ""
    assert ("error: with experiment=paper_qwen2.5-7b data.path=/data/KardiaBench launch.num_processes=16: key 'sft.global_batch': "
            "sft.trainer.per_device_train_batch_size (4) x") in proc.stderr
    proc = dry_run(root, {"SLURM_JOB_NODELIST": "gpu[01-02]", "SLURM_GPUS_ON_NODE": "8"}, "launch.num_processes=3")
    assert proc.returncode == 2 and "launch.num_processes is set from the allocation" in proc.stderr
    proc = dry_run(root, {"SLURM_JOB_NODELIST": "gpu[01-02]", "SLURM_GPUS_ON_NODE": "8"})
    assert proc.returncode == 2 and "add launch=ddp" in proc.stderr


def test_execute_runs_the_steps_in_order_around_a_health_checked_server_and_stops_at_a_failure(tmp_path):
    """The run (not the dry run) on CPU: a stand-in for the srun'd vLLM server is started, health-checked,
    answers during its step, and is stopped; a failing step ends the run with its status."""
    import sys

    from stages.core.launch import free_port
    from tools.slurm.plan import ROOT, Step, execute

    port = free_port()
    url = f"http://127.0.0.1:{port}/health"
    server = [sys.executable, "-m", "tests.support.stand_in_server", "--port", str(port), "--healthy-after", "0.5"]
    probe = f"import urllib.request; urllib.request.urlopen('{url}'); open('{tmp_path}/order', 'a').write('grpo ')"
    steps = [Step("one", [sys.executable, "-c", f"open('{tmp_path}/order', 'a').write('one ')"]),
             Step("grpo", [sys.executable, "-c", probe], server=server, health_url=url),
             Step("fails", [sys.executable, "-c", "raise SystemExit(7)"]),
             Step("never", [sys.executable, "-c", f"open('{tmp_path}/order', 'a').write('never')"])]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    assert execute(steps, env, timeout_s=30, grace_s=2, log_dir=tmp_path) == 7
    assert (tmp_path / "order").read_text() == "one grpo "
    assert "stand-in: loading model" in (tmp_path / "vllm-serve-grpo-slurm.log").read_text()

    down = [Step("grpo", [sys.executable, "-c", "pass"], server=[*server[:-1], "-1"], health_url=url)]
    assert execute(down, env, timeout_s=1, grace_s=1, log_dir=tmp_path) == 3   # never healthy: exit 3, stopped
