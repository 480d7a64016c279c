"""Reading ``.npy`` and ``.npz`` files the user brings, in bounded memory, never unpickling.

Before any array data is read, each array's header (shape and dtype) and, in an ``.npz``
archive, the archive's index (each member's declared size) are checked: an object array (a
pickle) is refused, and so is an array whose data would exceed the caller's byte limit by its
header or by the archive's declared size (both bound what numpy and zipfile would read: a
compressed member that inflates beyond its declared size is cut there, and numpy reads exactly
what the header says). Every problem is a :class:`~ganbench.errors.DataError` naming the file.
"""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from ganbench.errors import DataError

MAX_ARRAYS = 1024
"""Members of an ``.npz`` archive that are looked at."""


def _header(fh) -> tuple[tuple[int, ...], np.dtype]:
    version = npy_format.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = npy_format.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, _, dtype = npy_format.read_array_header_2_0(fh)
    else:
        raise ValueError(f".npy format version {version} (numpy writes 1.0 and 2.0)")
    return tuple(int(n) for n in shape), np.dtype(dtype)


def _check(path: Path, name: str, shape, dtype, declared: int, max_bytes: int) -> None:
    what = f"array {name!r}" if name else "the array"
    if dtype.hasobject:
        raise DataError(f"{path}: {what} holds Python objects (a pickle); refused, never unpickled")
    size = max(math.prod(shape) * dtype.itemsize, declared)
    if size > max_bytes:
        raise DataError(
            f"{path}: {what} of shape {shape} and dtype {dtype} takes {size:,} bytes, more than "
            f"the {max_bytes:,} allowed"
        )


def array_names(path: str | os.PathLike[str], max_bytes: int) -> dict[str, tuple]:
    """``{name: (shape, dtype)}`` of the arrays in an ``.npz`` (``{"": ...}`` for an ``.npy``),
    after the checks of the module docstring (nothing but headers is read)."""
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            out: dict[str, tuple] = {}
            with zipfile.ZipFile(path) as archive:
                members = archive.infolist()
                if len(members) > MAX_ARRAYS:
                    raise DataError(
                        f"{path}: holds {len(members):,} members (at most {MAX_ARRAYS:,})"
                    )
                for info in members:
                    if not info.filename.endswith(".npy"):
                        raise DataError(f"{path}: holds {info.filename!r}, not an array")
                    with archive.open(info) as fh:
                        shape, dtype = _header(fh)
                    name = info.filename[:-4]
                    _check(path, name, shape, dtype, info.file_size, max_bytes)
                    out[name] = (shape, dtype)
            return out
        with open(path, "rb") as fh:
            shape, dtype = _header(fh)
        _check(path, "", shape, dtype, 0, max_bytes)
        return {"": (shape, dtype)}
    except DataError:
        raise
    except Exception as exc:  # untrusted bytes: zipfile, zlib and numpy raise many types
        raise DataError(
            f"{path}: not a readable .npy or .npz file ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None


def read_arrays(
    path: str | os.PathLike[str], max_bytes: int, names: list[str] | None = None
) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` (all, or ``names``) or the one array of an ``.npy`` (under
    ``""``), each checked first (module docstring)."""
    path = Path(path)
    found = array_names(path, max_bytes)
    wanted = list(found) if names is None else names
    for name in wanted:
        if name not in found:
            raise DataError(
                f"{path}: has no array {name!r}; it holds {', '.join(map(repr, found))}"
            )
    try:
        if list(found) == [""]:
            return {"": np.load(path, allow_pickle=False)}
        with np.load(path, allow_pickle=False) as npz:
            return {name: np.asarray(npz[name]) for name in wanted}
    except Exception as exc:
        raise DataError(
            f"{path}: cannot read its arrays ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None


__all__ = ["MAX_ARRAYS", "array_names", "read_arrays"]
