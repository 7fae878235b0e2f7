"""What the MLflow UI says: short tags that fit a cell, descriptions that name data and cutoffs."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from models.labels import ChurnDefinition
from pipeline.tracking import descriptions


def test_promotion_tags_stay_a_few_words():
    assert descriptions.promotion_tag(True, None, "roc_auc") == "first champion"
    assert descriptions.promotion_tag(True, "2", "roc_auc") == "beats v2 (roc_auc)"
    assert descriptions.promotion_tag(False, "2", "brier") == "below v2 (brier)"


def test_long_cutoff_lists_read_as_a_range():
    months = list(pd.date_range("2025-01-01", periods=16, freq="MS"))
    assert descriptions.dates(months) == "2025-01-01 to 2026-04-01 (16)"
    assert descriptions.dates(months[:2]) == "2025-01-01, 2025-02-01"


def test_the_training_description_says_data_cutoffs_quality_and_promotion():
    months = list(pd.date_range("2025-01-01", periods=6, freq="MS"))
    split = SimpleNamespace(train=months[:3], valid=months[3:5], test=months[5:])
    scores = {
        "model": {"roc_auc": 0.7412, "capture_at_10": 0.36},
        "logistic_regression": {"roc_auc": 0.7301},
    }
    text = descriptions.training_description(
        data="exports/",
        churn=descriptions.churn_words(ChurnDefinition(horizon_days=30, lead_days=7)),
        split=split,
        rows={"train": 300, "valid": 200, "test": 100},
        scores=scores,
        registered="Registered as m version 2: **not promoted to @champion**: worse.",
    )
    assert text.splitlines()[0] == (
        "Churn model trained on `exports/` (contractual churn within 30 days, 7 days after "
        "the cutoff)."
    )
    assert "out-of-time test 2025-06-01" in text and "600 customer-months" in text
    assert "Test ROC AUC 0.741 (logistic regression 0.730)" in text and "36%" in text
    assert text.endswith("**not promoted to @champion**: worse.")


def test_text_put_into_descriptions_shows_as_written_not_as_markdown():
    hostile = "x](http://evil) <img src=y> *a* `b` \\c_d"
    assert descriptions.markdown_text(hostile) == (
        "x\\](http://evil) \\<img src=y\\> \\*a\\* \\`b\\` \\\\c\\_d"
    )
    assert descriptions.markdown_text("two\nlines") == "two lines"
    assert descriptions.code("exports/[x](http://evil)") == "`exports/[x](http://evil)`"
    assert descriptions.code("a `b` c") == "``a `b` c``"
    assert descriptions.code("`a`") == "`` `a` ``"
    verdict = descriptions.verdict(promoted=False, alias="champion", reason="[see](http://x)")
    assert verdict == "**not promoted to @champion**: \\[see\\](http://x)"


def test_a_list_folder_with_markdown_in_its_name_is_a_code_span():
    manifest = {
        "as_of": "2025-11-01",
        "latest_event": "2025-10-31",
        "customers": 10,
        "tiers": {"high": 1, "medium": 2, "low": 7},
        "revenue_at_risk": 12.5,
        "currency": "EUR",
        "contact": {"contacts": 3, "capacity": 5},
        "drifted_features": [],
    }
    text = descriptions.scoring_description(
        manifest, folder="out/<b>[x](y)</b>`", version_link="v1"
    )
    assert text.endswith("- Files: `` out/<b>[x](y)</b>` ``")
