"""Weights & Biases tracking: one W&B run per experiment run; offline unless asked otherwise.

``wandb`` is imported lazily, only when tracking is enabled. Training never waits on the network:
``offline`` (the default) writes to ``<out>/wandb`` and ``wandb sync`` uploads later; ``online``
must be asked for, and a failing online start only warns and continues untracked.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MODES = ("offline", "online", "disabled")
PROJECT = "labeleff"


class Tracker:
    """A W&B run, or a no-op when ``run`` is None."""

    def __init__(self, run: Any = None) -> None:
        self.run = run

    def log(self, step: int, scalars: Mapping[str, float]) -> None:
        """Log step-wise scalars."""
        if self.run is not None:
            self.run.log(dict(scalars), step=int(step))

    def finish(
        self, metrics: Mapping[str, float | None], pictures: list[Path], exit_code: int = 0
    ) -> None:
        """Store final metrics in the summary, upload pictures as ``wandb.Image``, close."""
        if self.run is None:
            return
        import wandb

        self.run.summary.update({k: v for k, v in metrics.items() if v is not None})
        if pictures:
            self.run.log({f"pictures/{p.stem}": wandb.Image(str(p)) for p in pictures})
        self.run.finish(exit_code=exit_code)

    def log_tables(self, tables: Mapping[str, Any]) -> None:
        """Log pandas DataFrames as ``wandb.Table`` objects under their names."""
        if self.run is None:
            return
        import wandb

        self.run.log({name: wandb.Table(dataframe=frame) for name, frame in tables.items()})


def start_run(
    mode: str, out_dir: Path, *, name: str, group: str, job_type: str, config: dict[str, Any]
) -> Tracker:
    """Start one W&B run (``group`` = suite, ``job_type`` = row) or a no-op tracker.

    Args:
        mode: ``offline`` (default of the CLI), ``online`` or ``disabled``.
        out_dir: results root; W&B files go to ``out_dir/wandb``.
        name: run name (the results-folder name).
        group: W&B group, the suite name.
        job_type: W&B job type, the row name.
        config: the resolved experiment config as a plain dict.

    Raises:
        ValueError: unknown mode.
    """
    if mode not in MODES:
        raise ValueError(f"wandb mode must be one of {MODES}, got {mode!r}")
    if mode == "disabled":
        return Tracker()
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        import wandb

        run = wandb.init(
            project=PROJECT, dir=str(out_dir), name=name, group=group, job_type=job_type,
            config=config, mode=mode, reinit="create_new",
            settings=wandb.Settings(silent=True, init_timeout=30),
        )
    except Exception as error:  # noqa: BLE001 -- tracking must never stop training
        if mode == "offline":
            raise
        warnings.warn(f"W&B online start failed ({error}); continuing without tracking",
                      stacklevel=2)
        return Tracker()
    return Tracker(run)
