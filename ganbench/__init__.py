"""ganbench: GAN stability and diagnostics toolkit with a benchmark CLI."""

__version__ = "0.1.0"
