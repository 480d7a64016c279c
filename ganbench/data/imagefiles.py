"""Reading folders of image files the user brings, in bounded time and memory.

A folder is listed recursively (:func:`list_images`): files whose names end in ``.png``,
``.jpg``, ``.jpeg`` or ``.webp`` (any case) are images; other files are counted and ignored;
symbolic links (to files or folders) are counted and never followed, so a link loop or a link
out of the folder reads nothing; at most :data:`MAX_DEPTH` folder levels and
:data:`MAX_FILES` image files, else the folder is refused. Files are taken in the order of their
relative paths (a stable order on every machine).

Each file is decoded by Pillow (:func:`read_image`) after its header is checked: an image of more
than :data:`MAX_PIXELS` pixels is refused before any pixel is decoded (Pillow's own
decompression-bomb check is not relied on). Pixel formats, as Pillow decodes them:

- grey (``L``; bilevel ``1`` as 0 and 255) stays one channel; grey with alpha (``LA``) drops
  the alpha;
- 16-bit grey (``I;16``, ``I``: PNG's 16-bit grey) becomes 8-bit as ``round(v / 257)``, so
  65535 maps to 255 (Pillow's own conversion to ``L`` clips instead);
- everything else (``RGB``; ``RGBA`` and palette images, whose alpha is dropped, not composited;
  ``CMYK``, ``YCbCr``, ...) becomes RGB with ``Image.convert("RGB")``, as pytorch-fid,
  torch-fidelity and clean-fid read images. (Pillow decodes 16-bit-per-channel colour PNGs to
  8 bits itself.)

A folder whose images are all grey is read as one channel; a folder holding any colour image is
read as RGB throughout (grey images repeated to three channels). A file that cannot be decoded
(truncated, not an image despite its name) is skipped and counted; the caller reports the
count and the first names (:class:`Folder` holds them).
"""

from __future__ import annotations

import hashlib
import os
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ganbench.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
MAX_FILES = 1_000_000
"""Image files a folder may hold (more are refused: subsample or split the folder)."""
MAX_DEPTH = 32
"""Folder levels below the given folder that are listed."""
MAX_PIXELS = 1 << 26
"""Pixels of one image (67,108,864: 8192 x 8192), checked from the header before decoding."""
MAX_DECODED_BYTES = 8 << 30
"""Decoded pixels of one read (8 GiB): more is refused before it fills the memory; evaluate
fewer images (``--n``)."""


@dataclass
class Listing:
    """The image files under a folder and what was passed over."""

    root: Path
    files: list[Path] = field(default_factory=list)
    ignored: int = 0
    """Files that are not images by their name."""
    links: int = 0
    """Symbolic links, never followed."""

    def notes(self) -> list[str]:
        out = []
        if self.ignored:
            out.append(f"{self.ignored:,} file(s) not named as images ignored")
        if self.links:
            out.append(f"{self.links:,} symbolic link(s) not followed")
        return out


def list_images(folder: str | os.PathLike[str]) -> Listing:
    """The image files under ``folder`` (module docstring), sorted by relative path.

    Raises:
        DataError: not a folder; more than :data:`MAX_FILES` images; no image at all.
    """
    root = Path(folder)
    if root.is_symlink() or not root.is_dir():
        raise DataError(f"{root}: not a folder of images (a link to one is not followed)")
    listing = Listing(root)
    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack:
        here, depth = stack.pop()
        try:
            entries = list(os.scandir(here))
        except OSError as exc:
            raise DataError(f"{here}: cannot list the folder ({exc.strerror or exc})") from None
        for entry in entries:
            if entry.is_symlink():
                listing.links += 1
            elif entry.is_dir(follow_symlinks=False):
                if depth + 1 > MAX_DEPTH:
                    raise DataError(
                        f"{entry.path}: more than {MAX_DEPTH} folder levels below {root}"
                    )
                stack.append((Path(entry.path), depth + 1))
            elif entry.is_file(follow_symlinks=False):
                if entry.name.lower().endswith(IMAGE_SUFFIXES):
                    listing.files.append(Path(entry.path))
                    if len(listing.files) > MAX_FILES:
                        raise DataError(
                            f"{root}: more than {MAX_FILES:,} image files; evaluate a folder "
                            "of at most that many"
                        )
                else:
                    listing.ignored += 1
            else:
                listing.ignored += 1  # sockets, devices, pipes
    if not listing.files:
        found = "; ".join(listing.notes()) or "it is empty"
        raise DataError(
            f"{root}: no image files ({', '.join(IMAGE_SUFFIXES)}) in it or below it ({found})"
        )
    listing.files.sort(key=lambda p: p.relative_to(root).as_posix())
    return listing


class Unreadable(Exception):
    """A file that cannot be decoded as an image (skipped and counted by the caller)."""


def read_image(path: Path) -> np.ndarray:
    """One image file as uint8 (H, W, 1) or (H, W, 3) (module docstring).

    Raises:
        DataError: more than :data:`MAX_PIXELS` pixels (refused: named with its size).
        Unreadable: not decodable.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
    except OSError as exc:
        raise Unreadable(f"cannot open ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise Unreadable("not a regular file")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # DecompressionBombWarning: checked below
                image = Image.open(fh)
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise DataError(
                        f"{path}: declares {width:,} x {height:,} pixels, more than "
                        f"{MAX_PIXELS:,} per image; refused before decoding"
                    )
                if width < 1 or height < 1:
                    raise Unreadable(f"declares {width} x {height} pixels")
                image.load()
                return _pixels(image)
        except DataError:
            raise
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
            raise Unreadable(f"{type(exc).__name__}: {str(exc)[:200]}") from None
        except Image.DecompressionBombError as exc:  # Pillow's check, at twice its limit
            raise DataError(f"{path}: refused before decoding ({str(exc)[:200]})") from None


def _pixels(image) -> np.ndarray:
    mode = image.mode
    if mode in ("1", "L", "LA"):
        x = np.asarray(image.convert("L"), np.uint8)[..., None]
    elif mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        v = np.asarray(image, np.int64)
        if v.size and (v.min() < 0 or v.max() > 65535):
            raise Unreadable(f"a {mode} image with values outside 0..65535")
        x = np.round(v / 257.0).astype(np.uint8)[..., None]
    elif mode == "F":
        raise Unreadable("a floating-point image (mode F); save it as 8-bit")
    else:
        x = np.asarray(image.convert("RGB"), np.uint8)
    return np.ascontiguousarray(x)


@dataclass
class Folder:
    """The images of a folder, read: grouped by size (``groups``: (indices, uint8 array
    (n, H, W, C))), in listing order overall."""

    listing: Listing
    paths: list[Path]
    groups: list[tuple[np.ndarray, np.ndarray]]
    channels: int
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return sum(len(idx) for idx, _ in self.groups)

    @property
    def sizes(self) -> list[tuple[int, int]]:
        return [tuple(images.shape[1:3]) for _, images in self.groups]

    def notes(self) -> list[str]:
        out = self.listing.notes()
        if self.skipped:
            first = ", ".join(f"{p.name} ({why})" for p, why in self.skipped[:3])
            more = f" and {len(self.skipped) - 3:,} more" if len(self.skipped) > 3 else ""
            out.append(f"{len(self.skipped):,} unreadable image file(s) skipped: {first}{more}")
        if len(self.groups) > 1:
            out.append(f"images of {len(self.groups)} sizes")
        return out


def read_folder(listing: Listing, paths: list[Path] | None = None) -> Folder:
    """Decode ``paths`` (default: every listed file) into a :class:`Folder`.

    Raises:
        DataError: an image over :data:`MAX_PIXELS`; more than :data:`MAX_DECODED_BYTES` of
            pixels in all; no readable image.
    """
    paths = list(listing.files if paths is None else paths)
    images: list[np.ndarray] = []
    kept: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    total = 0
    for path in paths:
        try:
            x = read_image(path)
        except Unreadable as why:
            skipped.append((path, str(why)))
            continue
        total += x.size
        if total > MAX_DECODED_BYTES:
            raise DataError(
                f"{listing.root}: more than {MAX_DECODED_BYTES >> 30} GiB of pixels (at "
                f"{path.name}, image {len(kept) + 1:,}); evaluate fewer images (--n)"
            )
        images.append(x)
        kept.append(path)
    if not images:
        first = f": {skipped[0][0]} ({skipped[0][1]})" if skipped else ""
        raise DataError(
            f"{listing.root}: none of its {len(paths):,} image files could be read{first}"
        )
    channels = 3 if any(x.shape[-1] == 3 for x in images) else 1
    by_size: dict[tuple[int, int], list[int]] = {}
    for i, x in enumerate(images):
        by_size.setdefault(x.shape[:2], []).append(i)
    groups = []
    for indices in by_size.values():
        stack = np.stack([images[i] for i in indices])
        if stack.shape[-1] != channels:
            stack = np.repeat(stack, channels, axis=-1)
        groups.append((np.asarray(indices, np.int64), stack))
    return Folder(listing, kept, groups, channels, skipped)


def fingerprint(listing: Listing, paths: list[Path] | None = None) -> str:
    """sha256 over each file's relative path and bytes, in listing order: the folder's content
    as an evaluation reference (a renamed, added, removed or changed file changes it)."""
    digest = hashlib.sha256()
    for path in listing.files if paths is None else paths:
        rel = path.relative_to(listing.root).as_posix().encode()
        digest.update(len(rel).to_bytes(4, "little") + rel)
        inner = hashlib.sha256()
        try:
            with open(path, "rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    inner.update(block)
        except OSError as exc:
            inner.update(f"unreadable: {exc}".encode())
        digest.update(inner.digest())
    return digest.hexdigest()


__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_DECODED_BYTES",
    "MAX_DEPTH",
    "MAX_FILES",
    "MAX_PIXELS",
    "Folder",
    "Listing",
    "Unreadable",
    "fingerprint",
    "list_images",
    "read_folder",
    "read_image",
]
