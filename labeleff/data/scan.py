"""Recover ring (beam) and azimuth-column indices of a spinning-LiDAR point cloud.

KITTI's ``velodyne/*.bin`` files store no ring or column, but they keep the scanner's order: the
points of one beam, in increasing azimuth ``atan2(y, x)``, then the next beam down. A new ring
therefore starts wherever the azimuth jumps back by more than ``RING_JUMP_DEG``. Small
backward steps (noise, < 1 deg) never reach that threshold; the jump back at a ring boundary is
about 360 deg on a full sweep and at least 2 x the half field of view on a cropped one (about
30-80 deg on KITTI's camera-cropped files).

The scan-order result is rejected when it is implausible: more than ``MAX_RINGS`` rings (points
reordered), or ring mean elevations that do not decrease from one ring to the next for at least
90 % of the rings, or a single ring spanning a wide elevation range. Then the fallback bins the
elevation angle at the HDL-64E mean beam spacing ``HDL64_RING_SPACING_DEG`` (26.9 deg / 63),
ring 0 being the highest. That fallback is approximate: the HDL-64E's upper block is spaced
about 1/3 deg and the lower about 1/2 deg, and a beam's elevation seen from the sensor origin
varies at short range.

Columns are bins of the azimuth angle of width ``COLUMN_RES_DEG`` = 0.08 deg (4,500 columns per
revolution), about the HDL-64E firing step at 10 Hz; column 0 starts at azimuth -180 deg
(behind the car) and columns increase counter-clockwise seen from above. KITTI's stored points are
mostly 0.18 deg apart within a ring (a few 0.09 deg), so two points rarely share a column.
"""

from __future__ import annotations

import warnings

import numpy as np

RING_JUMP_DEG = 10.0
MAX_RINGS = 128
HDL64_RING_SPACING_DEG = 26.9 / 63
COLUMN_RES_DEG = 0.08
NUM_COLUMNS = round(360.0 / COLUMN_RES_DEG)


def azimuth_deg(points: np.ndarray) -> np.ndarray:
    """(N,) azimuth ``atan2(y, x)`` in degrees, in (-180, 180], of (N, >=2) LiDAR points."""
    return np.degrees(np.arctan2(points[:, 1], points[:, 0]))


def elevation_deg(points: np.ndarray) -> np.ndarray:
    """(N,) elevation angle in degrees of (N, >=3) LiDAR points seen from the origin."""
    xy = np.hypot(points[:, 0], points[:, 1])
    return np.degrees(np.arctan2(points[:, 2], xy))


def azimuth_columns(points: np.ndarray) -> np.ndarray:
    """(N,) int32 azimuth column in ``[0, NUM_COLUMNS)`` of (N, >=2) points (see module doc)."""
    col = np.floor((azimuth_deg(points).astype(np.float64) + 180.0) / COLUMN_RES_DEG)
    return (col.astype(np.int64) % NUM_COLUMNS).astype(np.int32)


def rings_from_scan_order(points: np.ndarray) -> np.ndarray | None:
    """Ring index from the stored scan order, or ``None`` when the order is implausible.

    Args:
        points: (N, >=3) LiDAR points in the scanner's stored order, N >= 1.

    Returns:
        (N,) int32 ring per point (0 = first ring stored, the highest on KITTI), or ``None``.
    """
    if len(points) < 2:
        return np.zeros(len(points), np.int32)
    step = np.diff(azimuth_deg(points).astype(np.float64))
    direction = 1.0 if np.median(step) >= 0 else -1.0
    ring = np.concatenate([[0], np.cumsum(step * direction < -RING_JUMP_DEG)])
    return ring.astype(np.int32) if _plausible_rings(ring, elevation_deg(points)) else None


def _plausible_rings(ring: np.ndarray, elevation: np.ndarray) -> bool:
    """Whether rings look like beams: few enough and ordered by elevation (see module doc)."""
    n = int(ring[-1]) + 1
    if n > MAX_RINGS:
        return False
    if n == 1:
        return float(np.ptp(elevation)) <= 3 * HDL64_RING_SPACING_DEG
    mean_el = np.bincount(ring, elevation) / np.maximum(np.bincount(ring), 1)
    return float((np.diff(mean_el) < 0).mean()) >= 0.9


def rings_from_elevation(points: np.ndarray) -> np.ndarray:
    """(N,) int32 ring by binning the elevation at the HDL-64E mean spacing, 0 = highest."""
    el = elevation_deg(points).astype(np.float64)
    return np.floor((el.max() - el) / HDL64_RING_SPACING_DEG).astype(np.int32)


def recover_rings(points: np.ndarray, source: str = "points") -> tuple[np.ndarray, int]:
    """Ring index per point: scan order, else elevation binning (with a warning).

    Args:
        points: (N, >=3) LiDAR points in stored order, N >= 1.
        source: name of the file the points came from, for the warning.

    Returns:
        ring: (N,) int32 ring per point.
        num_rings: number of rings (``ring.max() + 1``).
    """
    ring = rings_from_scan_order(points)
    if ring is None:
        warnings.warn(
            f"{source}: the stored point order does not look like a ring-by-ring scan; "
            "ring indices estimated by elevation binning",
            stacklevel=2,
        )
        ring = rings_from_elevation(points)
    return ring, int(ring.max()) + 1
