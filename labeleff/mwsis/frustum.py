"""Frustum membership: which 2D boxes (of which cameras) each LiDAR point projects into.

Boxes of all cameras are numbered globally in camera order (camera 0's boxes first), which is the
"global box index" used by every later stage (box assignment, vote targets).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from labeleff.data.frame import Boxes2D, Camera


@dataclass(frozen=True)
class FrustumHits:
    """Sparse point-to-box membership over all cameras of a frame.

    Attributes:
        point: (P,) int64 point index of each (point, box) pair.
        box: (P,) int64 global box index of each pair.
        box_labels: (B,) int64 class of each global box.
        box_camera: (B,) int64 camera index of each global box.
        box_area: (B,) float box area (pixels^2).
        in_image: (N,) bool, the point projects inside at least one camera image.
    """

    point: torch.Tensor
    box: torch.Tensor
    box_labels: torch.Tensor
    box_camera: torch.Tensor
    box_area: torch.Tensor
    in_image: torch.Tensor

    @property
    def num_boxes(self) -> int:
        return int(self.box_labels.shape[0])

    def in_box(self) -> torch.Tensor:
        """(N,) bool: the point falls in at least one 2D box."""
        hit = torch.zeros_like(self.in_image)
        hit[self.point] = True
        return hit


def points_in_boxes2d(uv: torch.Tensor, valid: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Membership of projected points in 2D boxes of one camera.

    A point is inside ``(x1, y1, x2, y2)`` when ``x1 <= u < x2`` and ``y1 <= v < y2`` (the official
    test with its second-projection y typo fixed: dossier section 7 #3).

    Args:
        uv: (N, 2) pixel coordinates (u = column, v = row).
        valid: (N,) bool, the projection is in front of the camera and inside the image.
        boxes: (M, 4) ``x1, y1, x2, y2`` pixels.

    Returns:
        (M, N) bool.
    """
    b = boxes.to(uv)[:, :, None]
    u, v = uv[None, :, 0], uv[None, :, 1]
    inside = (u >= b[:, 0]) & (u < b[:, 2]) & (v >= b[:, 1]) & (v < b[:, 3])
    return inside & valid[None]


def project_cameras(
    xyz: torch.Tensor, cameras: Sequence[Camera], min_depth: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Project points into all cameras at once, with the conventions of ``project_points``.

    One (3C, 3) x (3, N) product with the stacked ``K @ T_cam_lidar[:3]`` replaces the 2C small
    (N, 3) x (3, 3) products of per-camera ``project_points`` (about 40x faster on one CPU thread);
    ``tests/test_mwsis_pseudo3d.py`` checks that both agree.

    Args:
        xyz: (N, >=3) LiDAR-frame points (metres).
        cameras: C cameras (intrinsics with last row ``0, 0, 1``).
        min_depth: points closer than this in front of a camera are invalid (metres).

    Returns:
        uv: (C, 2, N) pixel coordinates (row 0 = u = column, row 1 = v = row).
        valid: (C, N) bool, in front of the camera and inside its image.
    """
    dev = xyz.device
    P = torch.cat(
        [
            torch.as_tensor(c.K, dtype=torch.float64) @ torch.as_tensor(c.T_cam_lidar)[:3]
            for c in cameras
        ]
    ).to(device=dev, dtype=xyz.dtype)
    h = torch.addmm(P[:, 3:], P[:, :3], xyz[:, :3].T).reshape(len(cameras), 3, -1)
    depth = h[:, 2]
    uv = h[:, :2] * depth.clamp(min=1e-6).reciprocal()[:, None]
    size = torch.tensor([c.size for c in cameras], dtype=xyz.dtype, device=dev)
    u, v = uv[:, 0], uv[:, 1]
    valid = (depth > min_depth) & (u >= 0) & (v >= 0)
    return uv, valid & (u < size[:, 1:2]) & (v < size[:, 0:1])


def frustum_hits(
    xyz: torch.Tensor, cameras: Sequence[Camera], boxes2d: Sequence[Boxes2D]
) -> FrustumHits:
    """Project points into every camera and collect the (point, box) pairs of all cameras.

    Args:
        xyz: (N, >=3) LiDAR-frame points (metres).
        cameras: the frame's cameras (``Frame.cameras``).
        boxes2d: one ``Boxes2D`` per camera (``Frame.weak.boxes2d``).

    Returns:
        ``FrustumHits`` with pairs ordered by camera, then box, then point.
    """
    dev = xyz.device
    if not cameras:
        empty = torch.zeros(0, dtype=torch.long, device=dev)
        in_image = torch.zeros(xyz.shape[0], dtype=torch.bool, device=dev)
        return FrustumHits(empty, empty, empty, empty, empty.float(), in_image)
    uv, valid = project_cameras(xyz, cameras)
    points, boxes, offset = [], [], 0
    for i, (b2d, _) in enumerate(zip(boxes2d, cameras, strict=True)):
        b = torch.as_tensor(b2d.boxes, dtype=torch.float32, device=dev).reshape(-1, 4)
        sel = valid[i].nonzero().squeeze(1)
        uv_sel = uv[i].index_select(1, sel).T
        box_i, pt_i = points_in_boxes2d(uv_sel, valid[i, sel], b).nonzero(as_tuple=True)
        points.append(sel.index_select(0, pt_i))
        boxes.append(box_i + offset)
        offset += b.shape[0]
    return FrustumHits(torch.cat(points), torch.cat(boxes), *_box_table(boxes2d, dev), valid.any(0))


def _box_table(boxes2d: Sequence[Boxes2D], device: torch.device) -> tuple[torch.Tensor, ...]:
    """(labels (B,) int64, camera (B,) int64, area (B,) float32) of all boxes in global order."""
    labels = torch.cat([torch.as_tensor(b.labels, dtype=torch.long).reshape(-1) for b in boxes2d])
    cams = torch.cat([torch.full((len(b),), i, dtype=torch.long) for i, b in enumerate(boxes2d)])
    xyxy = torch.cat([torch.as_tensor(b.boxes).float().reshape(-1, 4) for b in boxes2d])
    area = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
    return labels.to(device), cams.to(device), area.to(device)
