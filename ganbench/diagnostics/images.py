"""What an evaluation draws: generated images as pixels and as the sample-grid PNG, and the size
of the grid on which D's output is stored for the report's heat maps."""

from __future__ import annotations

import io
import math

import numpy as np

IMAGE_GRID = 64
"""Generated images in the sample grid written at every evaluation of an image run (8 x 8)."""
HEATMAP_SIZE = 64
"""Points per axis of the grid on which D's output is stored at every evaluation of 2-D data
(with ``metrics.snapshots``), for the report's heat maps."""


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Images in [-1, 1] as uint8 pixels (round((x + 1) * 127.5), clipped)."""
    x = np.nan_to_num(np.asarray(images, np.float32), nan=-1.0)
    return np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid_png(images: np.ndarray, cols: int = 8) -> bytes:
    """A PNG of up to ``cols`` images per row ((N, H, W, C) in [-1, 1]; 1 or 3 channels), with a
    one-pixel border between them. Pillow encodes it."""

    from PIL import Image

    x = to_uint8(images)
    n, h, w, c = x.shape
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1, c), 128, np.uint8)
    for k in range(n):
        r, q = divmod(k, cols)
        grid[1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + q * (w + 1) : 1 + q * (w + 1) + w] = x[k]
    buf = io.BytesIO()
    Image.fromarray(grid[:, :, 0] if c == 1 else grid).save(buf, format="PNG")
    return buf.getvalue()
