"""Read a results folder: every done run's config.yaml, metrics.json and curves.csv."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from labeleff.errors import DataError

RUN_COLUMNS = ["suite", "run", "row", "seed", "preset", "data", "kind"]


@dataclass(frozen=True)
class Results:
    """All done runs under a results root.

    Attributes:
        runs: one row per run: ``suite, run, row, seed, preset, data, kind, finished`` (mtime
            of metrics.json, ns) and ``params.*``.
        metrics: long table ``run, metric, value`` (None/NaN values dropped).
        curves: long table ``run, step, scalar, value`` from the runs' ``curves.csv``.
    """

    runs: pd.DataFrame
    metrics: pd.DataFrame
    curves: pd.DataFrame


def run_id(run_dir: Path) -> str:
    """``<suite>/<run folder>``: unique within a results root."""
    return f"{run_dir.parent.name}/{run_dir.name}"


def _read_run(run_dir: Path) -> tuple[dict, dict]:
    """(flattened config with suite/run, metrics) of one run; DataError naming a bad file."""
    try:
        cfg = OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml"))
    except (OSError, OmegaConfBaseException) as error:
        raise DataError(run_dir / "config.yaml", f"unreadable run config: {error}") from error
    try:
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise DataError(run_dir / "metrics.json", f"unreadable metrics: {error}") from error
    flat = pd.json_normalize({**cfg, "row": cfg.get("name")}).iloc[0].to_dict()
    finished = (run_dir / "metrics.json").stat().st_mtime_ns
    return {"suite": run_dir.parent.name, "run": run_id(run_dir), "finished": finished,
            **flat}, metrics


def _read_curves(run_dir: Path) -> pd.DataFrame | None:
    path = run_dir / "curves.csv"
    if not path.exists():
        return None
    wide = pd.read_csv(path)
    long = wide.melt(id_vars="step", var_name="scalar", value_name="value").dropna()
    return long.assign(run=run_id(run_dir))


def collect(out_dir: Path) -> Results:
    """Collect every ``<out_dir>/<suite>/<run>/`` that holds ``metrics.json``.

    Raises:
        DataError: a run's config or metrics cannot be read, or no run is done yet.
    """
    run_dirs = sorted(path.parent for path in Path(out_dir).glob("*/*/metrics.json"))
    if not run_dirs:
        raise DataError(out_dir, "no finished runs (no <suite>/<run>/metrics.json) to report")
    configs, metric_rows = [], []
    for run_dir in run_dirs:
        cfg, metrics = _read_run(run_dir)
        configs.append(cfg)
        metric_rows += [{"run": run_id(run_dir), "metric": key, "value": value}
                        for key, value in metrics.items()]
    runs = pd.DataFrame(configs).drop(columns=["name"])
    curves = [frame for frame in map(_read_curves, run_dirs) if frame is not None]
    empty = pd.DataFrame(columns=["run", "step", "scalar", "value"])
    return Results(runs, pd.DataFrame(metric_rows).dropna(),
                   pd.concat(curves, ignore_index=True) if curves else empty)
