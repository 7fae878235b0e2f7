"""The Spark list's order and contact set are the in-memory list's, ties included: equal
probabilities ordered by revenue at risk, then customer id (the run's one Spark session)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.arms import ArmDraw, ContactSettings
from models.ranking import ListSettings, order_list, risk_tier, with_arms
from pipeline.score.spark_list import UNROUNDED, contact_set, ranked_rows, with_contacts


@pytest.mark.parametrize("rank_by", ["revenue", "probability"])
def test_ties_are_ranked_and_contacts_chosen_as_in_memory(spark, rank_by):
    rng = np.random.default_rng(5)
    n = 400
    probability = rng.choice([0.05, 0.12, 0.31, 0.5], n)  # four values: every row ties
    revenue = rng.choice([0.0, 10.0, 25.5], n) * probability  # and most share their money
    rows = pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in rng.permutation(n)],
            "churn_probability": probability,
            "risk_tier": risk_tier(probability, 0.3, 0.1),
            "revenue_at_risk": revenue,
        }
    )
    settings = ListSettings(capacity=40, capacity_rank_by=rank_by)
    draw = ArmDraw(ContactSettings(control_share=0.25), pd.Timestamp("2026-11-01"))
    expected = with_arms(order_list(rows, settings), draw)
    frame = spark._session.createDataFrame(rows.assign(**{UNROUNDED: revenue}))
    ranked = ranked_rows(frame)
    marked = with_contacts(ranked, contact_set(ranked, settings, draw)).toPandas()
    got = marked.sort_values("rank", ignore_index=True)
    assert got["rank"].tolist() == list(range(1, n + 1))
    assert got["customer_id"].tolist() == expected["customer_id"].tolist()
    assert got["contact_first"].tolist() == expected["contact_first"].tolist()
    chosen = got[got["contact_first"]].sort_values("contact_order")
    wanted = expected[expected["contact_first"]].sort_values("contact_order")
    assert chosen["customer_id"].tolist() == wanted["customer_id"].tolist()
    assert chosen["contact_arm"].tolist() == wanted["contact_arm"].tolist()
    assert len(chosen) == 40
    assert got.loc[~got["contact_first"], "contact_arm"].isna().all()
