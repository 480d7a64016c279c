"""The stability column of a summary: each configuration's runs counted by verdict
(:mod:`ganbench.report.verdicts`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ganbench.report.select import check_by, point_key
from ganbench.results.read import Results

STABILITY = "stability"
"""Summary column: the stability profile of a configuration in words (see
:func:`with_stability`); the counts are in ``verdict_<label>`` columns."""


MISSING_STABILITY = "-"
"""The stability cell of a configuration without runs to judge."""


def with_stability(
    summary: pd.DataFrame, results: Results, by: Sequence[str] | None = None
) -> pd.DataFrame:
    """The summary with each configuration's stability profile: how many of its runs ended
    diverged, mode-collapsed, diffuse, oscillating, converged or undecided (the rules and thresholds of
    :mod:`ganbench.report.verdicts`).

    Adds ``verdict_<label>`` count columns and a ``stability`` column such as
    ``"3 converged, 1 oscillating"`` right after the run counts.
    """
    from ganbench.report.verdicts import LABELS, stability_profile, verdicts

    keys = check_by(results, by)
    profile = stability_profile(verdicts(results), by=keys)
    counts = {point_key(tuple(row[k] for k in keys)): row for row in profile.to_dict("records")}
    out = summary.copy()
    at = list(out.columns).index("seeds") + 1 if "seeds" in out.columns else len(out.columns)
    words, columns = [], {f"verdict_{lab}": [] for lab in LABELS}
    for _, rec in out.iterrows():
        row = counts.get(point_key(tuple(rec[k] for k in keys)), {})
        parts = []
        for lab in LABELS:
            n = int(row.get(lab, 0))
            columns[f"verdict_{lab}"].append(n)
            if n:
                parts.append(f"{n} {lab}")
        words.append(", ".join(parts) or MISSING_STABILITY)
    out.insert(at, STABILITY, words)
    for i, (name, values) in enumerate(columns.items()):
        out.insert(at + 1 + i, name, pd.array(values, dtype="int64"))
    return out
