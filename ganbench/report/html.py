"""One self-contained HTML report: summary tables, stability profiles, a legend and the figures.

Images are embedded as base64 ``data:`` URIs and the styles are inline, so the file opens from
a CI artifact or an e-mail without a network. An inline script records, once the page has
loaded, how many images decoded (``<body data-images-loaded="k/n">``), which lets a headless
browser check that the page renders. Suites with stored evaluations get players
(:mod:`ganbench.report.player`), drawn on ``<canvas>`` by an inline script from data in the page.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ganbench.fileio import atomic_write_bytes
from ganbench.metrics import catalog
from ganbench.report.chance import LEGEND, has_flags
from ganbench.report.formatting import html_text
from ganbench.report.player import PLAYER_CSS, PLAYER_SCRIPT, Player, player_html
from ganbench.report.player import players as find_players
from ganbench.report.plots import Figure
from ganbench.report.render import (
    summary_cells,  # the same cells as the terminal and markdown tables
    summary_notes,
    verdict_lines,
)
from ganbench.report.select import metric_direction
from ganbench.report.summary import summary_metrics
from ganbench.results.read import Results, suite_document
from ganbench.version import __version__

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
       color: #1d1d1f; background: #fafafa; }
header { background: #1f2d3d; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; opacity: .8; }
main { padding: 8px 32px 40px; max-width: 1500px; }
nav { margin: 12px 0; } nav a { margin-right: 14px; }
h2 { border-bottom: 2px solid #1f2d3d; padding-bottom: 4px; margin-top: 36px; }
h3 { margin-top: 26px; color: #333; }
table { border-collapse: collapse; margin: 10px 0; background: #fff; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; }
th { background: #eef1f5; text-align: left; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.better { color: #1a7f37; font-weight: 600; } td.worse { color: #c62828; font-weight: 600; }
td.baseline { color: #888; }
.notes { color: #555; font-size: 13px; margin: 4px 0 12px; padding-left: 18px; }
figure { margin: 14px 0 24px; background: #fff; padding: 10px; border: 1px solid #e3e3e3;
         display: inline-block; max-width: 100%; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: #555; font-size: 12.5px; margin-top: 6px; max-width: 1100px; }
.desc { color: #444; }
"""

_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; }
  document.body.setAttribute("data-images-loaded", ok + "/" + imgs.length);
});
"""


def render_html(
    results: Results,
    summary: pd.DataFrame,
    figs: list[Figure],
    *,
    title: str | None = None,
    references: pd.DataFrame | None = None,
    players: list[Player] | None = None,
) -> str:
    """The report page as a string; ``references`` (from
    :func:`ganbench.report.references.reference_table`) adds each suite's published numbers.
    ``players`` (default: :func:`ganbench.report.player.players` of the results; ``[]`` for
    none) replay training evaluation by evaluation, as GAN Lab does (Kahng et al. 2018)."""
    if players is None:
        players = find_players(results)
    suites = list(dict.fromkeys(results.runs["suite"]))
    title = title or ("ganbench: " + ", ".join(suites))
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    n_runs = len(results.runs)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html_text(title)}</title><style>{_CSS}{PLAYER_CSS if players else ''}</style></head>",
        '<body data-images-loaded="">',
        f"<header><h1>{html_text(title)}</h1><p>{n_runs} run{'s' * (n_runs != 1)} read from "
        f"{html_text(str(results.root or ''))} · ganbench {html_text(__version__)} · {now}</p></header>",
        "<main>",
    ]
    if len(suites) > 1:
        links = " ".join(f'<a href="#suite-{html_text(s)}">{html_text(s)}</a>' for s in suites)
        parts.append(f"<nav>Suites: {links}</nav>")
    if results.warnings:
        items = "".join(f"<li>{html_text(w)}</li>" for w in results.warnings)
        parts.append(f"<p><b>Warnings</b></p><ul class='notes'>{items}</ul>")
    for suite in suites:
        parts += _suite_section(results, summary, figs, suite, references)
        parts += _players_section([p for p in players if p.suite == suite], suite)
    parts.append(_legend(summary))
    parts += ["</main>", f"<script>{_SCRIPT}</script>", "</body></html>"]
    if players:
        parts.insert(-1, f"<script>{PLAYER_SCRIPT}</script>")
    return "\n".join(parts) + "\n"


def write_html(text: str, path: Path) -> None:
    """Write the page atomically (a new, uniquely named temporary file in the same folder, never
    opened through a link; then rename and fsync of the folder)."""
    # A results folder named in other bytes than UTF-8 reads as text with surrogates: shown as
    # escapes (\udce9), not a failure to write the page.
    atomic_write_bytes(path, text.encode("utf-8", "backslashreplace"))


def _suite_section(
    results: Results,
    summary: pd.DataFrame,
    figs: list[Figure],
    suite: str,
    references: pd.DataFrame | None = None,
) -> list[str]:
    runs = results.runs[results.runs["suite"] == suite]
    parts = [f'<h2 id="suite-{html_text(suite)}">{html_text(suite)}</h2>']
    description = _description(runs)
    if description:
        parts.append(f'<p class="desc">{html_text(description)}</p>')
    seeds = sorted(runs["seed"].unique())
    parts.append(
        f"<p>{len(runs)} runs: {runs['variant'].nunique()} variants, seeds "
        f"{html_text(', '.join(str(s) for s in seeds))}; status: "
        + ", ".join(f"{n} {s}" for s, n in runs["status"].value_counts().items())
        + "</p>"
    )
    mine = summary[summary["suite"] == suite] if "suite" in summary.columns else summary
    if len(mine):
        parts.append("<h3>Final values and stability profile</h3>")
        parts.append(_table(mine))
        lines = [*verdict_lines(mine), *summary_notes(mine)]
        parts.append(
            '<ul class="notes">' + "".join(f"<li>{html_text(x)}</li>" for x in lines) + "</ul>"
        )
    if references is not None and len(published := references[references["suite"] == suite]):
        from ganbench.report.references_render import reference_html

        parts.append("<h3>Published and measured</h3>")
        parts.append(reference_html(published))
    points: dict[str, list[Figure]] = {}
    for fig in figs:
        if fig.suite == suite:
            label = ", ".join(f"{k} = {v}" for k, v in fig.point.items()) or "all runs"
            points.setdefault(label, []).append(fig)
    for label, members in points.items():
        parts.append(f"<h3>{html_text(label)}</h3>")
        for fig in members:
            data = base64.b64encode(fig.to_bytes("png")).decode("ascii")
            parts.append(
                f'<figure><img alt="{html_text(fig.title)}" src="data:image/png;base64,{data}">'
                f"<figcaption><b>{html_text(fig.title)}.</b> {html_text(fig.caption)}</figcaption></figure>"
            )
    return parts


def _players_section(players: list[Player], suite: str) -> list[str]:
    if not players:
        return []
    return [
        f'<h3 id="players-{html_text(suite)}">Training replayed</h3>',
        *(player_html(p, f"{suite}-{i}") for i, p in enumerate(players)),
    ]


def _table(summary: pd.DataFrame) -> str:
    headers, rows, numeric, verdicts = summary_cells(summary)
    head = "".join(f"<th>{html_text(h)}</th>" for h in headers)
    body = []
    for row, marks in zip(rows, verdicts, strict=True):
        cells = []
        for cell, is_num, verdict in zip(row, numeric, marks, strict=True):
            classes = " ".join(c for c in ("num" if is_num else "", verdict or "") if c)
            attr = f' class="{html_text(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{html_text(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _legend(summary: pd.DataFrame) -> str:
    shown = summary_metrics(summary)
    rows = []
    for metric in shown:
        direction = metric_direction(metric)
        arrow = {True: "↑ higher", False: "↓ lower", None: ""}[direction]
        entry = catalog.info(metric)
        description = "" if entry is None else entry.description
        rows.append(
            f"<tr><td>{html_text(metric)}</td><td>{html_text(arrow)}</td><td>{html_text(description)}</td></tr>"
        )
    verdict_rows = "".join(
        f"<tr><td>{html_text(label)}</td><td colspan=2>{html_text(text)}</td></tr>"
        for label, text in {**_VERDICT_TEXT, **(LEGEND if has_flags(summary) else {})}.items()
    )
    return (
        '<h2 id="legend">Legend</h2><table><thead><tr><th>metric</th><th>better</th>'
        f"<th>definition</th></tr></thead><tbody>{''.join(rows)}{verdict_rows}</tbody></table>"
        '<p class="notes">Definitions: README.md, "Metric definitions". Stability verdicts '
        "follow the rules of ganbench.report.verdicts with their default thresholds.</p>"
    )


_VERDICT_TEXT = {
    "stability": "how many runs of the row ended in each verdict (rules applied in this order)",
    "diverged": "the run stopped on a non-finite value, or a gradient norm grew over 1000-fold",
    "mode-collapsed": "final modes below half of the dataset's modes, most samples on them",
    "diffuse": "final modes below half of the dataset's modes and under 20% of the samples "
    "within the HQ threshold of any mode: spread off the modes, not collapsed onto few",
    "oscillating": "loss_g or loss_d keeps swinging about its trend over the last 8 evaluations",
    "converged": "every tracked loss settled over the last 4 evaluations",
    "undecided": "none of the rules decides (or the run failed)",
}


def _description(runs: pd.DataFrame) -> str:
    data = suite_document(runs["path"])
    section = data.get("suite") if data is not None else None
    return str(section.get("description", "")) if isinstance(section, dict) else ""
