"""The project's error types.

Every error the library raises on purpose is a :class:`GanbenchError` whose message says what was
wrong, where (file, line, key) and what is allowed. The CLI prints the message on stderr without a
traceback and exits with :attr:`GanbenchError.exit_code`.
"""

from __future__ import annotations

# Exit codes of the CLI, one per outcome, so a CI script can tell them apart.
EXIT_OK = 0
EXIT_RUN_FAILED = 1
"""A run failed to execute (not diverged: a diverging GAN is a result)."""
EXIT_BAD_INPUT = 2
"""A suite, override, option, data file or results folder was refused; nothing was written."""
EXIT_REGRESSION = 3
"""``compare --fail-on-regression`` found a metric significantly worse."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT, the shell's convention); finished runs are kept."""


class GanbenchError(Exception):
    """Base class of all deliberate ganbench errors."""

    exit_code = EXIT_RUN_FAILED


class ConfigError(GanbenchError):
    """Bad input: a suite file, a command-line override or an option. Exit code 2."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        self.problems = list(problems) if problems else [message]
        super().__init__(message)


class OptionError(ConfigError):
    """A bad value of a library option (a report's ``sort``, ``by``, ``step``, ...).

    The message names the option as the library spells it (``sort 'x': not a column ...``);
    the CLI shows it as its flag (``--sort 'x': ...``, see :meth:`with_flag`). Exit code 2."""

    def __init__(self, option: str, detail: str) -> None:
        self.option, self.detail = option, detail
        super().__init__(f"{option} {detail}")

    def with_flag(self, flag: str | None = None) -> str:
        """The message with the option written as a command-line flag."""
        return f"{flag or '--' + self.option.replace('_', '-')} {self.detail}"


class ResultsError(GanbenchError):
    """A results folder that cannot be read or written."""

    exit_code = EXIT_BAD_INPUT


class RunFailedError(GanbenchError):
    """One or more runs failed (not diverged: failed to execute). Exit code 1."""

    exit_code = EXIT_RUN_FAILED


class DataError(GanbenchError):
    """A data file that is missing, unreadable, malformed or fails its checksum. Exit code 2."""

    exit_code = EXIT_BAD_INPUT
