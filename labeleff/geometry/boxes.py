"""3D boxes ``(x, y, z_center, l, w, h, yaw)``: corners and point membership (torch, vectorized)."""

from __future__ import annotations

import torch

# Unit-cube corner signs: 4 bottom corners counter-clockwise seen from above, then 4 top corners.
_CORNER_SIGNS = torch.tensor(
    [[1, 1, -1], [-1, 1, -1], [-1, -1, -1], [1, -1, -1],
     [1, 1, 1], [-1, 1, 1], [-1, -1, 1], [1, -1, 1]], dtype=torch.float32,
) * 0.5


def box_corners(boxes: torch.Tensor) -> torch.Tensor:
    """Corners of 3D boxes.

    Args:
        boxes: (B, 7) ``x, y, z_center, l, w, h, yaw``.

    Returns:
        (B, 8, 3) corners: bottom face 0-3 counter-clockwise from (+l/2, +w/2), then top face.
    """
    signs = _CORNER_SIGNS.to(boxes)
    local = signs[None] * boxes[:, None, 3:6]
    c, s = torch.cos(boxes[:, 6]), torch.sin(boxes[:, 6])
    x = local[..., 0] * c[:, None] - local[..., 1] * s[:, None]
    y = local[..., 0] * s[:, None] + local[..., 1] * c[:, None]
    return torch.stack([x, y, local[..., 2]], -1) + boxes[:, None, :3]


def bev_corners(boxes: torch.Tensor) -> torch.Tensor:
    """(B, 4, 2) BEV corners, counter-clockwise, of (B, 7) boxes."""
    return box_corners(boxes)[:, :4, :2]


def points_to_box_frame(points: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Express points in each box's local frame.

    Args:
        points: (N, >=3) points.
        boxes: (B, 7) boxes.

    Returns:
        (B, N, 3) local coordinates (x along length, y along width, z from the box centre).
    """
    d = points[None, :, :3] - boxes[:, None, :3]
    c, s = torch.cos(boxes[:, 6])[:, None], torch.sin(boxes[:, 6])[:, None]
    lx = d[..., 0] * c + d[..., 1] * s
    ly = -d[..., 0] * s + d[..., 1] * c
    return torch.stack([lx, ly, d[..., 2]], -1)


def points_in_boxes(points: torch.Tensor, boxes: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """Membership mask of points in boxes.

    Args:
        points: (N, >=3) points.
        boxes: (B, 7) boxes.
        margin: enlarge every box by this much on each side (metres).

    Returns:
        (B, N) bool.
    """
    if boxes.shape[0] == 0 or points.shape[0] == 0:
        return torch.zeros(boxes.shape[0], points.shape[0], dtype=torch.bool, device=points.device)
    local = points_to_box_frame(points, boxes).abs()
    half = boxes[:, None, 3:6] / 2 + margin
    return (local <= half).all(-1)


def point_box_index(points: torch.Tensor, boxes: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """Index of the (first) box containing each point, -1 for none. Returns (N,) int64."""
    inside = points_in_boxes(points, boxes, margin)
    if inside.shape[0] == 0:
        return torch.full((points.shape[0],), -1, dtype=torch.long, device=points.device)
    hit = inside.any(0)
    return torch.where(hit, inside.float().argmax(0), torch.full_like(hit, -1, dtype=torch.long))
