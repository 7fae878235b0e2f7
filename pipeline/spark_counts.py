"""What the nightly list's checks and drift need from today's features, counted on Spark.

On the DuckDB engine the feature rows are in memory and `models.drift` counts them with
pandas. On Spark they stay on the executors: one aggregation gives the same counts (rows,
each feature's share of rows with a value, each profiled feature's share per training bin),
and a group-by per categorical feature its shares, so the driver receives a few thousand
numbers instead of a row per customer. The PSI and the refusals are then computed from those
counts by the same functions as on DuckDB (`stability_from_shares`, `check_feature_counts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from models.drift import MISSING, inner_edges


@dataclass(frozen=True)
class FeatureCounts:
    """Today's features in numbers: rows, active share per feature (a value other than 0 or
    missing), and the shares `stability_from_shares` reads per profiled feature."""

    columns: list[str]
    rows: int
    active: dict[str, float]
    shares: dict[str, Any]


def _number(frame: Any, name: str) -> Any:
    """A column as a double, missing (null, NaN or not a number) as null: how pandas'
    `to_numeric(errors="coerce")` and `isna` see it."""
    from pyspark.sql import functions as F

    value = F.col(f"`{name}`").cast("double")
    return F.when(F.isnan(value), None).otherwise(value)


def feature_counts(frame: Any, active: list[str], profile: dict[str, Any]) -> FeatureCounts:
    """Counts of `frame` (a Spark DataFrame of feature rows) for the active-share check of
    the features in `active` and the drift of the features in `profile` (the model's
    reference profile: numeric bin edges or categorical shares)."""
    from pyspark.sql import functions as F

    present = set(frame.columns)
    numeric = {n: p for n, p in profile.items() if n in present and p["kind"] == "numeric"}
    sums = [F.count(F.lit(1)).alias("rows")]
    for i, name in enumerate(n for n in active if n in present):
        value = _number(frame, name)
        sums.append(F.count(F.when(value != 0, 1)).alias(f"a{i}"))
    for i, (name, ref) in enumerate(numeric.items()):
        value = _number(frame, name)
        sums.append(F.count(F.when(value.isNull(), 1)).alias(f"m{i}"))
        for k, edge in enumerate(inner_edges(ref["edges"])):
            sums.append(F.count(F.when(value >= float(edge), 1)).alias(f"e{i}_{k}"))
    counts = frame.agg(*sums).collect()[0].asDict()
    rows = int(counts["rows"])
    share = 1.0 / max(rows, 1)
    actives = [n for n in active if n in present]
    out = FeatureCounts(
        columns=list(frame.columns),
        rows=rows,
        active={n: counts[f"a{i}"] * share for i, n in enumerate(actives)} if rows else {},
        shares={},
    )
    for i, (name, ref) in enumerate(numeric.items()):
        missing = counts[f"m{i}"]
        if len(ref["edges"]) < 2:
            out.shares[name] = [missing * share, 1.0 - missing * share]
            continue
        # counts at or above each inner edge: a bin holds those of its lower edge minus its upper
        above = [rows - missing] + [counts[f"e{i}_{k}"] for k in range(len(ref["edges"]) - 2)]
        bins = [a - b for a, b in zip(above, [*above[1:], 0], strict=True)]
        out.shares[name] = [missing * share, *(b * share for b in bins)]
    for name, ref in profile.items():
        if name in present and ref["kind"] != "numeric":
            out.shares[name] = _category_shares(frame, name, rows)
    return out


def _category_shares(frame: Any, name: str, rows: int) -> dict[str, float]:
    from pyspark.sql import functions as F

    value = F.coalesce(F.col(f"`{name}`").cast("string"), F.lit(MISSING)).alias("value")
    counts = frame.groupBy(value).count().toPandas()
    return {str(v): c / max(rows, 1) for v, c in zip(counts["value"], counts["count"], strict=True)}


def medians(frame: Any, names: list[str]) -> dict[str, float]:
    """Each feature's median over the rows with a value (pandas' `median`), for models saved
    without their training medians."""
    from pyspark.sql import functions as F

    present = [n for n in names if n in frame.columns]
    if not present:
        return {}
    row = frame.agg(*(F.median(_number(frame, n)).alias(f"q{i}") for i, n in enumerate(present)))
    values = row.collect()[0]
    return {n: float(values[i]) for i, n in enumerate(present) if pd.notna(values[i])}
