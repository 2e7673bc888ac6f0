"""Pictures of frames: bird's-eye view (BEV) and camera overlays, written as PNG (matplotlib Agg).

Figures are built as ``matplotlib.figure.Figure`` objects (not through pyplot's global state), so
nothing is left open; every file is written atomically. Drawing is vectorized: one ``scatter`` for
the points, one ``PolyCollection`` for the boxes, one ``LineCollection`` for box headings.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from labeleff.atomic import atomic_path  # noqa: E402
from labeleff.data.classes import CLASSES  # noqa: E402
from labeleff.data.frame import Boxes2D, Camera, Frame, GroundTruth  # noqa: E402
from labeleff.errors import GroundTruthAccessError  # noqa: E402
from labeleff.geometry.boxes import bev_corners  # noqa: E402
from labeleff.geometry.projection import project_points  # noqa: E402

# RGBA per class id: Vehicle, Pedestrian, Cyclist, BACKGROUND; IGNORE (-1) uses the last row.
CLASS_RGBA = np.array(
    [[0.12, 0.47, 0.71, 1.0], [0.84, 0.15, 0.16, 1.0], [0.17, 0.63, 0.17, 1.0],
     [0.6, 0.6, 0.6, 0.6], [0.0, 0.0, 0.0, 1.0]],
)  # fmt: skip


def class_colours(labels: np.ndarray) -> np.ndarray:
    """(N, 4) RGBA of (N,) class ids (``BACKGROUND`` grey, ``IGNORE``/-1 black)."""
    return CLASS_RGBA[np.where(labels < 0, len(CLASS_RGBA) - 1, labels.clip(0, len(CLASSES)))]


def _figure(size: tuple[int, int], dpi: int) -> Figure:
    return Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)


def _save(fig: Figure, path: Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=fig.dpi)
    return path


def _bev_limits(points: np.ndarray, margin: float = 2.0) -> tuple[tuple, tuple]:
    lo, hi = points[:, :2].min(0) - margin, points[:, :2].max(0) + margin
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def _draw_bev_boxes(ax, boxes: np.ndarray, box_labels: np.ndarray | None) -> None:
    """Oriented BEV boxes (one PolyCollection) and their headings (one LineCollection)."""
    corners = bev_corners(torch.from_numpy(np.asarray(boxes, np.float32))).numpy()[..., ::-1]
    labels = np.zeros(len(boxes), np.int64) if box_labels is None else np.asarray(box_labels)
    colours = class_colours(labels)
    colours[:, 3] = 1.0
    ax.add_collection(PolyCollection(corners, facecolors="none", edgecolors=colours, lw=1.2))
    centre = np.asarray(boxes)[:, [1, 0]]
    front = (corners[:, 0] + corners[:, 3]) / 2
    ax.add_collection(LineCollection(np.stack([centre, front], 1), colors=colours, lw=1.2))


def plot_bev(
    points: np.ndarray,
    labels: np.ndarray | None,
    boxes: np.ndarray | None,
    box_labels: np.ndarray | None,
    path: Path,
    size: tuple[int, int] = (800, 800),
    dpi: int = 100,
    limits: tuple[tuple[float, float], tuple[float, float]] | None = None,
    title: str | None = None,
    point_size: float = 1.0,
) -> Path:
    """Bird's-eye view: points coloured by class (or by height), oriented 3D boxes on top.

    Forward (+x) points up and left (+y) points left, as seen from above.

    Args:
        points: (N, >=2) LiDAR points (m); z (column 2), when present, colours unlabelled points.
        labels: (N,) class ids per point, or None to colour by height.
        boxes: (B, 7) ``x, y, z_center, l, w, h, yaw`` boxes, or None.
        box_labels: (B,) class ids of ``boxes`` (colours), or None.
        path: output PNG path.
        size: (width, height) of the PNG in pixels.
        dpi: dots per inch of the figure.
        limits: ((x_min, x_max), (y_min, y_max)) metres; default the points' extent plus 2 m.
        title: optional title.
        point_size: marker area (points^2).

    Returns:
        ``path``.
    """
    fig = _figure(size, dpi)
    ax = fig.add_subplot()
    if labels is not None:
        colour = {"c": class_colours(np.asarray(labels))}
    elif points.shape[1] > 2:
        colour = {"c": points[:, 2], "cmap": "viridis"}
    else:
        colour = {"color": "0.3"}
    ax.scatter(points[:, 1], points[:, 0], s=point_size, linewidths=0, **colour)
    if boxes is not None and len(boxes):
        _draw_bev_boxes(ax, boxes, box_labels)
    (x0, x1), (y0, y1) = limits or _bev_limits(points)
    ax.set_xlim(y1, y0)
    ax.set_ylim(x0, x1)
    ax.set_aspect("equal")
    ax.set_xlabel("y, left (m)")
    ax.set_ylabel("x, forward (m)")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def mask_rgba(masks: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """(H, W, 4) RGBA overlay of (H, W) instance ids (-1 transparent, ids coloured by tab20)."""
    table = colormaps["tab20"](np.arange(20))
    rgba = table[np.asarray(masks).clip(0) % 20]
    rgba[..., 3] = np.where(masks >= 0, alpha, 0.0)
    return rgba


def _draw_boxes2d(ax, boxes2d: Boxes2D) -> None:
    """2D boxes as one PolyCollection, class names above them (a loop over a few boxes)."""
    x1, y1, x2, y2 = boxes2d.boxes.T
    rects = np.stack([np.stack([x1, y1], 1), np.stack([x2, y1], 1),
                      np.stack([x2, y2], 1), np.stack([x1, y2], 1)], 1)  # fmt: skip
    colours = class_colours(boxes2d.labels)
    colours[:, 3] = 1.0
    ax.add_collection(PolyCollection(rects, facecolors="none", edgecolors=colours, lw=1.5))
    for (bx, by), lab, col in zip(rects[:, 0], boxes2d.labels, colours, strict=True):
        name = CLASSES[lab] if 0 <= lab < len(CLASSES) else str(lab)
        ax.text(bx, by - 2, name, color=col, fontsize=7, va="bottom")


def plot_overlay(
    camera: Camera,
    points: np.ndarray,
    boxes2d: Boxes2D | None,
    masks: np.ndarray | None,
    path: Path,
    size: tuple[int, int] | None = None,
    dpi: int = 100,
    point_size: float = 2.0,
    max_depth: float | None = None,
) -> Path:
    """The camera image with projected points (coloured by depth), 2D boxes and masks.

    Args:
        camera: the camera (image, K, T_cam_lidar).
        points: (N, >=3) LiDAR points (m).
        boxes2d: 2D boxes to draw, or None.
        masks: (H, W) int instance ids (-1 none) drawn translucent, or None.
        path: output PNG path.
        size: (width, height) of the PNG in pixels; default the image size.
        dpi: dots per inch of the figure.
        point_size: marker area (points^2).
        max_depth: depth (m) at the end of the colour scale; default the farthest visible point.

    Returns:
        ``path``.
    """
    h, w = camera.size
    fig = _figure(size or (w, h), dpi)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.imshow(camera.image, interpolation="nearest")
    if masks is not None:
        ax.imshow(mask_rgba(masks), interpolation="nearest")
    uv, depth, valid = project_points(
        torch.from_numpy(np.ascontiguousarray(points[:, :3], np.float32)),
        torch.from_numpy(camera.K), torch.from_numpy(camera.T_cam_lidar), camera.size,
    )  # fmt: skip
    uv, depth = uv[valid].numpy(), depth[valid].numpy()
    vmax = max_depth or (float(depth.max()) if len(depth) else 1.0)
    ax.scatter(uv[:, 0], uv[:, 1], c=depth, cmap="turbo", vmin=0.0, vmax=vmax, s=point_size,
               linewidths=0)  # fmt: skip
    if boxes2d is not None and len(boxes2d):
        _draw_boxes2d(ax, boxes2d)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_axis_off()
    return _save(fig, path)


def _visible_gt(frame: Frame) -> GroundTruth | None:
    """The frame's ground truth, or None when absent or hidden (training view)."""
    try:
        return frame.gt
    except GroundTruthAccessError:
        return None


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def save_frame_pictures(frame: Frame, out_dir: Path) -> list[Path]:
    """Write the BEV picture and one overlay per camera of a frame.

    Points and boxes are coloured by ground truth when the frame has it (not on a training view);
    otherwise points by height and boxes from the weak 3D labels.

    Args:
        frame: the frame.
        out_dir: output folder (created); files ``<id>_bev.png`` and ``<id>_cam<k>_<name>.png``.

    Returns:
        The written paths, BEV first, then cameras in order.
    """
    out_dir = Path(out_dir)
    gt = _visible_gt(frame)
    fid = _safe(frame.frame_id)
    boxes, box_labels = (
        (gt.boxes3d, gt.labels3d) if gt else (frame.weak.boxes3d, frame.weak.labels3d)
    )
    paths = [plot_bev(frame.points, gt.point_semantic if gt else None, boxes, box_labels,
                      out_dir / f"{fid}_bev.png", title=f"frame {frame.frame_id}")]  # fmt: skip
    for k, (cam, b2) in enumerate(zip(frame.cameras, frame.weak.boxes2d, strict=True)):
        masks = gt.masks[k] if gt is not None and gt.masks else None
        path = out_dir / f"{fid}_cam{k}_{_safe(cam.name)}.png"
        paths.append(plot_overlay(cam, frame.points, b2, masks, path))
    return paths
