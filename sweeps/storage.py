"""Optuna storages: SQLite (one process), a journal file (workers on one machine), an RDB URL.

Storage URLs are strings so they can be handed to worker processes:
``sqlite:///PATH``, ``journal:PATH`` (Optuna ``JournalStorage`` with a file backend) or any
SQLAlchemy URL such as ``postgresql://user:pass@host/db`` for several machines.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend, JournalStorage

MAX_RETRY = 3


def default_storage_url(out_dir: Path, workers: int) -> str:
    """``sqlite:///<out>/optuna.db`` for one worker, ``journal:<out>/optuna.journal`` for more.

    SQLite locks under parallel writers, hence the journal file for several processes.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if workers > 1:
        return f"journal:{out_dir.resolve() / 'optuna.journal'}"
    return f"sqlite:///{out_dir.resolve() / 'optuna.db'}"


def open_storage(url: str, heartbeat_interval: int = 30, grace_period: int = 90) -> BaseStorage:
    """Open the storage named by ``url``.

    RDB storages (SQLite, PostgreSQL, ...) get a heartbeat: a trial whose worker stopped beating
    for ``grace_period`` seconds is failed and re-queued (at most ``MAX_RETRY`` times) by
    ``RetryHeartbeatStaleTrialCallback`` (the successor of ``RetryFailedTrialCallback``).
    Journal files have no heartbeat; ``sweeps.grid.recover_dead_trials`` covers them.

    Args:
        url: ``journal:PATH`` or an SQLAlchemy URL.
        heartbeat_interval: seconds between heartbeats of a running trial.
        grace_period: seconds without heartbeat after which a running trial is stale.
    """
    if url.startswith("journal:"):
        path = Path(url.removeprefix("journal:"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return RDBStorage(
            url,
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY),
        )


def load_or_create_study(
    url: str, study_name: str, direction: str, sampler: optuna.samplers.BaseSampler,
    heartbeat: tuple[int, int] = (30, 90), pruner: optuna.pruners.BasePruner | None = None,
) -> optuna.Study:
    """Create the study ``study_name`` in the storage at ``url``, or load it when it exists."""
    storage = open_storage(url, *heartbeat)
    return optuna.create_study(storage=storage, study_name=study_name, direction=direction,
                               sampler=sampler, pruner=pruner, load_if_exists=True)
