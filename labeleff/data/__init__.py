"""Frame contract, built-in synthetic scenes, readers/writers and label budgets."""

from labeleff.data.classes import BACKGROUND, CLASSES, IGNORE, NUM_CLASSES
from labeleff.data.frame import Boxes2D, Camera, Frame, GroundTruth, WeakLabels, validate_frame

__all__ = [
    "BACKGROUND", "CLASSES", "IGNORE", "NUM_CLASSES",
    "Boxes2D", "Camera", "Frame", "GroundTruth", "WeakLabels", "validate_frame",
]
