"""Names from the data that mean something to a spreadsheet, to mathtext and to HTML (`=`,
`$`, `\\`, `<script>`) go through train, score and report as text: the reported project's
exports carry them in a plan, a country, an event type and a logged play
(tests/pipeline/conftest.py)."""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import pandas as pd

from features.spec import column_safe
from models.report_plots import data_label
from tests.pipeline.conftest import (
    HOSTILE_COUNTRY,
    HOSTILE_EVENT,
    HOSTILE_PLAN,
    HOSTILE_PLAY,
    SECOND_LIST,
    report_path,
)


def _list_folder(project: Path) -> Path:
    return project / "outputs" / "at_risk" / f"as_of={SECOND_LIST}"


def test_every_command_succeeded_without_a_traceback(reported_project):
    told = (reported_project / "stderr.txt").read_text()
    assert "Traceback" not in told and "error:" not in told, told


def test_the_report_shows_the_names_escaped_and_runs_no_script_of_theirs(reported_project):
    page = report_path(reported_project).read_text()
    assert page.count("<script") == 1  # the page's own chart counter, nothing from the data
    assert "<script>alert" not in page and "<script>x" not in page
    # charts (SVG text, names cut to fit) and reading lines (names whole) carry them escaped
    drawn = re.findall(r"<text[^>]*>([^<]*)</text>", page)
    assert any(html.escape(data_label(HOSTILE_PLAN), quote=False) in text for text in drawn)
    assert f"plan {html.escape(HOSTILE_PLAN)}" in page
    assert html.escape(data_label(HOSTILE_COUNTRY), quote=False) in page  # churn by segment
    assert f"{html.escape(HOSTILE_PLAY)} (1)" in page  # the contact log's unknown play


def test_the_charts_drew_the_names_literally(reported_project):
    """matplotlib would read "$10_$" as mathtext and raise: every chart is there, and the
    plan's dollars are drawn as dollars."""
    page = report_path(reported_project).read_text()
    charts = page.count("<svg")
    assert charts >= 12 and f'data-charts="{charts}"' in page
    assert ">=pro_$10_$20\\ &lt;script&gt;" in page


def test_the_list_csv_keeps_the_names_as_text(reported_project):
    folder = _list_folder(reported_project)
    with open(folder / "at_risk.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    raw = pd.read_parquet(folder / "at_risk.parquet")
    # a leading ' makes a spreadsheet show the cell as text instead of running "=..."
    assert {r["plan"] for r in rows} == {"'" + p if p == HOSTILE_PLAN else p for p in raw["plan"]}
    assert {r["country"] for r in rows} == {
        "'" + c if c == HOSTILE_COUNTRY else c for c in raw["country"]
    }
    assert HOSTILE_PLAN in set(raw["plan"]) and HOSTILE_COUNTRY in set(raw["country"])
    assert [r["customer_id"] for r in rows] == list(raw["customer_id"])  # ids exact


def test_reasons_quote_the_event_type_as_it_was_exported(reported_project):
    raw = pd.read_parquet(_list_folder(reported_project) / "at_risk.parquet")
    feature = column_safe(HOSTILE_EVENT)
    quoted = 0
    for row in raw.itertuples():
        for slot, name in enumerate(row.reason_features, start=1):
            if name.startswith(feature):
                assert f"'{HOSTILE_EVENT}'" in getattr(row, f"reason_{slot}")
                quoted += 1
    assert quoted > 0  # the event type is among the reasons the list gives
    with open(_list_folder(reported_project) / "at_risk.csv", newline="") as handle:
        cells = [r["reason_1"] for r in csv.DictReader(handle)]
    assert any(f"'{HOSTILE_EVENT}'" in c and not c.startswith("'") for c in cells)
