"""Experiment kind ``mwsis3d``: one row of the MWSIS 3D ablation on synthetic or KITTI data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from benchmarks.config import parse_data
from benchmarks.context import RunContext
from benchmarks.registry import register_experiment
from labeleff.data.frame import Frame
from labeleff.data.kitti import read_kitti_frame
from labeleff.data.synthetic import PRESETS, load_frames
from labeleff.errors import DataError
from labeleff.models.segmentor3d import Segmentor3DConfig
from labeleff.mwsis.train3d import MWSIS3DParams, resolve_params, run_mwsis3d
from labeleff.viz import plot_bev, save_frame_pictures

VAL_OFFSET = 100_000  # synthetic validation frames use indices from here (disjoint from train)


def cache_dir() -> Path:
    """Where synthetic frames are cached (``$LABELEFF_CACHE``, default ``~/.cache/labeleff``)."""
    return Path(os.environ.get("LABELEFF_CACHE", Path.home() / ".cache" / "labeleff"))


def kitti_split(root: Path, num_train: int, num_val: int) -> tuple[list[str], list[str]]:
    """Frame ids for train/val: ``ImageSets/{train,val}.txt`` when present, else a sorted 80/20
    split of ``training/velodyne``; a one-frame folder serves as both (a smoke check only)."""
    sets = root / "ImageSets"
    if (sets / "train.txt").exists() and (sets / "val.txt").exists():
        train = (sets / "train.txt").read_text().split()
        val = (sets / "val.txt").read_text().split()
    else:
        ids = sorted(p.stem for p in (root / "training" / "velodyne").glob("*.bin"))
        if not ids:
            raise DataError(root / "training" / "velodyne", "no .bin point files found")
        cut = max(1, int(0.8 * len(ids)))
        train, val = ids[:cut], ids[cut:] or ids[:1]
    return train[:num_train], val[:num_val]


def load_data(cfg: DictConfig, num_train: int, num_val: int, seed: int
              ) -> tuple[list[Frame], list[Frame]]:
    """Training and validation frames of ``cfg.data`` at ``cfg.preset``."""
    source, path = parse_data(cfg.data)
    if source == "synthetic":
        scene = PRESETS[cfg.preset]
        train = load_frames(scene, seed, range(num_train), cache_dir())
        val = load_frames(scene, seed, range(VAL_OFFSET, VAL_OFFSET + num_val), cache_dir())
        return train, val
    root = Path(path)
    train_ids, val_ids = kitti_split(root, num_train, num_val)
    return ([read_kitti_frame(root, i) for i in train_ids],
            [read_kitti_frame(root, i) for i in val_ids])


@register_experiment("mwsis3d", params=MWSIS3DParams)
def mwsis3d(cfg: DictConfig, run_dir: Path, ctx: RunContext) -> dict[str, float]:
    """Trains and evaluates one MWSIS 3D row; returns ``ap3d/*``, ``miou3d/*``, ``pseudo/*``."""
    p = MWSIS3DParams(**OmegaConf.to_container(cfg.params))
    p, sched = resolve_params(p, cfg.preset)
    train, val = load_data(cfg, sched.num_train, sched.num_val, p.data_seed)
    out = run_mwsis3d(
        train, val, p, sched.steps, Segmentor3DConfig.preset(sched.model), int(cfg.seed),
        log=ctx.log, report=lambda step, m: ctx.report(step, m["ap3d/mean"]),
        progress=sys.stderr.isatty(), checkpoint=run_dir / "checkpoint.pt",
    )
    if out.first_val_prediction is not None:
        inst = out.first_val_prediction
        save_frame_pictures(val[0], run_dir / "pictures")
        plot_bev(out.first_val_points.numpy(), inst.semantic.cpu().numpy(), None, None,
                 ctx.picture_path(f"{val[0].frame_id} predicted classes (BEV)"),
                 title=f"{cfg.name}: predicted classes, {val[0].frame_id}")
    return out.metrics
