"""ganbench: GAN stability and diagnostics toolkit with a benchmark CLI.

The public API (see :mod:`ganbench.api`): :func:`run_suite`, :func:`run_plan`,
:func:`suite_results`, :func:`load`, :func:`load_suite`, :func:`plan`, :func:`summarize`,
:func:`report`, :func:`mnist_features`, :func:`evaluate`, :func:`register_loss`,
:func:`register_dataset` and :func:`register_network` here, and the public modules
:mod:`ganbench.metrics` (diagnostics of arrays), :mod:`ganbench.metrics.spectrum` (Jacobian spectra of a two-player vector field),
:mod:`ganbench.report` (tables and comparisons of results), :mod:`ganbench.report.verdicts`
(convergence verdicts of recorded curves), :mod:`ganbench.objectives` and :mod:`ganbench.data`
(the registries). Everything else is internal. Importing ganbench imports nothing heavy: the
functions load JAX and pandas when first used.
"""

from __future__ import annotations

from typing import Any

from ganbench.version import __version__

__all__ = [
    "__version__",
    "evaluate",
    "load",
    "load_suite",
    "mnist_features",
    "plan",
    "register_dataset",
    "register_loss",
    "register_network",
    "report",
    "run_plan",
    "run_suite",
    "suite_results",
    "summarize",
]


def __getattr__(name: str) -> Any:  # typed in __init__.pyi
    import importlib

    if name == "report":
        # The package ganbench.report, callable as ganbench.api.report: the same object whether
        # or not ``import ganbench.report.<module>`` ran first.
        return importlib.import_module("ganbench.report")
    if name in __all__ and name != "__version__":
        # Imported on first use only: reading results (ganbench.report) never loads the API's
        # training stack.
        return getattr(importlib.import_module("ganbench.api"), name)
    raise AttributeError(f"module 'ganbench' has no attribute {name!r}")
