"""Realism checks of a frame's LiDAR/camera/label geometry against what real data looks like.

Two quantities that 2D-box pseudo-labelling (SPG) and 3D detectors are sensitive to:

- frustum precision: of the points projecting into an object's 2D box, the share that belongs to
  the object (real frames have ground, background and occluders in every frustum);
- points per object as a function of distance.
"""

from __future__ import annotations

import numpy as np
import torch

from labeleff.data.classes import CLASSES
from labeleff.data.frame import Frame
from labeleff.errors import DataError
from labeleff.geometry.projection import project_points


def _require_gt(frame: Frame):
    if frame.gt is None:
        raise DataError(f"frame {frame.frame_id}", "realism checks need ground truth")
    return frame.gt


def frustum_counts(frame: Frame) -> list[dict]:
    """Per 2D box with a known 3D object: points in its frustum and those of the object.

    Returns:
        one dict per box: ``camera``, ``instance`` (index into gt boxes3d), ``label``,
        ``in_frustum`` (points with depth > 0 projecting inside the box) and ``on_object``
        (those whose gt ``point_instance`` is the box's object).
    """
    gt = _require_gt(frame)
    pts = torch.as_tensor(frame.points[:, :3])
    inst = torch.as_tensor(gt.point_instance)
    rows = []
    for cam, b2d, assoc in zip(frame.cameras, frame.weak.boxes2d, gt.box2d_instance, strict=False):
        uv, depth, _ = project_points(
            pts, torch.as_tensor(cam.K), torch.as_tensor(cam.T_cam_lidar), cam.size, min_depth=1e-6
        )
        boxes = torch.as_tensor(b2d.boxes, dtype=uv.dtype)
        inside = (
            (uv[None, :, 0] >= boxes[:, None, 0])
            & (uv[None, :, 0] < boxes[:, None, 2])
            & (uv[None, :, 1] >= boxes[:, None, 1])
            & (uv[None, :, 1] < boxes[:, None, 3])
            & (depth[None] > 0)
        )
        ids = torch.as_tensor(assoc)
        own = inside & (inst[None] == ids[:, None])
        for j in torch.nonzero(ids >= 0).squeeze(1).tolist():
            rows.append(
                {
                    "camera": cam.name,
                    "instance": int(ids[j]),
                    "label": int(b2d.labels[j]),
                    "in_frustum": int(inside[j].sum()),
                    "on_object": int(own[j].sum()),
                }
            )
    return rows


def frustum_precision(frame: Frame) -> dict:
    """Frustum precision of every 2D box with a known object, pooled overall and per class.

    Returns:
        ``{"per_object": [dict(camera, instance, label, in_frustum, on_object, precision)],
        "overall": float, "per_class": {class name: float}}``; pooled values are the summed
        ``on_object`` over the summed ``in_frustum`` (``nan`` when no box has a point).
    """
    rows = frustum_counts(frame)
    for r in rows:
        r["precision"] = r["on_object"] / r["in_frustum"] if r["in_frustum"] else float("nan")
    return {
        "per_object": rows,
        "overall": pooled_precision(rows),
        "per_class": {
            name: pooled_precision([r for r in rows if r["label"] == c])
            for c, name in enumerate(CLASSES)
        },
    }


def pooled_precision(rows: list[dict]) -> float:
    """Summed ``on_object`` over summed ``in_frustum`` of ``frustum_counts`` rows (nan if none)."""
    total = sum(r["in_frustum"] for r in rows)
    return sum(r["on_object"] for r in rows) / total if total else float("nan")


def in_any_camera(frame: Frame) -> np.ndarray:
    """(N,) bool: points with depth > 0 that project inside at least one camera image."""
    pts = torch.as_tensor(frame.points[:, :3])
    seen = torch.zeros(len(pts), dtype=torch.bool)
    for cam in frame.cameras:
        seen |= project_points(
            pts, torch.as_tensor(cam.K), torch.as_tensor(cam.T_cam_lidar), cam.size, min_depth=1e-6
        )[2]
    return seen.numpy()


def points_per_object(frame: Frame, cameras_only: bool = False) -> list[tuple[str, float, int]]:
    """Points on each gt object.

    Args:
        frame: a frame with ground truth.
        cameras_only: count only points inside some camera image (as in KITTI's velodyne crop).

    Returns:
        per gt object: (class name, BEV distance of its box centre from the LiDAR (m), points).
    """
    gt = _require_gt(frame)
    ids = gt.point_instance[in_any_camera(frame)] if cameras_only else gt.point_instance
    counts = np.bincount(ids[ids >= 0], minlength=len(gt.labels3d))
    dist = np.hypot(gt.boxes3d[:, 0], gt.boxes3d[:, 1])
    return [
        (CLASSES[int(c)], float(d), int(n))
        for c, d, n in zip(gt.labels3d, dist, counts, strict=True)
    ]
