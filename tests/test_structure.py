"""The key that groups runs and the Structure that builds their program agree: runs share a
compiled program exactly when their structures are equal (mixtures of one dimension share one
whatever their modes and weights: the program samples each run's own)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ganbench.config import load_suite
from ganbench.config.expand import static_key, structure_of
from ganbench.kinds import MIXTURE

SUITES = sorted((Path(__file__).resolve().parents[1] / "suites").rglob("*.toml"))


def _program_structure(config):
    s = structure_of(config)
    if s.dataset.kind == MIXTURE:  # the traced dataset index picks the mixture
        s = dataclasses.replace(s, dataset=("mixture", s.dataset.dim))
    return s


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.stem)
def test_static_key_and_structure_agree_on_every_shipped_suite(path):
    runs = load_suite(path).runs
    by_key: dict[str, set] = {}
    for spec in runs:
        by_key.setdefault(static_key(spec.config), set()).add(_program_structure(spec.config))
    assert all(len(structures) == 1 for structures in by_key.values())
    structures = [next(iter(s)) for s in by_key.values()]
    assert len(set(structures)) == len(structures)  # different keys, different programs
