"""JAX's persistent compilation cache, on by default for ``ganbench run``.

Compiling a group's programs takes seconds (XLA:CPU, a few per group); the same suite run again
(``--force``, a resumed run, another seed count with the same group sizes) compiles exactly the
same programs. JAX can keep compiled executables on disk, keyed by the program, the compiler
options, the device assignment and the jax/XLA versions, so a second compilation is a read.

The folder is, in order of precedence:

1. ``$GANBENCH_COMPILE_CACHE``, when set and not empty (``~`` is expanded); ``off`` (or ``0``,
   ``false``, ``no``) turns the cache off;
2. ``$XDG_CACHE_HOME/ganbench/xla``, when ``XDG_CACHE_HOME`` is an absolute path;
3. ``~/.cache/ganbench/xla``.

A cache folder that JAX was already given (``JAX_COMPILATION_CACHE_DIR`` or
``jax.config.update("jax_compilation_cache_dir", ...)``) wins. The cache changes no number: a
cached executable is the one the compiler would build. JAX writes each entry once, from process 0
of a multi-process run; an unreadable entry (a write cut short by a killed process) costs a
recompilation, and deleting the folder resets the cache.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "GANBENCH_COMPILE_CACHE"
"""The environment variable that moves the compilation cache (or turns it off)."""

OFF = frozenset({"off", "0", "false", "no"})

MIN_COMPILE_SECONDS = 0.2
"""Programs that compile faster than this are not written (JAX's default is 1 s, which would
leave out a group's init and evaluation programs, each ~1 s on a 2-core CPU)."""


def cache_dir() -> Path | None:
    """The compilation cache folder (see the module docstring), or None when it is off."""
    explicit = os.environ.get(ENV_VAR, "").strip()
    if explicit:
        return None if explicit.lower() in OFF else Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "ganbench" / "xla"


def enable(path: Path | None = None) -> Path | None:
    """Turn JAX's persistent compilation cache on in ``path`` (default :func:`cache_dir`).

    Returns the folder in use, or None when the cache is off or the folder cannot be created
    (the run then compiles as usual). A folder already configured in JAX is kept."""
    import jax

    current = jax.config.jax_compilation_cache_dir
    if current:
        return Path(current)
    folder = path if path is not None else cache_dir()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(folder, os.W_OK | os.X_OK):
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return folder
