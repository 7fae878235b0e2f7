"""The report's page: charts inline with ids that cannot clash, text escaped, gaps said."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from models.plots import agg_figure
from pipeline.report.html import Part, Section, chart, page, svg, table


def _chart(prefix: str) -> str:
    figure = agg_figure(3, 2)
    figure.add_subplot().plot([0, 1], [1, 0], marker="o")
    return svg(figure, prefix)


def test_inline_charts_keep_text_as_text_and_ids_apart():
    one, two = _chart("a-"), _chart("b-")
    assert one.startswith("<svg") and "<?xml" not in one
    ids = re.findall(r'\bid="([^"]+)"', one + two)
    assert ids and len(ids) == len(set(ids))
    references = re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', one)
    assert all(any(r) and (r[0] or r[1]).startswith("a-") for r in references)


def test_tables_escape_text_and_show_no_nan():
    frame = pd.DataFrame({"who": ["<b>x</b>"], "rate": [np.nan], "n": [1234]})
    html = table(frame, formats={"n": ","})
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>" not in html
    assert '<td class="n">-</td>' in html and '<td class="n">1,234</td>' in html


def test_the_page_counts_its_charts_and_says_what_is_missing():
    parts = [
        Part("Retention", "intro", [Section("CRR", (_chart("c-"),), ("first line", "second"))]),
        Part("Early warnings", "intro", [Section("NPS", missing="no survey (NPS) data")]),
    ]
    html = page("Report", ["a fact"], parts, footer="footer")
    assert 'data-charts="1"' in html and html.count("<svg") == 1
    assert '<p class="missing">no survey (NPS) data</p>' in html
    assert '<a href="#early-warnings">Early warnings</a>' in html


def test_data_text_in_charts_is_drawn_as_is_and_escaped():
    """A plan named like a mathtext formula or like markup is drawn literally: matplotlib
    would otherwise raise on "team_$10_$20", and the SVG must not carry raw markup."""
    from models.list_plots import at_risk_figure

    ranked = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "risk_tier": ["high", "medium", "low"],
            "revenue_at_risk": [10.0, 5.0, 1.0],
            "plan": ["team_$10_$20", "<b>x</b>", "basic"],
        }
    )
    drawn = chart("p-", at_risk_figure, ranked, "plan", revenue=True)
    assert ">team_$10_$20<" in drawn
    assert "&lt;b&gt;x&lt;/b&gt;" in drawn and "<b>" not in drawn


def test_a_long_name_from_the_data_is_cut_to_fit_its_chart():
    """A long plan name would squeeze the bars and push the chart's other text off its edge:
    charts show its first characters, the report's text names it whole."""
    from models.list_plots import at_risk_figure
    from models.report_plots import data_label

    long = "enterprise annual 2024 (legacy pricing, eur)"
    assert data_label(long) == "enterprise annual 2024\u2026"
    assert data_label("pro") == "pro" and data_label("two\nlines") == "two lines"
    ranked = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "risk_tier": ["high", "medium"],
            "revenue_at_risk": [10.0, 5.0],
            "plan": [long, "basic"],
        }
    )
    drawn = chart("p-", at_risk_figure, ranked, "plan", revenue=True)
    assert ">enterprise annual 2024\u2026<" in drawn and "legacy" not in drawn
