"""Training, pure JAX: the state pytrees, the compiled step and loop of a program (no file I/O)."""
