"""Shared fixtures: the real KITTI frame (skipped when absent), a per-session frame cache and
GPU gating."""

from __future__ import annotations

import os

# Before torch starts its thread pool: active OpenMP waiting makes 2-thread runs several times
# slower on a 2-core machine with any other load (run_all.py does the same).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
KITTI_ROOT = Path(os.environ.get("LABELEFF_KITTI", REPO.parent / "shared" / "data" / "kitti"))

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def kitti_root() -> Path:
    """The shared real KITTI sample (``../shared/data/kitti``); skips the test if absent."""
    if not (KITTI_ROOT / "training" / "velodyne" / "000008.bin").exists():
        pytest.skip(f"real KITTI sample not found at {KITTI_ROOT} (set LABELEFF_KITTI to its path)")
    return KITTI_ROOT


@pytest.fixture(scope="session", autouse=True)
def frame_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``$LABELEFF_CACHE`` for the whole session: synthetic frames are generated once per session
    into a temporary folder (never the home folder); subprocesses inherit it."""
    path = tmp_path_factory.mktemp("labeleff-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LABELEFF_CACHE", str(path))
        yield path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
