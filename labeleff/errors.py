"""Errors raised on bad input. Every message names the file (or frame) and the problem."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad input data: a corrupt, truncated or inconsistent file or frame.

    Args:
        source: the file path or frame id the problem was found in.
        problem: what is wrong, in words a user can act on.
    """

    def __init__(self, source: str | Path, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


class GroundTruthAccessError(AttributeError):
    """Raised when code holding a training view of a frame touches its ground truth."""
