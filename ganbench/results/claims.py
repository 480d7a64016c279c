"""Claims: which ``ganbench run`` process trains which group of runs in a results folder.

Before a process trains a group it takes an exclusive, non-blocking ``flock`` on
``<out>/<suite>/.claims/<group id>.lock`` and keeps it until the group's run folders are
written. A second process on the same folder (same host, or another host whose file system
supports ``flock``, as Linux NFSv4 does) fails to take the lock and skips that group, naming the
holder. The operating system releases the lock when its holder exits for any reason, ``kill -9``
included, so a crashed process never leaves a claim that must be cleared by hand.

Lock files are left in place after use: deleting one while another process waits to lock it
would let two processes hold "the" lock on two different files.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from ganbench.errors import ResultsError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: no cross-process claims
    fcntl = None  # type: ignore[assignment]

CLAIMS_DIR = ".claims"


class Claim:
    """An exclusive claim on one group of a results folder (a context manager).

    ``acquire()`` returns True when this process now holds the claim and False when another
    process does (:attr:`holder` then describes it).
    """

    def __init__(self, suite_folder: Path, group_id: str) -> None:
        self.path = Path(suite_folder) / CLAIMS_DIR / f"{group_id}.lock"
        self._fd: int | None = None
        self.holder: str = ""

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: a link planted where the lock file belongs is refused, not followed.
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
        except OSError as exc:
            raise ResultsError(
                f"{self.path}: cannot open the claim file ({exc.strerror or exc}); a link or "
                "anything but a plain file there is refused: remove it"
            ) from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self.holder = _describe(fd)
                os.close(fd)
                return False
        info = {"pid": os.getpid(), "host": platform.node()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _describe(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return f"process {int(info['pid'])} on {info['host']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"
