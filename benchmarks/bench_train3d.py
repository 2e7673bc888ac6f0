"""Speed of the MWSIS 3D training step and of inference on the built-in scenes of a preset.

The step is the real one of ``labeleff.mwsis.train3d`` (batch sampling, augmentation, forward,
focal + vote losses, backward, AdamW), on the preset's frames restricted to their in-image points,
with plain SPG labels and with the full method (PVC history + EMA teacher forward). Prints median
milliseconds over ``--steps`` timed steps after ``--warmup`` steps, and the median time to
predict the instances of one frame.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_train3d.py --preset cpu --threads 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from labeleff.data.synthetic import PRESETS, load_frames  # noqa: E402
from labeleff.engine.ema import EMATeacher  # noqa: E402
from labeleff.engine.loop import Trainer  # noqa: E402
from labeleff.engine.optim import build_adamw  # noqa: E402
from labeleff.models.segmentor3d import Segmentor3D, Segmentor3DConfig  # noqa: E402
from labeleff.mwsis.train3d import (  # noqa: E402
    SCHEDULES,
    MWSIS3DParams,
    MWSIS3DStep,
    build_sample,
    predict,
    resolve_params,
)


def time_steps(p: MWSIS3DParams, samples: list, model_cfg: Segmentor3DConfig, steps: int,
               warmup: int, device: str) -> float:
    """Median ms of a full training step (``Trainer`` step function + backward + update)."""
    model = Segmentor3D(model_cfg, device=device).to(device)
    teacher = EMATeacher.for_run(model, steps + warmup) if p.ema else None
    opt = build_adamw(model, lr=p.lr)
    step_fn = MWSIS3DStep(model, samples, p, steps + warmup, 0, teacher)
    trainer = Trainer(model, opt, step_fn, 1, progress=False)
    times = []
    for i in range(1, steps + warmup + 1):
        start = time.perf_counter()
        trainer.total_steps = i
        trainer.train()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times[warmup:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="cpu", choices=sorted(SCHEDULES))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    p, sched = resolve_params(MWSIS3DParams(), args.preset)
    frames = load_frames(PRESETS[args.preset], 0, range(args.frames), None)
    samples = [build_sample(f, p, args.device) for f in frames]
    cfg = Segmentor3DConfig.preset(sched.model)
    pts = statistics.mean(len(s.points) for s in samples)
    print(f"preset {args.preset}, model {sched.model}, {args.threads} threads, {args.device}, "
          f"batch {p.batch_size}, {pts:.0f} in-image points per frame")
    for name, row in (("SPG labels", p), ("SPG+RSC+PVC+EMA", MWSIS3DParams(rsc=True, pvc=True,
                                                                             ema=True))):
        ms = time_steps(row, samples, cfg, args.steps, args.warmup, args.device)
        print(f"train step ({name}): {ms:.0f} ms")
    model = Segmentor3D(cfg, device=args.device).to(args.device)
    times = []
    for s in samples:
        start = time.perf_counter()
        predict(model, s, p)
        times.append(time.perf_counter() - start)
    print(f"inference + instances per frame: {1000 * statistics.median(times):.0f} ms")


if __name__ == "__main__":
    main()
