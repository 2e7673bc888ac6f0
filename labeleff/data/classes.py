"""Class vocabulary shared by every reader, module and metric.

Labels are integers: 0 Vehicle, 1 Pedestrian, 2 Cyclist; ``BACKGROUND`` (= 3 = number of classes,
as in MWSIS) for background points; ``IGNORE`` (-1) for points a loss must skip.
"""

from __future__ import annotations

CLASSES: tuple[str, ...] = ("Vehicle", "Pedestrian", "Cyclist")
NUM_CLASSES = len(CLASSES)
BACKGROUND = NUM_CLASSES
IGNORE = -1

# Per-class distance thresholds used by MWSIS for BEV connected components (metres).
CCL_RADIUS: tuple[float, ...] = (0.6, 0.1, 0.4)
# 3D detection IoU thresholds (KITTI / MixSup convention).
DET_IOU_THRESHOLD: tuple[float, ...] = (0.7, 0.5, 0.5)

# Names used by KITTI-format labels (and common converters of Waymo/nuScenes) -> class id.
# ``None`` marks names that are known and deliberately skipped (DontCare, Misc, ...).
KITTI_NAME_TO_CLASS: dict[str, int | None] = {
    "Car": 0, "Van": 0, "Truck": 0, "Tram": None, "Vehicle": 0, "Bus": 0,
    "Pedestrian": 1, "Person_sitting": 1, "Person": 1,
    "Cyclist": 2,
    "DontCare": None, "Misc": None, "Sign": None, "Unknown": None,
}
CLASS_TO_KITTI_NAME: tuple[str, ...] = ("Car", "Pedestrian", "Cyclist")
