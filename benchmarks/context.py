"""What an experiment function gets besides its config: logging, pruning and picture paths."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from benchmarks.config import slugify
from benchmarks.io import atomic_write_text
from benchmarks.tracking import Tracker

PruneHook = Callable[[int, float], bool]


class RunPrunedError(Exception):
    """Raised by :meth:`RunContext.report` when the sweep's pruner stops a run early."""

    def __init__(self, run_dir: Path, step: int, value: float) -> None:
        self.step, self.value = step, value
        super().__init__(f"{run_dir.name}: pruned at step {step} (reported value {value:.6g})")


class CurveLogger:
    """Step-wise scalars, kept in memory, sent to the tracker and written as ``curves.csv``.

    Args:
        path: the CSV file (columns ``step`` and one per scalar name).
        tracker: the run's W&B tracker (a no-op when tracking is disabled).
    """

    def __init__(self, path: Path, tracker: Tracker) -> None:
        self.path, self.tracker = path, tracker
        self.rows: list[dict[str, float]] = []

    def log(self, step: int, scalars: Mapping[str, float]) -> None:
        """Record ``scalars`` (name -> float) at training step ``step``."""
        values = {name: float(value) for name, value in scalars.items()}
        self.rows.append({"step": int(step), **values})
        self.tracker.log(step, values)

    def close(self) -> None:
        """Write ``curves.csv`` atomically (nothing when no scalar was logged)."""
        if self.rows:
            atomic_write_text(self.path, pd.DataFrame(self.rows).to_csv(index=False))


class RunContext:
    """Handed to ``fn(cfg, run_dir, ctx)``.

    Args:
        run_dir: the run's results folder.
        logger: receives step-wise scalars.
        prune_hook: ``hook(step, value) -> True to stop``; None outside a pruning search.
    """

    def __init__(self, run_dir: Path, logger: CurveLogger, prune_hook: PruneHook | None) -> None:
        self.run_dir, self.logger, self.prune_hook = run_dir, logger, prune_hook

    def log(self, step: int, scalars: Mapping[str, float]) -> None:
        """Log scalars (e.g. ``{"loss/total": 0.3, "lr": 1e-3}``) at ``step`` to curves + W&B."""
        self.logger.log(step, scalars)

    def report(self, step: int, value: float) -> None:
        """Report the objective's intermediate ``value`` at ``step``; raise if pruned.

        Raises:
            RunPrunedError: the pruner decided to stop this run; let it propagate.
        """
        if self.prune_hook is not None and self.prune_hook(step, float(value)):
            raise RunPrunedError(self.run_dir, step, float(value))

    def picture_path(self, name: str) -> Path:
        """Path ``run_dir/pictures/<slug(name)>.png`` to save a picture to (folder created)."""
        folder = self.run_dir / "pictures"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{slugify(name)}.png"


def check_metrics(run_dir: Path, metrics: object) -> dict[str, float | None]:
    """Validate an experiment's return value: ``{str: real number}``; NaN becomes None.

    Raises:
        TypeError: not a mapping of strings to real numbers (the message names the run).
    """
    if not isinstance(metrics, Mapping) or not metrics:
        raise TypeError(f"{run_dir.name}: experiment must return a non-empty dict of metrics")
    clean: dict[str, float | None] = {}
    for key, value in metrics.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not isinstance(key, str) or not number:
            raise TypeError(f"{run_dir.name}: metric {key!r}={value!r} is not str -> number")
        clean[key] = None if math.isnan(value) else float(value)
    return clean
