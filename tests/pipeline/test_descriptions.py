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
