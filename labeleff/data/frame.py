"""The data contract: one ``Frame`` per LiDAR sweep, produced by every reader, consumed everywhere.

Coordinates are the LiDAR frame in metres (x forward, y left, z up). 3D boxes are
``(x, y, z_center, l, w, h, yaw)`` with yaw about +z, measured from +x.

Weak labels (what training may see) and ground truth (what only metrics may see) are kept apart:
``Frame.training_view()`` returns a copy whose ``gt`` raises ``GroundTruthAccessError``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from labeleff.errors import DataError, GroundTruthAccessError


@dataclass(frozen=True)
class Camera:
    """One pinhole camera and its image.

    Attributes:
        name: camera name (e.g. ``"image_2"``, ``"FRONT"``).
        image: (H, W, 3) uint8 RGB.
        K: (3, 3) float64 intrinsics (pixels).
        T_cam_lidar: (4, 4) float64 rigid transform, LiDAR -> camera (x right, y down, z forward).
    """

    name: str
    image: np.ndarray
    K: np.ndarray
    T_cam_lidar: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return int(self.image.shape[0]), int(self.image.shape[1])


@dataclass(frozen=True)
class Boxes2D:
    """2D boxes of one camera.

    Attributes:
        boxes: (M, 4) float32 ``x1, y1, x2, y2`` in pixels, x2 > x1, y2 > y1, inside the image.
        labels: (M,) int64 class ids (see ``labeleff.data.classes``).
    """

    boxes: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    @staticmethod
    def empty() -> Boxes2D:
        return Boxes2D(np.zeros((0, 4), np.float32), np.zeros((0,), np.int64))


@dataclass(frozen=True)
class WeakLabels:
    """Labels that training code may see.

    Attributes:
        boxes2d: one ``Boxes2D`` per camera, same order as ``Frame.cameras``.
        boxes3d: (B, 7) float32 3D boxes that a label budget marked as box-labelled (MixSup), or
            empty. Selecting them from ground truth is the label budget's job, never a model's.
        labels3d: (B,) int64 classes of ``boxes3d``.
        cluster_point_ids: per cluster label, (n_i,) int64 indices into ``Frame.points``.
        cluster_labels: (n_clusters,) int64 class of each cluster label.
    """

    boxes2d: tuple[Boxes2D, ...]
    boxes3d: np.ndarray = field(default_factory=lambda: np.zeros((0, 7), np.float32))
    labels3d: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))
    cluster_point_ids: tuple[np.ndarray, ...] = ()
    cluster_labels: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))


@dataclass(frozen=True)
class GroundTruth:
    """Exact labels; only metrics (and label budgets, through manifests) may read them.

    Attributes:
        boxes3d: (B, 7) float32 ``x, y, z_center, l, w, h, yaw``.
        labels3d: (B,) int64 class ids.
        point_instance: (N,) int64 index into ``boxes3d`` per point, -1 for none.
        point_semantic: (N,) int64 class id per point, ``BACKGROUND`` for none.
        masks: per camera, (H, W) int32 index into ``boxes3d`` per pixel, -1 for none; may be
            empty (real data without masks).
        box2d_instance: per camera, (M,) int64 index into ``boxes3d`` for each weak 2D box,
            -1 when unknown (real data without 2D-3D association).
    """

    boxes3d: np.ndarray
    labels3d: np.ndarray
    point_instance: np.ndarray
    point_semantic: np.ndarray
    masks: tuple[np.ndarray, ...] = ()
    box2d_instance: tuple[np.ndarray, ...] = ()


@dataclass(frozen=True)
class Frame:
    """One LiDAR sweep with its cameras, weak labels and (hidden in training) ground truth.

    Attributes:
        frame_id: unique id within its dataset (e.g. ``"000008"``).
        points: (N, C) float32, columns ``x, y, z, intensity, ...`` (C >= 4), finite.
        ring: (N,) int32 beam (row) index per point, -1 when unknown.
        column: (N,) int32 azimuth (column) index per point, -1 when unknown.
        cameras: the cameras, each with its image and calibration.
        weak: labels training may see.
        num_rings: number of LiDAR beams (rows); 0 when unknown.
        num_columns: number of azimuth columns per revolution; 0 when unknown.
    """

    frame_id: str
    points: np.ndarray
    ring: np.ndarray
    column: np.ndarray
    cameras: tuple[Camera, ...]
    weak: WeakLabels
    _gt: GroundTruth | None = None
    _gt_hidden: bool = False
    num_rings: int = 0
    num_columns: int = 0

    @property
    def gt(self) -> GroundTruth | None:
        """Ground truth; raises ``GroundTruthAccessError`` on a training view."""
        if self._gt_hidden:
            raise GroundTruthAccessError(
                f"frame {self.frame_id}: ground truth is hidden in a training view "
                "(only metrics and label budgets may read it)"
            )
        return self._gt

    @property
    def num_points(self) -> int:
        return int(self.points.shape[0])

    def training_view(self) -> Frame:
        """A copy whose ground truth cannot be read (arrays are shared, not copied)."""
        return dataclasses.replace(self, _gt_hidden=True)

    def validate(self) -> Frame:
        """Check shapes, dtypes and finiteness; raise ``DataError`` naming the frame."""
        validate_frame(self)
        return self


def _check(cond: bool, frame_id: str, problem: str) -> None:
    if not cond:
        raise DataError(f"frame {frame_id}", problem)


def validate_frame(f: Frame) -> None:
    """Validate a frame against the contract; raise ``DataError`` on the first violation."""
    fid = f.frame_id
    n = f.points.shape[0] if f.points.ndim == 2 else -1
    _check(
        f.points.ndim == 2 and f.points.shape[1] >= 4,
        fid,
        f"points must be (N, >=4), got {f.points.shape}",
    )
    _check(f.points.dtype == np.float32, fid, f"points must be float32, got {f.points.dtype}")
    _check(n > 0, fid, "empty frame: no points")
    _check(bool(np.isfinite(f.points).all()), fid, "points contain NaN or inf")
    _check(f.ring.shape == (n,) and f.column.shape == (n,), fid, "ring/column must be (N,)")
    _check(len(f.weak.boxes2d) == len(f.cameras), fid, "one Boxes2D per camera is required")
    for cam, b in zip(f.cameras, f.weak.boxes2d, strict=True):
        h, w = cam.size
        _check(
            cam.K.shape == (3, 3) and cam.T_cam_lidar.shape == (4, 4),
            fid,
            f"{cam.name}: bad calibration shapes",
        )
        _check(
            b.boxes.shape == (len(b.labels), 4),
            fid,
            f"{cam.name}: boxes must be (M, 4) with M labels",
        )
        if len(b):
            x1, y1, x2, y2 = b.boxes.T
            inside = (x1 >= 0) & (y1 >= 0) & (x2 <= w) & (y2 <= h) & (x2 > x1) & (y2 > y1)
            _check(
                bool(inside.all()), fid, f"{cam.name}: 2D boxes outside the {w}x{h} image or empty"
            )
    if f._gt is not None:
        g = f._gt
        _check(
            g.point_instance.shape == (n,) and g.point_semantic.shape == (n,),
            fid,
            "gt per-point labels must be (N,)",
        )
        _check(
            g.boxes3d.shape == (len(g.labels3d), 7), fid, "gt boxes3d must be (B, 7) with B labels"
        )
