"""Dynamic voxelization and point-to-voxel scatter reductions (torch, device-agnostic).

"Dynamic" means every in-range point is kept (no per-voxel point cap), as in MWSIS/FSD's
``DynamicScatterVFE``: points map to voxels through ``point2voxel`` and voxel features are
reductions (mean, max) over their points.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from labeleff.errors import DataError


@dataclass(frozen=True)
class Voxels:
    """Occupied voxels of one batch of point clouds.

    Attributes:
        coords: (V, 3) int32 voxel grid indices in (z, y, x) order (spconv convention).
        batch: (V,) int32 frame index of each voxel within the batch.
        point2voxel: (N,) int64 voxel row of each point; -1 for points outside the range.
        in_range: (N,) bool, True where the point lies inside ``pc_range``.
        spatial_shape: grid size (Z, Y, X) in voxels.
        voxel_size: (3,) float32 voxel edge lengths (x, y, z), metres.
        pc_range: (6,) float32 (x_min, y_min, z_min, x_max, y_max, z_max), metres.
    """

    coords: Tensor
    batch: Tensor
    point2voxel: Tensor
    in_range: Tensor
    spatial_shape: tuple[int, int, int]
    voxel_size: Tensor
    pc_range: Tensor

    @property
    def num_voxels(self) -> int:
        """Number of occupied voxels V."""
        return int(self.coords.shape[0])

    @property
    def indices(self) -> Tensor:
        """(V, 4) int32 (batch, z, y, x) indices, the layout ``spconv.SparseConvTensor`` wants."""
        return torch.cat([self.batch[:, None], self.coords], dim=1).contiguous()

    def centres(self) -> Tensor:
        """(V, 3) float32 voxel centres (x, y, z) in metres."""
        xyz_index = self.coords.flip(1).float()
        return (xyz_index + 0.5) * self.voxel_size + self.pc_range[:3]


def _grid_shape(voxel_size: Tensor, pc_range: Tensor) -> tuple[int, int, int]:
    """Grid size (Z, Y, X) covering ``pc_range`` with ``voxel_size`` (rounded up)."""
    extent = pc_range[3:] - pc_range[:3]
    if bool((extent <= 0).any()) or bool((voxel_size <= 0).any()):
        problem = f"empty range {pc_range.tolist()} or voxel size {voxel_size.tolist()}"
        raise DataError("voxelize", problem)
    size = torch.ceil(extent / voxel_size - 1e-6).long().tolist()
    return int(size[2]), int(size[1]), int(size[0])


def voxelize(
    xyz: Tensor,
    voxel_size: Tensor | tuple[float, float, float],
    pc_range: Tensor | tuple[float, ...],
    batch_idx: Tensor | None = None,
) -> Voxels:
    """Assigns points to voxels of a regular grid (dynamic voxelization).

    A point is in range when ``min <= p < max`` on every axis.

    Args:
        xyz: (N, 3) float point coordinates (x, y, z), metres.
        voxel_size: (3,) voxel edge lengths (x, y, z), metres.
        pc_range: (6,) (x_min, y_min, z_min, x_max, y_max, z_max), metres.
        batch_idx: (N,) integer frame index of each point; all zeros when None.

    Returns:
        The occupied voxels, sorted by (batch, z, y, x), and the point-to-voxel map.
    """
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise DataError("voxelize", f"xyz must be (N, 3), got {tuple(xyz.shape)}")
    vs = torch.as_tensor(voxel_size, dtype=torch.float32, device=xyz.device)
    rng = torch.as_tensor(pc_range, dtype=torch.float32, device=xyz.device)
    Z, Y, X = _grid_shape(vs, rng)
    if batch_idx is None:
        batch_idx = torch.zeros(xyz.shape[0], dtype=torch.long, device=xyz.device)
    grid = torch.floor((xyz.float() - rng[:3]) / vs).long()
    upper = torch.tensor([X, Y, Z], device=xyz.device)
    in_range = ((xyz >= rng[:3]) & (xyz < rng[3:]) & (grid >= 0) & (grid < upper)).all(dim=1)
    g, b = grid[in_range], batch_idx[in_range].long()
    key = ((b * Z + g[:, 2]) * Y + g[:, 1]) * X + g[:, 0]
    unique_key, inverse = torch.unique(key, sorted=True, return_inverse=True)
    point2voxel = torch.full((xyz.shape[0],), -1, dtype=torch.long, device=xyz.device)
    point2voxel[in_range] = inverse
    x, rest = unique_key % X, unique_key // X
    y, rest = rest % Y, rest // Y
    z, vb = rest % Z, rest // Z
    coords = torch.stack([z, y, x], dim=1).int()
    return Voxels(coords, vb.int(), point2voxel, in_range, (Z, Y, X), vs, rng)


def _scatter(values: Tensor, point2voxel: Tensor, num_voxels: int, reduce: str) -> Tensor:
    """(V, C) ``reduce`` of the (N, C) values of points with ``point2voxel >= 0``; 0 if empty."""
    keep = point2voxel >= 0
    index = point2voxel[keep][:, None].expand(-1, values.shape[1])
    out = values.new_zeros((num_voxels, values.shape[1]))
    return out.scatter_reduce(0, index, values[keep], reduce, include_self=False)


def scatter_mean(values: Tensor, point2voxel: Tensor, num_voxels: int) -> Tensor:
    """Mean of point values per voxel.

    Args:
        values: (N, C) float per-point values.
        point2voxel: (N,) int64 voxel of each point, -1 to skip the point.
        num_voxels: V.

    Returns:
        (V, C) per-voxel means; 0 for voxels without points.
    """
    return _scatter(values, point2voxel, num_voxels, "mean")


def scatter_max(values: Tensor, point2voxel: Tensor, num_voxels: int) -> Tensor:
    """Element-wise max of point values per voxel (differentiable; ties share the gradient).

    Args:
        values: (N, C) float per-point values.
        point2voxel: (N,) int64 voxel of each point, -1 to skip the point.
        num_voxels: V.

    Returns:
        (V, C) per-voxel maxima; 0 for voxels without points.
    """
    return _scatter(values, point2voxel, num_voxels, "amax")
