"""labeleff.viz: pictures of frames (BEV, camera overlays) written as PNG."""

from labeleff.viz.plots import plot_bev, plot_overlay, save_frame_pictures

__all__ = ["plot_bev", "plot_overlay", "save_frame_pictures"]
