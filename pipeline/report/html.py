"""The retention report as one self-contained HTML file: charts inline as SVG, styles inline,
no fonts, scripts or images from the network, so it opens from disk, from an e-mail and as an
MLflow artifact alike.

The page fits any width from a 400 px phone up: charts are narrow panels (models/
report_plots.py) that shrink with the page but never grow, side by side where there is room
and one above the other where there is not; a table wider than a phone scrolls in its own box,
so the page never scrolls sideways.

A few lines of inline script count the charts the browser actually laid out and write the
number into the page (`<body data-charts-drawn="N">`): a headless browser can check that
the report draws, and a reader never sees it.
"""

from __future__ import annotations

import html
import io
import math
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import matplotlib
from matplotlib.figure import Figure

from models.report_plots import STYLE as CHART_STYLE

_XML_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_ID = re.compile(r'\b(id="|url\(#|href="#)')


@dataclass(frozen=True)
class Section:
    """Its charts and their reading (two short lines), or why there are none."""

    title: str
    charts: tuple[str, ...] = ()  # inline SVG, one per panel
    reading: tuple[str, ...] = ()
    table: str | None = None  # an HTML table
    missing: str | None = None  # e.g. "no support data in the exports"


@dataclass(frozen=True)
class Part:
    """A group of sections under one heading (retention, early warnings, ...)."""

    title: str
    intro: str
    sections: list[Section] = field(default_factory=list)


def svg(figure: Figure, prefix: str) -> str:
    """The figure as inline SVG: text kept as text (small, searchable), every id prefixed so
    the charts of one page cannot clash. The figure keeps its size: its constrained layout
    already fits everything in, and a tight bounding box would draw it twice."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": None, **CHART_STYLE}):
        figure.savefig(buffer, format="svg")
    text = _XML_PROLOGUE.sub("", buffer.getvalue(), count=1)
    return _ID.sub(lambda m: m.group(1) + prefix, text)


def chart(prefix: str, draw: Callable[..., Figure], *args, **kwargs) -> str:
    """`draw(*args, **kwargs)` built and saved in the report's chart style (text sizes; data
    text such as "team_$10_$20" never read as mathtext), as inline SVG."""
    with matplotlib.rc_context(CHART_STYLE):
        return svg(draw(*args, **kwargs), prefix)


def table(frame, *, formats: dict[str, str] | None = None) -> str:
    """A small HTML table of a frame (values escaped, numbers by `formats`)."""
    formats = formats or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            shown = format(value, formats[column]) if column in formats else value
            if isinstance(value, float) and math.isnan(value):
                shown = "-"  # a rate over no customers
            number = isinstance(value, numbers.Number) and not isinstance(value, bool)
            cells.append(f'<td class="{"n" if number else "t"}">{html.escape(str(shown))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def notes(texts: list[str]) -> str:
    """Side notes under a table, one paragraph each, escaped: they may quote the data (a
    play name from the contact log)."""
    return "".join(f'<p class="missing">{html.escape(text)}</p>' for text in texts if text)


STYLE = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;
color:#1f2328;background:#f6f8fa}
header{background:#0b3d5c;color:#fff;padding:20px 32px}header h1{margin:0 0 4px;font-size:24px}
header p{margin:2px 0;opacity:.9}main{max-width:1040px;margin:0 auto;padding:8px 24px 40px}
nav{margin:16px 0;font-size:14px}nav a{margin-right:16px;color:#0b3d5c;display:inline-block}
h2{margin:32px 0 4px;border-bottom:2px solid #0b3d5c;padding-bottom:4px}
.intro{color:#57606a;margin:4px 0 12px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;
margin:12px 0}h3{margin:0 0 8px;font-size:17px}
.charts{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:flex-start}
.charts figure{margin:0;max-width:100%}.charts svg{display:block;max-width:100%;height:auto}
.reading p{margin:4px 0}.reading p:first-child{font-weight:600}
.missing{color:#57606a;font-style:italic}.warning{color:#b42318;font-weight:600}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:13px;margin-top:8px}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f6f8fa}
footer{color:#57606a;font-size:12px;margin-top:24px}
@media (max-width:600px){header{padding:14px 12px}header h1{font-size:20px}
main{padding:4px 6px 24px}section{padding:6px}table{font-size:12px}th,td{padding:2px 4px}}
"""

SCRIPT = """
window.addEventListener("load", function () {
  var drawn = 0;
  document.querySelectorAll("section svg").forEach(function (chart) {
    var box = chart.getBoundingClientRect();
    if (box.width > 0 && box.height > 0) { drawn += 1; }
  });
  document.body.setAttribute("data-charts-drawn", String(drawn));
});
"""


def _section(section: Section) -> str:
    parts = [f"<section><h3>{html.escape(section.title)}</h3>"]
    if section.missing:
        parts.append(f'<p class="missing">{html.escape(section.missing)}</p>')
    if section.charts:
        figures = "".join(f"<figure>{c}</figure>" for c in section.charts)
        parts.append(f'<div class="charts">{figures}</div>')
    if section.reading:
        lines = "".join(
            f'<p class="{"warning" if line.startswith("Warning") else ""}">{html.escape(line)}</p>'
            for line in section.reading
        )
        parts.append(f'<div class="reading">{lines}</div>')
    if section.table:
        parts.append(f'<div class="scroll">{section.table}</div>')
    return "".join(parts) + "</section>"


def page(title: str, facts: list[str], parts: list[Part], *, footer: str) -> str:
    """The whole report: a header with its facts, a contents line, the parts in order."""
    charts = sum(len(s.charts) for part in parts for s in part.sections)
    anchors = [re.sub(r"[^a-z]+", "-", p.title.lower()).strip("-") for p in parts]
    nav = "".join(
        f'<a href="#{a}">{html.escape(p.title)}</a>' for a, p in zip(anchors, parts, strict=True)
    )
    body = []
    for anchor, part in zip(anchors, parts, strict=True):
        body.append(f'<h2 id="{anchor}">{html.escape(part.title)}</h2>')
        body.append(f'<p class="intro">{html.escape(part.intro)}</p>')
        body.extend(_section(s) for s in part.sections)
    header = "".join(f"<p>{html.escape(f)}</p>" for f in facts)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f'<body data-charts="{charts}"><header><h1>{html.escape(title)}</h1>{header}</header>'
        f"<main><nav>{nav}</nav>{''.join(body)}"
        f"<footer>{html.escape(footer)}</footer></main>"
        f"<script>{SCRIPT}</script></body></html>"
    )
