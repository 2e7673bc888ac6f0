"""The ``labeleff`` sidecar of a KITTI-layout frame: what KITTI's files cannot hold.

File: ``<root>/<split>/labeleff/<frame_id>.npz`` (NumPy ``.npz``, no pickled objects). Keys:

- ``version`` (1), ``num_points`` N (must equal the finite points of the ``.bin`` file).
- ``ring``, ``column`` (N,) int32; ``num_rings``, ``num_columns``.
- ``extra_columns`` (N, C - 4) float32: point columns after x, y, z, intensity.
- ``camera_names`` (n_cam,) str; for each camera k >= 1 (camera 0 is ``image_2``):
  ``camera{k}_image``, ``camera{k}_K``, ``camera{k}_T`` and its 2D boxes ``camera{k}_boxes2d``,
  ``camera{k}_labels2d``.
- weak labels: ``weak_boxes3d``, ``weak_labels3d``, ``cluster_point_ids`` (all clusters'
  point ids concatenated), ``cluster_sizes``, ``cluster_labels``.
- ``has_gt``; with ground truth: ``point_instance``, ``point_semantic`` (N,) int64,
  ``num_masks`` and ``mask{k}``, ``num_box2d_instance`` and ``box2d_instance{k}`` per camera.

Ground-truth 3D boxes and camera 0's 2D boxes stay in ``label_2`` (one source of truth).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from labeleff.atomic import atomic_path
from labeleff.data.frame import Boxes2D, Camera, Frame, GroundTruth, WeakLabels
from labeleff.errors import DataError

SIDECAR_DIR = "labeleff"
SIDECAR_VERSION = 1


def sidecar_path(split_folder: Path, frame_id: str) -> Path:
    """``<split_folder>/labeleff/<frame_id>.npz``."""
    return Path(split_folder) / SIDECAR_DIR / f"{frame_id}.npz"


def _camera_arrays(frame: Frame) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {"camera_names": np.array([c.name for c in frame.cameras])}
    for k in range(1, len(frame.cameras)):
        cam, b = frame.cameras[k], frame.weak.boxes2d[k]
        out |= {
            f"camera{k}_image": cam.image,
            f"camera{k}_K": cam.K,
            f"camera{k}_T": cam.T_cam_lidar,
            f"camera{k}_boxes2d": b.boxes,
            f"camera{k}_labels2d": b.labels,
        }
    return out


def _weak_arrays(weak: WeakLabels) -> dict[str, np.ndarray]:
    ids = weak.cluster_point_ids
    return {
        "weak_boxes3d": weak.boxes3d,
        "weak_labels3d": weak.labels3d,
        "cluster_point_ids": np.concatenate(ids) if ids else np.zeros((0,), np.int64),
        "cluster_sizes": np.array([len(i) for i in ids], np.int64),
        "cluster_labels": weak.cluster_labels,
    }


def _gt_arrays(gt: GroundTruth | None) -> dict[str, np.ndarray]:
    if gt is None:
        return {"has_gt": np.bool_(False)}
    out = {
        "has_gt": np.bool_(True),
        "point_instance": gt.point_instance,
        "point_semantic": gt.point_semantic,
        "num_masks": np.int64(len(gt.masks)),
        "num_box2d_instance": np.int64(len(gt.box2d_instance)),
    }
    out |= {f"mask{k}": m for k, m in enumerate(gt.masks)}
    return out | {f"box2d_instance{k}": a for k, a in enumerate(gt.box2d_instance)}


def write_sidecar(frame: Frame, gt: GroundTruth | None, path: Path) -> None:
    """Write the sidecar of ``frame`` (ground truth ``gt`` or None) atomically to ``path``."""
    arrays = {
        "version": np.int64(SIDECAR_VERSION),
        "num_points": np.int64(frame.num_points),
        "ring": frame.ring,
        "column": frame.column,
        "num_rings": np.int64(frame.num_rings),
        "num_columns": np.int64(frame.num_columns),
        "extra_columns": frame.points[:, 4:],
    }
    arrays |= _camera_arrays(frame) | _weak_arrays(frame.weak) | _gt_arrays(gt)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def _load(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(path, f"unreadable sidecar ({err})") from err


def _cameras(z: dict[str, np.ndarray], camera0: Camera, weak2d0: Boxes2D) -> tuple[tuple, tuple]:
    names = [str(n) for n in z["camera_names"]]
    cams = [Camera(names[0], camera0.image, camera0.K, camera0.T_cam_lidar)]
    boxes = [weak2d0]
    for k in range(1, len(names)):
        cams.append(Camera(names[k], z[f"camera{k}_image"], z[f"camera{k}_K"], z[f"camera{k}_T"]))
        boxes.append(Boxes2D(z[f"camera{k}_boxes2d"], z[f"camera{k}_labels2d"]))
    return tuple(cams), tuple(boxes)


def _weak(z: dict[str, np.ndarray], boxes2d: tuple[Boxes2D, ...]) -> WeakLabels:
    ends = np.cumsum(z["cluster_sizes"])
    ids = tuple(np.split(z["cluster_point_ids"], ends[:-1])) if len(ends) else ()
    return WeakLabels(boxes2d, z["weak_boxes3d"], z["weak_labels3d"], ids, z["cluster_labels"])


def _gt(z: dict[str, np.ndarray], labels_gt: GroundTruth) -> GroundTruth | None:
    if not bool(z["has_gt"]):
        return None
    masks = tuple(z[f"mask{k}"] for k in range(int(z["num_masks"])))
    inst2d = tuple(z[f"box2d_instance{k}"] for k in range(int(z["num_box2d_instance"])))
    return GroundTruth(
        labels_gt.boxes3d,
        labels_gt.labels3d,
        z["point_instance"],
        z["point_semantic"],
        masks,
        inst2d,
    )


def _check(z: dict[str, np.ndarray], path: Path, n: int, weak2d0: Boxes2D, gt: GroundTruth) -> None:
    if int(z["version"]) != SIDECAR_VERSION:
        raise DataError(path, f"sidecar version {int(z['version'])}, expected {SIDECAR_VERSION}")
    if int(z["num_points"]) != n or len(z["ring"]) != n:
        raise DataError(path, f"sidecar holds {int(z['num_points'])} points, the point file {n}")
    if bool(z["has_gt"]) and int(z["num_box2d_instance"]):
        if len(z["box2d_instance0"]) != len(weak2d0):
            raise DataError(path, "sidecar 2D-3D association does not match label_2's 2D boxes")
        if int(z["point_instance"].max(initial=-1)) >= len(gt.boxes3d):
            raise DataError(path, "sidecar point instances exceed label_2's 3D boxes")


def frame_from_sidecar(
    path: Path,
    frame_id: str,
    points: np.ndarray,
    camera0: Camera,
    weak2d0: Boxes2D,
    labels_gt: GroundTruth,
) -> Frame:
    """Assemble a frame from the KITTI files' content and the sidecar at ``path``.

    Args:
        path: the sidecar file.
        frame_id: the frame id.
        points: (N, 4) float32 points of the ``.bin`` file.
        camera0: ``image_2`` with its calibration.
        weak2d0: camera 0's 2D boxes from ``label_2``.
        labels_gt: ground truth derived from ``label_2`` (its 3D boxes and classes are used).

    Raises:
        DataError: unreadable sidecar, a missing key or a mismatch with the KITTI files.
    """
    z = _load(path)
    try:
        _check(z, path, len(points), weak2d0, labels_gt)
        cams, boxes2d = _cameras(z, camera0, weak2d0)
        return Frame(
            frame_id,
            np.hstack([points, z["extra_columns"]]),
            z["ring"],
            z["column"],
            cams,
            _weak(z, boxes2d),
            _gt(z, labels_gt),
            num_rings=int(z["num_rings"]),
            num_columns=int(z["num_columns"]),
        )
    except KeyError as err:
        raise DataError(path, f"sidecar lacks key {err}") from err
