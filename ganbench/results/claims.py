"""Claims: which ``ganbench run`` process writes which runs of a results folder.

A process trains a group of runs only while it holds a claim on every run it will write: an
exclusive, non-blocking ``flock`` on ``<out>/<suite>/.claims/run-<run id>.lock``, kept until the
run folders are written. Claims are on runs, not on groups, because how runs are grouped depends
on each process's settings (``--max-runs``, the host's memory): two processes that group the
same runs differently still contend for the same files. Claims are taken all or nothing, and
only while holding the folder's planning lock (a blocking ``flock`` on ``.claims/plan.lock``,
held for milliseconds): so a process that looks at the claims never sees another's half-taken
set, and a run that is neither finished nor claimed is free for whoever looks next.

The operating system releases every lock when its holder exits for any reason, ``kill -9``
included, so a crashed process never leaves a claim that must be cleared by hand. Locks work
across hosts on file systems whose ``flock`` does (Linux NFSv4 emulates it with POSIX locks).

Lock files are left in place after use: deleting one while another process waits to lock it
would let two processes hold "the" lock on two different files.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from ganbench.errors import ResultsError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: no cross-process claims
    fcntl = None  # type: ignore[assignment]

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

CLAIMS_DIR = ".claims"
PLAN_LOCK = "plan"
"""The lock (``.claims/plan.lock``) held while a process looks at or takes run claims."""


class Claim:
    """An exclusive claim on one name of a results folder (a context manager).

    ``acquire()`` returns True when this process now holds the claim and False when another
    process (or another descriptor of this one) does; :attr:`holder` then describes it.
    """

    def __init__(self, suite_folder: Path, name: str) -> None:
        self.path = Path(suite_folder) / CLAIMS_DIR / f"{name}.lock"
        self._fd: int | None = None
        self.holder: str = ""

    def acquire(self, *, block: bool = False) -> bool:
        fd = self._open()
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
            except OSError:
                self.holder = _describe(fd)
                os.close(fd)
                return False
        info = {"pid": os.getpid(), "host": platform.node()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return True

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: a link planted where the lock file belongs is refused, not followed.
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
        except OSError as exc:
            raise ResultsError(
                f"{self.path}: cannot open the claim file ({exc.strerror or exc}); a link or "
                "anything but a plain file there is refused: remove it"
            ) from None

    def is_free(self) -> bool:
        """Whether nobody holds the claim now (looked at without keeping or writing it)."""
        try:
            fd = os.open(self.path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return True  # never claimed: a claim creates its file first
        except OSError:
            fd = self._open()  # raises the claim file's error
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class RunClaims:
    """Claims held on a set of runs (a context manager that releases them all)."""

    def __init__(self, claims: list[Claim]) -> None:
        self._claims = claims

    def release(self) -> None:
        for claim in self._claims:
            claim.release()
        self._claims = []

    def __enter__(self) -> RunClaims:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class ClaimBook:
    """The run claims of one suite folder, shared by the threads of one process.

    Use :meth:`planning` around :meth:`claim` and :meth:`held`: it serialises them among the
    threads of this process and, through ``.claims/plan.lock``, among processes.
    """

    def __init__(self, suite_folder: Path) -> None:
        self.folder = Path(suite_folder)
        self._threads = threading.Lock()

    @contextlib.contextmanager
    def planning(self) -> Iterator[None]:
        with self._threads, Claim(self.folder, PLAN_LOCK) as lock:
            lock.acquire(block=True)
            yield

    def claim(self, run_ids: Iterable[str]) -> tuple[RunClaims | None, str]:
        """Claim every run of ``run_ids``, or none: (the claims, "") or (None, the holder of
        the first run found claimed)."""
        ids = sorted(set(run_ids))
        _allow_open_files(len(ids))
        taken: list[Claim] = []
        for run_id in ids:
            claim = Claim(self.folder, _name(run_id))
            if not claim.acquire():
                for t in taken:
                    t.release()
                return None, claim.holder
            taken.append(claim)
        return RunClaims(taken), ""

    def held(self, run_ids: Iterable[str]) -> set[str]:
        """The runs of ``run_ids`` that someone (another process, or another thread of this
        one) holds a claim on now."""
        return {r for r in run_ids if not Claim(self.folder, _name(r)).is_free()}


def _name(run_id: str) -> str:
    return f"run-{run_id}"


def _allow_open_files(n: int) -> None:
    """Let this process hold ``n`` more claims (one open file each): raise the soft limit on
    open files towards the hard one when needed, else a ResultsError that says what to do."""
    if resource is None:  # pragma: no cover
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = n + 256  # the claims, and room for everything else the process opens
    if soft == resource.RLIM_INFINITY or need <= soft:
        return
    if hard != resource.RLIM_INFINITY and need > hard:
        raise ResultsError(
            f"claiming {n} runs needs {n} open files, and this process may open at most {hard}; "
            "use a smaller --max-runs or raise the limit (ulimit -Hn)"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def _describe(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return f"process {int(info['pid'])} on {info['host']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"
