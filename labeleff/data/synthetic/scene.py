"""Procedural street scenes: static surroundings and non-intersecting road users as primitives.

World frame while building: x along the street, y left, z up, the road at z = 0 and the ego LiDAR
above the origin. Every surface is a primitive of one of three kinds, each with a yaw about +z:
oriented boxes, vertical (elliptic) cylinders and ellipsoids; the road and terrain are the plane
z = 0. Road users are compounds of primitives sharing the object's yaw, so the union of the parts'
local extents is the object's tight 3D box.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from labeleff.data.synthetic.config import SceneConfig

BOX, CYLINDER, ELLIPSOID = 0, 1, 2
VEHICLE, PEDESTRIAN, CYCLIST = 0, 1, 2
Counter = Callable[[float], int]  # density per 100 m -> sampled count

_CAR_COLOURS = np.array(
    [
        [0.9, 0.9, 0.9],
        [0.08, 0.08, 0.09],
        [0.6, 0.62, 0.64],
        [0.35, 0.36, 0.38],
        [0.6, 0.08, 0.07],
        [0.1, 0.2, 0.5],
        [0.12, 0.3, 0.18],
        [0.75, 0.7, 0.55],
        [0.85, 0.55, 0.1],
    ]
)
_CLOTH_COLOURS = np.array(
    [
        [0.1, 0.1, 0.12],
        [0.2, 0.25, 0.45],
        [0.5, 0.1, 0.1],
        [0.8, 0.8, 0.78],
        [0.35, 0.3, 0.25],
        [0.2, 0.4, 0.25],
        [0.6, 0.5, 0.2],
        [0.45, 0.45, 0.5],
    ]
)
_BUILDING_COLOURS = np.array(
    [
        [0.7, 0.65, 0.58],
        [0.55, 0.35, 0.28],
        [0.78, 0.78, 0.75],
        [0.45, 0.45, 0.48],
        [0.62, 0.55, 0.42],
        [0.5, 0.52, 0.55],
    ]
)
# Surface appearance: colour, texture cell (m), texture amplitude, LiDAR intensity, LiDAR dropout
# probability, extra range noise (m), probability that a LiDAR beam passes through (glass, leaves).
_SURFACES: dict[
    str, tuple[tuple[float, float, float], float, float, float, float, float, float]
] = {
    "sidewalk": ((0.62, 0.6, 0.57), 0.25, 0.12, 0.25, 0.02, 0.0, 0.0),
    "pole": ((0.45, 0.46, 0.48), 0.1, 0.08, 0.55, 0.02, 0.0, 0.0),
    "trunk": ((0.33, 0.24, 0.15), 0.08, 0.25, 0.2, 0.05, 0.01, 0.0),
    "foliage": ((0.2, 0.42, 0.14), 0.15, 0.45, 0.15, 0.3, 0.08, 0.3),
    "glass": ((0.1, 0.12, 0.15), 0.05, 0.08, 0.05, 0.6, 0.02, 0.6),
    "tire": ((0.06, 0.06, 0.06), 0.04, 0.1, 0.05, 0.3, 0.0, 0.0),
    "skin": ((0.78, 0.58, 0.46), 0.03, 0.1, 0.3, 0.05, 0.0, 0.0),
    "metal": ((0.3, 0.3, 0.32), 0.04, 0.1, 0.4, 0.1, 0.0, 0.0),
}


@dataclass(frozen=True)
class Primitives:
    """Analytic surfaces of a scene (P primitives).

    Attributes:
        kind: (P,) int64 ``BOX``, ``CYLINDER`` or ``ELLIPSOID``.
        center: (P, 3) float64 centre (metres).
        half: (P, 3) float64 half extents along the local axes (radii for cylinders/ellipsoids).
        yaw: (P,) float64 rotation about +z (radians).
        color: (P, 3) float64 base colour in [0, 1].
        texture: (P, 2) float64 texture cell size (m) and amplitude.
        lidar: (P, 4) float64 intensity in [0, 1], dropout probability, extra range noise (m),
            pass-through probability.
        instance: (P,) int64 index of the road user the primitive belongs to, -1 for surroundings.
    """

    kind: np.ndarray
    center: np.ndarray
    half: np.ndarray
    yaw: np.ndarray
    color: np.ndarray
    texture: np.ndarray
    lidar: np.ndarray
    instance: np.ndarray


@dataclass(frozen=True)
class Street:
    """Layout of the road surface (the plane z = 0).

    Attributes:
        road: (y_min, y_max) of the carriageway; outside it, up to the sidewalks, is terrain.
        lane_lines: (L,) y of dashed lane lines.
        edge_lines: (E,) y of solid edge lines.
    """

    road: tuple[float, float]
    lane_lines: np.ndarray
    edge_lines: np.ndarray


@dataclass(frozen=True)
class Scene:
    """A sampled scene.

    Attributes:
        prims: every surface except the ground plane.
        street: the road layout.
        boxes: (B, 7) float64 tight road-user boxes ``x, y, z_center, l, w, h, yaw`` (world).
        labels: (B,) int64 classes (0 vehicle, 1 pedestrian, 2 cyclist).
    """

    prims: Primitives
    street: Street
    boxes: np.ndarray
    labels: np.ndarray


class _Builder:
    """Accumulates primitives and road users while a scene is sampled."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.rows: list[tuple] = []
        self.boxes: list[np.ndarray] = []
        self.labels: list[int] = []
        self.footprints: list[np.ndarray] = []  # (x, y, l, w, yaw) of everything on the ground

    def add(self, kind: int, center, half, yaw: float, surface: str | tuple, instance: int = -1):
        """Add one primitive; ``surface`` names an entry of ``_SURFACES`` or is a full tuple."""
        spec = _SURFACES[surface] if isinstance(surface, str) else surface
        colour, cell, amp, inten, drop, noise, transmit = spec
        jitter = 1.0 + 0.08 * self.rng.standard_normal(3)
        self.rows.append(
            (
                kind,
                center,
                half,
                yaw,
                np.clip(np.asarray(colour) * jitter, 0, 1),
                (cell, amp),
                (inten, drop, noise, transmit),
                instance,
            )
        )

    def add_object(self, label: int, pose: np.ndarray, parts: list[tuple]) -> None:
        """Add a road user from parts given in its local frame at pose (x, y, yaw)."""
        x, y, yaw = pose
        c, s = np.cos(yaw), np.sin(yaw)
        lo = np.min([np.asarray(p[1]) - p[2] for p in parts], 0)
        hi = np.max([np.asarray(p[1]) + p[2] for p in parts], 0)
        inst = len(self.boxes)
        for kind, centre, half, surface in parts:
            cx, cy, cz = centre
            self.add(kind, (x + c * cx - s * cy, y + s * cx + c * cy, cz), half, yaw, surface, inst)
        mid = (lo + hi) / 2
        self.boxes.append(
            np.array(
                [x + c * mid[0] - s * mid[1], y + s * mid[0] + c * mid[1], mid[2], *(hi - lo), yaw]
            )
        )
        self.labels.append(label)

    def free(self, x: float, y: float, length: float, w: float, yaw: float, gap: float) -> bool:
        """Whether a footprint (enlarged by ``gap``) overlaps nothing placed so far; records it."""
        box = np.array([x, y, length + 2 * gap, w + 2 * gap, yaw])
        if self.footprints and _overlaps(box, np.array(self.footprints)).any():
            return False
        self.footprints.append(np.array([x, y, length, w, yaw]))
        return True

    def primitives(self) -> Primitives:
        cols = list(zip(*self.rows, strict=True))
        arr = [np.asarray(c, np.float64) for c in cols]
        return Primitives(
            arr[0].astype(np.int64),
            arr[1],
            arr[2],
            arr[3],
            arr[4],
            arr[5],
            arr[6],
            arr[7].astype(np.int64),
        )


def _overlaps(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Separating-axis test of one BEV rectangle against many.

    Args:
        box: (5,) ``x, y, l, w, yaw``.
        others: (M, 5) rectangles.

    Returns:
        (M,) bool, True where the rectangles overlap.
    """

    def axes_and_corners(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, s = np.cos(b[:, 4]), np.sin(b[:, 4])
        ax = np.stack([np.stack([c, s], -1), np.stack([-s, c], -1)], 1)  # (M, 2, 2)
        sign = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * 0.5
        local = sign[None] * b[:, None, 2:4]
        return ax, b[:, None, :2] + local[..., :1] * ax[:, None, 0] + local[..., 1:] * ax[
            :, None, 1
        ]

    a_ax, a_co = axes_and_corners(np.broadcast_to(box, others.shape))
    b_ax, b_co = axes_and_corners(others)
    axes = np.concatenate([a_ax, b_ax], 1)  # (M, 4, 2)
    pa = np.einsum("mkd,mcd->mkc", axes, a_co)
    pb = np.einsum("mkd,mcd->mkc", axes, b_co)
    separated = (pa.max(-1) < pb.min(-1)) | (pb.max(-1) < pa.min(-1))
    return ~separated.any(-1)


def _paint(
    rng: np.random.Generator,
    palette: np.ndarray,
    intensity: tuple[float, float],
    dropout: tuple[float, float] = (0.02, 0.06),
) -> tuple:
    """A surface tuple (see ``_SURFACES``) with a colour drawn from ``palette``."""
    colour = palette[rng.integers(len(palette))]
    return (tuple(colour), 0.05, 0.06, rng.uniform(*intensity), rng.uniform(*dropout), 0.0, 0.0)


def vehicle_parts(rng: np.random.Generator) -> list[tuple]:
    """Parts of a car/van in its local frame: wheels, body, glass cabin and roof.

    Returns:
        list of ``(kind, centre (3,), half extents (3,), surface)``; the local origin is the centre
        of the footprint on the ground, x forward.
    """
    L, W, H = rng.uniform(3.8, 5.2), rng.uniform(1.6, 2.0), rng.uniform(1.4, 1.9)
    r, clear, belt = rng.uniform(0.3, 0.38), rng.uniform(0.22, 0.35), H * rng.uniform(0.5, 0.6)
    paint = _paint(rng, _CAR_COLOURS, (0.1, 0.6), (0.05, 0.3))  # specular paint loses returns
    cabin_len = L * (rng.uniform(0.65, 0.8) if H > 1.75 else rng.uniform(0.45, 0.6))
    cx = -L * rng.uniform(0.0, 0.08) if H <= 1.75 else -L / 2 + cabin_len / 2 + 0.1
    axle = L / 2 - rng.uniform(0.7, 0.9)
    parts = [
        (BOX, (0.0, 0.0, (clear + belt) / 2), (L / 2, W / 2, (belt - clear) / 2), paint),
        (
            BOX,
            (cx, 0.0, (belt + H - 0.06) / 2),
            (cabin_len / 2, W / 2 - 0.08, (H - 0.06 - belt) / 2),
            "glass",
        ),
        (BOX, (cx, 0.0, H - 0.03), (cabin_len / 2, W / 2 - 0.1, 0.03), paint),
    ]
    for sx in (-1, 1):
        for sy in (-1, 1):
            parts.append((ELLIPSOID, (sx * axle, sy * (W / 2 - 0.11), r), (r, 0.11, r), "tire"))
    return parts


def pedestrian_parts(rng: np.random.Generator) -> list[tuple]:
    """Parts of a walking pedestrian (legs, torso, arms, head); see ``vehicle_parts``."""
    Hp, sw, stride = rng.uniform(1.5, 1.9), rng.uniform(0.36, 0.5), rng.uniform(0.35, 0.75)
    hip, trunk = 0.48 * Hp, 0.17 * Hp
    top, legs = _paint(rng, _CLOTH_COLOURS, (0.1, 0.4)), _paint(rng, _CLOTH_COLOURS, (0.1, 0.4))
    parts = [
        (CYLINDER, (0.0, 0.0, hip + trunk), (0.13, sw / 2, trunk), top),
        (ELLIPSOID, (0.0, 0.0, Hp - 0.115), (0.1, 0.085, 0.115), "skin"),
    ]
    for s in (-1, 1):
        parts.append((CYLINDER, (s * stride / 2, s * 0.09, hip / 2), (0.075, 0.075, hip / 2), legs))
        parts.append(
            (
                CYLINDER,
                (-s * stride / 3, s * (sw / 2 + 0.05), hip + trunk),
                (0.05, 0.05, 0.9 * trunk),
                top,
            )
        )
    return parts


def cyclist_parts(rng: np.random.Generator) -> list[tuple]:
    """Parts of a bicycle and its rider; see ``vehicle_parts``."""
    r, wb, Hc = rng.uniform(0.3, 0.36), rng.uniform(0.9, 1.12), rng.uniform(1.5, 1.9)
    saddle = r + 0.45
    trunk = Hc - 0.25 - saddle
    frame, cloth = _paint(rng, _CAR_COLOURS, (0.2, 0.6)), _paint(rng, _CLOTH_COLOURS, (0.1, 0.4))
    reach = wb / 2 - 0.2
    parts = [
        (BOX, (0.0, 0.0, r + 0.15), (wb / 2 - 0.05, 0.025, 0.15), frame),
        (BOX, (wb / 2 - 0.15, 0.0, r + 0.5), (0.03, 0.28, 0.03), "metal"),
        (BOX, (0.05, 0.0, saddle + trunk / 2), (0.15, 0.2, trunk / 2), cloth),
        (ELLIPSOID, (0.08, 0.0, Hc - 0.115), (0.1, 0.085, 0.115), "skin"),
    ]
    for s in (-1, 1):
        parts.append((ELLIPSOID, (s * wb / 2, 0.0, r), (r, 0.025, r), "tire"))
        parts.append(
            (
                CYLINDER,
                (0.0, s * 0.1, (r + 0.05 + saddle) / 2),
                (0.07, 0.07, (saddle - r - 0.05) / 2),
                cloth,
            )
        )
        parts.append(
            (
                BOX,
                (0.05 + reach / 2, s * 0.2, saddle + 0.8 * trunk),
                (reach / 2, 0.045, 0.045),
                cloth,
            )
        )
    return parts


_PARTS = {VEHICLE: vehicle_parts, PEDESTRIAN: pedestrian_parts, CYCLIST: cyclist_parts}


@dataclass(frozen=True)
class _Lane:
    y: float
    width: float
    parking: bool
    direction: int  # +1 drives towards +x, -1 towards -x


def _lanes(cfg: SceneConfig, rng: np.random.Generator) -> list[_Lane]:
    """Lanes from right (-y) to left, shifted so the ego lane is centred on y = 0."""
    n = int(rng.integers(cfg.lanes_per_direction[0], cfg.lanes_per_direction[1] + 1))
    spec = [(cfg.lane_width, False, 1)] * n + [(cfg.lane_width, False, -1)] * n
    for side in (0, 1):
        if rng.random() < cfg.parking_lane_prob:
            park = (rng.uniform(2.1, 2.5), True, 1 if side == 0 else -1)
            spec = [park, *spec] if side == 0 else [*spec, park]
    edges = np.concatenate([[0.0], np.cumsum([s[0] for s in spec])])
    centres = (edges[:-1] + edges[1:]) / 2
    drive = [i for i, s in enumerate(spec) if not s[1] and s[2] == 1]
    shift = centres[drive[int(rng.integers(len(drive)))]]
    return [_Lane(c - shift, *s) for c, s in zip(centres, spec, strict=True)]


def _street(lanes: list[_Lane]) -> Street:
    """Lane markings: dashed between same-direction lanes, solid at the centre and road edges."""
    bounds = [(lane.y - lane.width / 2, lane.y + lane.width / 2) for lane in lanes]
    dashed, solid = [], []
    for a, b, (_, y) in zip(lanes[:-1], lanes[1:], bounds[:-1], strict=True):
        same = a.direction == b.direction and not (a.parking or b.parking)
        (dashed if same else solid).append(y)
    road = (bounds[0][0], bounds[-1][1])
    solid += [road[0] + 0.25, road[1] - 0.25]
    return Street(road, np.array(dashed), np.array(solid))


def _building(b: _Builder, x: float, length: float, front: float, sign: int) -> None:
    """One box building of random depth, height and colour whose facade is at y = ``front``."""
    rng = b.rng
    depth, height = rng.uniform(8, 18), rng.uniform(4, 22)
    colour = tuple(_BUILDING_COLOURS[rng.integers(len(_BUILDING_COLOURS))])
    surface = (colour, 0.4, 0.15, rng.uniform(0.15, 0.45), 0.03, 0.0, 0.0)
    centre = (x + length / 2, front + sign * depth / 2, height / 2)
    b.add(BOX, centre, (length / 2, depth / 2, height / 2), 0.0, surface)


def _lots(b: _Builder, cfg: SceneConfig, outer: float, sign: int) -> None:
    """Lots beyond a sidewalk: buildings (some set back behind a yard), bushes in the yards."""
    rng, end = b.rng, cfg.street_half_length + 20.0
    x = -end + rng.uniform(0, 10)
    while x < end:
        length, yard = rng.uniform(8, 30), rng.uniform(0.0, 5.0) * (rng.random() < 0.6)
        if rng.random() < cfg.building_prob:
            _building(b, x, length, outer + sign * yard, sign)
        if yard > 1.5:
            for _ in range(int(rng.integers(1, 4))):
                rad = np.minimum(rng.uniform(0.4, 1.4, 3), yard / 2) * (1.0, 1.0, 0.8)
                centre = (x + rng.uniform(0, length), outer + sign * yard / 2, rad[2] * 0.8)
                b.add(ELLIPSOID, centre, rad, rng.choice([0.0, np.pi / 2]), "foliage")
        x += length + rng.uniform(0, 6)


def _sidewalks_and_lots(b: _Builder, cfg: SceneConfig, road: tuple[float, float]) -> list[tuple]:
    """Raised sidewalks (12 m slabs) and the lots behind; returns per side (kerb y, outer y)."""
    half, sides = cfg.street_half_length, []
    for sign, kerb in ((-1, road[0]), (1, road[1])):
        width = b.rng.uniform(*cfg.sidewalk_width)
        outer = kerb + sign * width
        for x0 in np.arange(-half - 12.0, half + 12.0, 12.0):
            centre = (x0 + 6.0, (kerb + outer) / 2, 0.075)
            b.add(BOX, centre, (6.0, width / 2, 0.075), 0.0, "sidewalk")
        _lots(b, cfg, outer, sign)
        sides.append((kerb, outer))
    return sides


def _street_furniture(b: _Builder, cfg: SceneConfig, sides: list[tuple]) -> None:
    """Poles near the kerb and trees (trunk + crown) on the sidewalks."""
    rng, half = b.rng, cfg.street_half_length
    for kerb, outer in sides:
        sign = np.sign(outer - kerb)
        for spacing, is_tree in ((cfg.pole_spacing, False), (cfg.tree_spacing, True)):
            x = -half + rng.uniform(0, spacing)
            while x < half:
                y = kerb + sign * (0.9 if is_tree else 0.4)
                rad = rng.uniform(0.12, 0.25) if is_tree else rng.uniform(0.08, 0.14)
                if (not is_tree or rng.random() < 0.7) and b.free(x, y, 2 * rad, 2 * rad, 0.0, 0.1):
                    h = rng.uniform(2.0, 3.5) if is_tree else rng.uniform(4.0, 9.0)
                    b.add(
                        CYLINDER,
                        (x, y, h / 2),
                        (rad, rad, h / 2),
                        0.0,
                        "trunk" if is_tree else "pole",
                    )
                    if is_tree:
                        crown = rng.uniform(1.5, 3.0, 3)
                        b.add(
                            ELLIPSOID,
                            (x, y, h + 0.7 * crown[2]),
                            crown,
                            rng.uniform(0, np.pi),
                            "foliage",
                        )
                x += spacing * rng.uniform(0.6, 1.4)


@dataclass(frozen=True)
class _Group:
    """A group of road users of one class and where they go.

    Attributes:
        label: class id.
        count: how many to try to place.
        x: (min, max) along the street.
        y: (centre, spread): uniform in centre +- spread when ``uniform_y``, else normal.
        uniform_y: see ``y``.
        z0: height of the ground they stand on.
        headings: yaws to choose from, plus normal noise ``yaw_noise``.
        yaw_noise: standard deviation of the yaw noise (radians).
        random_yaw: probability of a uniformly random yaw instead.
        gap: minimum free space around each footprint (metres).
    """

    label: int
    count: int
    x: tuple[float, float]
    y: tuple[float, float]
    headings: tuple[float, ...]
    uniform_y: bool = False
    z0: float = 0.0
    yaw_noise: float = 0.0
    random_yaw: float = 0.0
    gap: float = 0.1

    def pose(self, r: np.random.Generator) -> tuple[float, float, float, float]:
        """(x, y, z0, yaw) of one member."""
        x = r.uniform(*self.x)
        cy, sy = self.y
        y = r.uniform(cy - sy, cy + sy) if self.uniform_y else cy + r.normal(0, sy)
        if r.random() < self.random_yaw:
            return x, y, self.z0, r.uniform(-np.pi, np.pi)
        return x, y, self.z0, r.choice(self.headings) + r.normal(0, self.yaw_noise)


def _place(b: _Builder, g: _Group) -> None:
    """Place the members of a group at sampled poses, rejecting overlaps (10 tries each)."""
    for _ in range(g.count):
        parts = _PARTS[g.label](b.rng)
        lo = np.min([np.asarray(p[1]) - p[2] for p in parts], 0)
        hi = np.max([np.asarray(p[1]) + p[2] for p in parts], 0)
        mid = (lo + hi) / 2
        for _attempt in range(10):
            x, y, z0, yaw = g.pose(b.rng)
            cx = x + np.cos(yaw) * mid[0] - np.sin(yaw) * mid[1]
            cy = y + np.sin(yaw) * mid[0] + np.cos(yaw) * mid[1]
            if b.free(cx, cy, hi[0] - lo[0], hi[1] - lo[1], yaw, g.gap):
                lifted = [(k, (c[0], c[1], c[2] + z0), h, s) for k, c, h, s in parts]
                b.add_object(g.label, np.array([x, y, yaw]), lifted)
                break


def _vehicle_groups(cfg: SceneConfig, count: Counter, lanes: list[_Lane]) -> list[_Group]:
    """Parked and moving vehicles along the lanes, and cyclists at the right edge of each side."""
    xs, groups = (-cfg.street_half_length, cfg.street_half_length), []
    for ln in lanes:
        heading = (0.0 if ln.direction > 0 else np.pi,)
        density = cfg.parked_density if ln.parking else cfg.moving_density
        groups.append(
            _Group(
                VEHICLE,
                count(density),
                xs,
                (ln.y, 0.2),
                heading,
                uniform_y=ln.parking,
                yaw_noise=0.04 if ln.parking else 0.02,
                gap=0.3 if ln.parking else 1.0,
            )
        )
    for d in (1, -1):
        edge = [ln for ln in lanes if ln.direction == d and not ln.parking]
        y = edge[0].y - 1.0 if d > 0 else edge[-1].y + 1.0
        groups.append(
            _Group(
                CYCLIST,
                count(cfg.cyclist_density),
                xs,
                (y, 0.2),
                (0.0 if d > 0 else np.pi,),
                yaw_noise=0.05,
                gap=0.5,
            )
        )
    return groups


def _pedestrian_groups(
    cfg: SceneConfig, rng: np.random.Generator, count: Counter, road: tuple, sides: list[tuple]
) -> list[_Group]:
    """Pedestrians walking on both sidewalks and a few crossing the road at one place."""
    xs, groups = (-cfg.street_half_length, cfg.street_half_length), []
    for kerb, outer in sides:
        y = ((kerb + outer) / 2, abs(outer - kerb) / 2 - 0.5)
        groups.append(
            _Group(
                PEDESTRIAN,
                count(cfg.pedestrian_density),
                xs,
                y,
                (0.0, np.pi),
                uniform_y=True,
                z0=0.15,
                yaw_noise=0.3,
                random_yaw=0.3,
            )
        )
    x_cross = rng.uniform(-0.4, 0.4) * cfg.street_half_length
    crossing = int(rng.integers(cfg.crossing_pedestrians[0], cfg.crossing_pedestrians[1] + 1))
    y = (sum(road) / 2, (road[1] - road[0]) / 2 - 0.5)
    groups.append(
        _Group(
            PEDESTRIAN,
            crossing,
            (x_cross - 2, x_cross + 2),
            y,
            (-np.pi / 2, np.pi / 2),
            uniform_y=True,
            yaw_noise=0.2,
        )
    )
    return groups


def sample_scene(cfg: SceneConfig, rng: np.random.Generator) -> Scene:
    """Sample a street scene: road, sidewalks, buildings, furniture, vegetation and road users.

    Args:
        cfg: scene configuration.
        rng: the random generator (consumed).

    Returns:
        The scene in the world frame (road at z = 0, ego sensors above the origin).
    """
    b = _Builder(rng)
    lanes = _lanes(cfg, rng)
    street = _street(lanes)
    sides = _sidewalks_and_lots(b, cfg, street.road)
    b.free(0.0, 0.0, 5.0, 2.2, 0.0, 0.0)  # the ego vehicle
    _street_furniture(b, cfg, sides)

    def count(density: float) -> int:
        return int(rng.poisson(density * 2 * cfg.street_half_length / 100))

    groups = _vehicle_groups(cfg, count, lanes)
    groups += _pedestrian_groups(cfg, rng, count, street.road, sides)
    for group in groups:
        _place(b, group)
    boxes = np.array(b.boxes, np.float64).reshape(-1, 7)
    return Scene(b.primitives(), street, boxes, np.array(b.labels, np.int64))
