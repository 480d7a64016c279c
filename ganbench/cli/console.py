"""Consoles and the one error boundary of the CLI."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from ganbench.errors import EXIT_INTERRUPTED, GanbenchError, OptionError

F = TypeVar("F", bound=Callable[..., Any])

# Data on stdout, everything else (progress, logs, errors) on stderr. Off a terminal (a pipe, a
# file, CI logs) tables get room instead of the 80-column default, and messages are not wrapped.
out = Console(width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, soft_wrap=True)


def handle_errors(fn: F) -> F:
    """Print GanbenchError messages on stderr without a traceback; exit with their code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GanbenchError as exc:
            # The message quotes user input (paths, names, values): never read it as markup.
            message = exc.with_flag() if isinstance(exc, OptionError) else str(exc)
            err.print(Text("error:", style="bold red") + Text(f" {message}"), highlight=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted; finished runs are kept, unfinished runs left no files")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]


def is_tty() -> bool:
    return sys.stderr.isatty()
