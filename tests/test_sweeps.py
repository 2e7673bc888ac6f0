"""Optuna sweeps: journal storage with 2 worker processes, TPE search with pruning."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
from optuna.trial import TrialState

import tests.fixture_linear  # noqa: F401 -- registers the fixture kind and suite
from sweeps.grid import SweepSpec, open_grid_study, run_grid
from sweeps.search import run_search
from sweeps.storage import default_storage_url

PLUGINS = ("tests.fixture_linear",)


def _done_runs(out: Path) -> list[Path]:
    return list((out / "fixture").glob("*/metrics.json"))


def _points(study: optuna.Study, state: TrialState) -> list[tuple[str, int]]:
    return sorted((t.params["row"], t.params["seed"]) for t in study.get_trials(states=(state,)))


def test_journal_storage_with_two_workers(tmp_path: Path) -> None:
    storage = default_storage_url(tmp_path, workers=2)
    assert storage.startswith("journal:")
    spec = SweepSpec("fixture", str(tmp_path), storage, overrides=("params.steps=5",),
                     plugins=PLUGINS)
    run_grid(spec, workers=2, progress=False)
    study = open_grid_study(spec)
    grid = sorted((row, seed) for row in ("lr 0.02", "lr 0.1") for seed in (0, 1))
    assert _points(study, TrialState.COMPLETE) == grid
    assert (tmp_path / "optuna.journal").stat().st_size > 0
    assert len(_done_runs(tmp_path)) == 4


def test_tpe_search_reports_through_the_training_loop(tmp_path: Path) -> None:
    storage = default_storage_url(tmp_path, workers=1)
    study = run_search("fixture", tmp_path, storage, n_trials=5, overrides=("params.steps=12",),
                       plugins=PLUGINS)
    assert len(study.trials) == 5
    assert {t.state for t in study.trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    assert all(len(t.intermediate_values) > 0 for t in study.trials)
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    files = list((tmp_path / "fixture-search").glob("*/metrics.json"))
    assert len(files) == len(complete)
    best = max(json.loads(p.read_text())["fit/r2"] for p in files)
    assert study.best_value == best
    assert 1e-3 <= study.best_params["params.lr"] <= 0.3
