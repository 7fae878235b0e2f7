"""What `churn score` prints about the customers it lists: text from the data as text, and
how the contact set was ranked."""

from __future__ import annotations

import pandas as pd

from models.uplift import ContactRanking, fall_back
from pipeline.score.summary import _top_lines, scoring_summary_lines, terminal_text


def test_control_characters_from_the_data_are_shown_not_run():
    """An escape sequence in a customer id or an event type would recolour or clear the
    terminal, a line break would forge a line: both are written as escapes."""
    assert terminal_text("c1\x1b[2J") == "c1\\x1b[2J"
    assert terminal_text("a\nerror: forged\r") == "a\\nerror: forged\\r"
    assert terminal_text("=pro_$10 <script> é") == "=pro_$10 <script> é"
    ranked = pd.DataFrame(
        {
            "rank": [1],
            "customer_id": ["c\x1b[31m1"],
            "churn_probability": [0.5],
            "risk_tier": ["high"],
            "revenue_at_risk": [10.0],
            "suggested_play": ["call"],
            "reason_1": ["3 'log\nin' events"],
            "reason_2": [""],
            "reason_3": [""],
        }
    )
    lines = _top_lines(ranked)
    assert len(lines) == 3 and all("\x1b" not in line and "\n" not in line for line in lines)
    assert "c\\x1b[31m1" in lines[1] and "3 'log\\nin' events" in lines[2]


def _manifest(ranking: dict) -> dict:
    """A list's manifest as the summary reads it (a contact set of 2 of 3 customers)."""
    contact = {"capacity": 2, "contacts": 2, "above_floor": 3, "floor": 0.1}
    contact |= {"share_of_revenue_at_risk": 0.8, "high_tier": 1, "high_tier_outside": 0}
    return {
        "as_of": "2026-11-01", "latest_event": "2026-10-31", "freshness_days": 1,
        "model": {"name": "churn", "version": 3}, "customers": 3,
        "tiers": {"high": 1, "medium": 2, "low": 0}, "revenue_at_risk": 10.0, "currency": "",
        "contact": contact | {"ranking": ranking}, "plays": {"call": 3}, "changes": {},
        "drifted_features": {},
    }  # fmt: skip


def test_the_summary_says_which_ranking_the_contact_set_used_and_why(tmp_path):
    fell_back = fall_back("only 37 graded control customers (need 200)").record()
    ranked = pd.DataFrame(columns=["rank", "customer_id", "churn_probability"])
    lines = scoring_summary_lines(ranked, _manifest(fell_back), tmp_path)
    assert lines[3] == (
        "contact set ranked by risk: uplift asked for but only 37 graded control customers "
        "(need 200)"
    )
    used = ContactRanking("uplift", "uplift", "the calls removed 20% of churn", {"*": 0.2})
    lines = scoring_summary_lines(ranked, _manifest(used.record()), tmp_path)
    assert lines[3] == (
        "contact set ranked by expected saved revenue (uplift): the calls removed 20% of churn"
    )
