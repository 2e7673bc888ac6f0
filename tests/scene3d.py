"""A tiny hand-built 3D scene for model tests: ground, one vehicle box, one pedestrian box."""

from __future__ import annotations

import torch
from torch import Tensor

from labeleff.data.classes import BACKGROUND

# (centre x, y, z, size l, w, h, class)
BOXES = ((3.0, 0.0, -0.8, 4.0, 1.8, 1.4, 0), (-3.0, 2.0, -0.6, 0.6, 0.6, 1.8, 1))


def tiny_scene(seed: int, n_ground: int = 800, n_box: int = 300) -> tuple[Tensor, Tensor, Tensor]:
    """Points (N, 4), labels (N,) and vote offsets (N, 3) to the box centre (0 on ground)."""
    g = torch.Generator().manual_seed(seed)
    ground = torch.rand(n_ground, 3, generator=g) * torch.tensor([12.0, 12.0, 0.05])
    ground += torch.tensor([-6.0, -6.0, -1.55])
    parts, labels, centres = [ground], [torch.full((n_ground,), BACKGROUND)], [ground]
    for x, y, z, length, w, h, cls in BOXES:
        centre = torch.tensor([x, y, z])
        pts = (torch.rand(n_box, 3, generator=g) - 0.5) * torch.tensor([length, w, h]) + centre
        parts.append(pts)
        labels.append(torch.full((n_box,), cls))
        centres.append(centre.expand(n_box, 3))
    xyz = torch.cat(parts)
    intensity = torch.rand(len(xyz), 1, generator=g)
    return torch.cat([xyz, intensity], 1), torch.cat(labels), torch.cat(centres) - xyz
