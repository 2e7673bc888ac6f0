"""Projection of LiDAR points into pinhole cameras (torch, vectorized, any device)."""

from __future__ import annotations

import torch


def transform_points(points: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """Apply a rigid/affine transform.

    Args:
        points: (N, 3) coordinates.
        T: (4, 4) homogeneous transform.

    Returns:
        (N, 3) transformed coordinates.
    """
    T = T.to(points)
    return points @ T[:3, :3].T + T[:3, 3]


def project_points(
    points: torch.Tensor,
    K: torch.Tensor,
    T_cam_lidar: torch.Tensor,
    image_size: tuple[int, int],
    min_depth: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Project LiDAR points into one camera.

    Args:
        points: (N, >=3) LiDAR-frame points (metres); only xyz is used.
        K: (3, 3) intrinsics.
        T_cam_lidar: (4, 4) LiDAR -> camera transform.
        image_size: (height, width) in pixels.
        min_depth: points closer than this in front of the camera are invalid (metres).

    Returns:
        uv: (N, 2) pixel coordinates (u = column, v = row), float.
        depth: (N,) camera-frame depth (metres).
        valid: (N,) bool, in front of the camera and inside the image.
    """
    cam = transform_points(points[:, :3], T_cam_lidar)
    depth = cam[:, 2]
    z = depth.clamp(min=1e-6).unsqueeze(1)
    uv = (cam @ K.to(cam).T)[:, :2] / z
    h, w = image_size
    valid = (
        (depth > min_depth) & (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
    )
    return uv, depth, valid
