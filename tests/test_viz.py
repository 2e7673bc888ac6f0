"""Pictures: files written, valid PNGs of the requested size, not blank."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from kitti_toy import toy_frame
from PIL import Image

from labeleff.data import BACKGROUND, Boxes2D, Camera
from labeleff.viz.plots import CLASS_RGBA, plot_bev, plot_overlay, save_frame_pictures


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        assert img.format == "PNG"
        return np.asarray(img.convert("RGB")).astype(int)


def _has_colour(img: np.ndarray, rgba: np.ndarray, tol: int = 12) -> bool:
    return bool((np.abs(img - np.round(rgba[:3] * 255)).max(-1) <= tol).any())


def test_plot_bev_size_and_content(tmp_path: Path):
    rng = np.random.default_rng(0)
    pts = rng.uniform(-10, 10, (500, 4)).astype(np.float32)
    labels = np.where(pts[:, 0] > 0, 0, BACKGROUND)
    boxes = np.array([[5, 0, 0, 4, 2, 1.5, 0.5], [-5, 3, 0, 1, 1, 1.7, 0.0]], np.float32)
    path = plot_bev(pts, labels, boxes, np.array([0, 1]), tmp_path / "bev.png", size=(400, 300),
                    point_size=20)  # fmt: skip
    img = _png(path)
    assert img.shape == (300, 400, 3)
    assert _has_colour(img, CLASS_RGBA[0]) and _has_colour(img, CLASS_RGBA[1])
    plot_bev(pts[:, :2], None, None, None, tmp_path / "plain.png", size=(200, 200))
    assert _png(tmp_path / "plain.png").std() > 5


def test_plot_overlay_draws_points_boxes_and_masks(tmp_path: Path):
    grey = np.full((60, 100, 3), 128, np.uint8)
    K = np.array([[50.0, 0, 50], [0, 50.0, 30], [0, 0, 1]])
    T = np.eye(4)
    T[:3, :3] = [[0, -1, 0], [0, 0, -1], [1, 0, 0]]
    cam = Camera("c", grey, K, T)
    pts = np.stack([np.full(50, 10.0), np.linspace(-5, 5, 50), np.zeros(50)], 1)
    masks = np.full((60, 100), -1, np.int32)
    masks[40:55, 5:30] = 0
    boxes = Boxes2D(np.array([[60, 5, 90, 25]], np.float32), np.array([1]))
    img = _png(plot_overlay(cam, pts, boxes, masks, tmp_path / "o.png", point_size=30))
    assert img.shape == (60, 100, 3)
    assert (np.abs(img[47, 10:25] - 128).max(-1) > 10).all()  # mask tint
    assert np.abs(img[0:5, 0:30] - 128).max() <= 1  # untouched image
    assert (np.abs(img[30, 20:80] - 128).max(-1) > 30).mean() > 0.5  # projected points (row 30)
    assert _has_colour(img, CLASS_RGBA[1], tol=40)  # the pedestrian box edge
    big = _png(plot_overlay(cam, pts, None, None, tmp_path / "big.png", size=(200, 120)))
    assert big.shape == (120, 200, 3)


def test_save_frame_pictures(tmp_path: Path):
    frame = toy_frame()
    paths = save_frame_pictures(frame, tmp_path / "pics")
    assert [p.name for p in paths] == [
        "toy01_bev.png",
        "toy01_cam0_FRONT.png",
        "toy01_cam1_LEFT.png",
    ]
    sizes = [_png(p).shape[:2] for p in paths]
    assert sizes == [(800, 800), (80, 160), (60, 90)]
    assert all(_png(p).std() > 5 for p in paths)
    view = save_frame_pictures(frame.training_view(), tmp_path / "view")
    assert len(view) == 3 and all(p.exists() for p in view)
    assert not list((tmp_path / "pics").glob(".*tmp"))
