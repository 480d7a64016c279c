"""Run folders: write, read, index (results layout contract in README.md)."""
