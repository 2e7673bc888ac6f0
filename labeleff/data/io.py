"""Exact, atomic on-disk round trip of a ``Frame`` as one ``.npz`` archive."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from labeleff.atomic import atomic_path
from labeleff.data.frame import Boxes2D, Camera, Frame, GroundTruth, WeakLabels
from labeleff.errors import DataError

_FORMAT = 1


def _flatten(frame: Frame) -> dict[str, np.ndarray]:
    """Every field of ``frame`` as named arrays (lists become numbered entries plus a count)."""
    w = frame.weak
    a: dict[str, np.ndarray] = {
        "format": np.array(_FORMAT),
        "frame_id": np.array(frame.frame_id),
        "points": frame.points,
        "ring": frame.ring,
        "column": frame.column,
        "num_rings": np.array(frame.num_rings),
        "num_columns": np.array(frame.num_columns),
        "num_cameras": np.array(len(frame.cameras)),
        "gt_hidden": np.array(frame._gt_hidden),
        "weak_boxes3d": w.boxes3d,
        "weak_labels3d": w.labels3d,
        "cluster_labels": w.cluster_labels,
        "cluster_sizes": np.array([len(c) for c in w.cluster_point_ids], np.int64),
        "cluster_ids": np.concatenate([np.zeros(0, np.int64), *w.cluster_point_ids]),
    }
    for i, (cam, b) in enumerate(zip(frame.cameras, w.boxes2d, strict=True)):
        a |= {
            f"cam{i}_name": np.array(cam.name),
            f"cam{i}_image": cam.image,
            f"cam{i}_K": cam.K,
            f"cam{i}_T": cam.T_cam_lidar,
            f"box2d{i}_boxes": b.boxes,
            f"box2d{i}_labels": b.labels,
        }
    return a | _flatten_gt(frame._gt)


def _flatten_gt(g: GroundTruth | None) -> dict[str, np.ndarray]:
    if g is None:
        return {"has_gt": np.array(False)}
    a = {
        "has_gt": np.array(True),
        "gt_boxes3d": g.boxes3d,
        "gt_labels3d": g.labels3d,
        "gt_point_instance": g.point_instance,
        "gt_point_semantic": g.point_semantic,
        "gt_num_masks": np.array(len(g.masks)),
        "gt_num_assoc": np.array(len(g.box2d_instance)),
    }
    a |= {f"gt_mask{i}": m for i, m in enumerate(g.masks)}
    return a | {f"gt_assoc{i}": m for i, m in enumerate(g.box2d_instance)}


def save_frame_npz(frame: Frame, path: Path, compress: bool = True) -> None:
    """Write ``frame`` to ``path`` atomically (temp file in the same folder, then rename).

    Every field round-trips exactly (cluster point ids are stored as int64).

    Args:
        frame: the frame, ground truth included when present.
        path: target ``.npz`` file; parent folders are created.
        compress: zip-deflate the arrays (smaller, slower).
    """
    with atomic_path(Path(path)) as tmp:
        (np.savez_compressed if compress else np.savez)(tmp, **_flatten(frame))


def _unflatten(a: dict[str, np.ndarray]) -> Frame:
    """Inverse of ``_flatten``; a missing entry raises ``KeyError``."""
    n_cam = int(a["num_cameras"])
    cams = tuple(
        Camera(str(a[f"cam{i}_name"]), a[f"cam{i}_image"], a[f"cam{i}_K"], a[f"cam{i}_T"])
        for i in range(n_cam)
    )
    splits = np.cumsum(a["cluster_sizes"])[:-1]
    clusters = tuple(np.split(a["cluster_ids"], splits)) if len(a["cluster_sizes"]) else ()
    weak = WeakLabels(
        tuple(Boxes2D(a[f"box2d{i}_boxes"], a[f"box2d{i}_labels"]) for i in range(n_cam)),
        a["weak_boxes3d"],
        a["weak_labels3d"],
        clusters,
        a["cluster_labels"],
    )
    return Frame(
        str(a["frame_id"]),
        a["points"],
        a["ring"],
        a["column"],
        cams,
        weak,
        _unflatten_gt(a),
        bool(a["gt_hidden"]),
        int(a["num_rings"]),
        int(a["num_columns"]),
    )


def _unflatten_gt(a: dict[str, np.ndarray]) -> GroundTruth | None:
    if not bool(a["has_gt"]):
        return None
    return GroundTruth(
        a["gt_boxes3d"],
        a["gt_labels3d"],
        a["gt_point_instance"],
        a["gt_point_semantic"],
        tuple(a[f"gt_mask{i}"] for i in range(int(a["gt_num_masks"]))),
        tuple(a[f"gt_assoc{i}"] for i in range(int(a["gt_num_assoc"]))),
    )


def load_frame_npz(path: Path) -> Frame:
    """Read a frame written by ``save_frame_npz``.

    Raises:
        DataError: naming ``path``, when the file is missing, truncated, corrupt or not a frame.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}  # reads (and CRC-checks) every member now
        if int(arrays.get("format", -1)) != _FORMAT:
            raise DataError(path, f"not a labeleff frame archive (format {arrays.get('format')})")
        frame = _unflatten(arrays)
    except DataError:
        raise
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise DataError(path, f"unreadable frame archive ({type(err).__name__}: {err})") from err
    try:
        return frame.validate()
    except DataError as err:
        raise DataError(path, err.problem) from err
