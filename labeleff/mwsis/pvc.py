"""PVC: point-based voting label correction from historical teacher predictions (dossier 3.5).

Each frame keeps an (N, T, C) history of teacher sigmoid probabilities, newest first, -1 where not
yet filled. A point whose T slots all vote the same label (foreground class or background) gets
that label; a single abstaining or unfilled slot blocks the vote.
"""

from __future__ import annotations

from pathlib import Path

import torch

from labeleff.atomic import atomic_path
from labeleff.data.classes import BACKGROUND, IGNORE
from labeleff.errors import DataError


class PVCHistory:
    """Per-frame, per-point history of teacher probabilities.

    Args:
        history: T, number of past predictions kept (4 in the release).
        num_classes: C, foreground classes (3).
        low: max-probability below which a slot votes background (0.4).
        high: max-probability above which a slot votes its argmax class (0.6); in between
            (inclusive) the slot abstains.
        directory: when given, histories live on disk as ``<frame_id>.pt`` (written atomically)
            instead of in memory.
    """

    def __init__(
        self,
        history: int = 4,
        num_classes: int = 3,
        low: float = 0.4,
        high: float = 0.6,
        directory: str | Path | None = None,
    ) -> None:
        self.history, self.num_classes, self.low, self.high = history, num_classes, low, high
        self.directory = Path(directory) if directory is not None else None
        self._memory: dict[str, torch.Tensor] = {}

    def get(self, frame_id: str) -> torch.Tensor | None:
        """(N, T, C) float history of a frame (newest slot first), or None if never updated."""
        if self.directory is None:
            return self._memory.get(frame_id)
        path = self.directory / f"{frame_id}.pt"
        return torch.load(path) if path.exists() else None

    def _put(self, frame_id: str, hist: torch.Tensor) -> None:
        if self.directory is None:
            self._memory[frame_id] = hist
            return
        with atomic_path(self.directory / f"{frame_id}.pt") as tmp:
            torch.save(hist.cpu(), tmp)

    def update(self, frame_id: str, probs: torch.Tensor) -> None:
        """Push the newest teacher probabilities of a frame into slot 0 (older slots shift back).

        Args:
            frame_id: the frame's id.
            probs: (N, C) sigmoid probabilities in [0, 1], one row per point of the frame.
        """
        probs = probs.detach().float()
        if probs.ndim != 2 or probs.shape[1] != self.num_classes:
            raise DataError(f"frame {frame_id}", f"PVC probs must be (N, {self.num_classes})")
        hist = self.get(frame_id)
        if hist is None:
            hist = torch.full((probs.shape[0], self.history, self.num_classes), -1.0)
        if hist.shape[0] != probs.shape[0]:
            raise DataError(
                f"frame {frame_id}",
                f"PVC history has {hist.shape[0]} points, new prediction {probs.shape[0]}",
            )
        hist = hist.to(probs.device)
        self._put(frame_id, torch.cat([probs[:, None], hist[:, :-1]], 1))

    def vote(self, frame_id: str) -> torch.Tensor:
        """(N,) int64 unanimous vote per point: a class, ``BACKGROUND``, or -1 (no vote).

        Per slot: max-probability < ``low`` -> background; ``low <= max <= high`` -> abstain; else
        argmax class. Unfilled slots abstain. Raises ``DataError`` for an unknown frame.
        """
        hist = self.get(frame_id)
        if hist is None:
            raise DataError(f"frame {frame_id}", "no PVC history recorded for this frame")
        m, a = hist.max(-1)
        a = torch.where(m < self.low, BACKGROUND, a)
        a = torch.where((m >= self.low) & (m <= self.high), IGNORE, a)
        a = torch.where(m < 0, IGNORE, a)
        unanimous = (a == a[:, :1]).all(1) & (a[:, 0] != IGNORE)
        return torch.where(unanimous, a[:, 0], IGNORE)


def apply_pvc(
    labels: torch.Tensor,
    vote_labels: torch.Tensor,
    vote_mask: torch.Tensor,
    eligible: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace pseudo labels by unanimous votes (dossier 3.5, release behaviour).

    A point with a vote (``vote_labels != -1``) takes the voted label; this re-enables points that
    were ``IGNORE``. Points voted background lose their vote target (``vote_mask`` False); points
    voted foreground keep the vote mask they had (so points that become foreground only through
    PVC have no vote target). Points outside ``eligible`` (e.g. points seen by no camera, which the
    release never trains on) are left unchanged.

    Args:
        labels: (N,) int64 pseudo labels.
        vote_labels: (N,) int64 from ``PVCHistory.vote``.
        vote_mask: (N,) bool vote-loss mask.
        eligible: (N,) bool, points PVC may change; all when None.

    Returns:
        labels: (N,) int64; vote_mask: (N,) bool.
    """
    voted = vote_labels != IGNORE
    if eligible is not None:
        voted &= eligible
    labels = torch.where(voted, vote_labels, labels)
    return labels, vote_mask & ~(voted & (vote_labels == BACKGROUND))
