"""Budget curves shown: the terminal and markdown tables, their notes, and the figure
(:func:`budget_figures`, one per suite and grid point, with the chance rows as grey lines). The
curves themselves come from :mod:`ganbench.report.budget`."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from rich.table import Table
from rich.text import Text

from ganbench.report.budget import (
    LEVEL,
    N_BOOT,
    BudgetPanels,
    _config_columns,
    _shown_keys,
    conflict_note,
    dominance_lines,
)
from ganbench.report.formatting import (
    MISSING,
    format_number,
    key_text,
    markdown_table,
    notes_list,
    shown_decimals,
)
from ganbench.report.plots import Figure

__all__ = ["budget_figures", "budget_markdown", "budget_notes", "budget_table", "shown_budgets"]


# --- rendering ---------------------------------------------------------------------------------


def shown_budgets(n_max: int) -> list[int]:
    """The budgets a table shows: 1, 2, 4, 8, ... below ``n_max`` (each row adds its own n)."""
    return [2**i for i in range(max(n_max, 1).bit_length()) if 2**i < n_max]


def budget_notes(curves: pd.DataFrame) -> list[str]:
    """Sentences that say what a budget table's numbers are and which runs they leave out."""
    info = curves.attrs.get("budget", {})
    level = float(info.get("level", LEVEL))
    higher = bool(info.get("higher_is_better", True))
    best = "highest" if higher else "lowest"
    step = info.get("step", "final")
    value = "final value" if step == "final" else ("best value" if step == "best" else
                                                   f"value at step {step}")  # fmt: skip
    notes = [
        f"Cells: the expected {best} {info.get('metric', 'value')} among k trials drawn at "
        "random (with replacement) from a configuration's n trials, sum_i v_(i) ((i/n)^k - "
        "((i-1)/n)^k) over the trial values sorted from worst to best (Dodge et al., EMNLP "
        f"2019); [low, high]: central {level:.0%} of {info.get('n_boot', N_BOOT)} bootstrap "
        "resamples of the trials. A trial's value: the mean over its seeds of each run's "
        f"{value}.",
    ]
    knobs = sorted({k for ks in info.get("knobs", {}).values() for k in ks})
    if knobs:
        notes.append(f"Searched knobs (pooled into each curve): {', '.join(knobs)}.")
    worst = [
        f"{info[key]} {what}"
        for key, what in (("diverged", "diverged"), ("non_finite", "with a non-finite value"))
        if info.get(key)
    ]
    if worst:
        notes.append(
            f"Counted at the worst {info.get('metric')} a completed trial reached at their grid "
            f"point: {' and '.join(worst)} run(s)."
        )
    left = {
        "failed": "failed",
        "no_value": f"completed without a value of {info.get('metric')}",
        "unvalued": "diverged or non-finite where no completed trial at their grid point has a "
        "finite value",
    }
    parts = [f"{info[key]} {what}" for key, what in left.items() if info.get(key)]
    if parts:
        notes.append(f"Runs left out: {'; '.join(parts)}.")
    if info.get("conflicting"):
        notes.append(conflict_note(info["conflicting"]))
    if info.get("trials_dropped"):
        notes.append(f"{info['trials_dropped']} trial(s) without any valued run left out.")
    if info.get("without_trial"):
        notes.append(f"{info['without_trial']} run(s) not from a search are not in the curves.")
    return notes


def _cell(row: pd.Series) -> str:
    decimals = shown_decimals(row["expected"])
    low, high = (format_number(row[c], decimals) for c in ("low", "high"))
    return f"{format_number(row['expected'], decimals)} [{low}, {high}]"


def _budget_cells(curves: pd.DataFrame) -> tuple[list[str], list[list[str]], list[bool]]:
    keys = _config_columns(curves)
    shown = _shown_keys(curves, keys)
    n_max = int(curves["n_trials"].max()) if len(curves) else 0
    budgets = shown_budgets(n_max)
    headers = [*shown, "trials", *(f"k={k}" for k in budgets), "k=n (all)"]
    numeric = [False] * len(shown) + [True] * (len(headers) - len(shown))
    rows = []
    groups = curves.groupby(keys, sort=False, dropna=False) if len(curves) else []
    for _, group in groups:
        by_k = {int(k): row for k, (_, row) in zip(group["k"], group.iterrows(), strict=True)}
        n = int(group["n_trials"].iloc[0])
        first = group.iloc[0]
        cells = [key_text(first[c]) for c in shown]
        cells.append(str(n))
        cells += [_cell(by_k[k]) if k in by_k else MISSING for k in budgets]
        cells.append(_cell(by_k[n]))
        rows.append(cells)
    return headers, rows, numeric


def _title(curves: pd.DataFrame) -> str:
    info = curves.attrs.get("budget", {})
    arrow = "↑" if info.get("higher_is_better", True) else "↓"
    return f"expected best {info.get('metric', '')} {arrow} after k hyperparameter trials"


def budget_table(curves: pd.DataFrame) -> Table:
    """The budget curves as a rich Table: one row per configuration, a column per shown budget
    (:func:`shown_budgets`, then each row's full budget); comparisons and notes in the caption."""
    headers, rows, numeric = _budget_cells(curves)
    lines = [*dominance_lines(curves), *budget_notes(curves)]
    caption = Text("\n".join(lines), style="table.caption")
    table = Table(title=Text(_title(curves)), caption=caption, caption_justify="left")
    for header, is_numeric in zip(headers, numeric, strict=True):
        table.add_column(header, justify="right" if is_numeric else "left")
    for row in rows:
        table.add_row(*(Text(c) for c in row))  # names from results folders: never markup
    return table


def budget_markdown(curves: pd.DataFrame) -> str:
    """The budget curves as a markdown table, then comparisons and notes as a list."""
    headers, rows, numeric = _budget_cells(curves)
    out = [f"**{_title(curves)}**", "", *markdown_table(headers, rows, numeric), ""]
    out += notes_list([*dominance_lines(curves), *budget_notes(curves)])
    return "\n".join(out) + "\n"


# --- figures -----------------------------------------------------------------------------------


def budget_figures(panels: list[BudgetPanels]) -> list[Figure]:
    """One figure per :class:`~ganbench.report.budget.BudgetPanels` (a suite and grid point of
    the results' trials, from :func:`~ganbench.report.budget.budget_panels`): a panel per
    metric, a line per variant with its band, the chance rows' means as grey lines."""
    return [_budget_figure(p.tables, p.suite, p.point, p.chance) for p in panels]


def _budget_figure(
    tables: list[pd.DataFrame],
    suite: str,
    point: dict[str, Any],
    chance: dict[str, dict[str, float]] | None = None,
) -> Figure:
    from ganbench.report.plots import (
        MAX_VARIANTS_PER_FIGURE,
        figure_title,
        mpl_text,
        style_panel,
        subplot_grid,
        variant_lines,
    )

    fig, axes = subplot_grid(len(tables), 3.8, 2.9)
    variants = list(dict.fromkeys(v for t in tables for v in t["variant"]))
    variants = variants[:MAX_VARIANTS_PER_FIGURE]
    for ax, table in zip(axes.flat, tables, strict=False):
        info = table.attrs.get("budget", {})
        for variant, colour, line in variant_lines(table, variants):
            k = line["k"].to_numpy()
            label = mpl_text(f"{variant} (n={int(line['n_trials'].iloc[0])})")
            ax.plot(k, line["expected"].to_numpy(), color=colour, lw=1.4, marker=".", label=label)
            ax.fill_between(k, line["low"].to_numpy(), line["high"].to_numpy(), color=colour,
                            alpha=0.18, lw=0)  # fmt: skip
        metric = str(info.get("metric", ""))
        for j, (name, level) in enumerate(sorted((chance or {}).get(metric, {}).items())):
            ax.axhline(level, color="0.45", lw=1.0, ls=("--", ":", "-.")[j % 3],
                       label=mpl_text(f"{name} (mean)"))  # fmt: skip
        n_max = int(table["k"].max())
        if n_max >= 4:
            ax.set_xscale("log", base=2)
            ax.minorticks_off()
        ticks = [*shown_budgets(n_max), n_max]
        ax.set_xticks(ticks, [str(k) for k in ticks])
        arrow = " ↑" if info.get("higher_is_better", True) else " ↓"
        style_panel(ax, mpl_text(f"{info.get('metric', '')}{arrow}"), "trials k", grid=True)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    title = f"{figure_title(suite, point)}: expected best after k hyperparameter trials"
    fig.suptitle(mpl_text(title), fontsize=10)
    if len(tables) == 1:  # one panel: the legend beside it, clear of the axis label
        fig.set_size_inches(7.2, 3.2)
        axes.flat[0].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                            fontsize=8, frameon=False)  # fmt: skip
        fig.tight_layout()
    else:
        fig.legend(handles, labels, loc="lower center", ncol=min(4, max(len(labels), 1)),
                   fontsize=8, bbox_to_anchor=(0.5, -0.02 - 0.03 * math.ceil(len(labels) / 4)))  # fmt: skip
        fig.tight_layout()
    info = tables[0].attrs.get("budget", {})
    lines = [
        f"{t.attrs.get('budget', {}).get('metric', '')}: {line}"
        for t in tables
        for line in dominance_lines(t, with_point=False)
    ]
    caption = (
        "Lines: the expected best value among k trials drawn at random from a configuration's "
        "n trials (n in the legend; Dodge et al., EMNLP 2019); bands: central "
        f"{float(info.get('level', LEVEL)):.0%} of {info.get('n_boot', N_BOOT)} bootstrap "
        "resamples of the trials. A trial's value is the mean over its seeds; diverged runs "
        "count at the worst value a completed trial reached here. Grey lines: the chance rows' "
        "mean (generators blind to the modes), the level a curve must pass to mean anything. "
        + " ".join(f"{line}." for line in lines)
    )
    return Figure("budget", suite, point, title, caption, fig)
