"""Realism report: frustum precision and points per object, real KITTI frame vs synthetic presets.

Usage: ``python scripts/realism.py [--kitti-root ../shared/data/kitti] [--frames 3]
[--presets cpu gpu]``. Points per object are counted inside the camera images (KITTI's velodyne
files are cropped to the front camera) for objects that have a 2D box.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from labeleff.data.frame import Frame
from labeleff.data.kitti import read_kitti_frame
from labeleff.data.realism import frustum_precision, points_per_object, pooled_precision
from labeleff.data.synthetic import PRESETS, generate_frame

REPO = Path(__file__).resolve().parents[1]
BINS = ((0, 8), (8, 12), (12, 16), (16, 24), (24, 40), (40, 80))


def _kitti_frames(root: Path) -> list[Frame]:
    if not (root / "training" / "velodyne" / "000008.bin").exists():
        print(f"KITTI sample not found under {root}")
        return []
    return [read_kitti_frame(root, "000008")]


def report(title: str, frames: list[Frame]) -> None:
    """Print pooled/per-class frustum precision, per-car precisions and points by distance."""
    if not frames:
        return
    rows, ppo = [], []
    for f in frames:
        fp = frustum_precision(f)
        rows += fp["per_object"]
        boxed = {r["instance"] for r in fp["per_object"]}
        ppo += [p for i, p in enumerate(points_per_object(f, cameras_only=True)) if i in boxed]
    per_class = {
        c: pooled_precision([r for r in rows if r["label"] == k])
        for k, c in enumerate(("Vehicle", "Pedestrian", "Cyclist"))
    }
    cars = np.array([r["precision"] for r in rows if r["label"] == 0 and r["in_frustum"]])
    print(f"\n== {title}: {len(frames)} frame(s), {len(rows)} 2D boxes")
    print(
        f"frustum precision pooled {pooled_precision(rows):.3f}  "
        + "  ".join(f"{c} {v:.3f}" for c, v in per_class.items())
    )
    if len(cars):
        q = np.percentile(cars, [10, 25, 50, 75, 90])
        print("per-car precision p10/p25/p50/p75/p90: " + " ".join(f"{v:.2f}" for v in q))
    for cls in ("Vehicle", "Pedestrian", "Cyclist"):
        cells = []
        for lo, hi in BINS:
            n = [k for c, d, k in ppo if c == cls and lo <= d < hi]
            cells.append(f"{lo}-{hi}m: {int(np.median(n)) if n else '-'} (n={len(n)})")
        print(f"points/object {cls:10s} median " + "  ".join(cells))
    if len(frames) == 1:
        print(
            "objects (class, distance m, points):", sorted((c, round(d, 1), k) for c, d, k in ppo)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--kitti-root", type=Path, default=REPO.parent / "shared" / "data" / "kitti"
    )
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--presets", nargs="+", default=["cpu", "gpu"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    report("KITTI 000008 (real)", _kitti_frames(args.kitti_root))
    for name in args.presets:
        frames = [generate_frame(PRESETS[name], args.seed, i) for i in range(args.frames)]
        report(f"synthetic preset {name!r} (seed {args.seed})", frames)


if __name__ == "__main__":
    main()
