"""The pipeline on a SLURM allocation: what tools/slurm/pipeline.sbatch runs (issue #13 part 7).

    sbatch --nodes=1 tools/slurm/pipeline.sbatch -- experiment=paper_qwen2.5-7b data.revision=<sha>
    sbatch --nodes=3 tools/slurm/pipeline.sbatch -- experiment=paper_qwen2.5-7b data.revision=<sha> grpo=vllm_server \\
        sft.trainer.gradient_accumulation_steps=2 grpo.trainer.vllm_tensor_parallel_size=4
    tools/slurm/pipeline.sbatch --dry-run -- ...     # print the commands, run nothing (SLURM_* from the env)

Everything after ``--`` is a Hydra override of conf/, as ``dvc exp run -S`` takes them.

One node: the whole pipeline is one ``dvc exp run`` with ``launch.num_processes`` = the node's GPUs
(less the policy server's under ``grpo=vllm_server``: stages/core/launch.py puts it on the GPUs after the
training ones). Several nodes, as open-r1 does it: with ``grpo=vllm_server`` the last node serves the
policy (``trl vllm-serve``, tensor parallel over its GPUs) and the others train. DVC runs prepare and
partition on the first node; sft and grpo run on the training nodes as one ``srun`` step of
``accelerate launch --num_machines N --machine_rank $SLURM_PROCID --main_process_ip <first node>``,
world size ``launch.num_processes`` = N x GPUs per node (the batch arithmetic of config/training.py is checked
against it before anything runs); ``dvc commit`` then records their outputs and DVC runs evaluate.
The multi-machine settings come from the allocation on the command line, over the one-node files in
conf/accelerate (accelerate's command line wins over its config file), so there is one set of files.
Assumes the repository and its DVC cache are on a filesystem every node sees.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PORT_BASE = 29500        # accelerate's default rendezvous port; + SLURM_JOB_ID % 1000, so two jobs on a node differ
DERIVED = ("launch.num_processes", "grpo.trainer.vllm_server_host")   # set here from the allocation


class PlanError(ValueError):
    """An allocation or config this recipe cannot run; the message says what to change."""


# --- the allocation ---------------------------------------------------------------------------

def expand_nodelist(spec: str) -> list[str]:
    """``gpu[01-03,07],login5`` -> gpu01 gpu02 gpu03 gpu07 login5 (what `scontrol show hostnames` does,
    without needing scontrol: the dry run works anywhere)."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(spec):
        depth += (c == "[") - (c == "]")
        if c == "," and depth == 0:
            parts.append(spec[start:i])
            start = i + 1
    parts.append(spec[start:])
    hosts = []
    for part in filter(None, (p.strip() for p in parts)):
        m = re.match(r"^([^\[]*)\[([^\]]+)\](.*)$", part)
        if not m:
            hosts.append(part)
            continue
        prefix, ranges, rest = m.groups()
        for r in ranges.split(","):
            lo, _, hi = r.partition("-")
            numbers = range(int(lo), int(hi or lo) + 1)
            hosts += [h for n in numbers for h in expand_nodelist(f"{prefix}{str(n).zfill(len(lo))}{rest}")]
    return hosts


@dataclass(frozen=True)
class Allocation:
    nodes: list[str]
    gpus_per_node: int
    job_id: int

    @property
    def port(self) -> int:
        return PORT_BASE + self.job_id % 1000


def gpus_from(env: dict[str, str]) -> int | None:
    """SLURM_GPUS_ON_NODE (8), else SLURM_GPUS_PER_NODE (8 or h100:8)."""
    for key in ("SLURM_GPUS_ON_NODE", "SLURM_GPUS_PER_NODE"):
        value = env.get(key)
        if value:
            m = re.search(r"(\d+)\s*$", value.split(",")[0])
            if m:
                return int(m[1])
    return None


def allocation(env: dict[str, str], gpus_per_node: int | None = None) -> Allocation:
    nodelist = env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST")
    if not nodelist:
        raise PlanError("not inside a SLURM allocation (SLURM_JOB_NODELIST is unset): submit with sbatch, or for "
                        "a look without one set it, e.g. SLURM_JOB_NODELIST='gpu[1-3]' SLURM_GPUS_ON_NODE=8 ... --dry-run")
    gpus = gpus_per_node or gpus_from(env)
    if not gpus:
        raise PlanError("how many GPUs per node? SLURM_GPUS_ON_NODE and SLURM_GPUS_PER_NODE are unset "
                        "(sbatch --gres=gpu:8 or --gpus-per-node=8 sets them), or pass --gpus-per-node")
    return Allocation(expand_nodelist(nodelist), gpus, int(env.get("SLURM_JOB_ID", "0")))


# --- the config the run will use ----------------------------------------------------------------

def compose(overrides: list[str]) -> dict:
    """conf/ + overrides, composed as `dvc exp run -S` would, as plain YAML (not yet validated)."""
    from stages.core.params import compose as hydra_compose

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "params.yaml"
        hydra_compose(out, overrides)
        return yaml.safe_load(out.read_text())


def validate(overrides: list[str]) -> None:
    """The stages' own checks (launch file, batch arithmetic vs world size, GRPO groups) on the final overrides."""
    from stages.core.config import ConfigError, load_config
    from stages.core.params import compose as hydra_compose

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "params.yaml"
        hydra_compose(out, overrides)
        try:
            load_config(out)
        except ConfigError as e:
            raise PlanError(f"with {' '.join(overrides)}: {str(e).replace(str(out) + ': ', '')}") from None


def policy_server_gpus(params: dict) -> int:
    """GPUs of the GRPO policy server (grpo=vllm_server), 0 without one."""
    grpo = params["grpo"]
    t = grpo["trainer"]
    if grpo.get("enabled", True) and t.get("use_vllm") and t.get("vllm_mode", "colocate") == "server":
        return int(t.get("vllm_tensor_parallel_size", 1))
    return 0


# --- the plan -----------------------------------------------------------------------------------

@dataclass
class Step:
    what: str
    argv: list[str]
    server: list[str] | None = None      # started (srun) around this step, health-checked, stopped after
    health_url: str | None = None
    notes: list[str] = field(default_factory=list)


def srun(nodes: list[str], gpus: int) -> list[str]:
    return ["srun", f"--nodes={len(nodes)}", f"--ntasks={len(nodes)}", "--ntasks-per-node=1",
            f"--nodelist={','.join(nodes)}", f"--gres=gpu:{gpus}", "--kill-on-bad-exit=1"]


def accelerate_step(stage: str, params: dict, train: list[str], alloc: Allocation, params_file: str) -> list[str]:
    """One srun task per training node; each runs accelerate with its own machine rank (SLURM_PROCID,
    expanded on that node: the command is single-quoted)."""
    launch = params["launch"]
    inner = ["python", "-m", "accelerate.commands.launch", "--config_file", str(launch["config_file"]),
             "--num_machines", str(len(train)), "--num_processes", str(launch["num_processes"]),
             "--machine_rank", "$SLURM_PROCID", "--main_process_ip", train[0],
             "--main_process_port", str(alloc.port), "--same_network",
             "-m", f"stages.{stage}", "--params", params_file]
    return [*srun(train, alloc.gpus_per_node), "bash", "-c",
            " ".join(a if a == "$SLURM_PROCID" else shlex.quote(a) for a in inner)]


def plan(alloc: Allocation, overrides: list[str], params_file: str = "params.yaml") -> list[Step]:
    for o in overrides:
        if o.split("=", 1)[0].lstrip("+~") in DERIVED:
            raise PlanError(f"{o}: {o.split('=', 1)[0]} is set from the allocation here; leave it out")
    params = compose(overrides)
    server_gpus = policy_server_gpus(params)
    nodes = alloc.nodes
    launch = params["launch"]["name"]

    if len(nodes) == 1:
        world = alloc.gpus_per_node - server_gpus
        if world < 1:
            raise PlanError(f"the policy server takes {server_gpus} of the node's {alloc.gpus_per_node} GPUs: "
                            "none left to train on")
        final = [*overrides, f"launch.num_processes={world}"]
        _check_launch(launch, world)
        validate(final)
        return [Step("the whole pipeline (one node)", ["dvc", "exp", "run", *(a for o in final for a in ("-S", o))],
                     notes=[f"{world} training processes" + (f", GPUs {world}..{world + server_gpus - 1} serve the "
                                                            "policy (stages/core/launch.py)" if server_gpus else "")])]

    vllm_node = nodes[-1] if server_gpus else None
    train = nodes[:-1] if vllm_node else nodes
    if server_gpus > alloc.gpus_per_node:
        raise PlanError(f"grpo.trainer.vllm_tensor_parallel_size={server_gpus} > {alloc.gpus_per_node} GPUs of the "
                        "vLLM node")
    world = len(train) * alloc.gpus_per_node
    if launch == "single":   # accelerate starts the ranks on every node: there is no in-process launch here
        raise PlanError(f"launch=single runs in one process on one node; on {len(nodes)} nodes add launch=ddp "
                        "(or zero2, zero3, fsdp)")
    final = [*overrides, f"launch.num_processes={world}",
             *([f"grpo.trainer.vllm_server_host={vllm_node}"] if vllm_node else [])]
    validate(final)
    params = compose(final)

    steps = [
        Step("compose params.yaml", ["python", "-m", "tools.compose_params", *final]),
        Step("prepare, partition (first node, under DVC)", ["dvc", "repro", "partition"]),
        Step(f"sft on {len(train)} node(s) x {alloc.gpus_per_node} GPUs",
             accelerate_step("sft", params, train, alloc, params_file)),
    ]
    grpo = Step(f"grpo on {len(train)} node(s) x {alloc.gpus_per_node} GPUs",
                accelerate_step("grpo", params, train, alloc, params_file))
    if vllm_node:
        from stages.core.config import load_config
        from stages.core.serving import policy_server

        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "params.yaml").write_text(yaml.safe_dump(params))
            spec = policy_server(load_config(Path(tmp) / "params.yaml"))
        # python from PATH on that node (the sbatch script puts the venv first), like the ranks'
        grpo.server = [*srun([vllm_node], alloc.gpus_per_node), "python", *spec.command[1:]]
        grpo.health_url = spec.health_url
        grpo.notes.append(f"policy server on {vllm_node}, tensor parallel {server_gpus}; waits for "
                          f"{spec.health_url}, stopped when grpo ends")
    steps += [grpo,
              Step("record sft and grpo in dvc.lock", ["dvc", "commit", "--force", "sft", "grpo"]),
              Step("evaluate (first node, under DVC)", ["dvc", "repro", "evaluate"])]
    return steps


def _check_launch(launch: str, world: int) -> None:
    if launch == "single" and world > 1:
        raise PlanError(f"launch=single trains in one process, but the allocation has {world} training GPUs: "
                        "add launch=ddp (or zero2, zero3, fsdp)")


def shown(argv: list[str]) -> str:
    """A shell line; the rank's command stays single-quoted so $SLURM_PROCID expands on its node."""
    return " ".join(shlex.quote(a) for a in argv)


def render(steps: list[Step]) -> str:
    lines = []
    for i, step in enumerate(steps, 1):
        lines.append(f"# {i}. {step.what}")
        lines += [f"#    {n}" for n in step.notes]
        if step.server:
            lines += [f"{shown(step.server)} &", f"# wait until {step.health_url} answers 200"]
        lines.append(shown(step.argv))
        if step.server:
            lines.append("kill %1   # stop the policy server")
    return "\n".join(lines)


def execute(steps: list[Step], env: dict[str, str], timeout_s: float, grace_s: float,
            log_dir: Path = ROOT / "checkpoints") -> int:
    """Run the steps in order from the repository root; the first that fails ends the run with its status
    (3: the policy server did not come up). The server's output goes to <log_dir>/vllm-serve-grpo-slurm.log."""
    from stages.core.serving import ServerUnavailable, serving

    for step in steps:
        print(f"== {step.what}: {shown(step.argv)}", file=sys.stderr, flush=True)
        try:
            if step.server:
                log = log_dir / "vllm-serve-grpo-slurm.log"
                with serving(step.server, step.health_url, log_path=log, timeout_s=timeout_s, grace_s=grace_s,
                             name="grpo vllm server (slurm)"):
                    code = subprocess.run(step.argv, cwd=ROOT, env=env, check=False).returncode
            else:
                code = subprocess.run(step.argv, cwd=ROOT, env=env, check=False).returncode
        except ServerUnavailable as e:
            print(f"error: {e}", file=sys.stderr)
            return 3
        if code != 0:
            print(f"error: step '{step.what}' exited with status {code}: {shown(step.argv)}", file=sys.stderr)
            return code
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/slurm/pipeline.sbatch (python -m tools.slurm.plan)",
                                     description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="print the commands; run nothing")
    parser.add_argument("--gpus-per-node", type=int, help="default: SLURM_GPUS_ON_NODE / SLURM_GPUS_PER_NODE")
    parser.add_argument("--server-timeout", type=float, default=900.0,
                        help="seconds for the policy server's /health to answer (default 900: a 7B load and compile)")
    parser.add_argument("--server-grace", type=float, default=30.0, help="SIGTERM to SIGKILL, seconds (default 30)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/ (after --), as dvc exp run -S takes them")
    args = parser.parse_args(argv)
    try:
        alloc = allocation(dict(os.environ), args.gpus_per_node)
        steps = plan(alloc, args.overrides)
    except PlanError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"# SLURM job {alloc.job_id}: {len(alloc.nodes)} node(s) {','.join(alloc.nodes)}, "
          f"{alloc.gpus_per_node} GPUs each")
    print(render(steps), flush=True)
    if args.dry_run:
        return 0
    return execute(steps, dict(os.environ), args.server_timeout, args.server_grace)


if __name__ == "__main__":
    raise SystemExit(main())

