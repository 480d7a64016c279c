"""Tests against the peer libraries: each module imports what it compares with through
``pytest.importorskip``, so the default test run (which has none of them) collects nothing here;
``nox -s peers`` installs them and runs these tests."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The hook sees every collected item, not only this folder's: mark this folder's alone.
    for item in items:
        if Path(item.path).resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.peers)
