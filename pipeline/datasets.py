"""Feature frames the steps need: labelled rows for training, current rows for scoring."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis.expr.types as ir
import pandas as pd

from features.build import KEYS, build_features, cutoff_batches, cutoff_table, to_frame
from features.spec import FeatureSpec
from models.labels import ChurnDefinition, eligible_customers, label_churn

EVENT_COLUMNS = {"engagement": "timestamp", "purchases": "timestamp", "support": "opened_at"}


def data_span(tables: dict[str, ir.Table]) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First event and the end of the data: midnight after the day of the latest event."""
    firsts, lasts = [], []
    for name, column in EVENT_COLUMNS.items():
        if name in tables:
            t = tables[name]
            row = t.aggregate(first=t[column].min(), last=t[column].max()).execute().iloc[0]
            if pd.notna(row["last"]):
                firsts.append(pd.Timestamp(row["first"]))
                lasts.append(pd.Timestamp(row["last"]))
    if not lasts:
        c = tables["customers"]
        row = c.aggregate(first=c.signup_at.min(), last=c.signup_at.max()).execute().iloc[0]
        firsts, lasts = [pd.Timestamp(row["first"])], [pd.Timestamp(row["last"])]
    return min(firsts), max(lasts).normalize() + pd.Timedelta(days=1)


def labelled_features(
    tables: dict[str, ir.Table],
    cutoffs: list[pd.Timestamp],
    spec: FeatureSpec,
    *,
    definition: ChurnDefinition,
    data_end: pd.Timestamp,
) -> pd.DataFrame:
    """Features and churn labels for every eligible, gradable (customer, cutoff)."""
    customers = int(tables["customers"].count().execute())
    parts = []
    for batch in cutoff_batches(cutoffs, customers):
        features = build_features(tables, batch, spec)
        labels = label_churn(tables, cutoff_table(batch), definition, data_end.to_pydatetime())
        parts.append(features.join(labels, list(KEYS)))
    return to_frame(parts)


def scoring_features(
    tables: dict[str, ir.Table],
    as_of: pd.Timestamp,
    spec: FeatureSpec,
    *,
    definition: ChurnDefinition,
) -> pd.DataFrame:
    """Features as of one date for every customer eligible under the churn definition."""
    features = build_features(tables, [as_of], spec)
    eligible = eligible_customers(tables, cutoff_table([as_of]), definition)
    return to_frame(features.join(eligible, list(KEYS)))


def attach_truth(frame: pd.DataFrame, truth_file: str) -> pd.DataFrame:
    """Add the simulator's true churn probability where a truth file exists (sample data only)."""
    if not truth_file or not Path(truth_file).exists():
        return frame
    truth = pd.read_csv(truth_file, parse_dates=["month_start"], dtype={"customer_id": str})
    truth = truth.rename(columns={"month_start": "cutoff", "churn_probability": "true_probability"})
    truth["cutoff"] = truth["cutoff"].astype(frame["cutoff"].dtype)
    return frame.merge(
        truth[["customer_id", "cutoff", "true_probability"]], on=list(KEYS), how="left"
    )


def today() -> dt.date:
    """The wall-clock date, read only at the edge."""
    return dt.date.today()
