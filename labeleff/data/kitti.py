"""KITTI 3D-object layout: ``read_kitti_frame`` and ``write_kitti_frame``.

Layout under ``<root>/<split>/`` (``split`` is ``"training"`` or ``"testing"``):

- ``velodyne/<id>.bin``: float32 (N, 4) x, y, z, reflectance in the LiDAR frame, ring by ring.
- ``image_2/<id>.png``: the left colour camera (``Frame.cameras[0]``).
- ``calib/<id>.txt``: ``P0``-``P3`` (3x4), ``R0_rect`` (3x3), ``Tr_velo_to_cam`` (3x4); a LiDAR
  point projects to ``image_2`` by ``P2 @ R0_rect @ Tr_velo_to_cam``. Only ``P2``, ``R0_rect`` and
  ``Tr_velo_to_cam`` are read. ``P2 = K [I | t]``: ``K = P2[:, :3]`` and the translation
  ``t = K^-1 P2[:, 3]`` is folded into the extrinsic,
  ``T_cam_lidar = [I | t] R0_rect Tr_velo_to_cam``, so that ``K @ T_cam_lidar[:3]`` equals
  ``P2 @ R0_rect @ Tr_velo_to_cam``.
- ``label_2/<id>.txt``: one object per line, ``type truncated occluded alpha x1 y1 x2 y2 h w l x y z
  rotation_y`` (3D part in the rectified camera frame, ``x y z`` the bottom centre).

Reading rules (all documented choices):

- Names mapped to ``None`` by ``KITTI_NAME_TO_CLASS`` (DontCare, Misc, Tram, ...) are skipped; an
  unknown name raises ``DataError`` naming the file and line.
- A 2D box ``-1 -1 -1 -1`` means "no 2D box"; a 3D part with any of ``h, w, l <= 0`` (KITTI writes
  ``-1 -1 -1 -1000 -1000 -1000 -10``) means "no 3D box". 2D boxes are clipped to the image; a box
  empty after clipping is dropped with a warning (its 3D box, if any, is kept).
- 3D boxes become ground truth ``(x, y, z_center, l, w, h, yaw)`` in the LiDAR frame; the box's up
  axis is taken as LiDAR +z. ``point_instance`` is the first 3D box containing each point;
  ``box2d_instance`` maps each kept 2D box to the 3D box of its label line (-1 for none).
- Rows of the point file with NaN or inf are dropped with a warning (KITTI files have none; some
  converters write NaN for missing returns). A file with no (finite) points raises ``DataError``.
- Ring and column are recovered from the scan order (see ``labeleff.data.scan``).
- A missing label file is an error, except in the ``"testing"`` split (KITTI has no labels there),
  which gives a frame without ground truth.

Sidecar: KITTI's layout holds one camera, four point columns and boxes, nothing else.
``write_kitti_frame`` also writes ``<split>/labeleff/<id>.npz`` (see
``labeleff.data.kitti_sidecar``) with the rest (extra cameras, ring/column, extra point columns,
exact per-point ground truth, masks, 2D-3D association, weak 3D/cluster labels); the reader uses
it when present, so a written frame reads back exactly (floats in text files up to text precision).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from labeleff.atomic import atomic_write_bytes, atomic_write_text
from labeleff.data.classes import BACKGROUND, CLASS_TO_KITTI_NAME, KITTI_NAME_TO_CLASS
from labeleff.data.frame import Boxes2D, Camera, Frame, GroundTruth, WeakLabels
from labeleff.data.kitti_sidecar import frame_from_sidecar, sidecar_path, write_sidecar
from labeleff.data.scan import NUM_COLUMNS, azimuth_columns, recover_rings
from labeleff.errors import DataError
from labeleff.geometry.boxes import point_box_index

KITTI_CAMERA = "image_2"
REQUIRED_CALIB_KEYS = ("P2", "R0_rect", "Tr_velo_to_cam")
_CALIB_SIZES = {"P0": 12, "P1": 12, "P2": 12, "P3": 12, "R0_rect": 9, "Tr_velo_to_cam": 12}
_NO_3D = "-1 -1 -1 -1000 -1000 -1000 -10"


@dataclass(frozen=True)
class KittiObjects:
    """Parsed label lines (skipped classes removed), L objects.

    Attributes:
        labels: (L,) int64 class ids.
        line: (L,) int64 1-based line numbers in the label file.
        box2d: (L, 4) float64 ``x1 y1 x2 y2`` pixels, as written.
        has2d: (L,) bool, the line has a 2D box.
        hwl: (L, 3) float64 height, width, length (m).
        xyz: (L, 3) float64 bottom centre in the rectified camera frame (m).
        rotation_y: (L,) float64 yaw about the camera y axis (rad).
        has3d: (L,) bool, the line has a 3D box.
    """

    labels: np.ndarray
    line: np.ndarray
    box2d: np.ndarray
    has2d: np.ndarray
    hwl: np.ndarray
    xyz: np.ndarray
    rotation_y: np.ndarray
    has3d: np.ndarray


def _paths(root: Path, frame_id: str, split: str) -> dict[str, Path]:
    folder = Path(root) / split
    return {
        "velodyne": folder / "velodyne" / f"{frame_id}.bin",
        "image": folder / KITTI_CAMERA / f"{frame_id}.png",
        "calib": folder / "calib" / f"{frame_id}.txt",
        "label": folder / "label_2" / f"{frame_id}.txt",
        "sidecar": sidecar_path(folder, frame_id),
    }


def _require(path: Path) -> None:
    if not path.is_file():
        raise DataError(path, "file not found")


def read_points(path: Path) -> np.ndarray:
    """Read a KITTI point file, dropping non-finite rows with a warning.

    Args:
        path: ``velodyne/<id>.bin``, float32 records of (x, y, z, reflectance).

    Returns:
        (N, 4) float32 points, N >= 1.

    Raises:
        DataError: missing file, size not a multiple of 16 bytes, or no finite points.
    """
    _require(path)
    raw = path.read_bytes()
    if len(raw) % 16:
        raise DataError(
            path, f"size {len(raw)} bytes is not a multiple of 16 (float32 x, y, z, reflectance)"
        )
    points = np.frombuffer(raw, np.float32).reshape(-1, 4).copy()
    finite = np.isfinite(points).all(1)
    if not finite.all():
        warnings.warn(
            f"{path}: dropped {int((~finite).sum())} points with NaN or inf", stacklevel=2
        )
        points = points[finite]
    if len(points) == 0:
        raise DataError(path, "empty frame: no (finite) points")
    return points


def read_image(path: Path) -> np.ndarray:
    """Read a PNG as (H, W, 3) uint8 RGB; ``DataError`` if missing or not a readable image."""
    _require(path)
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    except (OSError, ValueError, SyntaxError) as err:
        raise DataError(path, f"not a readable image ({err})") from err


def read_calib(path: Path) -> dict[str, np.ndarray]:
    """Read a KITTI calibration file.

    Args:
        path: ``calib/<id>.txt``, lines ``KEY: v1 v2 ...``.

    Returns:
        ``P0``-``P3``, ``Tr_velo_to_cam`` as (3, 4) and ``R0_rect`` as (3, 3) float64, for the keys
        present; other keys are ignored.

    Raises:
        DataError: missing file, unparsable values, a wrong value count or a missing required key.
    """
    _require(path)
    calib: dict[str, np.ndarray] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        key, sep, values = line.partition(":")
        if not sep or key.strip() not in _CALIB_SIZES:
            continue
        key = key.strip()
        try:
            v = np.array([float(x) for x in values.split()], np.float64)
        except ValueError as err:
            raise DataError(path, f"line {lineno}: {key} has a non-numeric value") from err
        if v.size != _CALIB_SIZES[key] or not np.isfinite(v).all():
            raise DataError(path, f"line {lineno}: {key} needs {_CALIB_SIZES[key]} finite values")
        calib[key] = v.reshape(3, -1)
    missing = [k for k in REQUIRED_CALIB_KEYS if k not in calib]
    if missing:
        raise DataError(path, f"missing calibration keys {missing}")
    return calib


def _homogeneous(m: np.ndarray) -> np.ndarray:
    """(4, 4) homogeneous matrix from a (3, 3) or (3, 4) block."""
    out = np.eye(4)
    out[:3, : m.shape[1]] = m
    return out


def camera_from_calib(calib: dict[str, np.ndarray], path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Intrinsics and extrinsic of ``image_2`` from KITTI calibration.

    Args:
        calib: output of ``read_calib``.
        path: the calibration file, for error messages.

    Returns:
        K: (3, 3) float64 ``P2[:, :3]``.
        T_cam_lidar: (4, 4) float64 ``[I | K^-1 P2[:, 3]] @ R0_rect @ Tr_velo_to_cam``.
    """
    P2 = calib["P2"]
    K = P2[:, :3]
    if not (np.allclose(K[2], [0, 0, 1]) and K[1, 0] == 0 and K[0, 0] > 0 and K[1, 1] > 0):
        raise DataError(path, "P2 is not of the form K [I | t] with K upper triangular")
    shift = np.eye(4)
    shift[:3, 3] = np.linalg.solve(K, P2[:, 3])
    return K.copy(), shift @ rect_from_lidar(calib)


def rect_from_lidar(calib: dict[str, np.ndarray]) -> np.ndarray:
    """(4, 4) LiDAR -> rectified camera-0 transform ``R0_rect @ Tr_velo_to_cam``."""
    return _homogeneous(calib["R0_rect"]) @ _homogeneous(calib["Tr_velo_to_cam"])


def _parse_line(fields: list[str], path: Path, lineno: int) -> tuple[int, list[float]] | None:
    """(class id, 14 values) of one label line, ``None`` for a skipped class."""
    name = fields[0]
    if name not in KITTI_NAME_TO_CLASS:
        raise DataError(path, f"line {lineno}: unknown class name {name!r}")
    cls = KITTI_NAME_TO_CLASS[name]
    if cls is None:
        return None
    if len(fields) < 15:
        raise DataError(path, f"line {lineno}: expected 15 fields, got {len(fields)}")
    try:
        values = [float(v) for v in fields[1:15]]
    except ValueError as err:
        raise DataError(path, f"line {lineno}: non-numeric field ({err})") from err
    if not np.isfinite(values).all():
        raise DataError(path, f"line {lineno}: NaN or inf value")
    return cls, values


def read_labels(path: Path) -> KittiObjects:
    """Parse a KITTI label file (see the module doc for the rules); ``DataError`` on bad lines."""
    _require(path)
    rows, classes, lines = [], [], []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.split()
        parsed = _parse_line(fields, path, lineno) if fields else None
        if parsed is not None:
            classes.append(parsed[0])
            rows.append(parsed[1])
            lines.append(lineno)
    v = np.array(rows, np.float64).reshape(-1, 14)
    return KittiObjects(
        labels=np.array(classes, np.int64),
        line=np.array(lines, np.int64),
        box2d=v[:, 3:7],
        has2d=~(v[:, 3:7] == -1).all(1),
        hwl=v[:, 7:10],
        xyz=v[:, 10:13],
        rotation_y=v[:, 13],
        has3d=(v[:, 7:10] > 0).all(1),
    )


def read_labels_none() -> KittiObjects:
    """An empty ``KittiObjects`` (a frame without labels)."""
    z = np.zeros((0,), np.int64)
    return KittiObjects(
        z,
        z,
        np.zeros((0, 4)),
        z.astype(bool),
        np.zeros((0, 3)),
        np.zeros((0, 3)),
        np.zeros((0,)),
        z.astype(bool),
    )


def clip_boxes2d(
    objects: KittiObjects, size: tuple[int, int], path: Path
) -> tuple[np.ndarray, np.ndarray]:
    """Clip 2D boxes to the image; drop (with a warning) those empty after clipping.

    Args:
        objects: parsed labels.
        size: (height, width) of the image in pixels.
        path: the label file, for the warning.

    Returns:
        boxes: (L, 4) float32 clipped boxes.
        keep: (L,) bool, the line has a non-empty 2D box.
    """
    h, w = size
    boxes = objects.box2d.copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
    nonempty = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    dropped = objects.has2d & ~nonempty
    if dropped.any():
        warnings.warn(
            f"{path}: dropped 2D boxes on lines {objects.line[dropped].tolist()}: "
            f"empty after clipping to the {w}x{h} image",
            stacklevel=2,
        )
    return boxes.astype(np.float32), objects.has2d & nonempty


def camera_boxes_to_lidar(
    hwl: np.ndarray, xyz: np.ndarray, rotation_y: np.ndarray, T_rect_lidar: np.ndarray
) -> np.ndarray:
    """KITTI camera-frame boxes to LiDAR-frame boxes.

    The bottom centre is transformed exactly and the centre put ``h / 2`` above it along LiDAR +z.
    The yaw is the LiDAR heading ``(cos yaw, sin yaw, 0)`` that, seen in the camera frame, points
    along ``(cos r, ., -sin r)``: the exact inverse of ``lidar_boxes_to_camera`` for any camera
    orientation (and the plain ``-r - pi/2`` for a level camera).

    Args:
        hwl: (B, 3) height, width, length (m).
        xyz: (B, 3) bottom centre in the rectified camera frame (m).
        rotation_y: (B,) yaw about the camera y axis (rad).
        T_rect_lidar: (4, 4) LiDAR -> rectified camera transform.

    Returns:
        (B, 7) float32 ``x, y, z_center, l, w, h, yaw`` with yaw in (-pi, pi].
    """
    T = np.linalg.inv(T_rect_lidar)
    bottom = xyz @ T[:3, :3].T + T[:3, 3]
    centre = bottom + np.stack([0 * hwl[:, 0], 0 * hwl[:, 0], hwl[:, 0] / 2], 1)
    R, c, s = T_rect_lidar[:3, :3], np.cos(rotation_y), np.sin(rotation_y)
    yaw = np.arctan2(-(R[0, 0] * s + R[2, 0] * c), R[0, 1] * s + R[2, 1] * c)
    forward = np.cos(yaw) * (R[0, 0] * c - R[2, 0] * s) + np.sin(yaw) * (R[0, 1] * c - R[2, 1] * s)
    yaw = np.angle(np.exp(1j * np.where(forward < 0, yaw + np.pi, yaw)))
    return np.concatenate([centre, hwl[:, [2, 1, 0]], yaw[:, None]], 1).astype(np.float32)


def lidar_boxes_to_camera(
    boxes: np.ndarray, T_rect_lidar: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LiDAR-frame boxes to KITTI camera-frame boxes (inverse of ``camera_boxes_to_lidar``).

    Args:
        boxes: (B, 7) ``x, y, z_center, l, w, h, yaw`` in the LiDAR frame.
        T_rect_lidar: (4, 4) LiDAR -> rectified camera transform.

    Returns:
        hwl: (B, 3); xyz: (B, 3) bottom centre in the camera frame; rotation_y: (B,) in (-pi, pi].
    """
    b = boxes.astype(np.float64)
    bottom = b[:, :3] - np.stack([0 * b[:, 5], 0 * b[:, 5], b[:, 5] / 2], 1)
    R = T_rect_lidar[:3, :3]
    xyz = bottom @ R.T + T_rect_lidar[:3, 3]
    heading = np.stack([np.cos(b[:, 6]), np.sin(b[:, 6]), 0 * b[:, 6]], 1) @ R.T
    return b[:, [5, 4, 3]], xyz, np.arctan2(-heading[:, 2], heading[:, 0])


def _ground_truth(
    objects: KittiObjects, keep2d: np.ndarray, points: np.ndarray, T_rect_lidar: np.ndarray
) -> GroundTruth:
    """3D boxes, per-point instance/semantic ids and the 2D-3D association from labels."""
    has3d = objects.has3d
    boxes3d = camera_boxes_to_lidar(
        objects.hwl[has3d], objects.xyz[has3d], objects.rotation_y[has3d], T_rect_lidar
    )
    labels3d = objects.labels[has3d]
    index3d = np.where(has3d, np.cumsum(has3d) - 1, -1)
    inst = point_box_index(torch.from_numpy(points), torch.from_numpy(boxes3d)).numpy()
    semantic = np.append(labels3d, BACKGROUND)[inst]  # index -1 (no box) -> BACKGROUND
    return GroundTruth(boxes3d, labels3d, inst, semantic, (), (index3d[keep2d].astype(np.int64),))


def read_kitti_frame(root: Path, frame_id: str, split: str = "training") -> Frame:
    """Read one frame of a KITTI-layout folder (see the module doc).

    Args:
        root: the dataset root holding ``<split>/velodyne``, ``image_2``, ``calib``, ``label_2``.
        frame_id: the file stem, e.g. ``"000008"``.
        split: ``"training"`` or ``"testing"`` (the latter may lack ``label_2``).

    Returns:
        A validated ``Frame``: camera ``image_2``, weak 2D boxes, ground truth from the labels.

    Raises:
        DataError: a missing or malformed file (the message names it).
    """
    p = _paths(root, frame_id, split)
    points = read_points(p["velodyne"])
    image = read_image(p["image"])
    calib = read_calib(p["calib"])
    K, T_cam_lidar = camera_from_calib(calib, p["calib"])
    camera = Camera(KITTI_CAMERA, image, K, T_cam_lidar)
    if split == "testing" and not p["label"].exists():
        objects = read_labels_none()
    else:
        objects = read_labels(p["label"])
    boxes2d, keep2d = clip_boxes2d(objects, image.shape[:2], p["label"])
    weak2d = Boxes2D(boxes2d[keep2d], objects.labels[keep2d])
    gt = _ground_truth(objects, keep2d, points[:, :3], rect_from_lidar(calib))
    if p["sidecar"].exists():
        return frame_from_sidecar(p["sidecar"], frame_id, points, camera, weak2d, gt).validate()
    ring, num_rings = recover_rings(points, str(p["velodyne"]))
    has_labels = split != "testing" or p["label"].exists()
    return Frame(
        frame_id,
        points,
        ring,
        azimuth_columns(points),
        (camera,),
        WeakLabels((weak2d,)),
        gt if has_labels else None,
        num_rings=num_rings,
        num_columns=NUM_COLUMNS,
    ).validate()


def calib_text(K: np.ndarray, T_cam_lidar: np.ndarray) -> str:
    """KITTI calibration text for one camera: ``P0``-``P3 = [K | 0]``, ``R0_rect = I``,
    ``Tr_velo_to_cam = T_cam_lidar[:3]``, ``Tr_imu_to_velo = [I | 0]`` (only ``P2``, ``R0_rect``
    and ``Tr_velo_to_cam`` carry information; the others keep the layout complete)."""
    P = np.hstack([K, np.zeros((3, 1))])
    rows = {
        "P0": P,
        "P1": P,
        "P2": P,
        "P3": P,
        "R0_rect": np.eye(3),
        "Tr_velo_to_cam": T_cam_lidar[:3],
        "Tr_imu_to_velo": np.eye(3, 4),
    }
    return "".join(f"{k}: {' '.join(f'{v:.12e}' for v in m.ravel())}\n" for k, m in rows.items())


def object_order(
    box2d_instance: np.ndarray, labels2d: np.ndarray, labels3d: np.ndarray
) -> list[tuple[int | None, int | None]]:
    """Label lines as (2D box index or None, 3D box index or None), keeping both orders.

    A 2D box shares a line with its 3D box when that keeps the 3D boxes in order and the classes
    agree; otherwise both get lines of their own (the sidecar keeps the exact association).

    Args:
        box2d_instance: (M,) 3D box index per 2D box, -1 for none.
        labels2d: (M,) classes of the 2D boxes.
        labels3d: (B,) classes of the 3D boxes.
    """
    lines: list[tuple[int | None, int | None]] = []
    next3d = 0
    for j, i in enumerate(box2d_instance.tolist()):
        if i >= next3d and labels2d[j] == labels3d[i]:
            lines += [(None, k) for k in range(next3d, i)] + [(j, i)]
            next3d = i + 1
        else:
            lines.append((j, None))
    return lines + [(None, k) for k in range(next3d, len(labels3d))]


def _class_name(label: int, frame_id: str) -> str:
    if not 0 <= label < len(CLASS_TO_KITTI_NAME):
        raise DataError(f"frame {frame_id}", f"class id {label} has no KITTI name")
    return CLASS_TO_KITTI_NAME[label]


def _f(values: np.ndarray) -> str:
    return " ".join(f"{float(v):.9g}" for v in values)


def label_text(frame: Frame, gt: GroundTruth | None) -> str:
    """KITTI ``label_2`` text of camera 0's weak 2D boxes and the ground-truth 3D boxes.

    Truncated and occluded are 0; alpha is ``rotation_y - atan2(x, z)``; a missing part is
    written as ``-1 -1 -1 -1`` (2D) or ``-1 -1 -1 -1000 -1000 -1000 -10`` with alpha -10 (3D).
    """
    b2 = frame.weak.boxes2d[0]
    boxes3d = gt.boxes3d if gt is not None else np.zeros((0, 7), np.float32)
    labels3d = gt.labels3d if gt is not None else np.zeros((0,), np.int64)
    inst = gt.box2d_instance[0] if gt is not None and gt.box2d_instance else np.full(len(b2), -1)
    hwl, xyz, ry = lidar_boxes_to_camera(boxes3d, frame.cameras[0].T_cam_lidar)
    alpha = np.angle(np.exp(1j * (ry - np.arctan2(xyz[:, 0], xyz[:, 2]))))
    out = []
    for j, i in object_order(np.asarray(inst), b2.labels, labels3d):
        label = int(b2.labels[j] if j is not None else labels3d[i])
        box = _f(b2.boxes[j]) if j is not None else "-1 -1 -1 -1"
        part3d = f"{_f(hwl[i])} {_f(xyz[i])} {_f(ry[i : i + 1])}" if i is not None else _NO_3D
        a = _f(alpha[i : i + 1]) if i is not None else "-10"
        out.append(f"{_class_name(label, frame.frame_id)} 0.00 0 {a} {box} {part3d}\n")
    return "".join(out)


def _png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def write_kitti_frame(frame: Frame, root: Path, split: str = "training") -> None:
    """Write a frame in KITTI's layout plus the ``labeleff`` sidecar, each file atomically.

    Camera 0 becomes ``image_2`` with ``P2 = [K | 0]``, ``R0_rect = I`` and
    ``Tr_velo_to_cam = T_cam_lidar[:3]``; points' first four columns go to ``velodyne``; camera 0's
    2D boxes and the ground-truth 3D boxes go to ``label_2``; everything else to the sidecar.
    ``read_kitti_frame`` gives the frame back.

    Args:
        frame: a valid frame with at least one camera. A training view cannot be written (its
            ground truth raises ``GroundTruthAccessError``).
        root: the dataset root; ``<root>/<split>/...`` is created.
        split: the split folder name.

    Raises:
        DataError: the frame is invalid, has no camera, or has a class without a KITTI name.
    """
    frame.validate()
    if not frame.cameras:
        raise DataError(f"frame {frame.frame_id}", "KITTI layout needs at least one camera")
    gt = frame.gt
    p = _paths(root, frame.frame_id, split)
    cam = frame.cameras[0]
    labels = label_text(frame, gt)
    atomic_write_bytes(p["velodyne"], np.ascontiguousarray(frame.points[:, :4]).tobytes())
    atomic_write_bytes(p["image"], _png_bytes(cam.image))
    atomic_write_text(p["calib"], calib_text(cam.K, cam.T_cam_lidar))
    atomic_write_text(p["label"], labels)
    write_sidecar(frame, gt, p["sidecar"])
