"""Diagnostics that need no training: samples of reference generators turned into metric rows,
by dataset kind (see :mod:`ganbench.diagnostics.chance`)."""
