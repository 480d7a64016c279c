"""Folders of images as datasets: ``ganbench data import folder NAME DIR --size S`` reads a folder
once, resizes every image to S x S, and stores a canonical uint8 array with a fingerprint and a
manifest (:mod:`ganbench.data.stored`); ``dataset = "folder:NAME"`` trains on it.

Layout of DIR. Either image files directly in DIR (unlabelled data), or one sub-folder per class
(labelled: the classes are the sub-folders' names in sorted order, each image's label its
sub-folder's index; images are found at any depth below a class folder, at most
:data:`MAX_DEPTH` levels). Image files in DIR beside class folders are refused (it is not clear
what they would be). Files and folders whose names start with ``.`` are skipped, as are files
without an image extension (:data:`EXTENSIONS`); both are counted in the import's summary.
Symbolic links are never followed (each is skipped and counted), so an import reads only what
is inside DIR. Images are read in sorted order (by name, class by class), so one folder always
gives the same array and the same fingerprint.

Bounded reading (all checked before anything is written):

* at most ``max_files`` images (:data:`MAX_FILES` by default) and :data:`MAX_ENTRIES` entries
  visited in all;
* the stored array is at most :data:`ganbench.data.stored.MAX_ARRAY_BYTES` (N x S x S x C);
* a file of more than :data:`MAX_FILE_BYTES` is refused before it is read, and an image of more
  than :data:`MAX_PIXELS` pixels is refused from its header, before its pixels are decoded
  (ganbench's own check, below Pillow's ``Image.MAX_IMAGE_PIXELS`` decompression-bomb guard,
  which stays on as a second line);
* Pillow decodes only :data:`FORMATS`; an image it cannot decode is an error naming the file.

Pixels. Each image is decoded with Pillow and converted to RGB (``--channels 3``) or to grey
(``--channels 1``, ITU-R 601-2 luma, Pillow's "L"); transparency is dropped (the colour under
it is kept), palette images are expanded, 16-bit grey is scaled to 8 bits (x * 255 / 65535,
rounded). With ``--crop center`` (the default) the largest centred square is cut out first,
then resized to S x S; with ``--crop resize`` the whole image is resized to S x S, changing its
aspect ratio if it is not square.

Resize filter: Pillow's LANCZOS (``Image.Resampling.LANCZOS``, a 3-lobe windowed sinc), applied
once at import. Pillow widens the filter's support by the downscaling factor, so shrinking
averages over every source pixel instead of aliasing (Parmar et al. 2022, "On Aliased Resizing
and Surprising Subtleties in GAN Evaluation", on why an antialiased resize matters for GAN
data and metrics); StudioGAN prepares its training and evaluation images with the same filter
(POSTECH-CVLab/PyTorch-StudioGAN, README: "Preprocess images ... using PIL.LANCZOS filter
(--pre_resizer lanczos)"). Images already S x S are stored as they are.
"""

from __future__ import annotations

import io
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ganbench.data.base import FAMILIES
from ganbench.data.store import data_dir as default_data_dir
from ganbench.data.stored import MAX_ARRAY_BYTES, StoredImages, stored_dataset, write_dataset
from ganbench.errors import ConfigError, DataError

PREFIX = "folder"
"""Datasets of this family are named ``folder:<name>``."""
SUBDIR = "folders"
"""Their folder in the data directory: ``<data dir>/folders/<name>``."""
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
NAME_HELP = (
    "1-64 characters of lower-case letters, digits, '_' and '-', starting with a letter or digit"
)
EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
"""The Pillow decoders an import uses (``Image.open(..., formats=FORMATS)``)."""
MAX_FILES = 1_000_000
MAX_ENTRIES = 4_000_000
MAX_FILE_BYTES = 64 << 20
MAX_PIXELS = 40_000_000
"""Largest image (width x height) decoded: 40 megapixels, checked from the header."""
MAX_DEPTH = 8
SIZES = (1, 1024)
"""Allowed ``--size`` (side of the stored square images), inclusive."""
CROPS = ("center", "resize")
MAX_CLASSES = 65_535


@dataclass
class Scan:
    """What a walk of DIR found."""

    files: list[tuple[Path, int]] = field(default_factory=list)
    """(image file, class index) in reading order; the index is 0 for unlabelled data."""
    classes: list[str] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    """Reason -> the first few paths skipped for it (with the count in ``counts``)."""
    counts: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str, path: Path) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        shown = self.skipped.setdefault(reason, [])
        if len(shown) < 3:
            shown.append(str(path))


def check_name(name: str) -> str:
    """``name`` when it is a valid dataset name, else ConfigError with the rule."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        shown = repr(name) if len(str(name)) <= 70 else repr(str(name)[:70]) + "..."
        raise ConfigError(f"bad folder dataset name {shown}; names are {NAME_HELP}")
    return name


def folder_dir(name: str, data_dir=None) -> Path:
    return Path(data_dir if data_dir is not None else default_data_dir()) / SUBDIR / name


def how_to_import(name: str) -> str:
    return (
        f"import it with: ganbench data import folder {name} DIR --size S (DIR holds the images, "
        "or one sub-folder of images per class)"
    )


def _entries(folder: Path, scan: Scan, budget: list[int]) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            entries = []
            for entry in it:
                budget[0] -= 1
                if budget[0] < 0:
                    raise DataError(
                        f"{folder}: more than {MAX_ENTRIES:,} files and folders visited; "
                        "import a smaller folder"
                    )
                entries.append(entry)
    except OSError as exc:
        raise DataError(f"{folder}: cannot list ({exc.strerror or exc})") from None
    return sorted(entries, key=lambda e: e.name)


def _is_image_name(name: str) -> bool:
    return name.lower().endswith(EXTENSIONS)


def _walk_images(
    folder: Path, label: int, scan: Scan, budget: list[int], max_files: int, depth: int
) -> None:
    for entry in _entries(folder, scan, budget):
        path = Path(entry.path)
        if entry.name.startswith("."):
            scan.skip("hidden", path)
        elif entry.is_symlink():
            scan.skip("symbolic links (not followed)", path)
        elif entry.is_dir(follow_symlinks=False):
            if depth >= MAX_DEPTH:
                raise DataError(f"{path}: folders nested more than {MAX_DEPTH} levels deep")
            _walk_images(path, label, scan, budget, max_files, depth + 1)
        elif not entry.is_file(follow_symlinks=False):
            scan.skip("not regular files", path)
        elif not _is_image_name(entry.name):
            scan.skip("not images (by extension)", path)
        else:
            scan.files.append((path, label))
            if len(scan.files) > max_files:
                raise DataError(
                    f"{folder}: more than {max_files:,} images (the cap; raise it with --max-files)"
                )


def scan_folder(src: Path, max_files: int = MAX_FILES) -> Scan:
    """The images of ``src`` and their classes (module docstring), without reading them.

    Raises:
        DataError: ``src`` missing, no images, images beside class folders, too many files.
    """
    if src.is_symlink() or not src.is_dir():
        raise DataError(f"cannot import a folder dataset: {src} is not a directory")
    scan = Scan()
    budget = [MAX_ENTRIES]
    top = _entries(src, scan, budget)
    dirs = [e for e in top if not e.name.startswith(".") and not e.is_symlink() and e.is_dir()]
    loose = [
        e
        for e in top
        if not e.name.startswith(".")
        and not e.is_symlink()
        and e.is_file(follow_symlinks=False)
        and _is_image_name(e.name)
    ]
    if dirs and loose:
        raise DataError(
            f"{src}: holds both image files ({loose[0].name}, ...) and sub-folders "
            f"({dirs[0].name}, ...); put every image in a class sub-folder, or none"
        )
    if dirs:
        if len(dirs) > MAX_CLASSES:
            raise DataError(f"{src}: {len(dirs):,} class folders; at most {MAX_CLASSES:,}")
        for entry in top:
            if entry not in dirs:
                path = Path(entry.path)
                if entry.name.startswith("."):
                    scan.skip("hidden", path)
                elif entry.is_symlink():
                    scan.skip("symbolic links (not followed)", path)
                else:
                    scan.skip("not images (by extension)", path)
        for label, entry in enumerate(dirs):
            scan.classes.append(entry.name)
            before = len(scan.files)
            _walk_images(Path(entry.path), label, scan, budget, max_files, 1)
            if len(scan.files) == before:
                raise DataError(f"{entry.path}: class folder without images")
    else:
        for entry in top:
            path = Path(entry.path)
            if entry.name.startswith("."):
                scan.skip("hidden", path)
            elif entry.is_symlink():
                scan.skip("symbolic links (not followed)", path)
            elif not entry.is_file(follow_symlinks=False):
                scan.skip("not regular files", path)
            elif not _is_image_name(entry.name):
                scan.skip("not images (by extension)", path)
            else:
                scan.files.append((path, 0))
                if len(scan.files) > max_files:
                    raise DataError(
                        f"{src}: more than {max_files:,} images (the cap; raise it with "
                        "--max-files)"
                    )
    if not scan.files:
        raise DataError(
            f"{src}: no images (files ending in {', '.join(EXTENSIONS)}, directly in it or in "
            "one sub-folder per class)"
        )
    return scan


def _read_file(path: Path) -> bytes:
    """The bytes of a regular file, refusing a link (O_NOFOLLOW) and anything over the cap."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise DataError(f"{path}: cannot open ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise DataError(f"{path}: not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise DataError(
                f"{path}: {info.st_size:,} bytes; an image file is at most {MAX_FILE_BYTES:,}"
            )
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise DataError(f"{path}: larger than {MAX_FILE_BYTES:,} bytes")
    return data


def load_image(path: Path, size: int, channels: int, crop: str) -> np.ndarray:
    """One image file as uint8 (size, size, channels) (module docstring for every step).

    Raises:
        DataError: unreadable, undecodable, too large, or a mode that cannot be converted; the
            message names the file.
    """
    from PIL import Image, UnidentifiedImageError

    data = _read_file(path)
    try:
        with Image.open(io.BytesIO(data), formats=list(FORMATS)) as im:
            width, height = im.size
            if width < 1 or height < 1 or width * height > MAX_PIXELS:
                raise DataError(
                    f"{path}: {width} x {height} pixels; an image is at most {MAX_PIXELS:,} pixels"
                )
            im.seek(0)  # the first frame of an animation
            im.load()
            image = _convert(im, channels, path)
    except DataError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise DataError(
            f"{path}: not an image Pillow can decode as {', '.join(FORMATS)} ({exc})"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise DataError(f"{path}: cannot decode ({type(exc).__name__}: {exc})") from None
    if crop == "center":
        w, h = image.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return array


def _convert(im, channels: int, path: Path):
    """``im`` as Pillow mode "RGB" or "L" (module docstring)."""
    from PIL import Image

    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        values = np.asarray(im, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") else max(float(values.max()), 1.0)
        grey = Image.fromarray(np.clip(np.rint(values * 255.0 / top), 0, 255).astype(np.uint8))
        return grey if channels == 1 else grey.convert("RGB")
    if mode in ("1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "YCbCr", "PA", "La", "RGBa", "RGBX"):
        if mode in ("P", "PA"):
            im = im.convert("RGBA")
        return im.convert("L" if channels == 1 else "RGB")
    raise DataError(
        f"{path}: pixel mode {mode!r} is not supported (8- or 16-bit grey, RGB(A), palette, CMYK)"
    )


def import_folder(
    name: str,
    src: str | os.PathLike[str],
    size: int,
    *,
    channels: int = 3,
    crop: str = "center",
    max_files: int = MAX_FILES,
    data_dir=None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, Scan]:
    """Read the images of ``src``, store them as ``folder:<name>`` (module docstring);
    ``progress(done, total)`` is called as images are read. Returns the manifest's path and the
    scan (classes, skipped files).

    Raises:
        ConfigError: a bad name, size, channel count or crop mode.
        DataError: a problem with the folder or any file (named); nothing is written.
    """
    check_name(name)
    if isinstance(size, bool) or not isinstance(size, int) or not SIZES[0] <= size <= SIZES[1]:
        raise ConfigError(f"--size must be an integer in [{SIZES[0]}, {SIZES[1]}], got {size!r}")
    if channels not in (1, 3):
        raise ConfigError(f"--channels must be 1 or 3, got {channels!r}")
    if crop not in CROPS:
        raise ConfigError(f"--crop must be one of {', '.join(CROPS)}, got {crop!r}")
    if isinstance(max_files, bool) or not isinstance(max_files, int) or max_files < 1:
        raise ConfigError(f"--max-files must be a positive integer, got {max_files!r}")
    src_path = Path(src)
    scan = scan_folder(src_path, max_files)
    n = len(scan.files)
    if n * size * size * channels > MAX_ARRAY_BYTES:
        raise DataError(
            f"{src_path}: {n:,} images of {size} x {size} x {channels} make "
            f"{n * size * size * channels:,} bytes; a dataset is at most {MAX_ARRAY_BYTES:,} "
            "(use a smaller --size or fewer images)"
        )
    images = np.empty((n, size, size, channels), np.uint8)
    for i, (path, _) in enumerate(scan.files):
        images[i] = load_image(path, size, channels, crop)
        if progress is not None:
            progress(i + 1, n)
    arrays = {"train-images": images}
    if scan.classes:
        dtype = np.uint8 if len(scan.classes) <= 256 else np.uint16
        arrays["train-labels"] = np.array([label for _, label in scan.files], dtype)
    manifest = {
        "dataset": {
            "name": f"{PREFIX}:{name}",
            "splits": ["train"],
            "classes": scan.classes,
            "official": False,
            "source": f"images of {src_path.absolute()}, {size} x {size} x {channels}",
            "imported_from": str(src_path.absolute()),
            "import": {
                "size": size,
                "channels": channels,
                "crop": crop,
                "filter": "Pillow LANCZOS",
                "files": n,
                "skipped": scan.counts,
            },
        }
    }
    return write_dataset(folder_dir(name, data_dir), arrays, manifest), scan


def folder_dataset(name: str) -> StoredImages:
    """The dataset ``folder:<name>`` from the data directory.

    Raises:
        ConfigError: a bad name. DataError: not imported (the message says how).
    """
    check_name(name)
    found = stored_dataset(
        f"{PREFIX}:{name}", f"{SUBDIR}/{name}", hint=how_to_import(name), official=False
    )
    if found is None:
        raise DataError(
            f"dataset 'folder:{name}' is not imported: no {folder_dir(name) / 'manifest.json'}; "
            + how_to_import(name)
        )
    return found


FAMILIES.add(
    PREFIX,
    folder_dataset,
    help='an image folder you imported: dataset = "folder:<name>" (ganbench data import '
    "folder <name> DIR --size S); labelled when DIR had one sub-folder per class",
)
