"""MWSIS 3D branch, end to end: pseudo labels from 2D boxes -> 3D segmentor training -> point
instance mask AP.

One function, :func:`run_mwsis3d`, trains one ablation row (fully supervised, frustum baseline,
+SPG, +RSC, +PVC with an EMA teacher) on a list of frames and evaluates it. Training code only ever
sees ``frame.training_view()`` except in the fully supervised row, whose point labels are the
ground truth by definition; metrics read the ground truth of the validation frames.

Following the release (dossier 2.1), both training and evaluation use only the points that project
into at least one camera image.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import Tensor

from labeleff.data.classes import CCL_RADIUS, CLASSES
from labeleff.data.frame import Frame
from labeleff.engine.ema import EMATeacher
from labeleff.engine.loop import CheckpointHook, EMAHook, Hook, NaNGuard, Trainer
from labeleff.engine.optim import build_adamw, one_cycle_schedule
from labeleff.errors import DataError
from labeleff.metrics.coco_masks import PointMasks, point_mask_ap
from labeleff.metrics.pseudo import pseudo_label_quality
from labeleff.models.augment3d import augment_points
from labeleff.models.instances3d import Instances3D, infer_instances, semantic_from_logits
from labeleff.models.losses3d import Loss3DConfig, segmentor_losses
from labeleff.models.segmentor3d import Segmentor3D, Segmentor3DConfig
from labeleff.mwsis.pseudo3d import PseudoLabelConfig, pseudo_labels, vote_targets
from labeleff.mwsis.pvc import PVCHistory, apply_pvc
from labeleff.mwsis.rsc import rsc_correct

LogFn = Callable[[int, dict[str, float]], None]

# Pseudo-label stages reported for every run, in pipeline order (name -> config).
STAGES: dict[str, PseudoLabelConfig] = {
    "baseline": PseudoLabelConfig(spg=False, ring_filter=False),
    "spg": PseudoLabelConfig(spg=True, ring_filter=True),
    "spg_rsc": PseudoLabelConfig(spg=True, ring_filter=True, rsc=True),
}


@dataclass
class MWSIS3DParams:
    """One row of the MWSIS 3D ablation and its schedule.

    Attributes:
        supervision: ``"gt"`` (true point labels: the upper bound) or ``"pseudo"`` (2D boxes).
        spg: SPG (ring-segment leakage filter + largest BEV component per box).
        rsc: RSC, ring-segment correction of the pseudo labels and of the test predictions.
        pvc: PVC, history voting of the teacher's predictions, from ``pvc_start`` of the run on.
        ema: evaluate (and feed PVC from) an EMA teacher instead of the student.
        model: segmentor preset (``tiny``, ``cpu``, ``gpu``); empty: from the data preset.
        num_train, num_val: frames; 0: from the data preset.
        steps: training steps; 0: from the data preset.
        batch_size: frames per step.
        lr: peak learning rate of the one-cycle AdamW schedule.
        weight_decay: AdamW weight decay.
        pvc_start: fraction of the run after which PVC votes replace labels (release: 1/2).
        pvc_history, pvc_low, pvc_high: PVC history length and confidence thresholds.
        rsc_ratio: RSC majority share.
        ring_background_prop, ring_ignore_prop: SPG ring-filter leakage thresholds.
        ccl_spacing: SPG linking-radius floor in azimuth spacings (0: the release's radii).
        vote_weight: weight of the vote L1 loss (release: 1 against focal 100).
        cluster_radii: BEV linking radii of instance inference per class (metres); empty: the
            preset's (``Schedule.cluster_radii``).
        data_seed: seed of the built-in scenes (the same data for every training seed).
        eval_every: evaluate (and report to a pruner) every this many steps; 0: only at the end.
    """

    supervision: str = "pseudo"
    spg: bool = True
    rsc: bool = False
    pvc: bool = False
    ema: bool = False
    model: str = ""
    num_train: int = 0
    num_val: int = 0
    steps: int = 0
    batch_size: int = 2
    lr: float = 2e-3
    weight_decay: float = 0.01
    pvc_start: float = 0.5
    pvc_history: int = 4
    pvc_low: float = 0.4
    pvc_high: float = 0.6
    rsc_ratio: float = 0.7
    ring_background_prop: float = 0.5
    ring_ignore_prop: float = 0.05
    ccl_spacing: float = 3.0
    vote_weight: float = 1.0
    cluster_radii: tuple[float, ...] = ()
    data_seed: int = 0
    eval_every: int = 0


@dataclass(frozen=True)
class Schedule:
    """Data and schedule sizes of a preset (used where ``MWSIS3DParams`` leaves 0/empty).

    ``cluster_radii``: instance-inference BEV radii. The release's (0.6, 0.1, 0.4) m suit its
    24-epoch Waymo model; after the 600-step ``cpu`` schedule the vehicle votes' median BEV error
    is 0.44 m and those radii shred instances (fully supervised mAP 16.4 vs 31.2 with
    (1.0, 0.5, 0.8) on the same model; docs/RESULTS.md), so the short schedules use wider radii.
    """

    num_train: int
    num_val: int
    steps: int
    model: str
    cluster_radii: tuple[float, ...] = CCL_RADIUS


SHORT_SCHEDULE_RADII = (1.0, 0.5, 0.8)
SCHEDULES: dict[str, Schedule] = {
    "smoke": Schedule(num_train=4, num_val=2, steps=30, model="smoke",
                      cluster_radii=SHORT_SCHEDULE_RADII),
    "cpu": Schedule(num_train=96, num_val=16, steps=600, model="cpu",
                    cluster_radii=SHORT_SCHEDULE_RADII),
    "gpu": Schedule(num_train=400, num_val=100, steps=12000, model="gpu"),
}


@dataclass
class TrainSample:
    """Training targets of one frame, restricted to its in-image points.

    Attributes:
        frame_id: the frame's id (PVC history key).
        points: (n, 4) float32 x, y, z, intensity.
        labels: (n,) int64 class, BACKGROUND or IGNORE.
        offsets: (n, 3) float32 vote targets (metres); vote_mask (n,) bool where defined.
        segment_ids: (n,) int64 ring segments (-1 none).
        in_image: (N,) bool on the CPU, which of the frame's N points were kept (the n above).
    """

    frame_id: str
    points: Tensor
    labels: Tensor
    offsets: Tensor
    vote_mask: Tensor
    segment_ids: Tensor
    in_image: Tensor


@dataclass
class RunOutput:
    """Metrics and the pieces a caller may want to draw."""

    metrics: dict[str, float] = field(default_factory=dict)
    first_val_prediction: Instances3D | None = None
    first_val_points: Tensor | None = None


def resolve_params(params: MWSIS3DParams, preset: str) -> tuple[MWSIS3DParams, Schedule]:
    """Fills the zero/empty sizes of ``params`` from the preset's schedule; validates choices."""
    if preset not in SCHEDULES:
        raise DataError("mwsis3d", f"unknown preset {preset!r}; use {sorted(SCHEDULES)}")
    if params.supervision not in ("gt", "pseudo"):
        raise DataError("mwsis3d", f"supervision must be gt or pseudo, not {params.supervision!r}")
    s = SCHEDULES[preset]
    sched = Schedule(params.num_train or s.num_train, params.num_val or s.num_val,
                     params.steps or s.steps, params.model or s.model,
                     tuple(params.cluster_radii) or s.cluster_radii)
    return replace(params, cluster_radii=sched.cluster_radii), sched


def label_config(p: MWSIS3DParams) -> PseudoLabelConfig:
    """The pseudo-label configuration of a row."""
    return PseudoLabelConfig(spg=p.spg, ring_filter=p.spg, rsc=p.rsc, rsc_ratio=p.rsc_ratio,
                             background_prop=p.ring_background_prop,
                             ignore_prop=p.ring_ignore_prop, ccl_spacing=p.ccl_spacing)


def gt_targets(frame: Frame) -> tuple[Tensor, Tensor, Tensor]:
    """(labels, offsets, vote_mask) from ground truth: the fully supervised upper bound.

    Vote targets point to the mean of each instance's points, as the release's supervised path.
    """
    gt = frame.gt
    if gt is None:
        raise DataError(f"frame {frame.frame_id}", "supervision=gt needs ground truth")
    xyz = torch.as_tensor(frame.points[:, :3], dtype=torch.float32)
    offsets, mask = vote_targets(xyz, torch.as_tensor(gt.point_instance).long())
    return torch.as_tensor(gt.point_semantic).long(), offsets, mask


def build_sample(frame: Frame, p: MWSIS3DParams, device: str | torch.device = "cpu"
                 ) -> TrainSample:
    """Training targets of one frame on ``device`` (pseudo labels read only its training view)."""
    view = frame.training_view()
    pl = pseudo_labels(view, label_config(p))
    keep = pl.in_image
    if p.supervision == "gt":
        labels, offsets, vmask = gt_targets(frame)
    else:
        labels, offsets, vmask = pl.labels, pl.vote_targets, pl.vote_mask
    pts = torch.as_tensor(view.points[:, :4], dtype=torch.float32)
    return TrainSample(view.frame_id, pts[keep].to(device), labels[keep].long().to(device),
                       offsets[keep].float().to(device), vmask[keep].to(device),
                       pl.segment_ids[keep].to(device), keep.cpu())


def stage_table(frames: Sequence[Frame]) -> dict[str, dict[str, float]]:
    """Pseudo-label quality of every stage in ``STAGES`` over ``frames`` (in-image points, pooled).

    Returns:
        stage name -> ``pseudo_label_quality`` dict (``<class or Foreground>/<measure>``).
    """
    table = {}
    for name, cfg in STAGES.items():
        preds, gts = [], []
        for f in frames:
            pl = pseudo_labels(f.training_view(), cfg)
            preds.append(pl.labels[pl.in_image])
            gts.append(torch.as_tensor(f.gt.point_semantic)[pl.in_image])
        table[name] = pseudo_label_quality(torch.cat(preds), torch.cat(gts))
    return table


def label_quality(frames: Sequence[Frame], samples: Sequence[TrainSample],
                  labels: Sequence[Tensor]) -> dict[str, float]:
    """Quality of a row's own training labels (its pseudo-label stage) against ground truth.

    Args:
        frames: the training frames (with ground truth).
        samples: their training samples (which points were kept).
        labels: per frame, the (n,) labels of its in-image points the row trained on.

    Returns:
        ``pseudo/{precision,recall,iou}`` (foreground vs background), ``pseudo/<class>/iou`` and
        ``pseudo/ignored`` (share of IGNORE labels), fractions.
    """
    gts = [torch.as_tensor(f.gt.point_semantic)[s.in_image]
           for f, s in zip(frames, samples, strict=True)]
    q = pseudo_label_quality(torch.cat([lab.cpu() for lab in labels]), torch.cat(gts))
    out = {f"pseudo/{m}": q[f"Foreground/{m}"] for m in ("precision", "recall", "iou")}
    out |= {f"pseudo/{c}/iou": q[f"{c}/iou"] for c in CLASSES}
    return out | {"pseudo/ignored": q["ignore_fraction"]}


def collate(samples: Sequence[TrainSample], gen: torch.Generator
            ) -> tuple[Tensor, Tensor, Tensor]:
    """Augments and concatenates frames: (points, batch_idx, vote offsets)."""
    pts, bidx, offs = [], [], []
    for i, s in enumerate(samples):
        p, o, _ = augment_points(s.points, gen, s.offsets)
        pts.append(p)
        offs.append(o)
        bidx.append(torch.full((len(p),), i, dtype=torch.long, device=p.device))
    return torch.cat(pts), torch.cat(bidx), torch.cat(offs)


class MWSIS3DStep:
    """The training step: sample a batch, update PVC, forward, losses.

    Args:
        model: the student.
        samples: per-frame targets.
        p: the row's parameters.
        total_steps: run length (PVC starts at ``p.pvc_start * total_steps``).
        seed: sampling and augmentation seed.
        teacher: the EMA teacher, or None (PVC then reads the student).
    """

    def __init__(self, model: Segmentor3D, samples: list[TrainSample], p: MWSIS3DParams,
                 total_steps: int, seed: int, teacher: EMATeacher | None) -> None:
        self.model, self.samples, self.p, self.teacher = model, samples, p, teacher
        self.gen = torch.Generator().manual_seed(seed)
        self.pvc_from = int(p.pvc_start * total_steps)
        self.history = PVCHistory(p.pvc_history, low=p.pvc_low, high=p.pvc_high) if p.pvc else None
        self.order: list[int] = []

    def next_batch(self) -> list[TrainSample]:
        """The next ``batch_size`` frames of a reshuffled epoch order."""
        batch = []
        while len(batch) < min(self.p.batch_size, len(self.samples)):
            if not self.order:
                self.order = torch.randperm(len(self.samples), generator=self.gen).tolist()
            batch.append(self.samples[self.order.pop()])
        return batch

    def targets(self, batch: list[TrainSample], step: int, points: Tensor, bidx: Tensor
                ) -> tuple[list[Tensor], list[Tensor]]:
        """Per-frame labels and vote masks, PVC-corrected once its history is in use."""
        labels = [s.labels for s in batch]
        masks = [s.vote_mask for s in batch]
        if self.history is None:
            return labels, masks
        probs = self._teacher_probs(points, bidx)
        for i, s in enumerate(batch):
            self.history.update(s.frame_id, probs[bidx == i])
            if step >= self.pvc_from:
                votes = self.history.vote(s.frame_id)
                labels[i], masks[i] = apply_pvc(labels[i], votes, masks[i])
        return labels, masks

    @torch.no_grad()
    def _teacher_probs(self, points: Tensor, bidx: Tensor) -> Tensor:
        """(N, 3) sigmoid probabilities of the teacher (train mode, as the release) or student."""
        if self.teacher is None:
            return torch.sigmoid(self.model(points, bidx).logits)
        with self.teacher.swapped() as t:
            return torch.sigmoid(t(points, bidx).logits)

    def __call__(self, trainer: Trainer, step: int) -> dict[str, Tensor]:
        batch = self.next_batch()
        pts, bidx, offs = collate(batch, self.gen)
        labels, masks = self.targets(batch, step, pts, bidx)
        out = self.model(pts, bidx)
        return segmentor_losses(out.logits, out.votes, out.valid, torch.cat(labels), offs,
                                torch.cat(masks), Loss3DConfig(vote_weight=self.p.vote_weight))


@torch.no_grad()
def predict(model: Segmentor3D, sample: TrainSample, p: MWSIS3DParams) -> Instances3D:
    """Instances of one frame (eval mode); RSC corrects the semantic prediction first."""
    model.eval()
    out = model(sample.points)
    semantic = None
    if p.rsc:
        semantic, _ = semantic_from_logits(out.logits, out.valid)
        semantic = rsc_correct(semantic, sample.segment_ids, ratio=p.rsc_ratio)
    return infer_instances(sample.points[:, :3], out.logits, out.votes, out.valid,
                           radii=tuple(p.cluster_radii) or CCL_RADIUS, semantic=semantic)


def evaluate(model: Segmentor3D, frames: Sequence[Frame], samples: Sequence[TrainSample],
             p: MWSIS3DParams) -> tuple[dict[str, float], Instances3D | None]:
    """3D point-mask AP (COCO protocol, in-image points) and semantic quality on ``frames``."""
    gts, preds, sem_pred, sem_gt, first = [], [], [], [], None
    for f, s in zip(frames, samples, strict=True):
        keep = s.in_image
        inst = predict(model, s, p)
        first = inst if first is None else first
        gt_ids = torch.as_tensor(f.gt.point_instance)[keep]
        gts.append(PointMasks(gt_ids.numpy(), f.gt.labels3d, None))
        preds.append(PointMasks(inst.instance_ids.cpu().numpy(), inst.instance_class.cpu().numpy(),
                                inst.instance_score.cpu().numpy()))
        sem_pred.append(inst.semantic.cpu())
        sem_gt.append(torch.as_tensor(f.gt.point_semantic)[keep])
    ap = point_mask_ap(gts, preds)
    metrics = {f"ap3d/{_ap_name(k)}": v for k, v in ap.items()}
    q = pseudo_label_quality(torch.cat(sem_pred), torch.cat(sem_gt))
    ious = {c: q[f"{c}/iou"] for c in CLASSES}
    present = [v for v in ious.values() if v == v]  # classes with points (NaN otherwise)
    metrics["miou3d/mean"] = sum(present) / len(present) if present else float("nan")
    metrics.update({f"miou3d/{c}": v for c, v in ious.items()})
    metrics["miou3d/Foreground"] = q["Foreground/iou"]
    return metrics, first


def _ap_name(key: str) -> str:
    """``AP`` -> ``mean``, ``AP/Vehicle`` -> ``Vehicle``, ``AP50`` -> ``AP50/mean``."""
    if key == "AP":
        return "mean"
    if key.startswith("AP/"):
        return key[3:]
    return key if "/" in key else f"{key}/mean"


def _eval_model(model: Segmentor3D, teacher: EMATeacher | None, fn: Callable[[], object]
                ) -> object:
    """Runs ``fn`` with the teacher weights swapped in when there is a teacher."""
    if teacher is None:
        return fn()
    with teacher.swapped():
        return fn()


def run_mwsis3d(train: Sequence[Frame], val: Sequence[Frame], p: MWSIS3DParams, steps: int,
                model_cfg: Segmentor3DConfig, seed: int, log: LogFn | None = None,
                report: LogFn | None = None, progress: bool = True,
                checkpoint: Path | None = None) -> RunOutput:
    """Trains one MWSIS 3D row and evaluates it.

    Args:
        train, val: frames (val must carry ground truth).
        p: the row.
        steps: training steps.
        model_cfg: segmentor architecture.
        seed: model initialisation, sampling and augmentation seed.
        log: ``log(step, scalars)`` per training step (curves), or None.
        report: ``report(step, {"ap3d/mean": v})`` at intermediate evaluations (pruning).
        progress: show progress bars.
        checkpoint: where to save the final model (and EMA teacher) weights, or None.

    Returns:
        Metrics: ``ap3d/*`` (fractions), ``miou3d/*`` (per-point semantic IoU), ``pseudo/*``
        (quality of the row's own training labels), ``time/*``.
    """
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    samples = [build_sample(f, p, device) for f in train]
    val_p = MWSIS3DParams(supervision="pseudo", spg=False, rsc=p.rsc)
    val_samples = [build_sample(f, val_p, device) for f in val]  # points and ring segments
    t_labels = time.perf_counter() - t0
    model = Segmentor3D(model_cfg, device=device).to(device)
    teacher = EMATeacher.for_run(model, steps) if p.ema else None
    opt = build_adamw(model, lr=p.lr, weight_decay=p.weight_decay)
    step_fn = MWSIS3DStep(model, samples, p, steps, seed, teacher)
    hooks: list[Hook] = [NaNGuard()]
    if teacher is not None:
        hooks.append(EMAHook(teacher))
    if checkpoint is not None:
        extra = {"ema": teacher} if teacher is not None else {}
        hooks.append(CheckpointHook(checkpoint, every=0, extra=extra, resume=False))
    hooks.append(_CallbackHook(log, report, lambda: _eval_model(
        model, teacher, lambda: evaluate(model, val, val_samples, p)[0]), p.eval_every))
    trainer = Trainer(model, opt, step_fn, steps, one_cycle_schedule(opt, steps), hooks,
                      progress=progress)
    t1 = time.perf_counter()
    trainer.train()
    t_train = time.perf_counter() - t1
    t2 = time.perf_counter()
    metrics, first = _eval_model(model, teacher, lambda: evaluate(model, val, val_samples, p))
    metrics.update(label_quality(train, samples, _final_labels(samples, step_fn)))
    metrics.update({"time/labels_s": t_labels, "time/train_s": t_train,
                    "time/step_ms": 1000 * t_train / max(steps, 1),
                    "time/eval_s": time.perf_counter() - t2})
    return RunOutput(metrics, first, val_samples[0].points.cpu() if val_samples else None)


def _final_labels(samples: Sequence[TrainSample], step: MWSIS3DStep) -> list[Tensor]:
    """Per frame, the labels the row trained on last (PVC-corrected for PVC rows)."""
    if step.history is None:
        return [s.labels for s in samples]
    return [apply_pvc(s.labels, step.history.vote(s.frame_id), s.vote_mask)[0] for s in samples]


class _CallbackHook(Hook):
    """Sends step scalars to ``log`` and, every ``every`` steps, the val AP to ``report``."""

    def __init__(self, log: LogFn | None, report: LogFn | None,
                 evaluate_fn: Callable[[], object], every: int) -> None:
        self.log, self.report, self.evaluate_fn, self.every = log, report, evaluate_fn, every

    def after_step(self, trainer: Trainer) -> None:
        if self.log is not None:
            self.log(trainer.step, {f"train/{k}": v for k, v in trainer.record.items()
                                    if k != "step"})
        if self.report is not None and self.every and trainer.step % self.every == 0:
            metrics = self.evaluate_fn()
            trainer.model.train()
            self.report(trainer.step, {"ap3d/mean": metrics["ap3d/mean"]})

