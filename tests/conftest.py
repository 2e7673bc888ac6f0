"""Shared fixtures: the real KITTI frame (skipped when absent) and GPU gating."""

from __future__ import annotations

import os
from pathlib import Path

# Before torch starts its thread pool: active OpenMP waiting makes 2-thread runs several times
# slower on a 2-core machine with any other load.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
