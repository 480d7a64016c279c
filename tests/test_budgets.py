"""No wall-clock bound in the tests is tighter than a loaded 2-core machine allows."""

from __future__ import annotations

import re
from pathlib import Path

from budgets import FLOOR, QUICK

TESTS = Path(__file__).resolve().parent

# A bound on measured time: "<elapsed-like expression> < number" (or <=).
BOUND = re.compile(
    r"(?:seconds|elapsed|perf_counter\(\)\s*-\s*\w+|monotonic\(\)\s*-\s*\w+)\s*<=?\s*([0-9][0-9_.]*)"
)


def test_every_time_bound_leaves_room_for_a_loaded_machine():
    tight = []
    for path in sorted(p for p in TESTS.glob("*.py") if p.name != Path(__file__).name):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for match in BOUND.finditer(line):
                if float(match.group(1).replace("_", "")) < FLOOR:
                    tight.append(f"{path.name}:{number}: {line.strip()}")
    assert tight == [], f"bounds under {FLOOR} s (use budgets.QUICK):\n" + "\n".join(tight)
    assert QUICK >= FLOOR


def test_the_scan_finds_a_tight_bound():
    assert BOUND.search("assert time.perf_counter() - start < 2.0").group(1) == "2.0"
    assert BOUND.search("assert seconds < 1 and peak < 50").group(1) == "1"
