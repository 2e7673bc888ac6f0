"""Frustum membership: which 2D boxes (of which cameras) each LiDAR point projects into.

Boxes of all cameras are numbered globally in camera order (camera 0's boxes first), which is the
"global box index" used by every later stage (box assignment, vote targets).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from labeleff.data.frame import Boxes2D, Camera
from labeleff.geometry.projection import project_points


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


def _camera_tensors(cam: Camera, boxes: Boxes2D, device: torch.device) -> tuple[torch.Tensor, ...]:
    """(K, T_cam_lidar, boxes, labels) of one camera as tensors on ``device``."""
    K = torch.as_tensor(cam.K, dtype=torch.float32, device=device)
    T = torch.as_tensor(cam.T_cam_lidar, dtype=torch.float32, device=device)
    b = torch.as_tensor(boxes.boxes, dtype=torch.float32, device=device).reshape(-1, 4)
    labels = torch.as_tensor(boxes.labels, dtype=torch.long, device=device).reshape(-1)
    return K, T, b, labels


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
    in_image = torch.zeros(xyz.shape[0], dtype=torch.bool, device=dev)
    points, boxes, labels, cams, areas, offset = [], [], [], [], [], 0
    for i, (cam, b2d) in enumerate(zip(cameras, boxes2d, strict=True)):
        K, T, b, lab = _camera_tensors(cam, b2d, dev)
        uv, _, valid = project_points(xyz, K, T, cam.size)
        in_image |= valid
        sel = valid.nonzero().squeeze(1)
        box_i, pt_i = points_in_boxes2d(uv[sel], valid[sel], b).nonzero(as_tuple=True)
        points.append(sel[pt_i])
        boxes.append(box_i + offset)
        labels.append(lab)
        cams.append(torch.full_like(lab, i))
        areas.append((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))
        offset += b.shape[0]
    return FrustumHits(
        _cat(points, dev), _cat(boxes, dev), _cat(labels, dev), _cat(cams, dev),
        _cat(areas, dev, torch.float32), in_image,
    )


def _cat(
    xs: list[torch.Tensor], device: torch.device, dtype: torch.dtype = torch.long
) -> torch.Tensor:
    """Concatenate, or an empty tensor when there is no camera."""
    return torch.cat(xs) if xs else torch.zeros(0, dtype=dtype, device=device)
