"""A sweep in MLflow: the study's parent run and one child run per trial (experiments/sweep.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from experiments.dvcexp import shared_mlflow_store

if TYPE_CHECKING:
    from experiments.sweep import SweepConfig


class Tracker:
    """The study's parent run and one child run per trial, through MlflowClient (explicit run ids:
    the stages of a trial, in other processes, nest under the child through an environment variable)."""

    def __init__(self, root: Path, study, cfg: SweepConfig):
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        self.uri, experiment = shared_mlflow_store(root)
        self.client = MlflowClient(self.uri)
        self.experiment_id = self.client.get_experiment_by_name(experiment).experiment_id
        run_id = study.user_attrs.get("mlflow_parent_run_id")
        try:
            parent = self.client.get_run(run_id) if run_id else None
        except MlflowException:  # the run is not in this store (a new MLflow store): start a new parent run
            parent = None
        if parent is None:
            parent = self.client.create_run(self.experiment_id, run_name=f"sweep-{cfg.study}",
                                            tags={"kind": "sweep", "optuna_study": cfg.study})
            study.set_user_attr("mlflow_parent_run_id", parent.info.run_id)
            self.client.log_batch(parent.info.run_id, params=_params({
                "objectives": ",".join(f"{o.metric}:{o.direction}" for o in cfg.objectives),
                "constraints": ",".join(f"{c.metric}[{c.min},{c.max}]" for c in cfg.constraints),
                "overrides": " ".join(cfg.overrides), "sampler_seed": cfg.seed}))
        self.parent_id = parent.info.run_id

    def start_trial(self, trial, name: str, used: dict) -> str:
        run = self.client.create_run(self.experiment_id, run_name=name, tags={
            "mlflow.parentRunId": self.parent_id, "kind": "sweep-trial", "dvc_exp": name,
            "optuna_study": trial.study.study_name, "optuna_trial": str(trial.number)})
        self.client.log_batch(run.info.run_id, params=_params({**trial.params, **used}))
        return run.info.run_id

    def end_trial(self, run_id: str, metrics: dict[str, float], status: str) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
        self.client.set_terminated(run_id, status)

    def kill_trial(self, run_id: str) -> None:
        """Mark an interrupted trial's run, and the stage run that died with it, KILLED."""
        nested = self.client.search_runs([self.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
        for run in nested:
            if run.info.status == "RUNNING":
                self.client.set_terminated(run.info.run_id, "KILLED")
        self.client.set_terminated(run_id, "KILLED")

    def finish(self, metrics: dict[str, float], artifacts: list[Path]) -> None:
        from mlflow.entities import Metric

        self.client.log_batch(self.parent_id, metrics=[Metric(k, v, 0, 0) for k, v in metrics.items()])
        for path in artifacts:
            if path.exists():
                self.client.log_artifact(self.parent_id, str(path))
        self.client.set_terminated(self.parent_id, "FINISHED")


def _params(d: dict) -> list:
    from mlflow.entities import Param

    return [Param(str(k), str(v)[:6000]) for k, v in d.items()]
