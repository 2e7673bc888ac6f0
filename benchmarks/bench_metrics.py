"""Speed of the evaluation metrics on one CPU thread.

Run: ``PYTHONPATH=$PWD python benchmarks/bench_metrics.py`` (prints the median of a few runs).

Cases: ``bev_iou`` and ``iou_3d`` on 500 x 500 boxes spread over 40 m x 40 m (most pairs are
skipped by the circumcircle pre-filter) and on 500 x 500 boxes within 2 m (every pair computed);
COCO point-mask AP, panoptic quality and R40 detection AP on 10 frames of 30k points with 30
instances (boxes) each.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from labeleff.geometry.iou import bev_iou, iou_3d
from labeleff.metrics.coco_masks import PointMasks, point_mask_ap
from labeleff.metrics.det3d import FrameBoxes, detection_ap
from labeleff.metrics.panoptic import panoptic_quality

FRAMES, POINTS, INSTANCES = 10, 30_000, 30


def _median_seconds(fn: Callable[[], object], repeats: int = 3) -> float:
    """Median wall time of ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _boxes(n: int, rng: np.random.Generator, extent: float = 40.0) -> torch.Tensor:
    """(n, 7) random boxes, 0.5-5 m in size, centred in an ``extent`` x ``extent`` m area."""
    xy = rng.uniform(-extent / 2, extent / 2, (n, 2))
    z = rng.uniform(-1, 1, (n, 1))
    size = rng.uniform(0.5, 5, (n, 3))
    yaw = rng.uniform(-np.pi, np.pi, (n, 1))
    return torch.from_numpy(np.concatenate([xy, z, size, yaw], 1)).float()


def _point_frames(rng: np.random.Generator) -> tuple[list[PointMasks], list[PointMasks]]:
    """GT with 30 contiguous point runs per frame; predictions with 5 % of points relabelled."""
    gt, pred = [], []
    for _ in range(FRAMES):
        ids = np.full(POINTS, -1)
        starts = np.sort(rng.choice(POINTS - 600, INSTANCES, replace=False))
        lengths = rng.integers(20, 600, INSTANCES)
        run = np.arange(600)[None, :]
        idx = (starts[:, None] + run)[run < lengths[:, None]]
        ids[idx] = np.repeat(np.arange(INSTANCES), lengths)
        noisy = ids.copy()
        flip = rng.random(POINTS) < 0.05
        noisy[flip] = rng.integers(-1, INSTANCES, flip.sum())
        classes = rng.integers(0, 3, INSTANCES)
        gt.append(PointMasks(ids, classes))
        pred.append(PointMasks(noisy, classes, rng.random(INSTANCES)))
    return gt, pred


def _box_frames(rng: np.random.Generator) -> tuple[list[FrameBoxes], list[FrameBoxes]]:
    """30 GT boxes per frame; predictions are jittered copies with random scores."""
    gt, pred = [], []
    for _ in range(FRAMES):
        boxes = _boxes(INSTANCES, rng)
        labels = torch.from_numpy(rng.integers(0, 3, INSTANCES))
        jitter = torch.from_numpy(rng.normal(0, 0.1, (INSTANCES, 7))).float()
        gt.append(FrameBoxes(boxes, labels))
        pred.append(FrameBoxes(boxes + jitter, labels, torch.rand(INSTANCES)))
    return gt, pred


def main() -> None:
    """Time every case and print one line each."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    a, b = _boxes(500, rng), _boxes(500, rng)
    dense_a, dense_b = _boxes(500, rng, extent=2.0), _boxes(500, rng, extent=2.0)
    gt_pts, pred_pts = _point_frames(rng)
    gt_box, pred_box = _box_frames(rng)
    cases = {
        "bev_iou 500x500 boxes": lambda: bev_iou(a, b),
        "iou_3d 500x500 boxes": lambda: iou_3d(a, b),
        "bev_iou 500x500 boxes, all pairs near (worst case)": lambda: bev_iou(dense_a, dense_b),
        f"point_mask_ap {FRAMES} frames x {POINTS} pts x {INSTANCES} inst": lambda: point_mask_ap(
            gt_pts, pred_pts
        ),
        f"panoptic_quality {FRAMES} frames x {POINTS} pts": lambda: panoptic_quality(
            gt_pts, pred_pts
        ),
        f"detection_ap {FRAMES} frames x {INSTANCES} boxes": lambda: detection_ap(gt_box, pred_box),
    }
    print(f"torch threads: {torch.get_num_threads()}")
    for name, fn in cases.items():
        print(f"{name:<55} {1000 * _median_seconds(fn):9.1f} ms")


if __name__ == "__main__":
    main()
