"""Report sections whose data the exports do not have say so instead of failing."""

from __future__ import annotations

from models.labels import ChurnDefinition
from pipeline.report_sections import activity_section


def test_activity_before_churn_without_engagement_events_says_so():
    section = activity_section(None, None, "activity", definition=ChurnDefinition())
    assert section.missing == "no engagement events in the exports"
