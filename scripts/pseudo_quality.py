"""Pseudo-label quality per MWSIS stage (baseline, +SPG, +SPG+RSC) on the built-in scenes and on
the real KITTI frame, from 2D boxes only.

Usage: ``python scripts/pseudo_quality.py [--preset cpu] [--frames 8] [--kitti-root PATH]``.
Per-point precision / recall / IoU against ground truth (KITTI: points inside the labelled 3D
boxes), over the points that project into a camera image; IGNORE counts as not predicting.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from labeleff.data.kitti import read_kitti_frame
from labeleff.data.synthetic import PRESETS, load_frames
from labeleff.mwsis.train3d import stage_table

REPO = Path(__file__).resolve().parents[1]
COLUMNS = ("Foreground/precision", "Foreground/recall", "Foreground/iou", "Vehicle/iou",
           "Pedestrian/iou", "Cyclist/iou", "ignore_fraction")


def print_table(title: str, table: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    print(f"{'stage':10s} " + " ".join(f"{c.replace('/', ' '):>22s}" for c in COLUMNS))
    for name, q in table.items():
        print(f"{name:10s} " + " ".join(f"{q[c]:22.3f}" for c in COLUMNS))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preset", default="cpu", choices=sorted(PRESETS))
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kitti-root", type=Path, default=REPO.parent / "shared" / "data" / "kitti")
    args = ap.parse_args()
    frames = load_frames(PRESETS[args.preset], args.seed, range(args.frames), None)
    print_table(f"built-in scenes, preset {args.preset}, {args.frames} frames", stage_table(frames))
    if (args.kitti_root / "training" / "velodyne" / "000008.bin").exists():
        kitti = [read_kitti_frame(args.kitti_root, "000008")]
        print_table(f"real KITTI frame 000008 ({args.kitti_root})", stage_table(kitti))
    else:
        print(f"\nKITTI sample not found under {args.kitti_root}; skipped")


if __name__ == "__main__":
    main()
