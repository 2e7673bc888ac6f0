"""The ego sensors: a rotating multi-beam LiDAR and pinhole cameras, ray-cast against one scene.

Ray grids are row-major. LiDAR ring 0 is the top beam; column ``c`` looks at azimuth
``pi - (c + 0.5) * 2 pi / num_columns`` (so the columns run clockwise from behind, and the forward
direction is the middle column).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from labeleff.data.synthetic.config import CameraSpec, SceneConfig
from labeleff.data.synthetic.raycast import DTYPE, Hits, TorchPrims, nearest_hits, rect_pairs
from labeleff.data.synthetic.scene import Scene, Street

_LIGHT = torch.tensor([0.35, 0.3, 0.89], dtype=DTYPE)
_HORIZON = torch.tensor([0.78, 0.82, 0.86], dtype=DTYPE)
_ZENITH = torch.tensor([0.33, 0.5, 0.8], dtype=DTYPE)


@dataclass(frozen=True)
class LidarScan:
    """Returns of one revolution (N points, in ring-major order).

    Attributes:
        points: (N, 4) float32 ``x, y, z, intensity`` in the LiDAR frame (metres).
        ring: (N,) int32 beam index (0 = top).
        column: (N,) int32 azimuth column.
        instance: (N,) int64 road-user index per point, -1 for surroundings.
    """

    points: np.ndarray
    ring: np.ndarray
    column: np.ndarray
    instance: np.ndarray


@dataclass(frozen=True)
class CameraImage:
    """One rendered camera.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        mask: (H, W) int32 road-user index per pixel, -1 for none.
        K: (3, 3) float64 intrinsics.
        T_cam_lidar: (4, 4) float64 LiDAR -> camera transform.
    """

    image: np.ndarray
    mask: np.ndarray
    K: np.ndarray
    T_cam_lidar: np.ndarray


def _hash(q: torch.Tensor) -> torch.Tensor:
    """(Q, 3) integer-valued cell coordinates -> (Q,) pseudo-random values in [0, 1)."""
    k = torch.tensor([12.9898, 78.233, 37.719], dtype=torch.float64, device=q.device)
    v = torch.sin(q.double() @ k) * 43758.5453
    return (v - torch.floor(v)).to(q.dtype)


def ground_surface(street: Street, xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Appearance of the road plane at points ``xy`` (Q, 2) (world, metres).

    Returns:
        colour: (Q, 3) base colour in [0, 1]; lidar: (Q, 3) intensity, dropout, extra range noise.
    """
    x, y = xy[:, 0], xy[:, 1]
    dev = xy.device

    def line(ys: np.ndarray, half: float) -> torch.Tensor:
        return (y[:, None] - torch.as_tensor(ys, device=dev)[None]).abs().lt(half).any(1)

    marking = line(street.edge_lines, 0.1) | (line(street.lane_lines, 0.075) & (x % 9.0 < 3.0))
    road = (y > street.road[0]) & (y < street.road[1])
    table = torch.tensor(
        [
            [0.36, 0.42, 0.24, 0.2, 0.05, 0.02],
            [0.3, 0.3, 0.31, 0.12, 0.03, 0.0],
            [0.85, 0.85, 0.82, 0.6, 0.02, 0.0],
        ],
        dtype=xy.dtype,
        device=dev,
    )
    sel = torch.where(marking & road, 2, road.long())
    return table[sel, :3], table[sel, 3:]


def _ground(origin: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
    """(R,) distance to the plane z = 0 along each ray, ``inf`` for rays that do not descend."""
    dz = dirs[:, 2]
    return torch.where(dz < -1e-9, origin[2] / -dz.clamp(max=-1e-9), torch.inf)


def _attributes(
    table: torch.Tensor, street: Street, hits: Hits, tg: torch.Tensor, pts: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-ray surface rows (R, 9): the primitive's where one is hit first, else the ground's.

    Returns:
        the rows (see ``surface_table``) and (R,) bool, True where a primitive is hit first.
    """
    colour_g, lidar_g = ground_surface(street, pts[:, :2])
    zeros = torch.zeros_like(colour_g[:, :2])
    ground_rows = torch.cat([colour_g, zeros, lidar_g, zeros[:, :1]], 1)
    on_prim = (hits.prim >= 0) & (hits.t <= tg)
    return torch.where(on_prim[:, None], table[hits.prim.clamp(min=0)], ground_rows), on_prim


def surface_table(scene: Scene, device: torch.device) -> torch.Tensor:
    """(P, 9) ``DTYPE`` per primitive: colour (3), texture cell and amplitude, lidar (4)."""
    p = scene.prims
    return torch.as_tensor(
        np.concatenate([p.color, p.texture, p.lidar], 1), dtype=DTYPE, device=device
    )


def lidar_rays(cfg: SceneConfig, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Beam elevations (R,) descending (radians) and unit ray directions (R * C, 3)."""
    elev = torch.linspace(
        math.radians(cfg.elev_max_deg),
        math.radians(cfg.elev_min_deg),
        cfg.num_beams,
        dtype=DTYPE,
        device=device,
    )
    step = 2 * math.pi / cfg.num_columns
    az = math.pi - (torch.arange(cfg.num_columns, dtype=DTYPE, device=device) + 0.5) * step
    ce = torch.cos(elev)[:, None]
    dirs = torch.stack(
        [ce * torch.cos(az), ce * torch.sin(az), torch.sin(elev)[:, None].expand(-1, len(az))], -1
    )
    return elev, dirs.reshape(-1, 3)


def lidar_rects(p: TorchPrims, origin: torch.Tensor, elev: torch.Tensor, columns: int):
    """Row and column ranges (r0, r1, c0, c1), each (P,) int64, covering each primitive's extent."""
    rel = p.center - origin
    dist = rel[:, :2].norm(dim=1)
    rad = p.half[:, :2].norm(dim=1) + 0.05
    inside = dist <= rad
    half = torch.asin((rad / dist.clamp(min=1e-6)).clamp(max=1.0))
    az = torch.atan2(rel[:, 1], rel[:, 0])
    step = 2 * math.pi / columns
    c0 = torch.ceil((math.pi - az - half) / step - 0.5).long() - 1
    c1 = torch.floor((math.pi - az + half) / step - 0.5).long() + 2
    c0, c1 = torch.where(inside, 0, c0), torch.where(inside, columns, c1)
    dmin, dmax = (dist - rad).clamp(min=0.01), dist + rad
    zlo, zhi = rel[:, 2] - p.half[:, 2], rel[:, 2] + p.half[:, 2]
    el_hi = torch.atan2(zhi, torch.where(zhi > 0, dmin, dmax))
    el_lo = torch.atan2(zlo, torch.where(zlo < 0, dmin, dmax))
    r0 = torch.searchsorted(-elev, -el_hi - 1e-6, right=False)
    r1 = torch.searchsorted(-elev, -el_lo + 1e-6, right=True)
    return r0, r1, c0, c1


def _cast_lidar(scene: Scene, cfg: SceneConfig, table: torch.Tensor, passes: torch.Tensor):
    """First hits of every beam; a beam crosses a primitive when ``passes`` < its pass-through.

    Returns:
        dirs (R * C, 3) unit directions, hits on primitives, and (R * C,) distance to the road.
    """
    device = table.device
    prims = TorchPrims.from_numpy(scene.prims, device)
    origin = torch.tensor([0.0, 0.0, cfg.lidar_height], dtype=DTYPE, device=device)
    elev, dirs = lidar_rays(cfg, device)
    ray, pid = rect_pairs(*lidar_rects(prims, origin, elev, cfg.num_columns), cfg.num_columns)
    solid = torch.nonzero(passes[ray] >= table[pid, 8]).squeeze(1)
    return dirs, nearest_hits(prims, origin, dirs, ray[solid], pid[solid]), _ground(origin, dirs)


def scan_lidar(
    scene: Scene, cfg: SceneConfig, rng: np.random.Generator, device: torch.device
) -> LidarScan:
    """One LiDAR revolution: first hits, dropout, range noise and per-surface intensity.

    Args:
        scene: the scene (world frame, road at z = 0).
        cfg: configuration (beams, columns, ranges, noise).
        rng: random generator for dropout and noise (consumed).
        device: where to ray-cast.

    Returns:
        The returns in the LiDAR frame (origin ``cfg.lidar_height`` above the road).
    """
    table = surface_table(scene, device)
    draws = torch.as_tensor(
        rng.random((3, cfg.num_beams * cfg.num_columns)), dtype=DTYPE, device=device
    )
    dirs, hits, tg = _cast_lidar(scene, cfg, table, draws[2])
    t = torch.minimum(hits.t, tg)
    attrs, on_prim = _attributes(table, scene.street, hits, tg, t.clamp(max=1e6)[:, None] * dirs)
    lost = 1 - (1 - cfg.dropout) * (1 - attrs[:, 6])
    idx = torch.nonzero((t >= cfg.min_range) & (t <= cfg.max_range) & (draws[0] >= lost))[:, 0]
    noise = torch.as_tensor(rng.standard_normal(len(t)), dtype=DTYPE, device=device)
    t = t + noise * (cfg.range_noise + attrs[:, 7])
    incidence = torch.where(on_prim, (hits.normal * dirs).sum(1).abs(), -dirs[:, 2])
    inten = (attrs[:, 5] * (0.4 + 0.6 * incidence) + 0.05 * (draws[1] - 0.5)).clamp(0, 1)
    instance = torch.as_tensor(scene.prims.instance, device=device)[hits.prim.clamp(min=0)]
    instance = torch.where(on_prim, instance, -1)
    pts = torch.cat([t[idx, None] * dirs[idx], inten[idx, None]], 1)
    rc = torch.stack([idx // cfg.num_columns, idx % cfg.num_columns]).int().cpu().numpy()
    return LidarScan(
        pts.cpu().numpy().astype(np.float32), rc[0], rc[1], instance[idx].cpu().numpy()
    )


def camera_pose(spec: CameraSpec, cfg: SceneConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intrinsics (3, 3), rotation camera -> world (3, 3) and camera position (3,) (world)."""
    f = spec.width / 2 / math.tan(math.radians(spec.hfov_deg) / 2)
    K = np.array([[f, 0, spec.width / 2], [0, f, spec.height / 2], [0, 0, 1]])
    c, s = math.cos(math.radians(spec.yaw_deg)), math.sin(math.radians(spec.yaw_deg))
    R = np.array([[s, 0, c], [-c, 0, s], [0, -1, 0]], dtype=np.float64)  # columns: x, y, z axes
    return K, R, np.array([0.1 * c, 0.1 * s, cfg.camera_height])


_EDGES = torch.tensor([(a, a | 1 << k) for a in range(8) for k in range(3) if not a >> k & 1])


def _camera_rects(p: TorchPrims, K: torch.Tensor, R: torch.Tensor, pos: torch.Tensor, hw):
    """Pixel row/column ranges (r0, r1, c0, c1), each (P,), bounding each primitive's projection.

    The bounding boxes are clipped at the near plane (corners in front plus edge crossings).
    """
    near = 0.05
    cam = (p.local_corners() - pos) @ R
    a, b = cam[:, _EDGES[:, 0]], cam[:, _EDGES[:, 1]]
    dz = b[..., 2] - a[..., 2]
    s = ((near - a[..., 2]) / torch.where(dz == 0, 1e-12, dz))[..., None]
    cross = a + s.clamp(0, 1) * (b - a)
    pts = torch.cat([cam, cross], 1)
    ok = torch.cat([cam[..., 2] >= near, (s[..., 0] > 0) & (s[..., 0] < 1)], 1)
    uv = pts[..., :2] / pts[..., 2:].clamp(min=near) * K[[0, 1], [0, 1]] + K[:2, 2]
    lo = torch.where(ok[..., None], uv, torch.inf).amin(1)
    hi = torch.where(ok[..., None], uv, -torch.inf).amax(1)
    h, w = hw
    c0 = (torch.floor(lo[:, 0] - 0.5) - 1).clamp(0, w).nan_to_num(w).long()
    c1 = (torch.ceil(hi[:, 0] - 0.5) + 2).clamp(0, w).nan_to_num(0).long()
    r0 = (torch.floor(lo[:, 1] - 0.5) - 1).clamp(0, h).nan_to_num(h).long()
    r1 = (torch.ceil(hi[:, 1] - 0.5) + 2).clamp(0, h).nan_to_num(0).long()
    return r0, r1, c0, c1


def _shade(table, street, hits: Hits, tg, origin, dirs, device) -> torch.Tensor:
    """(R, 3) colours in [0, 1]: textured Lambertian surfaces, ground, sky gradient and haze."""
    t = torch.minimum(hits.t, tg)
    pts = origin + t.clamp(max=1e6)[:, None] * dirs
    attrs, on_prim = _attributes(table, street, hits, tg, pts)
    cell = torch.where(on_prim, attrs[:, 3], 0.1).clamp(min=1e-3)
    amp = torch.where(on_prim, attrs[:, 4], 0.12)
    tex = 1 + amp * 2 * (_hash(torch.floor(pts / cell[:, None])) - 0.5)
    normal = torch.where(
        on_prim[:, None], hits.normal, torch.tensor([0.0, 0.0, 1.0], device=device, dtype=t.dtype)
    )
    lambert = 0.45 + 0.55 * (normal @ _LIGHT.to(device) / _LIGHT.norm()).clamp(min=0)
    colour = attrs[:, :3] * (tex * lambert)[:, None]
    sky = torch.lerp(_HORIZON.to(device), _ZENITH.to(device), (dirs[:, 2:] * 3).clamp(0, 1))
    haze = 1 - torch.exp(-t / 250.0)[:, None]
    colour = torch.lerp(colour, _HORIZON.to(device).expand_as(colour), haze)
    return torch.where(torch.isfinite(t)[:, None], colour, sky)


def _pixel_rays(K: np.ndarray, R: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(H * W, 3) unit world directions through the pixel centres, row-major."""
    grid = [torch.arange(n, device=R.device, dtype=DTYPE) + 0.5 for n in (height, width)]
    v, u = torch.meshgrid(*grid, indexing="ij")
    local = torch.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], torch.ones_like(u)], -1)
    dirs = local.reshape(-1, 3) @ R.T
    return dirs / dirs.norm(dim=1, keepdim=True)


def render_camera(
    scene: Scene, spec: CameraSpec, cfg: SceneConfig, rng: np.random.Generator, device: torch.device
) -> CameraImage:
    """Render one camera: colours with pixel noise, and the per-pixel road-user mask.

    Args:
        scene: the scene (world frame).
        spec: the camera.
        cfg: configuration (camera height, pixel noise, LiDAR height for the extrinsic).
        rng: random generator for pixel noise (consumed).
        device: where to ray-cast.
    """
    K, R, pos = camera_pose(spec, cfg)
    Kt, Rt, post = (torch.as_tensor(a, dtype=DTYPE, device=device) for a in (K, R, pos))
    shape = (spec.height, spec.width)
    dirs = _pixel_rays(K, Rt, *shape)
    prims = TorchPrims.from_numpy(scene.prims, device)
    ray, pid = rect_pairs(*_camera_rects(prims, Kt, Rt, post, shape), spec.width)
    hits = nearest_hits(prims, post, dirs, ray, pid)
    tg = _ground(post, dirs)
    colour = _shade(surface_table(scene, device), scene.street, hits, tg, post, dirs, device)
    noise = torch.as_tensor(rng.standard_normal(colour.shape), dtype=DTYPE, device=device)
    image = (colour * 255 + noise * cfg.pixel_noise).clamp(0, 255).round().to(torch.uint8)
    inst = torch.as_tensor(scene.prims.instance, device=device)[hits.prim.clamp(min=0)]
    mask = torch.where((hits.prim >= 0) & (hits.t <= tg), inst, -1).int()
    T = np.eye(4)
    T[:3, :3] = R.T
    T[:3, 3] = -R.T @ (pos - np.array([0.0, 0.0, cfg.lidar_height]))
    image, mask = image.reshape(*shape, 3).cpu().numpy(), mask.reshape(shape).cpu().numpy()
    return CameraImage(image, mask, K, T)
