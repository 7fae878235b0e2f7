"""The report's reading of saves says what its numbers say, for any result."""

from __future__ import annotations

import pandas as pd

from models.plays import PlaySettings
from pipeline.report.saves import Saves, graded_contact_sets, saves_lines, saves_section


def _overall(saved: float, low: float, high: float) -> pd.Series:
    return pd.Series(
        {"contact": 900, "control": 100, "churn_contact": 0.2, "churn_control": 0.25,
         "saved": saved, "saved_low": low, "saved_high": high, "revenue_kept": 1234.0,
         "revenue_half": 500.0}
    )  # fmt: skip


def test_a_saving_beyond_chance_is_said_so():
    first, second = saves_lines(_overall(45.0, 5.0, 90.0), 3, "EUR")
    assert first.startswith("Across 3 graded lists, 20.0% of the 900 customers put forward")
    assert "against 25.0% of the 100 held back: customers saved 45.0 (95% interval 5.0 to" in first
    assert "monthly revenue kept 1,234 EUR (+/- 500)" in first
    assert second == "The saving is beyond chance: the interval excludes zero."


def test_a_saving_within_chance_says_how_many_more_lists_would_tell():
    _, second = saves_lines(_overall(20.0, -20.0, 60.0), 2, "")
    # half-width 40 is twice the effect: four times the lists, so six more
    assert second.startswith("Not yet beyond chance: at this effect about 6 more lists like")


def test_no_saving_is_said_plainly_with_its_interval():
    _, second = saves_lines(_overall(-4.0, -30.0, 20.0), 1, "")
    assert second.startswith("No saving is seen so far")
    assert "spans -30.0 to 20.0" in second


def test_lists_without_a_control_group_are_not_graded_for_saves(tmp_path):
    empty = graded_contact_sets({}, None, definition=None, plays=PlaySettings())
    section = saves_section(empty, "saves")
    assert section.missing.startswith("no graded list with a control group yet")
    assert isinstance(empty, Saves) and empty.lists == 0


def test_logged_plays_the_configuration_does_not_name_are_counted():
    log = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "contacted_at": pd.to_datetime(["2026-01-02"] * 5),
            # the export reads text lowercased: a configured "NPS follow-up" is a known play
            "play": ["billing follow-up", "free pizza", "free pizza", "discount", "nps follow-up"],
        }
    )
    saves = graded_contact_sets({}, log, definition=None, plays=PlaySettings())
    assert saves.unknown_plays == {"free pizza": 2, "discount": 1}
    assert saves.logged
    missing = saves_section(saves, "saves").missing
    named = "contacts naming a play [plays] does not know: free pizza (2), discount (1)"
    assert missing.endswith(named)
