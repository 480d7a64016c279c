"""The data directory: where datasets that live on disk (MNIST) are kept.

The directory is, in order of precedence:

1. ``$GANBENCH_DATA``, when set and not empty (``~`` is expanded);
2. ``$XDG_CACHE_HOME/ganbench``, when ``XDG_CACHE_HOME`` is set to an absolute path (the XDG Base
   Directory specification ignores relative values);
3. ``~/.cache/ganbench``.

Each dataset has a subfolder (``mnist/``). Nothing is created until a dataset is fetched or
imported. Files are written atomically (a temporary name in the same folder, ``fsync``, then
``os.replace``), so a reader sees either the old file or the complete new one, never a partial
write, even if the process is killed.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

ENV_VAR = "GANBENCH_DATA"
"""The environment variable that overrides the data directory."""


def data_dir() -> Path:
    """The data directory (see the module docstring); it may not exist yet."""
    explicit = os.environ.get(ENV_VAR, "")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "ganbench"
    return Path.home() / ".cache" / "ganbench"


def data_dir_source() -> str:
    """Where :func:`data_dir` came from, for messages: ``$GANBENCH_DATA``, ... or the default."""
    if os.environ.get(ENV_VAR, ""):
        return f"${ENV_VAR}"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return "$XDG_CACHE_HOME/ganbench"
    return "the default ~/.cache/ganbench"


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
    _fsync_dir(target.parent)
    return target


def _fsync_dir(folder: Path) -> None:
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


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """The hex SHA-256 of a file's bytes as stored (not decompressed), read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


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
