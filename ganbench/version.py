"""ganbench's version, in a module of its own so that modules inside the package can read it
without importing the package root (which only the public API's users import)."""

__version__ = "0.1.0"
