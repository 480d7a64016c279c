"""Limits of a suite: upper bounds that refuse absurd values before anything is allocated, and
the patterns of names.
"""

from __future__ import annotations

import re

from ganbench import tomlguard

# Upper bounds that refuse absurd values before anything is allocated.
MAX_STEPS = 100_000_000
MAX_WIDTH = 16_384
MAX_DEPTH = 64
MAX_BATCH = 1 << 20
MAX_Z_DIM = 65_536
MAX_SAMPLES = 10_000_000
MAX_SEEDS = 100_000
MAX_NAME_LENGTH = 100
MAX_EXTRACTORS = 16
"""Feature extractors a suite may name (``[metrics] extractors``)."""
NAME_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$"
"""Variant names: ASCII letters, digits, '_', '-' and '.', not starting with '.' (so never '.',
'..' or a hidden file name)."""
SUITE_NAME_PATTERN = r"^[a-z0-9_-]+$"
"""Suite names: the folder under the output directory, so one plain path component."""

# Limits of the suite file itself, checked before (or while) it is parsed.
MAX_SUITE_BYTES = 1 << 20
"""Largest suite file read (1 MiB); the shipped suites are a few KiB."""
MAX_NESTING = tomlguard.MAX_NESTING
"""Deepest nesting of tables and arrays in a suite (the shipped suites use 5 levels); every
TOML file ganbench reads has the same bound (:mod:`ganbench.tomlguard`)."""
MAX_RUNS = 100_000
"""Most runs one suite may expand to (variants x grid points x seeds), checked before the grid
is expanded."""
MAX_EXPANDED_VALUES = 10_000_000
"""Most values the expansion may copy: run configurations (variants x grid points) times the
values in each; refuses a long list (say weights) repeated over a large grid."""


SUITE_NAME_HELP = f"1-{MAX_NAME_LENGTH} characters of lower-case letters, digits, '_' and '-'"
PROFILE_NAME_PATTERN = r"^[A-Za-z0-9_-]+$"
"""Profile names: ASCII letters, digits, '_' and '-' (a plain TOML key, a report column value)."""
PROFILE_NAME_HELP = f"1-{MAX_NAME_LENGTH} characters of ASCII letters, digits, '_' and '-'"
MAX_PROFILES = 64
"""Most profiles one suite may define."""
VARIANT_NAME_HELP = (
    f"1-{MAX_NAME_LENGTH} characters of ASCII letters, digits, '_', '-' and '.', not starting "
    "with '.'"
)


def check_name(value: str, pattern: str, help_text: str) -> str:
    """``value`` when it is a safe name (one plain path component); else a ValueError that says
    what is allowed."""
    if len(value) > MAX_NAME_LENGTH or not re.fullmatch(pattern, value):
        shown = (
            repr(value) if len(value) <= 40 else repr(value[:40]) + f"... ({len(value)} characters)"
        )
        raise ValueError(f"String should match pattern '{pattern}': {help_text} (got {shown})")
    return value
