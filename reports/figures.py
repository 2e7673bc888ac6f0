"""Seaborn figures (PDF + PNG): ablation bars, pseudo-label quality, curves, parameter curves.

Every figure shows the spread over seeds: bars with +-1 std error bars and the seeds as dots,
lines with a +-1 std band.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from benchmarks.io import atomic_save_figure  # noqa: E402
from reports.metrics_catalog import describe  # noqa: E402

MAX_CURVE_PANELS = 6


def save(figure: plt.Figure, stem: Path) -> list[Path]:
    """Write ``stem.pdf`` and ``stem.png`` atomically, close the figure, return both paths."""
    paths = [stem.with_suffix(".pdf"), stem.with_suffix(".png")]
    for path in paths:
        atomic_save_figure(figure, path)
    plt.close(figure)
    return paths


def ablation_bars(long: pd.DataFrame, metric: str, row_order: list[str], stem: Path) -> list[Path]:
    """Horizontal bars of ``metric`` per row (mean, +-1 std over seeds, seeds as dots).

    Args:
        long: columns ``row, seed, metric, value`` (stored units).
        metric: the metric key to plot.
        row_order: bar order.
        stem: output path without suffix.
    """
    info = describe(metric)
    data = long[long["metric"] == metric].assign(shown=lambda d: d["value"] * info.scale)
    figure, ax = plt.subplots(figsize=(6, 0.5 * len(row_order) + 1.2))
    sns.barplot(data=data, x="shown", y="row", order=row_order, errorbar="sd", ax=ax,
                color="#8fb3d9", capsize=0.2)
    sns.stripplot(data=data, x="shown", y="row", order=row_order, ax=ax, color="black", size=3)
    ax.set(xlabel=info.header, ylabel="")
    return save(figure, stem)


PSEUDO_MEASURES = ("pseudo/precision", "pseudo/recall", "pseudo/iou")


def pseudo_quality_bars(long: pd.DataFrame, row_order: list[str], stem: Path) -> list[Path]:
    """Grouped bars of ``pseudo/{precision,recall,iou}`` per row (each row trains on its own
    pseudo-label stage), with seed spread."""
    data = long[long["metric"].isin(PSEUDO_MEASURES)]
    data = data.assign(measure=data["metric"].str.split("/").str[1], shown=data["value"] * 100)
    rows = [row for row in row_order if row in set(data["row"])]
    figure, ax = plt.subplots(figsize=(1.6 * len(rows) + 2, 3.4))
    sns.barplot(data=data, x="row", y="shown", hue="measure", order=rows, errorbar="sd", ax=ax,
                capsize=0.1)
    ax.set(xlabel="training labels of the row", ylabel=describe("pseudo/iou").group_title)
    ax.tick_params(axis="x", labelrotation=20)
    return save(figure, stem)


def training_curves(curves: pd.DataFrame, stem: Path) -> list[Path]:
    """Step-wise scalars: mean over seeds per row with a +-1 std band; one panel per scalar.

    Args:
        curves: columns ``row, step, scalar, value``.
        stem: output path without suffix.
    """
    scalars = list(dict.fromkeys(curves["scalar"]))[:MAX_CURVE_PANELS]
    figure, axes = plt.subplots(1, len(scalars), figsize=(4.5 * len(scalars), 3.4), squeeze=False)
    for ax, scalar in zip(axes[0], scalars, strict=True):
        sns.lineplot(data=curves[curves["scalar"] == scalar], x="step", y="value", hue="row",
                     errorbar="sd", ax=ax)
        ax.set(title=scalar, xlabel="training step", ylabel=scalar)
    return save(figure, stem)


def param_curve(long: pd.DataFrame, param: str, metric: str, stem: Path) -> list[Path]:
    """``metric`` against a numeric parameter (e.g. a label ratio): mean with a +-1 std band.

    Args:
        long: columns ``<param>, seed, metric, value`` (and optionally ``row``).
        param: the numeric column for the x axis, e.g. ``params.label_ratio``.
        metric: the metric key for the y axis.
        stem: output path without suffix.
    """
    info = describe(metric)
    data = long[long["metric"] == metric].assign(shown=lambda d: d["value"] * info.scale)
    figure, ax = plt.subplots(figsize=(5, 3.4))
    sns.lineplot(data=data, x=param, y="shown", errorbar="sd", marker="o", ax=ax)
    ax.set(xlabel=param, ylabel=info.header)
    return save(figure, stem)
