"""Animated GIFs of the report's players (``ganbench report --plots DIR --animate``).

One file per panel of every :class:`~ganbench.report.player.Player`, the frames the HTML
report's player draws (GAN Lab's view of training, Kahng et al. 2018), drawn with Pillow:

- ``samples``: one frame per evaluation of the variant's run: its samples (at most
  :data:`~ganbench.report.player.MAX_POINTS`, dark dots) over D's output on the plane (the same
  colour codes and colours as the page) and the mode centres (orange crosses);
- ``images``: one frame per evaluation: the stored grid of generated images;
- ``dirac``: one frame per position of the player's slider: every seed's (theta, psi)
  trajectory up to that step, the start (black dot), the current point (ring) and the
  equilibrium (orange star).

Each frame has a strip above the picture naming the variant, the seed and the step, so no two
frames are identical (a GIF writer would merge those).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np

from ganbench.fileio import atomic_write_bytes
from ganbench.report.player import Panel, Player, colour_table, quantise_heat
from ganbench.report.plots import file_stem

SIZE = 256
"""Width and height in pixels of a ``samples`` or ``dirac`` picture."""
HEADER = 20
"""Height in pixels of the strip above each picture that names variant, seed and step."""
FRAME_MS = {"samples": 250, "images": 250, "dirac": 50}
"""How long each frame shows, by player kind (the Dirac-GAN has up to 200 frames)."""
MAX_SLUG = 150
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
_CROSS = (230, 85, 13)


def write_animations(players: list[Player], folder: Path) -> list[Path]:
    """Write one GIF per panel of ``players`` to ``folder`` (atomically), named
    ``<suite>__<grid point>__<kind>__<variant>.gif``; names that sanitise alike get '-2',
    '-3', ... Returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    taken: set[str] = set()
    for player in players:
        for panel in player.panels:
            stem = _slug(player, panel)
            name, n = stem, 1
            while name in taken:
                n += 1
                name = f"{stem}-{n}"
            taken.add(name)
            data = gif_bytes(frames(player, panel), FRAME_MS[player.kind])
            paths.append(atomic_write_bytes(folder / f"{name}.gif", data))
    return paths


def frames(player: Player, panel: Panel) -> list:
    """The panel's frames as RGB Pillow images, all of one size: one per evaluation of its run
    (``samples``, ``images``) or per step of the player (``dirac``)."""
    if player.kind == "samples":
        pictures = [(f.step, _samples_picture(panel, f)) for f in panel.frames]
    elif player.kind == "images":
        pictures = [
            (step, _image(png)) for step, png in zip(panel.steps, panel.images, strict=True)
        ]
    else:
        pictures = [(step, _dirac_picture(panel, step)) for step in player.steps]
    width = max(p.width for _, p in pictures)
    height = max(p.height for _, p in pictures)
    return [_with_header(p, f"{panel.variant}, {panel.seed_text}: step {s}", width, height)
            for s, p in pictures]  # fmt: skip


def gif_bytes(images: list, duration_ms: int) -> bytes:
    """An endlessly looping GIF of ``images``, ``duration_ms`` per frame."""
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=duration_ms, loop=0)  # fmt: skip
    return buf.getvalue()


def _samples_picture(panel: Panel, frame):
    from PIL import Image, ImageDraw

    canvas = np.full((SIZE, SIZE, 3), 255, np.uint8)
    if frame.heat is not None and frame.clim is not None:
        codes = quantise_heat(frame.heat, frame.clim)[::-1]  # stored rows run up the y axis
        rows = np.arange(SIZE) * codes.shape[0] // SIZE
        cols = np.arange(SIZE) * codes.shape[1] // SIZE
        canvas = colour_table()[codes[rows][:, cols]]
    x_lo, x_hi, y_lo, y_hi = panel.extent
    points = frame.points[np.isfinite(frame.points).all(axis=1)]
    px = np.floor((points[:, 0] - x_lo) / (x_hi - x_lo) * SIZE)
    py = np.floor((y_hi - points[:, 1]) / (y_hi - y_lo) * SIZE)
    inside = (px >= 0) & (px < SIZE - 1) & (py >= 0) & (py < SIZE - 1)
    px, py = px[inside].astype(np.int64), py[inside].astype(np.int64)
    for dy in (0, 1):  # 2 x 2 dots, black at half opacity
        for dx in (0, 1):
            cells = (py + dy, px + dx)
            canvas[cells] = canvas[cells] // 2
    image = Image.fromarray(canvas, "RGB")
    draw = ImageDraw.Draw(image)
    for x, y in panel.means:
        cx = (x - x_lo) / (x_hi - x_lo) * SIZE
        cy = (y_hi - y) / (y_hi - y_lo) * SIZE
        draw.line([(cx - 4, cy - 4), (cx + 4, cy + 4)], fill=_CROSS, width=2)
        draw.line([(cx - 4, cy + 4), (cx + 4, cy - 4)], fill=_CROSS, width=2)
    return image


def _image(png: bytes):
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB")


def _dirac_picture(panel: Panel, step: int):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (SIZE, SIZE), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(0, SIZE / 2), (SIZE, SIZE / 2)], fill=(204, 204, 204))
    draw.line([(SIZE / 2, 0), (SIZE / 2, SIZE)], fill=(204, 204, 204))

    def xy(theta: float, psi: float) -> tuple[float, float]:
        clip = 10.0 * SIZE
        x = (theta / panel.lim + 1) / 2 * SIZE
        y = (1 - psi / panel.lim) / 2 * SIZE
        return float(np.clip(x, -clip, clip)), float(np.clip(y, -clip, clip))

    for k, path in enumerate(panel.paths):
        colour = _COLOURS[k % len(_COLOURS)]
        rows = path[path[:, 0] <= step]
        finite = np.isfinite(rows[:, 1:]).all(axis=1)
        # a non-finite row breaks the line, as the page draws it
        for piece in np.split(rows[:, 1:], np.flatnonzero(~finite)):
            piece = piece[np.isfinite(piece).all(axis=1)]
            if len(piece) > 1:
                draw.line([xy(*p) for p in piece], fill=colour, width=1)
        if len(rows) and finite[0]:
            x, y = xy(*rows[0, 1:])
            draw.ellipse([x - 2.5, y - 2.5, x + 2.5, y + 2.5], fill="black")
        if finite.any():
            x, y = xy(*rows[np.flatnonzero(finite)[-1], 1:])
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], outline=colour, width=2)
    angles = np.linspace(0.0, 2 * np.pi, 10, endpoint=False)
    radii = np.where(np.arange(10) % 2 == 0, 6.0, 2.5)  # a five-pointed star at (0, 0)
    draw.polygon(
        [
            (SIZE / 2 + r * np.sin(a), SIZE / 2 - r * np.cos(a))
            for a, r in zip(angles, radii, strict=True)
        ],
        fill=_CROSS,
    )
    return image


def _with_header(picture, text: str, width: int, height: int):
    from PIL import Image, ImageDraw

    frame = Image.new("RGB", (width, height + HEADER), "white")
    frame.paste(picture, (0, HEADER))
    draw = ImageDraw.Draw(frame)
    try:
        draw.text((3, 3), text, fill="black")
    except (UnicodeError, ValueError):  # a name the default font cannot encode
        draw.text((3, 3), text.encode("ascii", "replace").decode("ascii"), fill="black")
    return frame


def _slug(player: Player, panel: Panel) -> str:
    parts = [player.suite, *(f"{k}-{v}" for k, v in player.point.items()), player.kind,
             panel.variant]  # fmt: skip
    slug = file_stem(parts)
    if len(slug) > MAX_SLUG:  # long names from a results folder: keep file names legal
        digest = hashlib.sha256(slug.encode()).hexdigest()[:12]
        slug = f"{slug[: MAX_SLUG - 13]}-{digest}"
    return slug
