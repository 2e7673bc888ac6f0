"""The built-in synthetic driving dataset: procedural street scenes sensed by a ray-cast rotating
LiDAR and pinhole cameras, with exact ground truth. ``load_frames(PRESETS["cpu"], seed, range(n))``
is the suite's default data.
"""

from labeleff.data.synthetic.config import PRESETS, CameraSpec, SceneConfig
from labeleff.data.synthetic.generate import cache_path, generate_frame, load_frames

__all__ = ["PRESETS", "CameraSpec", "SceneConfig", "cache_path", "generate_frame", "load_frames"]
