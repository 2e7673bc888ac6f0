"""Optuna grid crash safety: a worker SIGKILLed mid-trial, then the same sweep run again.

The sweep is the real smoke suite (two rows) at tiny sizes; more training steps make each run
last a few seconds so that the worker can be killed inside one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

from sweeps.grid import SweepSpec, open_grid_study, run_grid
from sweeps.storage import default_storage_url
from tests.tiny import TINY

REPO = Path(__file__).resolve().parents[1]
ROWS = ("baseline", "+SPG")
SLOW = (*TINY, "params.steps=12")  # a few seconds per run, pictures included
WORKER = f"""
import sys
from sweeps.grid import SweepSpec, run_grid
out, storage = sys.argv[1], sys.argv[2]
run_grid(SweepSpec("smoke", out, storage, overrides={SLOW}, rows={ROWS}), progress=False)
"""


def _run_dirs(out: Path) -> tuple[list[Path], list[Path]]:
    """(done, started-but-not-done) run folders of the smoke suite."""
    dirs = [p for p in (out / "smoke").glob("*") if (p / "config.yaml").exists()]
    return ([p for p in dirs if (p / "metrics.json").exists()],
            [p for p in dirs if not (p / "metrics.json").exists()])


def _kill_mid_trial(out: Path, storage: str) -> tuple[list[Path], Path]:
    """Start a sweep in a subprocess, SIGKILL it once a run is done and another is running."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "disabled"}
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(out), storage], env=env,
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            done, running = _run_dirs(out)
            if done and running:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the sweep ended before it could be killed"
    done, running = _run_dirs(out)
    assert len(running) == 1
    return done, running[0]


def _points(study: optuna.Study, state: TrialState) -> list[tuple[str, int]]:
    return sorted((t.params["row"], t.params["seed"]) for t in study.get_trials(states=(state,)))


def test_killed_worker_resumes_without_rerunning_finished_trials(tmp_path: Path) -> None:
    storage = default_storage_url(tmp_path, workers=1)
    done, killed = _kill_mid_trial(tmp_path, storage)
    stamps = {p: (p / "metrics.json").stat().st_mtime_ns for p in done}
    spec = SweepSpec("smoke", str(tmp_path), storage, overrides=SLOW, rows=ROWS)
    counts = run_grid(spec, progress=False)
    assert counts["recovered"] == 1
    study = open_grid_study(spec)
    assert _points(study, TrialState.COMPLETE) == sorted((row, 0) for row in ROWS)  # once each
    assert all((p / "metrics.json").stat().st_mtime_ns == stamp for p, stamp in stamps.items())
    assert (killed / "metrics.json").exists()
    (failed,) = study.get_trials(states=(TrialState.FAIL,))
    retried = [t for t in study.get_trials(states=(TrialState.COMPLETE,))
               if t.system_attrs.get("failed_trial") == failed.number]
    assert len(retried) == 1 and retried[0].params == failed.params
