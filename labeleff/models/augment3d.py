"""Global 3D augmentation of points (dossier section 2.3): rotation about z in [-pi/4, pi/4],
uniform scale in [0.95, 1.05], BEV flips (x -> -x, y -> -y, each with p = 0.5).

All three are one linear map ``M`` (3 x 3) applied to xyz and to any per-point vectors (vote
target offsets rotate, flip and scale the same way), so labels stay consistent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Augment3DConfig:
    """Ranges of the global augmentation.

    Attributes:
        rotation: max |yaw| about z, radians.
        scale: (min, max) uniform scale factor.
        flip_prob: probability of each BEV flip.
    """

    rotation: float = math.pi / 4
    scale: tuple[float, float] = (0.95, 1.05)
    flip_prob: float = 0.5


def random_transform(
    generator: torch.Generator, cfg: Augment3DConfig = Augment3DConfig()
) -> Tensor:
    """Draws M = flip_x @ flip_y @ scale @ rot_z (3, 3) float32 from a seeded CPU generator."""
    u = torch.rand(5, generator=generator, dtype=torch.float64).tolist()
    yaw = (2 * u[0] - 1) * cfg.rotation
    s = cfg.scale[0] + (cfg.scale[1] - cfg.scale[0]) * u[1]
    c, n = math.cos(yaw), math.sin(yaw)
    rot = torch.tensor([[c, -n, 0.0], [n, c, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    flips = torch.tensor([-1.0 if u[2] < cfg.flip_prob else 1.0,
                          -1.0 if u[3] < cfg.flip_prob else 1.0, 1.0], dtype=torch.float64)
    return (torch.diag(flips) * s @ rot).float()


def apply_transform(points: Tensor, M: Tensor, vectors: Tensor | None = None
                    ) -> tuple[Tensor, Tensor | None]:
    """Applies ``M`` to xyz (first 3 columns of ``points``; other columns kept) and ``vectors``.

    Args:
        points: (N, C >= 3) float points.
        M: (3, 3) linear map.
        vectors: (N, 3) per-point vectors (e.g. vote offsets, metres) or None.

    Returns:
        Transformed copies of points and vectors.
    """
    M = M.to(points.device, points.dtype)
    out = points.clone()
    out[:, :3] = points[:, :3] @ M.T
    return out, (vectors @ M.T if vectors is not None else None)


def augment_points(
    points: Tensor,
    generator: torch.Generator,
    vectors: Tensor | None = None,
    cfg: Augment3DConfig = Augment3DConfig(),
) -> tuple[Tensor, Tensor | None, Tensor]:
    """Random global rotation, scale and BEV flips of one frame.

    Args:
        points: (N, C >= 3) float points (x, y, z metres, ...).
        generator: seeded CPU ``torch.Generator`` (reproducible draws).
        vectors: (N, 3) vectors to transform alongside (vote targets), or None.
        cfg: ranges.

    Returns:
        Augmented points (N, C), vectors (N, 3) or None, and the map M (3, 3) used.
    """
    M = random_transform(generator, cfg)
    pts, vec = apply_transform(points, M, vectors)
    return pts, vec, M
