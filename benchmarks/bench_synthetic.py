"""Speed of synthetic frame generation per preset (median ms/frame, first call excluded).

Usage: ``python benchmarks/bench_synthetic.py [--presets smoke cpu gpu] [--frames 5]
[--device cpu] [--threads 1]``. The budget for the ``cpu`` preset is 500 ms/frame on one core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import torch  # noqa: E402

from labeleff.data.synthetic import PRESETS, generate_frame  # noqa: E402


def time_preset(name: str, frames: int, device: str) -> tuple[float, float]:
    """Median milliseconds per frame and mean points per frame of ``frames`` frames of a preset."""
    cfg = PRESETS[name]
    generate_frame(cfg, 0, 0, device)  # warm-up, excluded
    times, points = [], []
    for index in range(1, frames + 1):
        start = time.perf_counter()
        frame = generate_frame(cfg, 0, index, device)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1000)
        points.append(frame.num_points)
    return statistics.median(times), statistics.mean(points)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["smoke", "cpu", "gpu"])
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"device={args.device} torch threads={args.threads} frames={args.frames} (median)")
    for name in args.presets:
        ms, pts = time_preset(name, args.frames, args.device)
        print(f"{name:6s} {ms:9.1f} ms/frame  {pts:9.0f} points/frame")


if __name__ == "__main__":
    main()
