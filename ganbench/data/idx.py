"""Reading and writing IDX files, the format of the MNIST database.

The format is described on the MNIST page of Y. LeCun, C. Cortes and C. J. C. Burges, "The MNIST
database of handwritten digits" (http://yann.lecun.com/exdb/mnist/, section "FILE FORMATS FOR THE
MNIST DATABASE"):

* a 4-byte magic number: two zero bytes, a type code, and the number of dimensions;
* type codes 0x08 unsigned byte, 0x09 signed byte, 0x0B short (2 bytes), 0x0C int (4 bytes),
  0x0D float (4 bytes), 0x0E double (8 bytes);
* one big-endian unsigned 32-bit size per dimension;
* the data, big-endian, in C (row-major) order, with nothing after it.

So the MNIST image files start 00 00 08 03 (uint8, three dimensions: count, 28, 28) and the label
files 00 00 08 01. Files may be gzip-compressed, as they are distributed; :func:`read_idx`
recognises gzip by its magic bytes 1f 8b, not by the file name.
"""

from __future__ import annotations

import gzip as _gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ganbench.errors import DataError
from ganbench.fileio import atomic_write_bytes

GZIP_MAGIC = b"\x1f\x8b"

TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
"""IDX type code -> big-endian numpy dtype."""

_TYPE_NAMES = {0x08: "uint8", 0x09: "int8", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32"}
_TYPE_NAMES[0x0E] = "float64"
_KNOWN = ", ".join(f"0x{code:02X} {name}" for code, name in _TYPE_NAMES.items())


def read_uncompressed(path: str | os.PathLike[str], max_bytes: int | None = None) -> bytes:
    """The bytes of ``path``, gunzipped when they start with the gzip magic bytes 1f 8b; with
    ``max_bytes``, a file (or its decompressed content) larger than that is refused before it
    is read (or decompressed) in full, so a gzip bomb costs no more than ``max_bytes``.

    Raises:
        DataError: the file cannot be read, is too large, or its gzip stream is corrupt or
            truncated.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if max_bytes is not None and len(raw) > max_bytes:
        raise DataError(_too_large(str(path), max_bytes, "is"))
    return gunzip_if_needed(raw, str(path), max_bytes)


def _too_large(source: str, max_bytes: int, what: str) -> str:
    return f"{source}: {what} more than {max_bytes:,} bytes (the most this file can be); refused"


def gunzip_if_needed(raw: bytes, source: str, max_bytes: int | None = None) -> bytes:
    """``raw`` decompressed if it is gzip data (by magic bytes), else ``raw`` itself; with
    ``max_bytes``, decompression stops (and the data is refused) once the output passes it.

    ``source`` names the data in error messages (a path or a URL).
    """
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        if max_bytes is None:
            return _gzip.decompress(raw)
        return _gunzip_bounded(raw, source, max_bytes)
    except (OSError, EOFError, zlib.error) as exc:
        # BadGzipFile (an OSError) for a bad header or CRC, EOFError for a truncated stream,
        # zlib.error for corrupt deflate data.
        raise DataError(
            f"{source}: corrupt gzip stream ({type(exc).__name__}: {exc}); the file starts "
            "with the gzip magic bytes 1f 8b but does not decompress"
        ) from None


def _gunzip_bounded(raw: bytes, source: str, max_bytes: int) -> bytes:
    """Every gzip member of ``raw``, decompressed in steps that never hold more than
    ``max_bytes`` + 1 bytes of output."""
    out = bytearray()
    data = raw
    while data:
        d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # one gzip member, header and CRC
        pending = data
        while pending and not d.eof:
            out += d.decompress(pending, max_bytes + 1 - len(out))
            if len(out) > max_bytes:
                raise DataError(_too_large(source, max_bytes, "decompresses to"))
            pending = d.unconsumed_tail
        if not d.eof:
            raise EOFError("compressed file ended before the end-of-stream marker was reached")
        data = d.unused_data
        if data and not data.startswith(GZIP_MAGIC):
            break  # trailing bytes after the last member, as gzip.decompress ignores zeros
    return bytes(out)


def decode_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse uncompressed IDX bytes into a native-endian, writable array.

    Raises:
        DataError: naming ``source`` and what is wrong (magic bytes, type code, truncated data,
            trailing bytes).
    """
    if len(data) < 4:
        raise DataError(
            f"{source}: truncated IDX header: expected at least 4 bytes, found {len(data)}"
        )
    if data[0] != 0 or data[1] != 0:
        raise DataError(
            f"{source}: not an IDX file: wrong magic bytes {data[:4].hex(' ')} (expected 00 00, "
            "then a type code and the number of dimensions, such as 00 00 08 03 for MNIST "
            "images or 00 00 08 01 for labels)"
        )
    code, ndim = data[2], data[3]
    if code not in TYPES:
        raise DataError(f"{source}: unknown IDX type code 0x{code:02X} (known: {_KNOWN})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            f"{source}: truncated IDX header: {ndim} dimensions need {header} bytes, "
            f"found {len(data)}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = TYPES[code]
    count = math.prod(shape)
    expected = count * dtype.itemsize
    found = len(data) - header
    what = f"shape {shape} of {_TYPE_NAMES[code]} needs {expected} data bytes after the header"
    if found < expected:
        raise DataError(f"{source}: truncated IDX data: {what}, found {found}")
    if found > expected:
        raise DataError(
            f"{source}: {found - expected} trailing bytes after the IDX data: {what}, found {found}"
        )
    array = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a copy: native byte order, writable


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed (detected by its magic bytes).

    Raises:
        DataError: naming the file and what is wrong with it.
    """
    return decode_idx(read_uncompressed(path), str(path))


def _type_code(dtype: np.dtype) -> int | None:
    for code, known in TYPES.items():
        if dtype.kind == known.kind and dtype.itemsize == known.itemsize:
            return code
    return None


def encode_idx(array: np.ndarray, source: str = "<array>") -> bytes:
    """The IDX bytes (uncompressed) of ``array``.

    Raises:
        DataError: the dtype has no IDX type code, or the array has more than 255 dimensions or
            a dimension of 2**32 or more.
    """
    array = np.asarray(array)
    code = _type_code(array.dtype)
    if code is None:
        raise DataError(
            f"{source}: IDX cannot store dtype {array.dtype} (allowed: "
            f"{', '.join(_TYPE_NAMES.values())})"
        )
    if array.ndim > 255 or any(n >= 2**32 for n in array.shape):
        raise DataError(
            f"{source}: IDX allows at most 255 dimensions of fewer than 2**32 items; "
            f"got shape {array.shape}"
        )
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=TYPES[code]).tobytes()


def write_idx(path: str | os.PathLike[str], array: np.ndarray, gzip: bool = False) -> Path:
    """Write ``array`` as an IDX file, gzip-compressed if ``gzip``; atomically. Returns the path.

    The gzip header carries no time stamp, so the same array always gives the same bytes.
    """
    data = encode_idx(array, str(path))
    if gzip:
        data = _gzip.compress(data, mtime=0)
    return atomic_write_bytes(path, data)
