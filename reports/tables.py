"""Summary tables (mean +- std over seeds, best per column) as LaTeX (booktabs), Markdown, CSV."""

from __future__ import annotations

import math

import pandas as pd

from reports.metrics_catalog import describe

LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                 "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                 "^": r"\textasciicircum{}", "±": r"$\pm$", "–": "--"}


def summarize(long: pd.DataFrame, row_order: list[str]) -> pd.DataFrame:
    """Mean, sample std (ddof 1) and seed count per (row, metric), in display units.

    Args:
        long: columns ``row, seed, metric, value`` (stored units).
        row_order: rows in table order.

    Returns:
        Columns ``row, metric, header, mean, std, n, best`` (``best``: best mean of its column).
    """
    stats = long.groupby(["row", "metric"], sort=False)["value"].agg(["mean", "std", "count"])
    stats = stats.reset_index().rename(columns={"count": "n"})
    info = stats["metric"].map(describe)
    scale = info.map(lambda i: i.scale)
    stats["mean"], stats["std"] = stats["mean"] * scale, stats["std"] * scale
    stats["header"] = info.map(lambda i: i.header)
    higher = stats["metric"].map(lambda k: describe(k).higher_is_better)
    signed = stats["mean"].where(higher, -stats["mean"])
    stats["best"] = signed.round(6) == signed.groupby(stats["metric"]).transform("max").round(6)
    stats["row"] = pd.Categorical(stats["row"], categories=row_order, ordered=True)
    return stats.sort_values(["row"], kind="stable").reset_index(drop=True)


def format_cell(mean: float, std: float, n: int) -> str:
    """``12.34 ± 0.56`` (plain mean when a single seed has no spread)."""
    if n < 2 or math.isnan(std):
        return f"{mean:.2f}"
    return f"{mean:.2f} ± {std:.2f}"


def _pivot(stats: pd.DataFrame, metrics: list[str], cell, missing: str = "–") -> pd.DataFrame:
    table = stats.assign(cell=[cell(r) for r in stats.itertuples()])
    wide = table.pivot(index="row", columns="metric", values="cell")
    return wide.reindex(columns=metrics).fillna(missing)


def to_markdown(stats: pd.DataFrame, metrics: list[str], caption: str) -> str:
    """Markdown table: one column per metric (full header), best mean in bold."""

    def cell(r) -> str:
        text = format_cell(r.mean, r.std, r.n)
        return f"**{text}**" if r.best else text

    wide = _pivot(stats, metrics, cell)
    headers = ["row", *(describe(m).header for m in metrics)]
    lines = [f"*{caption}*", "", "| " + " | ".join(headers) + " |",
             "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join([str(row), *wide.loc[row]]) + " |" for row in wide.index]
    return "\n".join(lines) + "\n"


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters of plain text."""
    return "".join(LATEX_SPECIAL.get(char, char) for char in text)


def to_latex(stats: pd.DataFrame, metrics: list[str], caption: str, label: str) -> str:
    """booktabs table: family header over its item columns, ``$m \\pm s$``, best in bold."""

    def cell(r) -> str:
        body = format_cell(r.mean, r.std, r.n).replace("±", r"\pm")
        return rf"$\mathbf{{{body}}}$" if r.best else f"${body}$"

    wide = _pivot(stats, metrics, cell, missing="--")
    infos = [describe(m) for m in metrics]
    groups = [(title, sum(1 for i in infos if i.group_title == title))
              for title in dict.fromkeys(i.group_title for i in infos)]
    tops, rules, start = [], [], 2
    for title, width in groups:
        tops.append(rf"\multicolumn{{{width}}}{{c}}{{{latex_escape(title)}}}")
        rules.append(rf"\cmidrule(lr){{{start}-{start + width - 1}}}")
        start += width
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{latex_escape(caption)}}}",
             rf"\label{{{label}}}", r"\begin{tabular}{l" + "c" * len(metrics) + "}", r"\toprule",
             " & " + " & ".join(tops) + r" \\", " ".join(rules),
             "Row & " + " & ".join(latex_escape(i.item) for i in infos) + r" \\", r"\midrule"]
    lines += [latex_escape(str(row)) + " & " + " & ".join(wide.loc[row]) + r" \\"
              for row in wide.index]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def to_csv(stats: pd.DataFrame) -> str:
    """Machine-readable summary: ``row, metric, header, mean, std, n, best`` (display units)."""
    return stats[["row", "metric", "header", "mean", "std", "n", "best"]].to_csv(index=False)
