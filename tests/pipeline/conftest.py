import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

# Small enough to run the five stages in about a minute on 2 cores, big enough that every stage
# has real work: both partitions non-empty, SFT and GRPO take optimizer steps.
TINY = [
    "data.n_dialogues=160", "data.n_personas=40", "data.test_fraction=0.2",
    "sft.trainer.num_train_epochs=1", "sft.trainer.max_steps=12", "sft.trainer.warmup_steps=2", "sft.trainer.logging_steps=2",
    "grpo.trainer.max_steps=3", "grpo.trainer.per_device_train_batch_size=16", "grpo.trainer.logging_steps=1", "grpo.trainer.max_completion_length=48",
    "evaluate.max_examples=16", "evaluate.max_new_tokens=48", "evaluate.sampled.samples=2",
]
PROJECT_FILES = ["conf", "stages", "experiments", "tools", "dvc.yaml", "pyproject.toml", ".dvc/config", ".dvcignore", ".gitignore"]


def compose_params(root: Path, out: Path, overrides: list[str]) -> Path:
    subprocess.run([sys.executable, "-m", "tools.compose_params", "-o", str(out), *overrides], cwd=root, check=True)
    return out


def copy_project(root: Path, dest: Path) -> Path:
    for name in PROJECT_FILES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


@pytest.fixture
def tiny_overrides():
    return list(TINY)


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


# --- the real tools in a temp repository (experiment drivers, sweep resume) ---------------------

def env_for(repo: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PYTHONPATH")}
    return {**env, "PATH": f"{Path(sys.executable).parent}:{env['PATH']}", "PYTHONPATH": str(repo)}


def run(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=repo, env=env_for(repo), capture_output=True, text=True, check=False)
    assert not check or proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def mlflow_runs(db: Path) -> list[dict]:
    """Every run in the store with its tags (plain sqlite: no MLflow import in the test process)."""
    con = sqlite3.connect(db)
    runs = {rid: {"run_id": rid, "name": name, "status": status}
            for rid, name, status in con.execute("select run_uuid, name, status from runs")}
    for key, value, rid in con.execute("select key, value, run_uuid from tags"):
        runs[rid][key] = value
    return list(runs.values())


def trial_states(db: Path) -> list[tuple[int, str]]:
    con = sqlite3.connect(db)
    return list(con.execute("select number, state from trials order by number"))
