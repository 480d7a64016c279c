"""Training: state pytrees, the compiled step and loop, the suite runner."""
