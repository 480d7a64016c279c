"""Every test file chooses its tier (unit, engine or e2e) in tests/conftest.py, and the tier
tables name only files and tests that exist."""

from __future__ import annotations

import ast
import os

import pytest
from conftest import (
    CORES,
    FILE_TIERS,
    TEST_TIERS,
    TESTS,
    TIERS,
    file_of,
    pin_worker,
    scheduled,
    tier_of,
    unit_file,
)


def _test_files() -> set[str]:
    return {p.relative_to(TESTS).as_posix() for p in TESTS.rglob("test_*.py")}


def test_every_test_file_is_listed_with_a_tier():
    missing = sorted(_test_files() - set(FILE_TIERS))
    assert not missing, f"add these files to FILE_TIERS in tests/conftest.py: {missing}"


def test_the_tables_name_existing_files_and_tests_and_known_tiers():
    assert set(FILE_TIERS) <= _test_files()
    assert set(FILE_TIERS.values()) | set(TEST_TIERS.values()) <= set(TIERS)
    for key in TEST_TIERS:
        file, name = key.split("::")
        if file.startswith("ganbench/"):  # a docstring example: its module exists
            assert (TESTS.parent / file).is_file(), key
            assert TEST_TIERS[key] != "unit", f"{key}: docstring examples are unit already"
            continue
        tree = ast.parse((TESTS / file).read_text(encoding="utf-8"))
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert name in defined, key
        assert TEST_TIERS[key] != FILE_TIERS[file], f"{key}: same tier as its file"


def test_own_marker_then_test_table_then_file_table_then_e2e(monkeypatch):
    monkeypatch.setitem(FILE_TIERS, "test_x.py", "engine")
    monkeypatch.setitem(TEST_TIERS, "test_x.py::test_a", "unit")
    assert tier_of([], "test_x.py::test_b", "test_x.py") == "engine"
    assert tier_of([], "test_x.py::test_a", "test_x.py") == "unit"
    assert tier_of(["e2e"], "test_x.py::test_a", "test_x.py") == "e2e"
    assert tier_of([], "test_new.py::test_a", "test_new.py") == "e2e"
    assert tier_of([], "ganbench/text.py::ganbench.text.clip", None) == "unit"  # a doctest
    with pytest.raises(pytest.UsageError, match="one tier marker at most"):
        tier_of(["unit", "e2e"], "test_x.py::test_a", "test_x.py")


def test_collected_items_carry_exactly_one_tier(request):
    for item in request.session.items:
        tiers = [m.name for m in item.iter_markers() if m.name in TIERS]
        assert len(tiers) == 1, (item.nodeid, tiers)


def test_files_are_scheduled_whole_heavy_tiers_first_then_by_size():
    class Item:
        def __init__(self, path, name):
            self.path, self.name = path, name

    order = [("u", 1), ("e", 1), ("u", 2), ("f", 1), ("e", 2), ("u", 3), ("f", 2), ("f", 3)]
    items = [Item(path, f"{path}{n}") for path, n in order]
    names = [item.name for item in scheduled(items, light={"u"})]
    assert names == ["f1", "f2", "f3", "e1", "e2", "u1", "u2", "u3"]
    # equal sizes keep the order of their files' first tests
    names = [item.name for item in scheduled(items[:5], light=set())]
    assert names == ["u1", "u2", "e1", "e2", "f1"]


def test_the_session_runs_each_file_whole_and_the_unit_tier_last(request):
    seen, light = [], False
    for item in request.session.items:
        if not seen or seen[-1] != item.path:
            assert item.path not in seen, f"{item.path} is split"
            seen.append(item.path)
        unit = unit_file(file_of(item))
        assert unit or not light, f"{item.nodeid} runs after the unit-tier files"
        light = light or unit


def test_workers_get_disjoint_shares_of_the_cores(monkeypatch):
    cores, pinned = set(range(16)), []
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cores)
    monkeypatch.setattr(os, "sched_setaffinity", lambda pid, share: pinned.append(share))
    assert pin_worker(0, 2) == set(range(0, 16, 2))
    assert pin_worker(1, 2) == set(range(1, 16, 2))
    cores = {4, 7}
    assert [pin_worker(0, 2), pin_worker(1, 2)] == [{4}, {7}]
    assert pinned == [set(range(0, 16, 2)), set(range(1, 16, 2)), {4}, {7}]
    assert pin_worker(2, 3) is None  # more workers than cores: left as it is
    assert len(pinned) == 4


def test_an_xdist_worker_runs_on_its_own_share_of_the_cores():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if not worker or count > len(CORES):
        pytest.skip("not a pytest-xdist worker with a core of its own")
    assert sorted(os.sched_getaffinity(0)) == CORES[int(worker[2:]) :: count]
