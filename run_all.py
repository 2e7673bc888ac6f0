"""Run benchmark suites and build their report: ``python run_all.py --suite ablations``.

Thin entry point: parse arguments, run each suite's grid as an Optuna study, build the report.
Extra ``key=value`` arguments override the experiment config of every run (OmegaConf dotlist).
``OMP_WAIT_POLICY`` defaults to ``PASSIVE`` (set before torch loads): with OpenMP threads spinning
while they wait, CPU training slowed down about 5x whenever other jobs shared the cores.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before anything imports torch

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from benchmarks.registry import ExperimentNotAvailableError, load_plugins  # noqa: E402
from benchmarks.suites import SUITES  # noqa: E402
from labeleff.errors import DataError  # noqa: E402
from reports.build import build_report  # noqa: E402
from sweeps.grid import SweepIncompleteError, SweepSpec, run_grid  # noqa: E402
from sweeps.search import run_search  # noqa: E402
from sweeps.storage import default_storage_url  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line arguments; suite choices are the registered suites plus ``all``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=[*sorted(SUITES), "all"], default=None,
                        help="suite to run (default: ablations; 'all': every suite but smoke)")
    parser.add_argument("--preset", choices=["smoke", "cpu", "gpu"], default="cpu")
    parser.add_argument("--data", default="synthetic", help="'synthetic' or 'kitti:PATH'")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per row (suite smoke: 1)")
    parser.add_argument("--rows", type=_row_names, default=(), metavar="NAME[,NAME]",
                        help="run only these rows of the suite (default: every row)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes on this machine")
    parser.add_argument("--storage", default=None,
                        help="Optuna storage URL (default: SQLite, journal file if --workers>1)")
    parser.add_argument("--wandb", choices=["offline", "online", "disabled"], default="offline")
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--report-only", action="store_true", help="rebuild the report only")
    parser.add_argument("--force", action="store_true", help="re-run finished runs")
    parser.add_argument("--search", type=int, default=0, metavar="N",
                        help="run N trials of the suite's TPE search instead of its grid")
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    return parser.parse_args(argv)


def _row_names(text: str) -> tuple[str, ...]:
    """``"baseline,+SPG"`` -> ``("baseline", "+SPG")`` (blank names dropped)."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


def suites_of(choice: str) -> list[str]:
    """Suite names for a ``--suite`` choice."""
    return sorted(set(SUITES) - {"smoke"}) if choice == "all" else [choice]


def run(args: argparse.Namespace) -> None:
    """Run the chosen suites' grids (or searches), then build the report."""
    suites = suites_of(args.suite or "ablations")
    storage = args.storage or default_storage_url(args.out, args.workers)
    for name in [] if args.report_only else suites:
        if args.search:
            run_search(name, args.out, storage, args.search, preset=args.preset, data=args.data,
                       overrides=tuple(args.overrides), wandb_mode=args.wandb)
            continue
        spec = SweepSpec(name, str(args.out), storage, args.preset, args.data, args.seeds,
                         tuple(args.overrides), args.force, args.wandb, rows=args.rows)
        run_grid(spec, workers=args.workers)
    only = None if args.report_only and args.suite is None else suites
    report = build_report(args.out, wandb_mode=args.wandb, suites=only)
    print(report.summary)
    print(f"report: {report.index}")


def main(argv: list[str] | None = None) -> int:
    """CLI entry: returns the process exit status (0 ok, 1 incomplete sweep, 2 bad input)."""
    load_plugins()
    args = parse_args(argv)
    try:
        run(args)
    except (ExperimentNotAvailableError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SweepIncompleteError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
