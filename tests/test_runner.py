"""Configs, registry, results-folder naming, atomic writes, skip of finished runs, suites, CLI."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import tests.fixture_linear  # noqa: F401 -- registers the fixture kind and suite
from benchmarks.config import make_config, parse_data, run_dir_name, validate_params
from benchmarks.context import RunPrunedError
from benchmarks.io import atomic_write_text
from benchmarks.registry import ExperimentNotAvailableError, get_experiment, register_experiment
from benchmarks.runner import run_experiment
from benchmarks.suites import expand_suite, get_suite
from labeleff.errors import DataError
from run_all import main
from tests.fixture_linear import LinearParams

FAST = ["params.steps=5"]


def fixture_cfg(*overrides: str):
    base = {"name": "+SPG+RSC (EMA)", "kind": "linear_fixture", "seed": 0}
    return make_config(base, [*FAST, *overrides])


def test_overrides_and_validation() -> None:
    cfg = validate_params(fixture_cfg("seed=2", "preset=smoke", "params.lr=0.3"), LinearParams)
    assert (cfg.seed, cfg.preset, cfg.params.lr, cfg.params.steps) == (2, "smoke", 0.3, 5)
    assert cfg.params.n_features == LinearParams().n_features  # default filled in
    with pytest.raises(DataError, match="preset"):
        fixture_cfg("preset=huge")
    with pytest.raises(DataError, match="unknown_key"):
        validate_params(fixture_cfg("params.unknown_key=1"), LinearParams)
    with pytest.raises(DataError, match="invalid field"):
        fixture_cfg("seed=abc")


def test_parse_data() -> None:
    assert parse_data("synthetic") == ("synthetic", None)
    assert parse_data("kitti:/data/kitti") == ("kitti", Path("/data/kitti"))
    with pytest.raises(DataError, match="kitti:PATH"):
        parse_data("waymo")


def test_run_dir_name_is_slug_seed_and_config_hash() -> None:
    name = run_dir_name(fixture_cfg())
    assert re.fullmatch(r"spg-rsc-ema-seed0-[0-9a-f]{8}", name)
    assert run_dir_name(fixture_cfg()) == name
    assert run_dir_name(fixture_cfg("params.lr=0.2")) != name


def test_unknown_kind_fails_clearly() -> None:
    with pytest.raises(ExperimentNotAvailableError,
                       match="experiment kind 'mwsis3d' is not available"):
        get_experiment("mwsis3d")


def test_registering_another_function_under_a_taken_kind_fails() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_experiment("linear_fixture")(lambda cfg, run_dir, ctx: {"x": 1.0})


def test_atomic_write_keeps_old_file_when_replace_fails(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "metrics.json"
    atomic_write_text(path, "old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_run_writes_folder_and_skips_when_done(tmp_path: Path) -> None:
    first = run_experiment(fixture_cfg(), tmp_path)
    files = {p.name for p in first.run_dir.iterdir()}
    assert {"config.yaml", "metrics.json", "curves.csv", "pictures"} <= files
    assert OmegaConf.load(first.run_dir / "config.yaml").params.steps == 5
    assert json.loads((first.run_dir / "metrics.json").read_text()) == first.metrics
    stamp = (first.run_dir / "metrics.json").stat().st_mtime_ns
    again = run_experiment(fixture_cfg(), tmp_path)
    assert again.skipped and again.metrics == first.metrics
    assert (first.run_dir / "metrics.json").stat().st_mtime_ns == stamp
    forced = run_experiment(fixture_cfg(), tmp_path, force=True)
    assert not forced.skipped and forced.metrics == first.metrics  # deterministic by seed


@dataclass
class FailParams:
    fail: bool = True


@register_experiment("failing_fixture", params=FailParams)
def failing_fixture(cfg, run_dir: Path, ctx) -> dict[str, float]:
    ctx.log(0, {"loss": 1.0})
    if cfg.params.fail:
        raise RuntimeError("boom")
    return {"fit/r2": 1.0}


def test_failed_run_is_not_done_and_runs_again(tmp_path: Path) -> None:
    cfg = make_config({"name": "f", "kind": "failing_fixture"})
    with pytest.raises(RuntimeError, match="boom"):
        run_experiment(cfg, tmp_path)
    (run_dir,) = tmp_path.iterdir()
    assert (run_dir / "config.yaml").exists() and not (run_dir / "metrics.json").exists()
    with pytest.raises(RuntimeError, match="boom"):
        run_experiment(cfg, tmp_path)  # not skipped


def test_prune_hook_stops_run_without_metrics(tmp_path: Path) -> None:
    seen: list[int] = []

    def hook(step: int, value: float) -> bool:
        seen.append(step)
        return step == 2

    with pytest.raises(RunPrunedError, match="pruned at step 2"):
        run_experiment(fixture_cfg(), tmp_path, prune_hook=hook)
    assert seen == [0, 1, 2]
    (run_dir,) = tmp_path.iterdir()
    assert not (run_dir / "metrics.json").exists()
    assert len((run_dir / "curves.csv").read_text().splitlines()) == 1 + 3  # header + 3 steps


def test_wandb_offline_writes_a_run_folder(tmp_path: Path) -> None:
    run_experiment(fixture_cfg(), tmp_path / "suite", wandb_mode="offline")
    assert list((tmp_path / "wandb").glob("offline-run-*"))


def test_suites_expand_rows_times_seeds() -> None:
    jobs = expand_suite(get_suite("ablations"), preset="cpu", data="synthetic", seeds=3,
                        overrides=("params.epochs=2",))
    rows = ["fully supervised", "baseline", "+SPG", "+SPG+RSC", "+SPG+RSC+PVC (EMA)"]
    assert [(j.row, j.seed) for j in jobs] == [(r, s) for r in rows for s in range(3)]
    full, last = jobs[0].cfg, jobs[-1].cfg
    assert (full.kind, full.params.supervision, full.params.spg) == ("mwsis3d", "gt", False)
    assert (last.params.spg, last.params.rsc, last.params.pvc, last.params.ema) == (True,) * 4
    assert all(j.cfg.params.epochs == 2 and j.cfg.preset == "cpu" for j in jobs)
    smoke = expand_suite(get_suite("smoke"), preset="gpu", data="synthetic", seeds=3)
    assert len(smoke) == 5 and {j.cfg.preset for j in smoke} == {"smoke"}


def test_cli_fails_clearly_without_the_mwsis3d_kind(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    assert main(["--suite", "smoke", "--out", str(tmp_path), "--wandb", "disabled"]) == 2
    assert "experiment kind 'mwsis3d' is not available" in capsys.readouterr().err


def test_cli_rejects_bad_params_before_running(tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    argv = ["--suite", "fixture", "--out", str(tmp_path), "--wandb", "disabled", "params.nope=1"]
    assert main(argv) == 2
    assert "nope" in capsys.readouterr().err
    assert not (tmp_path / "fixture").exists()
