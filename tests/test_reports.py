"""Report from a results folder of real tiny ``mwsis3d`` runs: tables, figures, LaTeX, CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from benchmarks.runner import run_experiment
from benchmarks.suites import get_suite
from reports.build import build_report
from reports.metrics_catalog import describe, is_summary_key, metric_order
from reports.tables import summarize
from run_all import main
from tests.tiny import tiny_cfg

# Row -> (smoke-suite row whose overrides it uses, training frames); the third row is not a row
# of the suite. Pseudo-label quality is pooled over the training frames, so it differs by row.
ROWS = {"baseline": ("baseline", 1), "+SPG": ("+SPG", 2), "+SPG 3 frames": ("+SPG", 3)}
GROUP = "smoke-smoke-synthetic"


def _cfg(row: str, seed: int, *extra: str):
    suite_row, frames = ROWS[row]
    declared = next(r for r in get_suite("smoke").rows if r.name == suite_row)
    return tiny_cfg(row, *declared.overrides, f"params.num_train={frames}", *extra, seed=seed)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six real runs (3 rows x 2 seeds) under ``<tmp>/smoke``."""
    out = tmp_path_factory.mktemp("results")
    for row in ROWS:
        for seed in (0, 1):
            run_experiment(_cfg(row, seed), out / "smoke")
    return out


def _values(out: Path, key: str) -> dict[str, list[float]]:
    values: dict[str, list[float]] = {}
    for path in (out / "smoke").glob("*/metrics.json"):
        row = OmegaConf.load(path.parent / "config.yaml").name
        values.setdefault(row, []).append(json.loads(path.read_text())[key])
    return values


def _column(markdown: str, header: str) -> dict[str, str]:
    """Row name -> cell of the Markdown table column titled ``header``."""
    lines = [li for li in markdown.splitlines() if li.startswith("| ")]
    index = [c.strip() for c in lines[0].strip("|").split("|")].index(header)
    cells = [[c.strip() for c in li.strip("|").split("|")] for li in lines[1:]]
    return {cell[0]: cell[index] for cell in cells}


def test_tables_hold_mean_std_and_bold_unique_best(results: Path) -> None:
    build_report(results)
    markdown = (results / "tables" / f"{GROUP}-pseudo.md").read_text()
    iou = {row: 100 * np.array(v) for row, v in _values(results, "pseudo/Vehicle/iou").items()}
    means = {row: round(v.mean(), 2) for row, v in iou.items()}
    assert len(set(means.values())) == 3  # the data make the best unique
    column = _column(markdown, "Vehicle iou")
    for row, values in iou.items():
        cell = f"{values.mean():.2f} ± {values.std(ddof=1):.2f}"
        assert column[row] == (f"**{cell}**" if means[row] == max(means.values()) else cell)
    assert markdown.count(describe("pseudo/Vehicle/iou").group_title) == 1


def test_table_headers_are_short(results: Path) -> None:
    build_report(results)
    markdown = (results / "tables" / f"{GROUP}-ap3d.md").read_text()
    header = next(li for li in markdown.splitlines() if li.startswith("| row"))
    assert header.startswith("| row | mean | Vehicle | Pedestrian | Cyclist | AP50 |")
    assert "AP50 Cyclist" in header and "AP75" in header
    assert markdown.count(describe("ap3d/mean").group_title) == 1
    latex = (results / "tables" / f"{GROUP}-ap3d.tex").read_text()
    for token in (r"\toprule", r"\midrule", r"\bottomrule", r"\pm", r"\label{tab:",
                  r"\multicolumn{12}{c}", "preset smoke", "data synthetic"):
        assert token in latex
    rows = [line.split(" & ")[0] for line in latex.splitlines() if " & " in line][2:]
    assert rows == ["baseline", r"+SPG", "+SPG 3 frames"]  # suite order first, then others
    csv = pd.read_csv(results / "tables" / f"{GROUP}-pseudo.csv")
    assert list(csv.columns) == ["row", "metric", "header", "mean", "std", "n", "best"]
    assert len(csv) == 3 * csv["metric"].nunique() and set(csv["n"]) == {2}


def test_best_is_bold_unless_the_whole_column_ties() -> None:
    long = pd.DataFrame({"row": ["a", "b", "c"] * 3, "seed": 0,
                         "metric": ["ap3d/mean"] * 3 + ["ap3d/Vehicle"] * 3 + ["loss/x"] * 3,
                         "value": [0.1, 0.3, 0.2, 0.0, 0.0, 0.0, 2.0, 1.0, 1.0]})
    best = summarize(long, ["a", "b", "c"]).set_index(["metric", "row"])["best"]
    assert best["ap3d/mean"].tolist() == [False, True, False]
    assert best["ap3d/Vehicle"].tolist() == [False, False, False]
    assert best["loss/x"].tolist() == [False, True, True]  # lower is better; a partial tie


def test_figures_and_index_exist(results: Path) -> None:
    report = build_report(results)
    for stem in ("ablation", "pseudo-quality", "curves", "params-num-train"):
        for suffix in (".pdf", ".png"):
            path = results / "figures" / f"{GROUP}-{stem}{suffix}"
            assert path.stat().st_size > 0, path
    index = report.index.read_text()
    assert all(str(p.relative_to(results)) in index for p in report.files)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_latex_table_compiles(results: Path, tmp_path: Path) -> None:
    build_report(results)
    table = results / "tables" / f"{GROUP}-pseudo.tex"
    doc = tmp_path / "doc.tex"
    doc.write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
                   f"\\input{{{table}}}\n\\end{{document}}\n")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "doc.pdf").exists()


def test_cli_report_only_prints_the_primary_family(results: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    shutil.rmtree(results / "tables", ignore_errors=True)
    assert main(["--report-only", "--out", str(results), "--wandb", "disabled"]) == 0
    assert (results / "tables" / f"{GROUP}-ap3d.tex").exists()
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"{GROUP}: mean ± std over 2 seed(s)"
    assert lines[1] == describe("ap3d/mean").group_title
    assert lines[2].split() == ["row", "mean", "Vehicle", "Pedestrian", "Cyclist", "AP50", "AP75"]
    assert [li.split("  ")[0] for li in lines[3:6]] == list(ROWS)
    assert "pseudo" not in out.lower() and "**" not in out


def test_catalog_names_the_exact_metric() -> None:
    info = describe("ap3d/Vehicle")
    assert info.header.startswith("3D point mask AP@[.5:.95]") and info.header.endswith(
        "(%): Vehicle")
    assert info.scale == 100 and info.higher_is_better
    assert describe("ap3d/AP50/mean").item == "AP50"
    assert describe("ap3d/AP50/Vehicle").item == "AP50 Vehicle"
    assert not describe("loss/total").higher_is_better
    keys = ["ap3d/Cyclist", "pseudo/spg/iou", "ap3d/mean", "ap2d/mean", "ap3d/Vehicle"]
    assert metric_order(keys) == ["ap3d/mean", "ap3d/Vehicle", "ap3d/Cyclist", "ap2d/mean",
                                  "pseudo/spg/iou"]
    summary = ["ap3d/mean", "ap3d/Vehicle", "ap3d/AP50/mean"]
    assert [k for k in [*summary, "ap3d/AP50/Vehicle"] if is_summary_key(k)] == summary


def test_report_uses_latest_run_per_row_and_seed(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    shutil.copytree(results / "smoke", out / "smoke")
    key = "pseudo/iou"
    newer = run_experiment(_cfg("+SPG", 0, "params.num_train=1"), out / "smoke").metrics[key]
    build_report(out)
    csv = pd.read_csv(out / "tables" / f"{GROUP}-pseudo.csv")
    mean = csv[(csv["row"] == "+SPG") & (csv["metric"] == key)]["mean"].item()
    older = json.loads(next((out / "smoke").glob("spg-seed1-*/metrics.json")).read_text())[key]
    assert mean == pytest.approx(100 * (newer + older) / 2)
    assert "1 older run(s)" in (out / "report.md").read_text()
