"""The results contract's vocabulary, defined once: file and folder names, the manifest schema
version and the run statuses. The writer (:mod:`ganbench.results.write`), the reader
(:mod:`ganbench.results.read`) and everything that counts runs by status read them from here.

A suite's results live in ``<out>/<suite>/``: its ``suite.toml`` and one folder per run under
``runs/<run_id>/`` with ``manifest.json``, ``metrics.parquet`` and, when samples were kept,
``samples.npz``.
"""

from __future__ import annotations

MANIFEST = "manifest.json"
METRICS = "metrics.parquet"
SAMPLES = "samples.npz"
SUITE_FILE = "suite.toml"
RUNS_DIR = "runs"
SCHEMA_VERSION = 1
"""The manifest's ``schema``; the reader refuses others."""

COMPLETED = "completed"
"""The run trained every step."""
DIVERGED = "diverged"
"""The run was stopped on a non-finite value (a result, not an error)."""
FAILED = "failed"
"""The run raised an error; its manifest records it."""
STATUSES = (COMPLETED, DIVERGED, FAILED)
FINISHED = (COMPLETED, DIVERGED)
"""Statuses of runs that are not trained again (unless ``--force``)."""
