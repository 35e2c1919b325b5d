"""Resuming a sweep that was killed mid-trial (experiments/sweep.py).

A `kill -9` of the sweep's process group leaves four traces: the Optuna trial RUNNING, its MLflow
child run (and the stage run under it) RUNNING, the workspace half-way through `dvc exp run` (its
params.yaml composed with the trial's values, dvc.lock and metrics of the stages that finished, part of
the killed stage's outputs), and, when the kill came after DVC recorded the experiment but before the
sweep told Optuna, a DVC experiment that no trial accounts for. The next run of the same sweep
reclaims them here: the trial becomes FAIL (``interrupted``, not counted toward n_trials) and its
parameters are queued again; its DVC experiment, if any, is removed and the workspace is put back as
it was before the trial started.

Why queue the same parameters again rather than only fail the trial: the kill says nothing about
them, and dropping them would leave a hole in the sampler's design (its random start-up trials
above all); and the stages the killed trial finished sit in DVC's run cache, so the re-run restores
them instead of training again.
"""

from __future__ import annotations

from pathlib import Path

from experiments.dvcexp import dvc
from stages.core.tracking import pid_alive


def recover_interrupted(study, host: str, all_hosts: bool = False) -> list:
    """Trials left RUNNING by a dead sweep process (killed mid-trial) become FAIL, marked
    ``interrupted``, and are queued again with the same parameters; returns them as they were. A
    RUNNING trial whose process is alive, or that belongs to another machine sharing the RDB, is left
    alone (``all_hosts`` claims those too, for when a machine died)."""
    from optuna.trial import TrialState

    recovered = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        mine = t.user_attrs.get("host") == host
        if (mine and not pid_alive(t.user_attrs.get("pid"))) or (all_hosts and not mine):
            study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            study.enqueue_trial(t.params, user_attrs={"requeued_from": t.number})
            recovered.append(t)
    return recovered


def finished(study) -> list:
    """Trials that count toward n_trials: completed ones and genuine failures, not interrupted ones."""
    from optuna.trial import TrialState

    return [t for t in study.get_trials(deepcopy=False)
            if t.state == TrialState.COMPLETE or (t.state == TrialState.FAIL and not t.user_attrs.get("interrupted"))]


def discard_partial(study, trial, root: Path) -> list[str]:
    """Remove what an interrupted trial of this machine left in the repository ``root``: its DVC
    experiment, if DVC recorded one, and its half-run workspace. Returns what was done, one line each."""
    from optuna.trial import TrialState

    names = set(dvc(["exp", "list", "--name-only"], cwd=root).stdout.split())
    done = []
    # Killed after DVC recorded the experiment but before Optuna was told: no trial accounts for it
    if trial.user_attrs.get("dvc_exp") in names:
        dvc(["exp", "remove", trial.user_attrs["dvc_exp"]], cwd=root)
        done.append(f"removed DVC experiment {trial.user_attrs['dvc_exp']}")
    # The sweep runs its trials one after another in this workspace, so before this trial began the
    # workspace held the latest earlier trial's experiment (DVC applies each finished run), else HEAD.
    # `dvc exp apply` restores params.yaml, dvc.lock, metrics and the cached outputs (the run
    # cache keeps the finished stages for the re-run) and leaves other uncommitted edits alone.
    earlier = sorted((t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                      if t.number < trial.number and t.user_attrs.get("dvc_exp") in names),
                     key=lambda t: t.number)
    before = earlier[-1].user_attrs["dvc_exp"] if earlier else "HEAD"
    applied = dvc(["exp", "apply", before], cwd=root, check=False)
    if applied.returncode == 0:
        done.append(f"workspace restored to {before}")
    else:  # e.g. an output not in the local cache: params.yaml is back, and the next trial needs no more
        last = (applied.stdout + applied.stderr).strip().splitlines()[-3:]
        done.append(f"workspace partly restored to {before} (dvc exp apply: {' '.join(last)})")
    return done
