"""The report's shared cell helpers (ganbench/report/formatting.py), against hand-written cells."""

from __future__ import annotations

import math

import pandas as pd

from ganbench.report.formatting import (
    MISSING,
    format_cell,
    format_number,
    format_signed,
    format_spread,
    html_text,
    key_text,
    markdown_table,
    metric_header,
    point_text,
    shown_decimals,
)


def test_decimals_follow_the_size_of_the_value():
    assert [shown_decimals(v) for v in (0.0, math.inf, 5e-4, 0.25, 1.0, 99.9, 100.0, 2e6)] == [
        2, 2, -1, 3, 2, 2, 1, -1,
    ]  # fmt: skip
    assert format_number(0.25) == "0.250"
    assert format_number(2e6) == "2.00e+06"
    assert format_number(-math.inf) == "-inf"
    assert format_number(math.nan) == MISSING
    assert format_number(1.23456, 1) == "1.2"


def test_a_spread_that_would_round_to_zero_is_written_in_e_notation():
    assert format_spread("6.30", 0.5, 2) == "6.30 ± 0.50"
    assert format_spread("6.30", 0.001, 2) == "6.30 ± 1.0e-03"
    assert format_spread("6.30", 0.0, 2) == "6.30 ± 0.00"
    assert format_cell(6.3, 0.001, 3) == "6.30 ± 1.0e-03"
    assert format_cell(6.3, math.nan, 1, completed=2) == "6.30 (n=1)"
    assert format_cell(math.nan, 1.0, 2) == MISSING


def test_a_signed_difference_has_a_sign_and_never_reads_minus_zero():
    assert format_signed(-0.0) == "+0.00"
    assert format_signed(1.25) == "+1.25"
    assert format_signed(-0.004, 2) == "-4.0e-03"  # 2 decimals would show 0
    assert format_signed(-5.3, 2) == "-5.30"
    assert format_signed(math.inf) == "+inf"
    assert format_signed(-math.inf) == "-inf"


def test_configuration_cells_and_headers():
    assert key_text(None) == key_text(math.nan) == key_text(pd.NA) == ""
    assert key_text("ring8") == "ring8"
    assert point_text("dataset", "ring8") == "ring8"
    assert point_text("lr", 0.001) == "lr=0.001"
    assert point_text("lr", None) == ""
    assert metric_header("modes") == "modes ↑"
    assert metric_header("fd") == "fd ↓"
    assert metric_header("top_mode_share") == "top_mode_share"


def test_markdown_and_html_text_escape_what_results_folders_hold():
    assert markdown_table(["variant", "modes"], [["a|b", "8.00"]], [False, True]) == [
        "| variant | modes |",
        "| --- | ---: |",
        "| a\\|b | 8.00 |",
    ]
    assert html_text('<b a="1">&\'') == "&lt;b a=&quot;1&quot;&gt;&amp;&#x27;"
