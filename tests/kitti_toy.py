"""A small hand-built frame (two cameras, rings, masks, clusters) for KITTI and picture tests."""

from __future__ import annotations

import numpy as np
import torch

from labeleff.data import BACKGROUND, Boxes2D, Camera, Frame, GroundTruth, WeakLabels
from labeleff.geometry.boxes import point_box_index

RINGS, PER_RING = 8, 200
BOXES3D = np.array(
    [[8.0, 1.0, -0.9, 4.0, 1.8, 1.5, 0.3],
     [6.0, -2.0, -0.85, 0.8, 0.7, 1.7, -1.0],
     [12.0, 3.0, -0.9, 1.8, 0.6, 1.6, 2.5]], np.float32,
)  # fmt: skip
LABELS3D = np.array([0, 1, 2])


def level_camera(yaw: float, t: tuple[float, float, float]) -> np.ndarray:
    """(4, 4) LiDAR -> camera for a level camera looking along LiDAR azimuth ``yaw``."""
    c, s = np.cos(yaw), np.sin(yaw)
    R = np.array([[s, -c, 0.0], [0.0, 0.0, -1.0], [c, s, 0.0]])
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, t
    return T


def toy_points() -> tuple[np.ndarray, np.ndarray]:
    """(RINGS * PER_RING, 5) float32 points stored ring by ring (azimuth -40..40 deg), and rings."""
    az = np.tile(np.radians(np.linspace(-40, 40, PER_RING)), RINGS)
    ring = np.repeat(np.arange(RINGS), PER_RING)
    el = np.radians(1.0 - 1.5 * ring)
    rng = 6.0 + 8.0 * np.random.default_rng(0).random(az.shape)
    xyz = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], 1) * rng[:, None]
    extra = np.stack([ring / RINGS, np.cos(az)], 1)
    return np.hstack([xyz, extra]).astype(np.float32), ring.astype(np.int32)


def _masks(cams: tuple[Camera, ...]) -> tuple[np.ndarray, ...]:
    out = []
    for k, cam in enumerate(cams):
        m = np.full(cam.size, -1, np.int32)
        m[5:20, 10 + k : 40] = k
        out.append(m)
    return tuple(out)


def toy_frame(with_gt: bool = True) -> Frame:
    """The hand-built frame: camera 0 level (KITTI ``image_2``), camera 1 looking left, tilted."""
    rng = np.random.default_rng(1)
    points, ring = toy_points()
    tilted = level_camera(0.8, (0.1, 0.2, -0.3))
    tilted[:3, :3] = tilted[:3, :3] @ np.array([[1, 0, 0], [0, 0.98, -0.199], [0, 0.199, 0.98]])
    cams = (
        Camera("FRONT", rng.integers(0, 255, (80, 160, 3), np.uint8),
               np.array([[100.0, 0, 80], [0, 100.0, 40], [0, 0, 1]]),
               level_camera(0.0, (0.05, -0.1, 0.2))),
        Camera("LEFT", rng.integers(0, 255, (60, 90, 3), np.uint8),
               np.array([[70.0, 0, 45], [0, 70.0, 30], [0, 0, 1]]), tilted),
    )  # fmt: skip
    boxes2d = (
        Boxes2D(np.array([[10.5, 20.25, 30.125, 60.0], [40.0, 10.0, 150.0, 70.5],
                          [0.0, 0.0, 5.5, 6.5]], np.float32), np.array([1, 0, 1])),
        Boxes2D(np.array([[1.0, 2.0, 80.0, 50.0]], np.float32), np.array([2])),
    )  # fmt: skip
    ids = (np.array([3, 4, 5]), np.array([100, 7]))
    weak = WeakLabels(boxes2d, BOXES3D[:1], LABELS3D[:1], ids, np.array([0, 2]))
    inst = point_box_index(torch.from_numpy(points), torch.from_numpy(BOXES3D)).numpy()
    sem = np.where(inst >= 0, LABELS3D[inst.clip(0)], BACKGROUND)
    gt = GroundTruth(BOXES3D, LABELS3D, inst, sem, _masks(cams), (np.array([1, 0, -1]),
                     np.array([2])))  # fmt: skip
    column = (np.arange(len(points)) % PER_RING).astype(np.int32)
    return Frame("toy01", points, ring, column, cams, weak, gt if with_gt else None,
                 num_rings=RINGS, num_columns=PER_RING)  # fmt: skip
