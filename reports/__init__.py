"""Reports: results folder -> LaTeX / Markdown / CSV tables, seaborn figures and report.md."""
