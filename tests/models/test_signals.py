"""Early warnings on hand-made tables: activity by week before churn, support, NPS, health."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from models.signals import (
    IN_TIME,
    NONE,
    OPEN,
    SLOW,
    activity_before,
    health_scores,
    nps_at,
    nps_by_month,
    slow_hours,
    support_experience,
)
from tests.tables import open_frames, typed_frame

T = pd.Timestamp
CUTOFF = T("2025-03-01")


def _rows(ids: list[str]) -> ibis.Table:
    return ibis.memtable(
        pd.DataFrame({"customer_id": ids, "cutoff": [CUTOFF] * len(ids)}).astype(
            {"cutoff": "datetime64[us]"}
        )
    )


def test_activity_is_averaged_per_customer_and_week_zero_weeks_included(tmp_path):
    """c1 (churned) had two events in the last week and one in the week before; an event 90
    days back is outside the 12 weeks. Of two retained customers only c2 had one event."""
    tables = open_frames(
        tmp_path,
        {
            "engagement": [
                {"customer_id": "c1", "timestamp": "2025-02-28 10:00", "event_type": "login"},
                {"customer_id": "c1", "timestamp": "2025-02-27 10:00", "event_type": "login"},
                {"customer_id": "c1", "timestamp": "2025-02-20 00:00", "event_type": "login"},
                {"customer_id": "c1", "timestamp": "2024-12-01 00:00", "event_type": "login"},
                {"customer_id": "c2", "timestamp": "2025-02-25 00:00", "event_type": "login"},
                {"customer_id": "c2", "timestamp": "2025-03-02 00:00", "event_type": "login"},
            ]
        },
    )
    anchors = ibis.memtable(
        pd.DataFrame(
            {
                "customer_id": ["c1", "c2", "c3"],
                "anchor": [CUTOFF] * 3,
                "group": ["churned", "retained", "retained"],
            }
        ).astype({"anchor": "datetime64[us]"})
    )
    table = activity_before(tables["engagement"], anchors, weeks=12)
    by = table.set_index(["group", "weeks_before"])["events"]
    assert len(table) == 24
    assert (by["churned", 1], by["churned", 2], by["churned", 3]) == (2.0, 1.0, 0.0)
    assert by["churned"].sum() == 3.0
    assert by["retained", 1] == 0.5 and by["retained"].sum() == 0.5
    assert table.groupby("group")["customers"].first().to_dict() == {"churned": 1, "retained": 2}


def test_support_experience_open_beats_slow_beats_in_time(tmp_path):
    tickets = [
        {"customer_id": "c1", "opened_at": "2025-02-10", "resolved_at": "2025-02-11"},
        {"customer_id": "c1", "opened_at": "2025-01-01", "resolved_at": "2025-01-05"},
        {"customer_id": "c2", "opened_at": "2025-02-20", "resolved_at": None},
        {"customer_id": "c3", "opened_at": "2024-10-01", "resolved_at": "2024-10-09"},
        {"customer_id": "c5", "opened_at": "2025-02-01", "resolved_at": "2025-02-01 12:00"},
        {"customer_id": "c6", "opened_at": "2025-02-25", "resolved_at": "2025-03-03"},
    ]
    tables = open_frames(tmp_path, {"support": tickets})
    # resolved in 24, 96, 192, 12 and 144 hours: a quarter took longer than 144
    assert slow_hours(typed_frame("support", tickets)) == pytest.approx(144.0)
    frame = support_experience(
        tables["support"], _rows(["c1", "c2", "c3", "c4", "c5", "c6"]), slow=48
    )
    got = dict(zip(frame["customer_id"], frame["support"].astype(str), strict=True))
    assert got == {"c1": SLOW, "c2": OPEN, "c3": NONE, "c4": NONE, "c5": IN_TIME, "c6": OPEN}


def test_the_latest_answer_before_the_cutoff_within_a_year_sets_the_nps_group(tmp_path):
    answers = [
        {"customer_id": "c1", "answered_at": "2025-01-10", "nps": 9},
        {"customer_id": "c1", "answered_at": "2025-02-10", "nps": 3},
        {"customer_id": "c2", "answered_at": "2025-02-28", "nps": 7},
        {"customer_id": "c3", "answered_at": "2025-03-02", "nps": 10},
        {"customer_id": "c4", "answered_at": "2023-01-01", "nps": 10},
        {"customer_id": "c5", "answered_at": "2025-01-01", "nps": 10},
    ]
    tables = open_frames(tmp_path, {"surveys": answers})
    frame = nps_at(tables["surveys"], _rows(["c1", "c2", "c3", "c4", "c5"]))
    got = dict(zip(frame["customer_id"], frame["nps"].astype(str), strict=True))
    assert got == {
        "c1": "detractor",
        "c2": "passive",
        "c3": "no answer",
        "c4": "no answer",
        "c5": "promoter",
    }
    monthly = nps_by_month(typed_frame("surveys", answers))
    january = monthly.set_index("month").loc[T("2025-01-01")]
    assert (january["answers"], january["nps"]) == (2, 100.0)
    february = monthly.set_index("month").loc[T("2025-02-01")]
    assert (february["answers"], february["nps"]) == (2, -50.0)


def test_health_score_is_100_for_a_healthy_customer_and_lower_with_each_risk():
    features = pd.DataFrame(
        {
            "days_since_last_event": [0.0, 30.0],
            "activity_trend_30d": [1.5, 0.0],
            "open_tickets": [0.0, 2.0],
            "failed_payments_90d": [0.0, 1.0],
        }
    )
    assert health_scores(features).tolist() == [100.0, 0.0]
