"""3D pseudo labels from 2D boxes: the frustum baseline, SPG (ring filter + BEV CCL) and RSC.

``pseudo_labels(frame.training_view(), cfg)`` is the one entry point; it reads only the points,
ring/column indices, cameras and weak 2D boxes of the frame, never its ground truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from labeleff.data.classes import BACKGROUND, CCL_RADIUS, NUM_CLASSES
from labeleff.data.frame import Frame
from labeleff.errors import DataError
from labeleff.geometry.ring import ring_segments
from labeleff.mwsis.frustum import FrustumHits, frustum_hits
from labeleff.mwsis.rsc import rsc_correct
from labeleff.mwsis.spg import (
    FLAG_CANDIDATE,
    base_flags,
    box_priority,
    drop_unclustered,
    labels_from_boxes,
    resolve_overlaps,
    ring_leakage_flags,
    spg_keep_pairs,
)


@dataclass(frozen=True)
class PseudoLabelConfig:
    """Switches and thresholds of 3D pseudo-label generation.

    All off gives the frustum baseline (dossier 8 #11): every point in a 2D box takes its class.

    Attributes:
        spg: keep only each box's largest BEV connected component (SPG-B).
        ring_filter: ring-segment leakage filter (SPG-A).
        rsc: ring-segment majority correction of the final labels.
        overlap: which box a point in several boxes takes: ``"smallest"`` or ``"last"`` (official).
        ccl_radius: BEV linking distance per class (metres).
        background_prop, ignore_prop: ring-filter leakage thresholds.
        ccl_spacing: range-adaptive SPG radius (not in the release): a box's linking radius is
            at least this many azimuth point spacings at its mean range, ``k * d * 2 pi / C``
            (C = ``frame.num_columns``); 0 keeps the release's fixed class radii.
        ring_tau_per_metre, ring_window: ring segmentation rule (see ``ring_segments``).
        rsc_ratio, rsc_skip_classes: RSC majority share and classes RSC never spreads.
        device: torch device the computation runs on.
    """

    spg: bool = True
    ring_filter: bool = True
    rsc: bool = False
    overlap: str = "smallest"
    ccl_radius: tuple[float, ...] = CCL_RADIUS
    background_prop: float = 0.5
    ignore_prop: float = 0.05
    ring_tau_per_metre: float = 0.0048
    ring_window: tuple[float, int, int] = (500.0, 12, 50)
    ccl_spacing: float = 3.0
    rsc_ratio: float = 0.7
    rsc_skip_classes: tuple[int, ...] = (1,)
    device: str = "cpu"


@dataclass(frozen=True)
class PseudoLabels:
    """Per-point training targets of one frame.

    Attributes:
        labels: (N,) int64 class, ``BACKGROUND`` or ``IGNORE``.
        box_index: (N,) int64 global 2D box index (cameras in order) the point is assigned to, -1.
        vote_targets: (N, 3) float offset to the assigned box's point mean (metres), 0 elsewhere.
        vote_mask: (N,) bool, the point has a vote target.
        segment_ids: (N,) int64 ring-segment ids (-1 none; all -1 when no stage needs them).
        in_image: (N,) bool, the point projects into at least one camera image.
    """

    labels: torch.Tensor
    box_index: torch.Tensor
    vote_targets: torch.Tensor
    vote_mask: torch.Tensor
    segment_ids: torch.Tensor
    in_image: torch.Tensor


def vote_targets(
    xyz: torch.Tensor, box_assignment: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Offsets to each box's "fake centre", the mean xyz of the points assigned to it (dossier 3.2).

    The raw offset is returned; the loss's ``sign * sqrt(|.|)`` encoding belongs to the head.

    Args:
        xyz: (N, >=3) points (metres).
        box_assignment: (N,) int64 box index per point, -1 for none.

    Returns:
        targets: (N, 3) float ``centre - xyz`` (0 where unassigned); mask: (N,) bool assigned.
    """
    xyz = xyz[:, :3]
    mask = box_assignment >= 0
    targets = torch.zeros_like(xyz)
    if not bool(mask.any()):
        return targets, mask
    box = box_assignment[mask]
    nb = int(box.max()) + 1
    sums = torch.zeros(nb, 3, dtype=xyz.dtype, device=xyz.device).index_add_(0, box, xyz[mask])
    counts = torch.bincount(box, minlength=nb).clamp(min=1).to(xyz.dtype)
    targets[mask] = (sums / counts[:, None])[box] - xyz[mask]
    return targets, mask


def _frame_tensors(frame: Frame, device: torch.device) -> tuple[torch.Tensor, ...]:
    """(xyz (N,3) float32, ring (N,) int64, column (N,) int64) of a frame on ``device``."""
    xyz = torch.as_tensor(frame.points[:, :3], dtype=torch.float32, device=device)
    ring = torch.as_tensor(frame.ring, device=device).long()
    column = torch.as_tensor(frame.column, device=device).long()
    return xyz, ring, column


def _segments(
    frame: Frame,
    cfg: PseudoLabelConfig,
    xyz: torch.Tensor,
    ring: torch.Tensor,
    column: torch.Tensor,
) -> torch.Tensor:
    """Ring segments when a stage needs them; ``DataError`` if the frame has no ring indices."""
    if not (cfg.ring_filter or cfg.rsc):
        return torch.full_like(ring, -1)
    if not bool((ring >= 0).any()):
        raise DataError(
            f"frame {frame.frame_id}",
            "ring filter / RSC need ring indices but every ring is -1 (disable them)",
        )
    return ring_segments(
        ring, column, xyz.norm(dim=1), frame.num_columns, cfg.ring_tau_per_metre, cfg.ring_window
    )


def _flags(
    hits: FrustumHits,
    xyz: torch.Tensor,
    segment_ids: torch.Tensor,
    cfg: PseudoLabelConfig,
    num_columns: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(flags (N,), kept pairs (P,)) after the enabled SPG stages."""
    in_box = hits.in_box()
    if cfg.ring_filter:
        flags = ring_leakage_flags(
            segment_ids, in_box, hits.in_image, cfg.background_prop, cfg.ignore_prop
        )
    else:
        flags = base_flags(in_box, hits.in_image)
    if not cfg.spg:
        return flags, flags[hits.point] == FLAG_CANDIDATE
    step = cfg.ccl_spacing * 2 * math.pi / num_columns if num_columns > 0 else 0.0
    keep = spg_keep_pairs(xyz, hits.point, hits.box, hits.box_labels, flags, cfg.ccl_radius, step)
    return drop_unclustered(flags, hits.point, keep), keep


def _check_box_labels(frame: Frame, box_labels: torch.Tensor) -> None:
    """Raise ``DataError`` unless every 2D box has a foreground class ``0 .. NUM_CLASSES - 1``."""
    bad = (box_labels < 0) | (box_labels >= NUM_CLASSES)
    if bool(bad.any()):
        raise DataError(
            f"frame {frame.frame_id}",
            f"2D box labels must be classes 0..{NUM_CLASSES - 1}, got {box_labels[bad].tolist()}",
        )


def _consistent_boxes(
    box_index: torch.Tensor, labels: torch.Tensor, box_labels: torch.Tensor
) -> torch.Tensor:
    """(N,) box index kept only where the point's label still equals the box's class, else -1."""
    if box_labels.numel() == 0:
        return box_index
    same = (box_labels[box_index.clamp(min=0)] == labels) & (labels != BACKGROUND)
    return torch.where((box_index >= 0) & same, box_index, -1)


def pseudo_labels(frame: Frame, cfg: PseudoLabelConfig | None = None) -> PseudoLabels:
    """3D pseudo labels of one frame from its weak 2D boxes (reads no ground truth).

    Pipeline: frustum membership -> [ring leakage filter] -> [largest BEV component per box] ->
    box per point by the overlap rule -> labels -> [RSC] -> vote targets. Points seen by no camera
    are ``IGNORE`` (the release drops them, dossier 2.1). After RSC a point keeps its box only if
    its label still equals the box's class.

    Args:
        frame: a frame, typically ``frame.training_view()``.
        cfg: the configuration (defaults: SPG with ring filter, no RSC).

    Returns:
        ``PseudoLabels`` on ``cfg.device``.
    """
    cfg = cfg or PseudoLabelConfig()
    xyz, ring, column = _frame_tensors(frame, torch.device(cfg.device))
    segment_ids = _segments(frame, cfg, xyz, ring, column)
    hits = frustum_hits(xyz, frame.cameras, frame.weak.boxes2d)
    _check_box_labels(frame, hits.box_labels)
    flags, keep = _flags(hits, xyz, segment_ids, cfg, frame.num_columns)
    rank = box_priority(hits.box_area, cfg.overlap)
    box_index = resolve_overlaps(hits.point[keep], hits.box[keep], rank, xyz.shape[0])
    labels = labels_from_boxes(flags, box_index, hits.box_labels)
    if cfg.rsc:
        labels = rsc_correct(labels, segment_ids, cfg.rsc_ratio, cfg.rsc_skip_classes)
        box_index = _consistent_boxes(box_index, labels, hits.box_labels)
    targets, mask = vote_targets(xyz, box_index)
    return PseudoLabels(labels, box_index, targets, mask, segment_ids, hits.in_image)
