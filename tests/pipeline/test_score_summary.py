"""What `churn score` prints about the customers it lists: text from the data as text."""

from __future__ import annotations

import pandas as pd

from pipeline.score.summary import _top_lines, terminal_text


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
