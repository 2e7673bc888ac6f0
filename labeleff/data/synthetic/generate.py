"""Frames of the synthetic dataset: deterministic by (config, seed, index), cached on disk."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import scipy.ndimage
import torch

from labeleff.data.classes import BACKGROUND
from labeleff.data.frame import Boxes2D, Camera, Frame, GroundTruth, WeakLabels
from labeleff.data.io import load_frame_npz, save_frame_npz
from labeleff.data.synthetic.config import SceneConfig
from labeleff.data.synthetic.scene import Scene, sample_scene
from labeleff.data.synthetic.sensors import CameraImage, LidarScan, render_camera, scan_lidar
from labeleff.errors import DataError


def boxes_from_masks(
    masks: list[np.ndarray], num_objects: int, min_pixels: int
) -> list[tuple[Boxes2D, np.ndarray]]:
    """Tight 2D boxes of each object's visible pixels.

    Args:
        masks: per camera, (H, W) int index of the object per pixel, -1 for none.
        num_objects: number of objects B.
        min_pixels: objects with fewer visible pixels in a camera get no box there.

    Returns:
        per camera, the boxes (labels left at 0, set by the caller) and (M,) int64 object index of
        each box, in increasing object order.
    """
    out = []
    for mask in masks:
        counts = np.bincount(mask.ravel() + 1, minlength=num_objects + 1)[1:]
        slices = scipy.ndimage.find_objects(mask + 1, max_label=num_objects)
        ids = np.array([i for i in range(num_objects) if counts[i] >= min_pixels], np.int64)
        boxes = np.array(
            [
                [slices[i][1].start, slices[i][0].start, slices[i][1].stop, slices[i][0].stop]
                for i in ids
            ],
            np.float32,
        ).reshape(-1, 4)
        out.append((Boxes2D(boxes, np.zeros(len(ids), np.int64)), ids))
    return out


def _keep_visible(instance: np.ndarray, masks: list[np.ndarray], count: int) -> np.ndarray:
    """(count,) int64 new index of each object seen by the LiDAR or a camera, -1 for unseen ones."""
    seen = np.zeros(count + 1, bool)
    for ids in (instance, *masks):
        seen[np.unique(ids) + 1] = True
    seen = seen[1:]
    return np.where(seen, np.cumsum(seen) - 1, -1)


def _remap(ids: np.ndarray, new: np.ndarray) -> np.ndarray:
    return np.where(ids >= 0, new[np.maximum(ids, 0)], -1)


def _ground_truth(scene: Scene, cfg: SceneConfig, scan: LidarScan, images: list[CameraImage]):
    """Ground truth and per-camera 2D boxes of the objects that some sensor sees.

    Returns:
        the ``GroundTruth`` (boxes in the LiDAR frame) and one ``Boxes2D`` per camera.
    """
    new = _keep_visible(scan.instance, [im.mask for im in images], len(scene.labels))
    labels = scene.labels[new >= 0]
    boxes3d = scene.boxes[new >= 0].astype(np.float32)
    boxes3d[:, 2] -= cfg.lidar_height
    masks = [_remap(im.mask, new).astype(np.int32) for im in images]
    point_instance = _remap(scan.instance, new)
    semantic = np.where(point_instance >= 0, labels[np.maximum(point_instance, 0)], BACKGROUND)
    per_cam = boxes_from_masks(masks, len(labels), cfg.min_visible_pixels)
    assoc = tuple(ids for _, ids in per_cam)
    gt = GroundTruth(boxes3d, labels, point_instance, semantic, tuple(masks), assoc)
    return gt, tuple(Boxes2D(b.boxes, labels[ids]) for b, ids in per_cam)


def generate_frame(cfg: SceneConfig, seed: int, index: int, device: str = "cpu") -> Frame:
    """Sample one scene and sense it with the LiDAR and every camera.

    Args:
        cfg: scene configuration (see ``PRESETS``).
        seed: dataset seed.
        index: frame index within the dataset.
        device: torch device for ray casting.

    Returns:
        A validated frame, identical for identical ``(cfg, seed, index, device)``; objects that
        neither the LiDAR nor a camera sees are left out of the ground truth.
    """
    rng = np.random.default_rng([seed, index])
    dev = torch.device(device)
    scene = sample_scene(cfg, rng)
    scan = scan_lidar(scene, cfg, rng, dev)
    images = [render_camera(scene, spec, cfg, rng, dev) for spec in cfg.cameras]
    gt, boxes2d = _ground_truth(scene, cfg, scan, images)
    cameras = tuple(
        Camera(spec.name, im.image, im.K, im.T_cam_lidar)
        for spec, im in zip(cfg.cameras, images, strict=True)
    )
    frame = Frame(
        f"synth_{seed}_{index:06d}",
        scan.points,
        scan.ring,
        scan.column,
        cameras,
        WeakLabels(boxes2d),
        gt,
        num_rings=cfg.num_beams,
        num_columns=cfg.num_columns,
    )
    return frame.validate()


def cache_path(cache_dir: Path, cfg: SceneConfig, seed: int, index: int) -> Path:
    """Where ``load_frames`` caches frame ``index`` of ``(cfg, seed)``."""
    return Path(cache_dir) / f"synthetic_{cfg.key()}" / f"{seed}_{index:06d}.npz"


def load_frames(
    cfg: SceneConfig, seed: int, indices: Iterable[int], cache_dir: Path | None = None
) -> list[Frame]:
    """Frames ``indices`` of the dataset ``(cfg, seed)``, read from or written to a disk cache.

    Args:
        cfg: scene configuration.
        seed: dataset seed.
        indices: frame indices.
        cache_dir: cache folder (created if needed); ``None`` generates without caching.

    Returns:
        The frames, in the order of ``indices``. A corrupt cache file is regenerated with a warning.
    """
    frames = []
    for index in indices:
        if cache_dir is None:
            frames.append(generate_frame(cfg, seed, index))
            continue
        path = cache_path(cache_dir, cfg, seed, index)
        frame = None
        if path.exists():
            try:
                frame = load_frame_npz(path)
            except DataError as err:
                warnings.warn(f"regenerating corrupt cached frame: {err}", stacklevel=2)
        if frame is None:
            frame = generate_frame(cfg, seed, index)
            save_frame_npz(frame, path)
        frames.append(frame)
    return frames
