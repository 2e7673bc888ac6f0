"""Report from a results folder made by real fixture runs: tables, figures, LaTeX, CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

import tests.fixture_linear  # noqa: F401 -- registers the fixture kind and suite
from benchmarks.config import make_config
from benchmarks.runner import run_experiment
from reports.build import build_report
from reports.metrics_catalog import describe, metric_order
from run_all import main

ROWS = {"lr 0.02": 0.02, "lr 0.1": 0.1, "lr 0.05": 0.05}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six real fixture runs (3 rows x 2 seeds) under ``<tmp>/fixture``."""
    out = tmp_path_factory.mktemp("results")
    for row, lr in ROWS.items():
        for seed in (0, 1):
            cfg = make_config({"name": row, "kind": "linear_fixture", "seed": seed},
                              ["params.steps=8", f"params.lr={lr}"])
            run_experiment(cfg, out / "fixture")
    return out


def _r2_by_row(out: Path) -> dict[str, list[float]]:
    values: dict[str, list[float]] = {}
    for path in (out / "fixture").glob("*/metrics.json"):
        row = OmegaConf.load(path.parent / "config.yaml").name
        values.setdefault(row, []).append(json.loads(path.read_text())["fit/r2"])
    return values


def test_tables_hold_mean_std_and_bold_best(results: Path) -> None:
    build_report(results)
    r2 = _r2_by_row(results)
    best = max(r2, key=lambda row: np.mean(r2[row]))
    markdown = (results / "tables" / "fixture-cpu-synthetic-fit.md").read_text()
    for row, values in r2.items():
        cell = f"{np.mean(values):.2f} ± {np.std(values, ddof=1):.2f}"
        line = next(li for li in markdown.splitlines() if li.startswith(f"| {row} |"))
        assert (f"**{cell}**" in line) == (row == best), line
        assert cell in line
    latex = (results / "tables" / "fixture-cpu-synthetic-fit.tex").read_text()
    for token in (r"\toprule", r"\midrule", r"\bottomrule", r"\pm", r"\mathbf", r"\label{tab:",
                  "preset cpu", "data synthetic"):
        assert token in latex
    rows = [line.split(" & ")[0] for line in latex.splitlines() if " & " in line][2:]
    assert rows == ["lr 0.02", "lr 0.1", "lr 0.05"]  # suite order first, then other rows
    csv = (results / "tables" / "fixture-cpu-synthetic-fit.csv").read_text().splitlines()
    assert csv[0] == "row,metric,header,mean,std,n,best" and len(csv) == 1 + 3 * 2


def test_figures_and_index_exist(results: Path) -> None:
    report = build_report(results)
    for stem in ("ablation", "pseudo-quality", "curves", "params-lr"):
        for suffix in (".pdf", ".png"):
            path = results / "figures" / f"fixture-cpu-synthetic-{stem}{suffix}"
            assert path.stat().st_size > 0, path
    index = report.index.read_text()
    assert all(str(p.relative_to(results)) in index for p in report.files)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_latex_table_compiles(results: Path, tmp_path: Path) -> None:
    build_report(results)
    table = results / "tables" / "fixture-cpu-synthetic-pseudo.tex"
    doc = tmp_path / "doc.tex"
    doc.write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
                   f"\\input{{{table}}}\n\\end{{document}}\n")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "doc.pdf").exists()


def test_cli_report_only_rebuilds_from_results(results: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    shutil.rmtree(results / "tables", ignore_errors=True)
    assert main(["--report-only", "--out", str(results), "--wandb", "disabled"]) == 0
    assert (results / "tables" / "fixture-cpu-synthetic-fit.tex").exists()
    assert "| lr 0.02 |" in capsys.readouterr().out


def test_catalog_names_the_exact_metric() -> None:
    info = describe("ap3d/Vehicle")
    assert info.header.startswith("3D point mask AP@[.5:.95]") and info.header.endswith(
        "(%): Vehicle")
    assert info.scale == 100 and info.higher_is_better
    assert not describe("loss/total").higher_is_better
    keys = ["ap3d/Cyclist", "pseudo/spg/iou", "ap3d/mean", "ap2d/mean", "ap3d/Vehicle"]
    assert metric_order(keys) == ["ap3d/mean", "ap3d/Vehicle", "ap3d/Cyclist", "ap2d/mean",
                                  "pseudo/spg/iou"]


def test_report_uses_latest_run_per_row_and_seed(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    shutil.copytree(results / "fixture", out / "fixture")
    cfg = make_config({"name": "lr 0.1", "kind": "linear_fixture", "seed": 0},
                      ["params.steps=3", "params.lr=0.1"])
    newer = run_experiment(cfg, out / "fixture").metrics["fit/r2"]
    build_report(out)
    csv = (out / "tables" / "fixture-cpu-synthetic-fit.csv").read_text().splitlines()
    row = next(line for line in csv if line.startswith("lr 0.1,fit/r2"))
    older = json.loads(next((out / "fixture").glob("lr-0-1-seed1-*/metrics.json")).read_text())
    assert float(row.split(",")[3]) == pytest.approx((newer + older["fit/r2"]) / 2)
    assert "1 older run(s)" in (out / "report.md").read_text()
