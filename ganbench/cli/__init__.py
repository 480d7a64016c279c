"""The ``ganbench`` command line: thin commands over the library.

Commands import JAX lazily (inside the command), so ``ganbench --help`` is fast and the host
device count can still be set before JAX starts.
"""

from ganbench.cli.app import app, main

__all__ = ["app", "main"]
