"""Configuration of the synthetic driving scenes: every knob with a default, and named presets."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CameraSpec:
    """One pinhole camera mounted on the ego vehicle (zero pitch and roll).

    Attributes:
        name: camera name, e.g. ``"FRONT"``.
        width: image width (pixels).
        height: image height (pixels).
        hfov_deg: horizontal field of view (degrees); square pixels, principal point at the centre.
        yaw_deg: viewing direction about +z from the LiDAR +x axis (degrees, left positive).
    """

    name: str
    width: int
    height: int
    hfov_deg: float
    yaw_deg: float = 0.0


_FRONT_CPU = (CameraSpec("FRONT", 480, 320, 70.0),)
_WAYMO_CAMERAS = (
    CameraSpec("FRONT", 960, 640, 50.4, 0.0),
    CameraSpec("FRONT_LEFT", 960, 640, 50.4, 45.0),
    CameraSpec("FRONT_RIGHT", 960, 640, 50.4, -45.0),
    CameraSpec("SIDE_LEFT", 960, 444, 50.4, 90.0),
    CameraSpec("SIDE_RIGHT", 960, 444, 50.4, -90.0),
)


@dataclass(frozen=True)
class SceneConfig:
    """All knobs of the procedural street scene, the LiDAR and the cameras.

    Lengths in metres, angles in degrees, densities in objects per 100 m of street and side.

    Attributes:
        num_beams: LiDAR beams (rings), evenly from ``elev_max_deg`` down to ``elev_min_deg``.
        num_columns: azimuth columns per revolution.
        elev_max_deg: elevation of beam 0 (the top ring).
        elev_min_deg: elevation of the last beam.
        max_range: farthest LiDAR return.
        min_range: nearest LiDAR return.
        lidar_height: LiDAR height above the road (the LiDAR frame's origin).
        range_noise: standard deviation of the range noise.
        dropout: probability that any return is lost (on top of per-surface losses).
        cameras: the cameras.
        camera_height: camera height above the road.
        min_visible_pixels: objects with fewer visible pixels in a camera get no 2D box there.
        pixel_noise: standard deviation of the per-pixel colour noise (0-255 units).
        street_half_length: the street spans x in [-street_half_length, +street_half_length].
        lanes_per_direction: (min, max) driving lanes per direction.
        lane_width: driving lane width.
        parking_lane_prob: probability of a parking lane on each side.
        sidewalk_width: (min, max) sidewalk width.
        building_prob: probability that a lot along the street holds a building.
        parked_density: parked vehicles per 100 m of each parking lane.
        moving_density: moving vehicles per 100 m of each driving lane.
        pedestrian_density: pedestrians per 100 m of each sidewalk.
        crossing_pedestrians: (min, max) pedestrians crossing the road.
        cyclist_density: cyclists per 100 m of each direction.
        tree_spacing: mean distance between street trees.
        pole_spacing: mean distance between poles.
    """

    num_beams: int = 32
    num_columns: int = 1024
    elev_max_deg: float = 2.0
    elev_min_deg: float = -16.0
    max_range: float = 70.0
    min_range: float = 1.0
    lidar_height: float = 1.8
    range_noise: float = 0.01
    dropout: float = 0.05
    cameras: tuple[CameraSpec, ...] = field(default_factory=lambda: _FRONT_CPU)
    camera_height: float = 1.65
    min_visible_pixels: int = 40
    pixel_noise: float = 3.0
    street_half_length: float = 80.0
    lanes_per_direction: tuple[int, int] = (1, 2)
    lane_width: float = 3.5
    parking_lane_prob: float = 0.8
    sidewalk_width: tuple[float, float] = (2.5, 4.5)
    building_prob: float = 0.85
    parked_density: float = 12.0
    moving_density: float = 4.0
    pedestrian_density: float = 10.0
    crossing_pedestrians: tuple[int, int] = (1, 4)
    cyclist_density: float = 3.0
    tree_spacing: float = 14.0
    pole_spacing: float = 22.0

    def key(self) -> str:
        """Short stable hash of every knob (12 hex digits), for cache keys."""
        text = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:12]


PRESETS: dict[str, SceneConfig] = {
    "smoke": SceneConfig(
        max_range=40.0,
        street_half_length=45.0,
        parked_density=8.0,
        moving_density=3.0,
        pedestrian_density=8.0,
        crossing_pedestrians=(1, 2),
    ),
    "cpu": SceneConfig(),
    "gpu": SceneConfig(
        num_beams=64,
        num_columns=2650,
        elev_max_deg=2.4,
        elev_min_deg=-17.6,
        max_range=75.0,
        lidar_height=1.85,
        cameras=_WAYMO_CAMERAS,
        camera_height=1.7,
        min_visible_pixels=160,
        street_half_length=85.0,
    ),
}
