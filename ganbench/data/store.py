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
from pathlib import Path

from ganbench.fileio import atomic_write_bytes, fsync_dir, open_regular

__all__ = [
    "atomic_write_bytes",
    "data_dir",
    "data_dir_source",
    "fsync_dir",
    "open_regular",
    "sha256_file",
]

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


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """The hex SHA-256 of a file's bytes as stored (not decompressed), read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
