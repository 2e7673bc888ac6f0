"""Configs, registry, results-folder naming, atomic writes, skip of finished runs, suites, CLI.

Every run is the real ``mwsis3d`` experiment at tiny sizes (``tests.tiny``).
"""

from __future__ import annotations

import importlib
import json
import os
import re
from dataclasses import fields
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import run_all
from benchmarks.config import parse_data, run_dir_name, validate_params
from benchmarks.context import RunPrunedError
from benchmarks.io import atomic_write_text
from benchmarks.registry import ExperimentNotAvailableError, get_experiment, register_experiment
from benchmarks.runner import run_experiment
from benchmarks.suites import MWSIS3D_SEARCH_SPACE, expand_suite, get_suite
from labeleff.errors import DataError
from labeleff.mwsis.train3d import MWSIS3DParams
from run_all import main
from tests.tiny import TINY, tiny_cfg

NAME = "+SPG+RSC (EMA)"


def _lasting(metrics: dict[str, float | None]) -> dict[str, float | None]:
    """Metrics without wall times (which differ between identical runs)."""
    return {k: v for k, v in metrics.items() if not k.startswith("time/")}


def test_overrides_and_validation() -> None:
    cfg = validate_params(tiny_cfg(NAME, "seed=2", "preset=cpu", "params.lr=0.3"),
                          MWSIS3DParams)
    assert (cfg.seed, cfg.preset, cfg.params.lr, cfg.params.steps) == (2, "cpu", 0.3, 2)
    assert cfg.params.rsc_ratio == MWSIS3DParams().rsc_ratio  # default filled in
    with pytest.raises(DataError, match="preset"):
        tiny_cfg(NAME, "preset=huge")
    with pytest.raises(DataError, match="unknown_key"):
        validate_params(tiny_cfg(NAME, "params.unknown_key=1"), MWSIS3DParams)
    with pytest.raises(DataError, match="invalid field"):
        tiny_cfg(NAME, "seed=abc")


def test_parse_data() -> None:
    assert parse_data("synthetic") == ("synthetic", None)
    assert parse_data("kitti:/data/kitti") == ("kitti", Path("/data/kitti"))
    with pytest.raises(DataError, match="kitti:PATH"):
        parse_data("waymo")


def test_run_dir_name_is_slug_seed_and_config_hash() -> None:
    name = run_dir_name(tiny_cfg(NAME))
    assert re.fullmatch(r"spg-rsc-ema-seed0-[0-9a-f]{8}", name)
    assert run_dir_name(tiny_cfg(NAME)) == name
    assert run_dir_name(tiny_cfg(NAME, "params.lr=0.2")) != name


def test_unknown_kind_fails_clearly() -> None:
    with pytest.raises(ExperimentNotAvailableError,
                       match="experiment kind 'no_such_kind' is not available"):
        get_experiment("no_such_kind")


def test_registering_another_function_under_a_taken_kind_fails() -> None:
    get_experiment("mwsis3d")
    with pytest.raises(ValueError, match="already registered"):
        register_experiment("mwsis3d")(lambda cfg, run_dir, ctx: {"x": 1.0})


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
    first = run_experiment(tiny_cfg(NAME), tmp_path)
    files = {p.name for p in first.run_dir.iterdir()}
    assert {"config.yaml", "metrics.json", "curves.csv", "pictures"} <= files
    assert OmegaConf.load(first.run_dir / "config.yaml").params.steps == 2
    assert json.loads((first.run_dir / "metrics.json").read_text()) == first.metrics
    assert {"ap3d/mean", "ap3d/AP50/mean", "miou3d/mean"} <= set(first.metrics)
    stamp = (first.run_dir / "metrics.json").stat().st_mtime_ns
    again = run_experiment(tiny_cfg(NAME), tmp_path)
    assert again.skipped and again.metrics == first.metrics
    assert (first.run_dir / "metrics.json").stat().st_mtime_ns == stamp
    forced = run_experiment(tiny_cfg(NAME), tmp_path, force=True)
    assert not forced.skipped
    assert _lasting(forced.metrics) == _lasting(first.metrics)  # deterministic by seed


def test_failed_run_is_not_done_and_runs_again(tmp_path: Path) -> None:
    cfg = tiny_cfg("kitti", f"data=kitti:{tmp_path / 'empty'}")
    with pytest.raises(DataError, match="no .bin point files"):
        run_experiment(cfg, tmp_path / "runs")
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "config.yaml").exists() and not (run_dir / "metrics.json").exists()
    with pytest.raises(DataError, match="no .bin point files"):
        run_experiment(cfg, tmp_path / "runs")  # not skipped


def test_prune_hook_stops_run_without_metrics(tmp_path: Path) -> None:
    seen: list[int] = []

    def hook(step: int, value: float) -> bool:
        seen.append(step)
        return step == 2

    cfg = tiny_cfg(NAME, "params.steps=4", "params.eval_every=1")
    with pytest.raises(RunPrunedError, match="pruned at step 2"):
        run_experiment(cfg, tmp_path, prune_hook=hook)
    assert seen == [1, 2]
    (run_dir,) = tmp_path.iterdir()
    assert not (run_dir / "metrics.json").exists()
    assert len((run_dir / "curves.csv").read_text().splitlines()) == 1 + 2  # header + 2 steps


def test_suites_expand_rows_times_seeds() -> None:
    jobs = expand_suite(get_suite("ablations"), preset="cpu", data="synthetic", seeds=3,
                        overrides=("params.steps=2",))
    rows = ["fully supervised", "baseline", "+SPG", "+SPG+RSC", "+SPG+RSC+PVC (EMA)"]
    assert [(j.row, j.seed) for j in jobs] == [(r, s) for s in range(3) for r in rows]
    full, last = jobs[0].cfg, jobs[-1].cfg
    assert (full.kind, full.params.supervision, full.params.spg) == ("mwsis3d", "gt", False)
    assert (last.params.spg, last.params.rsc, last.params.pvc, last.params.ema) == (True,) * 4
    assert all(j.cfg.params.steps == 2 and j.cfg.preset == "cpu" for j in jobs)
    smoke = expand_suite(get_suite("smoke"), preset="gpu", data="synthetic", seeds=3)
    assert len(smoke) == 5 and {j.cfg.preset for j in smoke} == {"smoke"}
    some = expand_suite(get_suite("smoke"), preset="cpu", data="synthetic", seeds=1,
                        rows=("+SPG", "baseline"))
    assert [j.row for j in some] == ["baseline", "+SPG"]  # suite order
    with pytest.raises(DataError, match="no row"):
        expand_suite(get_suite("smoke"), preset="cpu", data="synthetic", seeds=1,
                     rows=("+XYZ",))


def test_search_space_names_real_params() -> None:
    names = {f.name for f in fields(MWSIS3DParams)}
    assert {key.removeprefix("params.") for key in MWSIS3D_SEARCH_SPACE} <= names
    for job in expand_suite(get_suite("ablations"), preset="cpu", data="synthetic", seeds=1):
        validate_params(job.cfg, MWSIS3DParams)


def test_run_all_makes_openmp_wait_passively(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    importlib.reload(run_all)
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    importlib.reload(run_all)
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"  # the user's choice is kept


def test_cli_fails_clearly_on_an_unknown_kind(tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    argv = ["--suite", "smoke", "--out", str(tmp_path), "--wandb", "disabled", "kind=nope"]
    assert main(argv) == 2
    assert "experiment kind 'nope' is not available" in capsys.readouterr().err


def test_cli_rejects_bad_params_and_rows_before_running(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    argv = ["--suite", "smoke", "--out", str(tmp_path), "--wandb", "disabled"]
    assert main([*argv, "params.nope=1"]) == 2
    assert "nope" in capsys.readouterr().err
    assert main([*argv, "--rows", "baseline,+XYZ"]) == 2
    assert "+XYZ" in capsys.readouterr().err
    assert not (tmp_path / "smoke").exists()


def test_cli_smoke_row_with_wandb_offline(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["--suite", "smoke", "--rows", "baseline", "--out", str(tmp_path), "--wandb",
            "offline", *TINY]
    assert main(argv) == 0
    assert len(list((tmp_path / "smoke").glob("baseline-seed0-*/metrics.json"))) == 1
    assert len(list((tmp_path / "wandb").glob("offline-run-*"))) == 2  # the run and the report
    assert (tmp_path / "report.md").exists()
    assert (tmp_path / "tables" / "smoke-smoke-synthetic-ap3d.md").exists()
    out = capsys.readouterr().out
    assert "smoke-smoke-synthetic: mean ± std over 1 seed(s)" in out
    assert "AP50" in out and "AP50 Vehicle" not in out
