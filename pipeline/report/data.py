"""What the retention report reads from the world: the customers, who was a customer at each
month boundary (the population rule), the labels of every whole month under the configured
churn definition, the at-risk lists written so far, and the outcome of a list's horizon."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from features.build import cutoff_table
from features.exports.contract import ProfileColumns
from features.population import active_customers
from models.labels import ChurnDefinition, label_churn
from models.retention import MONTH, month_starts, tenure_band
from pipeline.outputs import dated_lists, list_column_names, read_list_file

log = logging.getLogger(__name__)
LIST_COLUMNS = ("customer_id", "churn_probability", "risk_tier", "contact_first")
ARM_COLUMNS = ("contact_arm", "contact_order", "suggested_play", "monthly_revenue")
"""What the saves read besides LIST_COLUMNS (lists before the control group lack the arm)."""


@dataclass(frozen=True)
class History:
    """The customer base month by month."""

    months: list[pd.Timestamp]  # first days of the whole months in the data
    data_start: pd.Timestamp
    data_end: pd.Timestamp
    customers: pd.DataFrame  # customer_id, signup_at, churned_at and the profile columns
    active: pd.DataFrame  # (customer_id, cutoff) of customers at each month boundary
    rows: pd.DataFrame  # labelled (customer_id, cutoff, churned) with customer columns, tenure


def customer_history(
    tables: dict[str, ir.Table],
    span: tuple[pd.Timestamp, pd.Timestamp],
    *,
    definition: ChurnDefinition,
    profile: ProfileColumns,
) -> History:
    """Customers, month-boundary populations and monthly labels over the data's `span`."""
    start, end = span
    months = month_starts(start, end)
    columns = ["customer_id", "signup_at", "churned_at", *profile.all]
    customers = tables["customers"].select(*columns).execute()
    if not months:
        empty = pd.DataFrame(columns=["customer_id", "cutoff", "churned"])
        return History(months, start, end, customers, empty, empty)
    boundaries = cutoff_table([*months, months[-1] + MONTH])
    active = active_customers(tables["customers"], boundaries).select("customer_id", "cutoff")
    labels = label_churn(tables, cutoff_table(months), definition, end.to_pydatetime())
    rows = labels.execute().merge(customers, on="customer_id")
    rows["tenure"] = tenure_band(rows["signup_at"], rows["cutoff"])
    return History(months, start, end, customers, active.execute(), rows)


def outcomes(
    tables: dict[str, ir.Table], as_of: pd.Timestamp, *, definition: ChurnDefinition, end
) -> pd.DataFrame:
    """Who churned in the horizon after `as_of` (customer_id, churned), observed only in the
    data after it; customers without a known outcome are absent."""
    labels = label_churn(tables, cutoff_table([as_of]), definition, end.to_pydatetime())
    return labels.select("customer_id", "churned").execute()


@dataclass(frozen=True)
class Lists:
    """The lists written so far up to the report's date: the latest in full, the one before
    it (for what changed), and every one's date and folder (to grade)."""

    latest: tuple[pd.Timestamp, pd.DataFrame] | None
    earlier: tuple[pd.Timestamp, pd.DataFrame] | None
    folders: list[tuple[pd.Timestamp, Path]]


def read_list(folder: Path, columns=None, optional=()) -> pd.DataFrame | None:
    """One list's rows (or None, logged, when it cannot be read), with those of the
    `optional` columns it holds (lists written before a column existed lack it)."""
    try:
        if optional:
            held = set(list_column_names(folder))
            columns = [*columns, *(c for c in optional if c in held)]
        return read_list_file(folder, columns)
    except (OSError, ValueError, KeyError, pa.ArrowException) as error:
        log.warning("%s: cannot read the list (%s)", folder, " ".join(str(error).split()))
        return None


def _readable(folder: Path) -> bool:
    """Whether a list's file can be opened (its schema read; logged when not)."""
    try:
        list_column_names(folder)
    except (OSError, ValueError, KeyError, pa.ArrowException) as error:
        log.warning("%s: cannot read the list (%s)", folder, " ".join(str(error).split()))
        return False
    return True


def at_risk_lists(output_dir: Path, until: pd.Timestamp) -> Lists:
    """The readable lists dated on or before `until`, oldest first (an unreadable one is
    logged and is no list: not counted, not graded)."""
    folders = sorted((d, f) for d, f in dated_lists(output_dir) if d <= until and _readable(f))
    readable, broken = [], set()
    for when, folder in reversed(folders):
        frame = read_list(folder)
        if frame is None:
            broken.add(folder)
        else:
            readable.append((when, frame))
        if len(readable) == 2:
            break
    latest = readable[0] if readable else None
    earlier = readable[1] if len(readable) > 1 else None
    return Lists(latest, earlier, [(d, f) for d, f in folders if f not in broken])
