"""Run one experiment into its results folder: config.yaml, curves.csv, pictures, metrics.json.

A run folder is *done* once ``metrics.json`` exists; it is written last, atomically, so a killed
run never looks finished. Done runs are skipped (their metrics are read back) unless forced.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from benchmarks.config import run_dir_name, validate_params
from benchmarks.context import CurveLogger, RunContext, check_metrics
from benchmarks.io import atomic_write_json, atomic_write_text
from benchmarks.registry import get_experiment
from benchmarks.tracking import start_run

METRICS_FILE, CONFIG_FILE, CURVES_FILE = "metrics.json", "config.yaml", "curves.csv"


@dataclass(frozen=True)
class RunResult:
    """Outcome of :func:`run_experiment`.

    Attributes:
        run_dir: the results folder of the run.
        metrics: final metrics (metric key -> value; None where the experiment gave NaN).
        skipped: True when the run was already done and was not run again.
    """

    run_dir: Path
    metrics: dict[str, float | None]
    skipped: bool


def resolve(cfg: DictConfig) -> DictConfig:
    """Validate ``cfg.params`` against the registered kind (defaults filled in)."""
    return validate_params(cfg, get_experiment(cfg.kind).params)


def run_experiment(
    cfg: DictConfig,
    out_dir: Path,
    *,
    group: str = "adhoc",
    force: bool = False,
    wandb_mode: str = "disabled",
    prune_hook: Callable[[int, float], bool] | None = None,
) -> RunResult:
    """Run the experiment ``cfg`` into ``out_dir/<run_dir_name(cfg)>``.

    Args:
        cfg: config from ``benchmarks.config.make_config``.
        out_dir: folder holding the run folders (e.g. ``results/<suite>``).
        group: W&B group (the suite).
        force: run again even when ``metrics.json`` exists.
        wandb_mode: ``offline``, ``online`` or ``disabled``.
        prune_hook: ``hook(step, value) -> bool``, True stops the run with ``RunPrunedError``.

    Returns:
        The run folder and its final metrics.

    Raises:
        ExperimentNotAvailableError: ``cfg.kind`` is not registered.
        RunPrunedError: the prune hook stopped the run (no ``metrics.json`` is written).
    """
    spec = get_experiment(cfg.kind)
    cfg = validate_params(cfg, spec.params)
    run_dir = out_dir / run_dir_name(cfg)
    if (run_dir / METRICS_FILE).exists() and not force:
        return RunResult(run_dir, read_metrics(run_dir), skipped=True)
    (run_dir / METRICS_FILE).unlink(missing_ok=True)
    atomic_write_text(run_dir / CONFIG_FILE, OmegaConf.to_yaml(cfg, resolve=True))
    container = OmegaConf.to_container(cfg, resolve=True)
    tracker = start_run(wandb_mode, out_dir.parent, name=run_dir.name, group=group,
                        job_type=cfg.name, config=container)
    logger = CurveLogger(run_dir / CURVES_FILE, tracker)
    try:
        metrics = check_metrics(run_dir, spec.fn(cfg, run_dir, RunContext(run_dir, logger,
                                                                         prune_hook)))
    except BaseException:
        logger.close()
        tracker.finish({}, [], exit_code=1)
        raise
    logger.close()
    atomic_write_json(run_dir / METRICS_FILE, metrics)
    tracker.finish(metrics, sorted((run_dir / "pictures").glob("*.png")))
    return RunResult(run_dir, metrics, skipped=False)


def read_metrics(run_dir: Path) -> dict[str, float | None]:
    """Read a done run's ``metrics.json``."""
    return json.loads((run_dir / METRICS_FILE).read_text(encoding="utf-8"))
