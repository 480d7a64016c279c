"""Writing and reading files safely: atomic writes that survive a crash, and reads that refuse
what is not a regular file. Every file ganbench publishes (run folders, checkpoints, data, the
MNIST classifier, reports, figures) goes through :func:`atomic_write_bytes` or the same steps."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; create the parent folder if needed.

    The bytes go to a temporary file in the same folder (so the final rename stays on one file
    system), which is flushed and ``fsync``-ed, then renamed over ``path`` with ``os.replace``.
    On any failure the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    # os.open with mode 0o666 applies the umask, as open() would (mkstemp would give 0o600).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return target


def fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def open_regular(path: str | os.PathLike[str]):
    """``path`` opened for binary reading, refusing anything but a regular file (OSError): a
    FIFO would block the read forever, a device never end. The file is opened without blocking
    and checked on its descriptor, so it cannot be swapped between a check and the open."""
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path}: not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class FileTooLarge(ValueError):
    """A file over the size it may have."""


def read_bounded(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (:func:`open_regular`; a larger one
    is refused after reading ``max_bytes`` + 1 bytes, so a pipe's or a device's unknown size is
    bounded too). Raises OSError or FileTooLarge."""
    with open_regular(path) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLarge(f"larger than {max_bytes:,} bytes")
    return data
