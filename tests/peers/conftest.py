"""Tests against the peer libraries: each module imports what it compares with through
``pytest.importorskip``, so the default test run (which has none of them) collects nothing here;
``nox -s peers`` installs them and runs these tests."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.peers)
