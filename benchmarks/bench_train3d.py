"""Speed of the 3D segmentor: training step (forward + backward + AdamW) and inference.

Scene: a ray-cast spinning LiDAR (default 32 beams x 1024 columns, elevations -25..+3 deg, sensor
1.73 m above a flat ground) over random vehicle / pedestrian / cyclist boxes and side walls; only
returns within ``--fov`` degrees of azimuth around +x are kept (360 = whole sweep). Batch of
``--batch`` such frames. Prints median milliseconds over ``--steps`` timed steps (after warm-up)
of a training step, of a no-grad forward of the batch (eval mode) and of instance inference
(``infer_instances``) on the first frame with perfect predictions (see ``oracle_predictions``).

    PYTHONPATH=$PWD python benchmarks/bench_train3d.py --preset cpu --threads 2

On a 2-core machine shared with other jobs, set ``OMP_WAIT_POLICY=PASSIVE``: with the default
(spinning) OpenMP wait policy two threads ran up to 7x slower than one thread under load.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor

from labeleff.data.classes import BACKGROUND
from labeleff.engine.optim import build_adamw
from labeleff.models.instances3d import infer_instances
from labeleff.models.losses3d import encode_votes, segmentor_losses
from labeleff.models.segmentor3d import Segmentor3D, Segmentor3DConfig

SENSOR_HEIGHT = 1.73
# class -> (l, w, h) of its boxes and how many per scene
OBJECTS = {0: ((4.2, 1.8, 1.5), 15), 1: ((0.6, 0.6, 1.75), 10), 2: ((1.8, 0.6, 1.7), 5)}


def random_boxes(g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Boxes (B, 7) x, y, z, l, w, h, yaw (ground at z = -1.73) and classes (B,), walls = -1."""
    boxes, classes = [], []
    for cls, ((length, w, h), count) in OBJECTS.items():
        xy = torch.rand(count, 2, generator=g) * torch.tensor([60.0, 40.0]) + torch.tensor([4, -20])
        yaw = torch.rand(count, 1, generator=g) * math.pi
        size = torch.tensor([length, w, h]).expand(count, 3)
        z = torch.full((count, 1), -SENSOR_HEIGHT + h / 2)
        boxes.append(torch.cat([xy, z, size, yaw], 1))
        classes.append(torch.full((count,), cls))
    walls = torch.tensor([[30.0, 22.0, 1.0, 60.0, 1.0, 5.5, 0.0],
                          [30.0, -24.0, 1.0, 60.0, 1.0, 5.5, 0.0]])
    return torch.cat([*boxes, walls]), torch.cat([*classes, torch.full((2,), -1)])


def ray_cast(
    boxes: Tensor, beams: int, columns: int, fov_deg: float
) -> tuple[Tensor, Tensor, Tensor]:
    """Range (R,) of the first hit of each ray (inf: none), the hit box (R,) (-1: ground or
    none) and the ray directions (R, 3); boxes are intersected in their own frames (slabs)."""
    dirs = rays(beams, columns, fov_deg)
    t_ground = torch.where(dirs[:, 2] < 0, SENSOR_HEIGHT / -dirs[:, 2], torch.inf)
    c, s = torch.cos(-boxes[:, 6]), torch.sin(-boxes[:, 6])
    rot = torch.stack([torch.stack([c, -s], 1), torch.stack([s, c], 1)], 1)  # (B, 2, 2)
    o_xy = torch.einsum("bij,bj->bi", rot, -boxes[:, :2])  # sensor origin in box frames
    d_xy = torch.einsum("bij,rj->rbi", rot, dirs[:, :2])
    origin = torch.cat([o_xy, -boxes[:, 2:3]], 1)[None]
    d = torch.cat([d_xy, dirs[:, None, 2:].expand(-1, len(boxes), 1)], 2)
    half = boxes[None, :, 3:6] / 2
    t1, t2 = (-half - origin) / d, (half - origin) / d
    t_near = torch.minimum(t1, t2).amax(2)
    t_far = torch.maximum(t1, t2).amin(2)
    t_box = torch.where((t_near <= t_far) & (t_near > 0), t_near, torch.inf)
    t_best, hit = torch.cat([t_ground[:, None], t_box], 1).min(1)
    return t_best, hit - 1, dirs


def rays(beams: int, columns: int, fov_deg: float) -> Tensor:
    """(R, 3) unit directions of the beams x columns within the azimuth field of view."""
    elev = torch.deg2rad(torch.linspace(-25.0, 3.0, beams))
    azim = torch.arange(columns) * (2 * math.pi / columns) - math.pi
    azim = azim[azim.abs() <= math.radians(fov_deg) / 2]
    e, a = torch.meshgrid(elev, azim, indexing="ij")
    return torch.stack([e.cos() * a.cos(), e.cos() * a.sin(), e.sin()], -1).reshape(-1, 3)


def scene(seed: int, beams: int, columns: int, fov: float) -> tuple[Tensor, Tensor, Tensor]:
    """Points (N, 4), labels (N,) and vote offsets (N, 3) of one ray-cast frame (< 70 m)."""
    g = torch.Generator().manual_seed(seed)
    boxes, classes = random_boxes(g)
    t, hit, dirs = ray_cast(boxes, beams, columns, fov)
    keep = t < 70.0
    xyz = dirs[keep] * t[keep, None] + torch.randn(int(keep.sum()), 3, generator=g) * 0.01
    hit = hit[keep]
    cls = torch.where(hit >= 0, classes[hit.clamp(min=0)], -1)
    labels = torch.where(cls >= 0, cls, BACKGROUND)
    offsets = torch.where((cls >= 0)[:, None], boxes[hit.clamp(min=0), :3] - xyz, 0.0)
    points = torch.cat([xyz, torch.rand(len(xyz), 1, generator=g)], 1)
    return points, labels, offsets


def oracle_predictions(points: Tensor, labels: Tensor, offsets: Tensor) -> tuple[Tensor, ...]:
    """xyz, logits and votes of a perfect segmentor (the load instance inference sees after
    training; an untrained model predicts almost no foreground)."""
    logits = torch.full((len(points), 3), -5.0)
    fg = labels < 3
    logits[fg, labels[fg]] = 5.0
    votes = encode_votes(offsets).repeat(1, 3)
    return points[:, :3], logits, votes


def median_ms(fn: Callable[[], None], steps: int, warmup: int) -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--beams", type=int, default=32)
    p.add_argument("--columns", type=int, default=1024)
    p.add_argument("--fov", type=float, default=360.0)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dev = torch.device(args.device)
    frames = [scene(i, args.beams, args.columns, args.fov) for i in range(args.batch)]
    points = torch.cat([f[0] for f in frames]).to(dev)
    labels = torch.cat([f[1] for f in frames]).to(dev)
    offsets = torch.cat([f[2] for f in frames]).to(dev)
    batch_idx = torch.cat([torch.full((len(f[0]),), i) for i, f in enumerate(frames)]).to(dev)
    model = Segmentor3D(Segmentor3DConfig.preset(args.preset), device=dev).to(dev)
    opt = build_adamw(model)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    def train_step() -> None:
        out = model(points, batch_idx)
        losses = segmentor_losses(out.logits, out.votes, out.valid, labels, offsets, labels < 3)
        opt.zero_grad()
        sum(losses.values()).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        sync()

    @torch.no_grad()
    def infer() -> None:
        model(points, batch_idx)
        sync()

    model.train()
    train_ms = median_ms(train_step, args.steps, args.warmup)
    model.eval()
    infer_ms = median_ms(infer, args.steps, args.warmup)
    with torch.no_grad():
        out = model(points, batch_idx)
    inst_ms = median_ms(lambda: infer_instances(*oracle_predictions(*frames[0])), args.steps,
                        args.warmup)
    print(json.dumps({
        "preset": args.preset, "device": str(dev), "threads": args.threads, "batch": args.batch,
        "points_per_frame": [len(f[0]) for f in frames], "voxels": out.voxels.num_voxels,
        "fg_points": int((labels < 3).sum()), "train_step_ms_median": round(train_ms, 1),
        "inference_ms_median": round(infer_ms, 1),
        "instances_one_frame_ms_median": round(inst_ms, 1), "steps": args.steps,
    }))


if __name__ == "__main__":
    main()
