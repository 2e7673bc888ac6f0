"""Build the report from a results folder alone: tables, figures and ``report.md``.

Layout written under the results root: ``tables/<group>-<family>.{tex,md,csv}``,
``figures/<group>-<figure>.{pdf,png}`` and ``report.md``, where ``<group>`` is
``<suite>-<preset>-<data>`` (one table set per suite, preset and data source).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchmarks.config import slugify
from benchmarks.io import atomic_write_text
from benchmarks.suites import SUITES, get_suite
from benchmarks.tracking import start_run
from reports import figures, tables
from reports.collect import collect
from reports.metrics_catalog import describe, is_summary_key, metric_order

MIN_PARAM_VALUES = 3


@dataclass
class Report:
    """What :func:`build_report` wrote.

    Attributes:
        index: the ``report.md`` path.
        files: every table and figure written.
        summary: plain text for the terminal: per group, the headline keys (mean, classes,
            sub-metric means) of the family holding the suite's primary metric.
    """

    index: Path
    files: list[Path] = field(default_factory=list)
    summary: str = ""


def _row_order(suite: str, rows: pd.Series) -> list[str]:
    """Rows in the suite's declared order (when registered), others after, by name."""
    declared = [r.name for r in get_suite(suite).rows] if suite in SUITES else []
    present = set(rows)
    return [r for r in declared if r in present] + sorted(present - set(declared))


def _primary_metric(suite: str, metrics: list[str]) -> str:
    wanted = get_suite(suite).metric if suite in SUITES else None
    return wanted if wanted in metrics else metrics[0]


def _numeric_varying_params(group: pd.DataFrame) -> list[str]:
    """``params.*`` columns that are numeric and take at least ``MIN_PARAM_VALUES`` values."""
    columns = [c for c in group.columns if c.startswith("params.")]
    return [c for c in columns if pd.api.types.is_numeric_dtype(group[c])
            and not pd.api.types.is_bool_dtype(group[c])
            and group[c].nunique() >= MIN_PARAM_VALUES]


def _write_tables(long: pd.DataFrame, rows: list[str], name: str, caption: str,
                  folder: Path) -> tuple[list[Path], dict[str, str]]:
    """One table per metric family; returns the files and each family's Markdown table."""
    keys = metric_order(list(dict.fromkeys(long["metric"])))
    stats = tables.summarize(long, rows)
    files, markdowns = [], {}
    for family in dict.fromkeys(describe(k).family for k in keys):
        metrics = [k for k in keys if describe(k).family == family]
        part = stats[stats["metric"].isin(metrics)]
        stem, label = folder / f"{name}-{slugify(family)}", f"tab:{name}-{slugify(family)}"
        outputs = {".tex": tables.to_latex(part, metrics, caption, label),
                   ".md": tables.to_markdown(part, metrics, caption), ".csv": tables.to_csv(part)}
        for suffix, content in outputs.items():
            atomic_write_text(stem.with_suffix(suffix), content)
            files.append(stem.with_suffix(suffix))
        markdowns[family] = outputs[".md"]
    return files, markdowns


def _summary(long: pd.DataFrame, rows: list[str], metric: str, heading: str) -> str:
    """Terminal table of the headline keys of ``metric``'s family (see ``is_summary_key``)."""
    family = describe(metric).family
    keys = [k for k in metric_order(list(dict.fromkeys(long["metric"])))
            if describe(k).family == family and is_summary_key(k)]
    part = long[long["metric"].isin(keys)]
    return tables.to_text(tables.summarize(part, rows), keys, heading)


def _write_figures(long: pd.DataFrame, curves: pd.DataFrame, group: pd.DataFrame,
                   rows: list[str], name: str, metric: str, folder: Path) -> list[Path]:
    """Ablation bars, pseudo-label quality (if any), training curves (if any), param curves."""
    files = figures.ablation_bars(long, metric, rows, folder / f"{name}-ablation")
    if long["metric"].isin(figures.PSEUDO_MEASURES).any():
        files += figures.pseudo_quality_bars(long, rows, folder / f"{name}-pseudo-quality")
    if not curves.empty:
        files += figures.training_curves(curves, folder / f"{name}-curves")
    for param in _numeric_varying_params(group):
        files += figures.param_curve(long, param, metric, folder / f"{name}-{slugify(param)}")
    return files


def _group_section(results, group: pd.DataFrame, out_dir: Path) -> tuple[str, list[Path], str]:
    """Tables and figures of one (suite, preset, data) group -> (markdown, files, summary)."""
    suite, preset, data = group.iloc[0][["suite", "preset", "data"]]
    name = f"{suite}-{preset}-{slugify(data)}"
    long = results.metrics.merge(group, on="run")
    rows = _row_order(suite, group["row"])
    seeds = "/".join(map(str, sorted(set(group.groupby("row")["seed"].nunique()))))
    caption = (f"Suite {suite}, preset {preset}, data {data}: mean ± std over "
               f"{seeds} seed(s), last checkpoint; best mean in bold.")
    files, markdowns = _write_tables(long, rows, name, caption, out_dir / "tables")
    curves = results.curves.merge(group[["run", "row"]], on="run")
    metric = _primary_metric(suite, list(dict.fromkeys(long["metric"])))
    pictures = _write_figures(long, curves, group, rows, name, metric, out_dir / "figures")
    links = [f"- [{p.relative_to(out_dir)}]({p.relative_to(out_dir)})" for p in files + pictures]
    images = [f"![{p.stem}]({p.relative_to(out_dir)})" for p in pictures if p.suffix == ".png"]
    text = "\n".join([f"## {name}", "", *markdowns.values(), *images, "", "Files:", *links, ""])
    summary = _summary(long, rows, metric, f"{name}: mean ± std over {seeds} seed(s)")
    return text, files + pictures, summary


def build_report(out_dir: Path, wandb_mode: str = "disabled",
                 suites: list[str] | None = None) -> Report:
    """Rebuild every table and figure from ``out_dir``'s finished runs.

    Args:
        out_dir: results root holding ``<suite>/<run>/`` folders.
        wandb_mode: when not ``disabled``, the tables are also logged as ``wandb.Table``.
        suites: restrict to these suites (None: every suite found).

    Raises:
        DataError: no finished run, or an unreadable run file.
    """
    results = collect(out_dir)
    runs, superseded = latest_runs(results.runs, suites)
    report = Report(out_dir / "report.md")
    sections = ["# labeleff report", "", "Built from the run folders under this directory "
                f"(latest finished run per suite, preset, data, row and seed; {superseded} older "
                "run(s) with other configs ignored; TPE search folders are not tabulated).", ""]
    for _, group in runs.groupby(["suite", "preset", "data"], sort=True):
        text, files, summary = _group_section(results, group, out_dir)
        sections.append(text)
        report.files += files
        report.summary += summary + "\n"
    atomic_write_text(report.index, "\n".join(sections))
    _log_tables(report.files, out_dir, wandb_mode)
    return report


def latest_runs(runs: pd.DataFrame, suites: list[str] | None) -> tuple[pd.DataFrame, int]:
    """Keep the newest finished run per (suite, preset, data, row, seed); drop search folders.

    Returns:
        The kept runs and the number of older runs dropped.
    """
    runs = runs[~runs["suite"].str.endswith("-search")]
    if suites is not None:
        runs = runs[runs["suite"].isin(suites)]
    latest = runs.sort_values("finished").drop_duplicates(
        ["suite", "preset", "data", "row", "seed"], keep="last")
    return latest, len(runs) - len(latest)


def _log_tables(files: list[Path], out_dir: Path, wandb_mode: str) -> None:
    """Log every CSV table as a ``wandb.Table`` in one W&B run (job type ``report``)."""
    csvs = [p for p in files if p.suffix == ".csv"]
    if wandb_mode == "disabled" or not csvs:
        return
    tracker = start_run(wandb_mode, out_dir, name="report", group="report", job_type="report",
                        config={})
    tracker.log_tables({p.stem: pd.read_csv(p) for p in csvs})
    tracker.finish({}, [])
