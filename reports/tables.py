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
        Columns ``row, metric, header, mean, std, n, best``. ``best`` marks the best mean of its
        column as displayed (2 decimals), unless every row of the column ties for it.
    """
    stats = long.groupby(["row", "metric"], sort=False)["value"].agg(["mean", "std", "count"])
    stats = stats.reset_index().rename(columns={"count": "n"})
    info = stats["metric"].map(describe)
    scale = info.map(lambda i: i.scale)
    stats["mean"], stats["std"] = stats["mean"] * scale, stats["std"] * scale
    stats["header"] = info.map(lambda i: i.header)
    higher = stats["metric"].map(lambda k: describe(k).higher_is_better)
    signed = stats["mean"].where(higher, -stats["mean"])
    best = signed.round(2) == signed.groupby(stats["metric"]).transform("max").round(2)
    n_best = best.groupby(stats["metric"]).transform("sum")
    n_rows = stats.groupby("metric")["row"].transform("size")
    stats["best"] = best & ((n_best == 1) | (n_best < n_rows))
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


def column_titles(metrics: list[str]) -> tuple[str, list[str]]:
    """(family title shown once, short column names): items when all metrics share a family.

    With several families the title is empty and every column keeps its full header.
    """
    infos = [describe(m) for m in metrics]
    titles = list(dict.fromkeys(i.group_title for i in infos))
    if len(titles) == 1:
        return titles[0], [i.item for i in infos]
    return "", [i.header for i in infos]


def to_markdown(stats: pd.DataFrame, metrics: list[str], caption: str) -> str:
    """Markdown table: family title line, one short-named column per metric, best in bold."""

    def cell(r) -> str:
        text = format_cell(r.mean, r.std, r.n)
        return f"**{text}**" if r.best else text

    wide = _pivot(stats, metrics, cell)
    title, names = column_titles(metrics)
    headers = ["row", *names]
    lines = [f"*{caption}*", "", *([f"**{title}**", ""] if title else []),
             "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join([str(row), *wide.loc[row]]) + " |" for row in wide.index]
    return "\n".join(lines) + "\n"


def to_text(stats: pd.DataFrame, metrics: list[str], heading: str) -> str:
    """Aligned plain-text table for the terminal: heading and family title, then mean ± std.

    Args:
        stats: output of :func:`summarize`.
        metrics: metric keys, one column each, in order.
        heading: first line (e.g. suite, preset, data and seeds).
    """
    wide = _pivot(stats, metrics, lambda r: format_cell(r.mean, r.std, r.n))
    title, names = column_titles(metrics)
    cells = [["row", *names]] + [[str(row), *wide.loc[row]] for row in wide.index]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    lines = [heading, *([title] if title else [])]
    lines += ["  ".join(text.ljust(w) if i == 0 else text.rjust(w)
                        for i, (text, w) in enumerate(zip(line, widths, strict=True))).rstrip()
              for line in cells]
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
