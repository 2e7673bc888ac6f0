"""TPE hyperparameter search over a suite's ``search_space``, pruned through ``ctx.report``.

Each trial runs the suite's ``search_row`` with sampled overrides into
``<out>/<suite>-search/``; the training loop reports the objective every step and the median
pruner stops unpromising runs (``RunPrunedError`` -> ``optuna.TrialPruned``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna

from benchmarks.config import make_config, slugify
from benchmarks.context import RunPrunedError
from benchmarks.registry import get_experiment, load_plugins
from benchmarks.runner import run_experiment
from benchmarks.suites import Suite, get_suite
from sweeps.storage import load_or_create_study


def suggest_overrides(trial: optuna.Trial, space: dict[str, dict[str, Any]]) -> list[str]:
    """Sample one value per dotted key of ``space`` and return them as dotlist overrides.

    Raises:
        ValueError: a spec has an unknown ``type``.
    """
    overrides = []
    for key, spec in space.items():
        kind = spec["type"]
        if kind == "float":
            value = trial.suggest_float(key, spec["low"], spec["high"], log=spec.get("log", False))
        elif kind == "int":
            value = trial.suggest_int(key, spec["low"], spec["high"], log=spec.get("log", False))
        elif kind == "categorical":
            value = trial.suggest_categorical(key, spec["choices"])
        else:
            raise ValueError(f"search space {key!r}: unknown type {kind!r}")
        overrides.append(f"{key}={value}")
    return overrides


def _prune_hook(trial: optuna.Trial) -> Callable[[int, float], bool]:
    """``hook(step, value)``: report to Optuna, True when the pruner stops the trial."""

    def hook(step: int, value: float) -> bool:
        trial.report(value, step)
        return trial.should_prune()

    return hook


def _base(spec: Suite, preset: str, data: str, seed: int) -> dict[str, Any]:
    return {"name": f"search {spec.search_row}", "kind": spec.kind, "seed": seed,
            "preset": spec.preset or preset, "data": data}


def run_search(
    suite_name: str, out_dir: Path, storage: str, n_trials: int, *, preset: str = "cpu",
    data: str = "synthetic", seed: int = 0, overrides: tuple[str, ...] = (),
    wandb_mode: str = "disabled", plugins: tuple[str, ...] = (),
) -> optuna.Study:
    """Run ``n_trials`` TPE trials (more on each call; the study resumes from ``storage``).

    Args:
        suite_name: suite whose ``search_space`` and ``search_row`` define the search.
        out_dir: results root; runs go to ``out_dir/<suite>-search/``.
        storage: storage URL (``sweeps.storage``).
        n_trials: trials to run in this call.
        preset, data, seed, overrides: as for the suite's rows.
        wandb_mode: ``offline``, ``online`` or ``disabled``.
        plugins: modules registering the suite's experiment kind.

    Returns:
        The study (``study.best_params``, ``study.trials``).
    """
    load_plugins(plugins)
    spec = get_suite(suite_name)
    get_experiment(spec.kind)
    if not spec.search_space or spec.search_row is None:
        raise ValueError(f"suite {suite_name!r} declares no search_space/search_row")
    row = next(r for r in spec.rows if r.name == spec.search_row)
    name = f"{suite_name}-search-{spec.preset or preset}-{slugify(data)}"
    study = load_or_create_study(
        storage, name, spec.direction, optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=3),
    )
    folder = Path(out_dir) / f"{suite_name}-search"

    def objective(trial: optuna.Trial) -> float:
        cfg = make_config(_base(spec, preset, data, seed),
                          row.overrides + overrides + tuple(suggest_overrides(trial,
                                                                              spec.search_space)))
        try:
            result = run_experiment(cfg, folder, group=f"{suite_name}-search",
                                    wandb_mode=wandb_mode, prune_hook=_prune_hook(trial))
        except RunPrunedError as pruned:
            raise optuna.TrialPruned(str(pruned)) from pruned
        return result.metrics[spec.metric]

    study.optimize(objective, n_trials=n_trials)
    return study
