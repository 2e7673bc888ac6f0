"""Optuna sweeps of the real smoke suite at tiny sizes: journal storage with 2 worker processes,
TPE search reporting through the training loop."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
from omegaconf import OmegaConf
from optuna.trial import TrialState

from benchmarks.suites import MWSIS3D_SEARCH_SPACE
from sweeps.grid import SweepSpec, open_grid_study, run_grid
from sweeps.search import run_search
from sweeps.storage import default_storage_url
from tests.tiny import TINY

ROWS = ("baseline", "+SPG")


def _points(study: optuna.Study, state: TrialState) -> list[tuple[str, int]]:
    return sorted((t.params["row"], t.params["seed"]) for t in study.get_trials(states=(state,)))


def test_journal_storage_with_two_workers(tmp_path: Path) -> None:
    storage = default_storage_url(tmp_path, workers=2)
    assert storage.startswith("journal:")
    spec = SweepSpec("smoke", str(tmp_path), storage, overrides=TINY, rows=ROWS)
    run_grid(spec, workers=2, progress=False)
    study = open_grid_study(spec)
    assert _points(study, TrialState.COMPLETE) == sorted((row, 0) for row in ROWS)
    assert (tmp_path / "optuna.journal").stat().st_size > 0
    assert len(list((tmp_path / "smoke").glob("*/metrics.json"))) == 2


def test_tpe_search_reports_through_the_training_loop(tmp_path: Path) -> None:
    storage = default_storage_url(tmp_path, workers=1)
    study = run_search("smoke", tmp_path, storage, n_trials=3,
                       overrides=(*TINY, "params.steps=3", "params.eval_every=1"))
    assert len(study.trials) == 3
    assert {t.state for t in study.trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    assert all(sorted(t.intermediate_values) == [1, 2, 3] for t in study.trials
               if t.state == TrialState.COMPLETE)
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    runs = [p.parent for p in (tmp_path / "smoke-search").glob("*/metrics.json")]
    assert len(runs) == len(complete)
    best = max(json.loads((run / "metrics.json").read_text())["ap3d/mean"] for run in runs)
    assert study.best_value == best
    sampled = sorted(OmegaConf.load(run / "config.yaml").params.rsc_ratio for run in runs)
    assert sampled == sorted(t.params["params.rsc_ratio"] for t in complete)
    for key, spec in MWSIS3D_SEARCH_SPACE.items():
        assert spec["low"] <= study.best_params[key] <= spec["high"]
