"""Wall-clock budgets of tests that check something is refused quickly.

They must hold on a loaded 2-core CI machine, where a step that takes 0.1 s on a quiet CPU can
take 30 times as long, and still catch what they guard against: the blow-ups they exist for
(quadratic parsing of a long dotted key, reading a 50 MB file, expanding a 128-million-run grid)
take minutes. ``tests/test_budgets.py`` keeps every bound at or above :data:`FLOOR`.
"""

QUICK = 10.0
"""Seconds for an operation that takes well under a second on a quiet machine."""

FLOOR = 10.0
"""No wall-clock bound in the tests may be tighter than this."""
