"""The ablation grid (rows x seeds) as a crash-safe Optuna study, run by one or more workers.

Every grid point is an enqueued trial with fixed params ``{"row", "seed"}``. Workers pop queued
trials until none is left. A worker killed mid-trial leaves its trial RUNNING: the next
``run_grid`` fails it and re-queues it (processes on this host that no longer exist; RDB heartbeat
for other hosts). Finished runs cost nothing twice: their results folders hold ``metrics.json``.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState
from tqdm import tqdm

from benchmarks.config import slugify
from benchmarks.registry import get_experiment, load_plugins
from benchmarks.runner import resolve, run_experiment
from benchmarks.suites import Job, expand_suite, get_suite
from sweeps.storage import MAX_RETRY, load_or_create_study

WORKER_ATTR = "worker"


class SweepIncompleteError(RuntimeError):
    """Some grid points did not complete; re-running the same command retries them."""


@dataclass(frozen=True)
class SweepSpec:
    """Everything a worker process needs (picklable).

    Attributes:
        suite: suite name.
        out_dir: results root (runs go to ``out_dir/<suite>/``).
        storage: storage URL (see ``sweeps.storage``).
        preset, data, seeds, overrides: as for ``benchmarks.suites.expand_suite``.
        force: re-run finished runs.
        wandb_mode: ``offline``, ``online`` or ``disabled``.
        plugins: modules to import so that the suite's experiment kind is registered.
        rows: names of the suite's rows to run (empty: every row).
        heartbeat: (interval, grace period) in seconds for RDB storages.
    """

    suite: str
    out_dir: str
    storage: str
    preset: str = "cpu"
    data: str = "synthetic"
    seeds: int = 3
    overrides: tuple[str, ...] = ()
    force: bool = False
    wandb_mode: str = "disabled"
    plugins: tuple[str, ...] = ()
    rows: tuple[str, ...] = ()
    heartbeat: tuple[int, int] = (30, 90)

    def jobs(self) -> dict[tuple[str, int], Job]:
        """The suite's jobs keyed by (row, seed)."""
        jobs = expand_suite(get_suite(self.suite), preset=self.preset, data=self.data,
                            seeds=self.seeds, overrides=self.overrides, rows=self.rows)
        return {(job.row, job.seed): job for job in jobs}

    def study_name(self) -> str:
        """``<suite>-<preset>-<data>`` (the suite's forced preset wins)."""
        preset = get_suite(self.suite).preset or self.preset
        return f"{self.suite}-{preset}-{slugify(self.data)}"


def open_grid_study(spec: SweepSpec) -> optuna.Study:
    """Load or create the suite's study (BruteForceSampler over the categorical grid)."""
    direction = get_suite(spec.suite).direction
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.BruteForceSampler(seed=0)
    return load_or_create_study(spec.storage, spec.study_name(), direction, sampler,
                                spec.heartbeat)


def worker_id() -> str:
    """``<hostname>:<pid>`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _is_dead_here(trial: FrozenTrial) -> bool:
    """True when the trial's worker ran on this host and its process no longer exists."""
    host, _, pid = str(trial.user_attrs.get(WORKER_ATTR, "")).partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def recover_dead_trials(study: optuna.Study) -> int:
    """Fail RUNNING trials whose worker process on this host is gone, and re-queue them.

    Returns:
        The number of trials recovered.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)
    dead = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if _is_dead_here(t)]
    for trial in dead:
        if study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL):
            retry(study, study._storage.get_trial(trial._trial_id))
    return len(dead)


def requeue_missing(study: optuna.Study, grid: list[tuple[str, int]], force: bool) -> int:
    """Enqueue every grid point with no COMPLETE, RUNNING or WAITING trial (all when forced).

    Returns:
        The number of trials enqueued.
    """
    states = (TrialState.RUNNING, TrialState.WAITING)
    states += () if force else (TrialState.COMPLETE,)
    covered = {(t.params.get("row", t.system_attrs.get("fixed_params", {}).get("row")),
                t.params.get("seed", t.system_attrs.get("fixed_params", {}).get("seed")))
               for t in study.get_trials(deepcopy=False, states=states)}
    missing = [point for point in grid if point not in covered]
    for row, seed in missing:
        study.enqueue_trial({"row": row, "seed": seed})
    return len(missing)


def make_objective(spec: SweepSpec, jobs: dict[tuple[str, int], Job]) -> Callable:
    """The objective run by workers: one queued (row, seed) point -> the suite's metric."""
    suite = get_suite(spec.suite)
    rows = [row.name for row in suite.rows]  # all rows: a --rows run shares the study
    seeds = sorted({seed for _, seed in jobs})
    out_dir = Path(spec.out_dir) / spec.suite

    def objective(trial: optuna.Trial) -> float:
        if "fixed_params" not in trial.study._storage.get_trial_system_attrs(trial._trial_id):
            raise optuna.TrialPruned("not a queued grid point (another worker took the last one)")
        trial.set_user_attr(WORKER_ATTR, worker_id())
        key = (trial.suggest_categorical("row", rows), trial.suggest_categorical("seed", seeds))
        result = run_experiment(jobs[key].cfg, out_dir, group=spec.suite, force=spec.force,
                                wandb_mode=spec.wandb_mode)
        trial.set_user_attr("run_dir", str(result.run_dir))
        value = result.metrics.get(suite.metric)
        if value is None:
            raise KeyError(f"{result.run_dir}: metric {suite.metric!r} missing or NaN")
        return value

    return objective


def _waiting(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def work(spec: SweepSpec, threads: int | None = None, on_trial: Callable | None = None) -> None:
    """Worker loop: pop queued grid trials until the queue is empty.

    Args:
        spec: the sweep.
        threads: torch intra-op threads for this process (None: leave as is).
        on_trial: called after every finished trial (progress bars).
    """
    load_plugins(spec.plugins)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    study = open_grid_study(spec)
    objective = make_objective(spec, spec.jobs())
    callbacks = [lambda _study, _trial: on_trial()] if on_trial else None
    while _waiting(study) > 0:
        study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=callbacks)


def run_grid(spec: SweepSpec, workers: int = 1, progress: bool = True) -> dict[str, int]:
    """Run the suite's grid to completion with ``workers`` processes on this machine.

    Returns:
        Counts: ``recovered`` dead trials, ``queued`` grid points, ``total`` grid points.

    Raises:
        ExperimentNotAvailableError: the suite's experiment kind is not registered.
        DataError: a row's params do not fit the kind's params dataclass.
        SweepIncompleteError: some grid points failed (errors were logged); run again to retry.
    """
    load_plugins(spec.plugins)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    get_experiment(get_suite(spec.suite).kind)
    jobs = spec.jobs()
    for job in jobs.values():
        resolve(job.cfg)  # bad params fail here, before any trial starts
    grid = list(jobs)
    study = open_grid_study(spec)
    counts = {"recovered": recover_dead_trials(study), "total": len(grid)}
    counts["queued"] = requeue_missing(study, grid, spec.force)
    bar = tqdm(total=len(grid), initial=len(grid) - counts["queued"], desc=spec.suite,
               unit="run", disable=not progress)
    if workers <= 1:
        work(spec, on_trial=bar.update)
    else:
        _run_processes(spec, workers, study, bar)
    bar.close()
    _check_complete(study, grid)
    return counts


def _run_processes(spec: SweepSpec, workers: int, study: optuna.Study, bar: tqdm) -> None:
    """Start ``workers`` spawned processes running :func:`work`; poll progress until they end."""
    context = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // workers)
    procs = [context.Process(target=work, args=(spec, threads)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    while any(proc.is_alive() for proc in procs):
        time.sleep(0.5)
        done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        bar.update(max(0, min(done, bar.total) - bar.n))
    for proc in procs:
        proc.join()


def _check_complete(study: optuna.Study, grid: list[tuple[str, int]]) -> None:
    """Raise :class:`SweepIncompleteError` naming the grid points without a COMPLETE trial."""
    done = {(t.params["row"], t.params["seed"])
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if not math.isnan(t.value)}
    missing = [point for point in grid if point not in done]
    if missing:
        names = ", ".join(f"{row!r} seed {seed}" for row, seed in missing)
        raise SweepIncompleteError(f"{len(missing)} of {len(grid)} runs did not complete: {names}. "
                              "Run the same command again to retry them.")
