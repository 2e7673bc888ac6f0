"""Speed of 3D pseudo-labelling (frustum baseline + SPG + RSC) on a Waymo-sized frame, one thread.

The frame is ray-cast from a simple scene: a 64-beam, 2650-column LiDAR sees a ground plane, a
ring of building walls and 40 boxes (cars, pedestrians, cyclists); 5 pinhole cameras get the
projected 2D boxes of the objects. About 170k points.

Usage: ``PYTHONPATH=. python benchmarks/bench_pseudo3d.py [--repeats 15]``. Budget: 150 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from labeleff.data.classes import BACKGROUND
from labeleff.data.frame import Boxes2D, Camera, Frame, GroundTruth, WeakLabels
from labeleff.metrics.pseudo import pseudo_label_quality
from labeleff.mwsis.pseudo3d import PseudoLabelConfig, pseudo_labels

ROWS, COLS, SENSOR_HEIGHT = 64, 2650, 1.8
SIZES = {0: (4.5, 1.9, 1.6), 1: (0.8, 0.8, 1.8), 2: (1.8, 0.7, 1.7)}


def _rays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(R, 3) unit directions and (R,) ring / column of every beam of one revolution."""
    elev = np.deg2rad(np.linspace(2.4, -17.6, ROWS))
    azim = np.linspace(np.pi, -np.pi, COLS, endpoint=False)
    e, a = np.meshgrid(elev, azim, indexing="ij")
    d = np.stack([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)], -1).reshape(-1, 3)
    ring, col = np.meshgrid(np.arange(ROWS), np.arange(COLS), indexing="ij")
    return d, ring.ravel(), col.ravel()


def _objects(rng: np.random.Generator, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(n, 7) non-overlapping boxes in front of the car and their (n,) classes."""
    boxes, labels = [], []
    while len(boxes) < n:
        c = int(rng.choice(3, p=[0.6, 0.25, 0.15]))
        r, a = rng.uniform(6, 45), rng.uniform(-1.6, 1.6)
        xy = np.array([r * np.cos(a), r * np.sin(a)])
        if any(np.linalg.norm(xy - b[:2]) < 6.0 for b in boxes):
            continue
        length, width, h = SIZES[c]
        boxes.append([*xy, -SENSOR_HEIGHT + h / 2, length, width, h, rng.uniform(-np.pi, np.pi)])
        labels.append(c)
    return np.array(boxes), np.array(labels)


def _hit_box(d: np.ndarray, box: np.ndarray) -> np.ndarray:
    """(R,) distance along unit rays from the origin to a yawed box (slab test), inf if missed."""
    c, s = np.cos(box[6]), np.sin(box[6])
    rot = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])
    o, dl = rot @ -box[:3], d @ rot.T
    half = box[3:6] / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (-half - o) / dl, (half - o) / dl
    near = np.nanmax(np.minimum(t1, t2), 1)
    far = np.nanmin(np.maximum(t1, t2), 1)
    return np.where((near <= far) & (near > 0), near, np.inf)


def _ray_cast(
    d: np.ndarray, boxes: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(R,) range of the first surface along each ray (objects, ground, walls; inf when none) and
    (R,) index of the object hit, -1 for ground and walls."""
    with np.errstate(divide="ignore"):
        ground = np.where(d[:, 2] < 0, -SENSOR_HEIGHT / d[:, 2], np.inf)
    az = np.arctan2(d[:, 1], d[:, 0])
    wall_r = 35 + 10 * np.sin(3 * az) + 5 * np.sign(np.sin(17 * az))
    cos_e = np.hypot(d[:, 0], d[:, 1])
    wall = wall_r / cos_e
    wall = np.where(wall * d[:, 2] < 8.0, wall, np.inf)
    t = np.minimum(ground, wall)
    hit = np.full(t.shape, -1)
    for i, b in enumerate(boxes):
        tb = _hit_box(d, b)
        hit = np.where(tb < t, i, hit)
        t = np.minimum(t, tb)
    return t + rng.normal(0, 0.01, t.shape), hit


def _camera(yaw: float, size: tuple[int, int]) -> Camera:
    """A pinhole camera at the LiDAR origin looking along azimuth ``yaw`` (LiDAR frame)."""
    h, w = size
    K = np.array(
        [
            [w / 2 / np.tan(np.deg2rad(30)), 0, w / 2],
            [0, w / 2 / np.tan(np.deg2rad(30)), h / 2],
            [0, 0, 1],
        ]
    )
    c, s = np.cos(yaw), np.sin(yaw)
    fwd, left = np.array([c, s, 0.0]), np.array([-s, c, 0.0])
    R = np.stack([-left, np.array([0, 0, -1.0]), fwd])
    T = np.eye(4)
    T[:3, :3] = R
    return Camera(f"cam{yaw:+.2f}", np.zeros((h, w, 3), np.uint8), K, T)


def _boxes2d(cam: Camera, boxes: np.ndarray, labels: np.ndarray) -> Boxes2D:
    """Tight 2D boxes of the objects fully in front of ``cam``, clipped to the image."""
    from labeleff.geometry.boxes import box_corners

    corners = box_corners(torch.as_tensor(boxes, dtype=torch.float32)).numpy().reshape(-1, 3)
    cam_pts = (corners @ cam.T_cam_lidar[:3, :3].T).reshape(len(boxes), 8, 3)
    uv = cam_pts @ cam.K.T
    uv = uv[..., :2] / np.clip(uv[..., 2:], 1e-6, None)
    h, w = cam.size
    lo = np.clip(uv.min(1), 0, [w, h])
    hi = np.clip(uv.max(1), 0, [w, h])
    ok = (cam_pts[..., 2] > 0.5).all(1) & ((hi - lo) > 4).all(1)
    return Boxes2D(np.concatenate([lo, hi], 1)[ok].astype(np.float32), labels[ok].astype(np.int64))


def make_frame(seed: int = 0, num_objects: int = 30) -> Frame:
    """A Waymo-sized (~170k points, 5 cameras, ~40 2D boxes) ray-cast frame with ground truth."""
    rng = np.random.default_rng(seed)
    d, ring, col = _rays()
    boxes, labels = _objects(rng, num_objects)
    t, obj = _ray_cast(d, boxes, rng)
    hit = np.isfinite(t)
    obj = obj[hit]
    gt = GroundTruth(
        boxes.astype(np.float32), labels, obj, np.where(obj >= 0, labels[obj], BACKGROUND)
    )
    xyz = d[hit] * t[hit, None]
    points = np.concatenate([xyz, rng.uniform(0, 1, (len(xyz), 1))], 1).astype(np.float32)
    sizes = [(1280, 1920)] * 3 + [(886, 1920)] * 2
    cams = tuple(_camera(y, s) for y, s in zip((0, 0.8, -0.8, 1.6, -1.6), sizes, strict=True))
    weak = WeakLabels(tuple(_boxes2d(c, boxes, labels) for c in cams))
    return Frame(
        "bench",
        points,
        ring[hit].astype(np.int32),
        col[hit].astype(np.int32),
        cams,
        weak,
        gt,
        num_rings=ROWS,
        num_columns=COLS,
    ).validate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    full = make_frame()
    frame = full.training_view()
    n_boxes = sum(len(b) for b in frame.weak.boxes2d)
    print(f"frame: {frame.num_points} points, {len(frame.cameras)} cameras, {n_boxes} 2D boxes")
    gt = torch.from_numpy(full.gt.point_semantic)
    for name, cfg in {
        "baseline": PseudoLabelConfig(spg=False, ring_filter=False, rsc=False),
        "baseline+SPG": PseudoLabelConfig(spg=True, ring_filter=True, rsc=False),
        "baseline+SPG+RSC": PseudoLabelConfig(spg=True, ring_filter=True, rsc=True),
    }.items():
        q = pseudo_label_quality(pseudo_labels(frame, cfg).labels, gt)
        print(
            f"{name}: foreground precision {q['Foreground/precision']:.3f} recall "
            f"{q['Foreground/recall']:.3f} IoU {q['Foreground/iou']:.3f}, "
            f"ignored {q['ignore_fraction']:.3f} of points"
        )
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            pseudo_labels(frame, cfg)
            times.append((time.perf_counter() - t0) * 1e3)
        print(
            f"{name}: median {statistics.median(times):.1f} ms, min {min(times):.1f} ms "
            f"over {args.repeats} runs (1 CPU thread)"
        )


if __name__ == "__main__":
    main()
