"""What the nightly list's checks and drift need from today's features, counted on Spark.

On the DuckDB engine the feature rows are in memory and `models.drift` counts them with
pandas. On Spark they stay on the executors: one group-by over the numeric features unpivoted
to (feature, value) rows gives the same counts (each feature's rows per training bin, and
those with a value other than 0), and a group-by per categorical feature its shares, so the
driver receives a few thousand numbers instead of a row per customer. The PSI and the
refusals are then computed from those counts by the same functions as on DuckDB
(`stability_from_shares`, `check_feature_counts`).
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
    reference profile: numeric bin edges or categorical shares).

    The numeric features are unpivoted to (feature, value) rows and counted by (feature, bin)
    in one group-by: a constant handful of expressions, where one count per feature and bin
    edge (about 1,000 for the model's 108 features) took Spark 99 s to plan and run on 815
    customers, against 11 s for one count per feature."""

    present = set(frame.columns)
    numeric = {n: p for n, p in profile.items() if n in present and p["kind"] == "numeric"}
    names = list(dict.fromkeys([*(n for n in active if n in present), *numeric]))
    rows = frame.count()
    out = FeatureCounts(columns=list(frame.columns), rows=rows, active={}, shares={})
    if names:
        counted = _binned(frame, names, {n: inner_edges(numeric[n]["edges"]) for n in numeric})
        share = 1.0 / max(rows, 1)
        for i, name in enumerate(names):
            mine = counted[counted["feature"] == i]
            if name in active and rows:
                out.active[name] = float(mine["active"].sum()) * share
            if name in numeric:
                out.shares[name] = _numeric_shares(mine, numeric[name]["edges"], rows)
    for name, ref in profile.items():
        if name in present and ref["kind"] != "numeric":
            out.shares[name] = _category_shares(frame, name, rows)
    return out


def _binned(frame: Any, names: list[str], edges: dict[str, list[float]]) -> pd.DataFrame:
    """Rows per (feature position in `names`, bin), with how many of them hold a value other
    than 0; bin -1 holds the missing values, bin k the values at or above k inner edges."""
    from pyspark.sql import functions as F

    pairs = [
        F.struct(F.lit(i).alias("f"), _number(frame, n).alias("v")) for i, n in enumerate(names)
    ]
    long = frame.select(F.explode(F.array(*pairs)).alias("x")).select("x.f", "x.v")
    bounds = F.create_map(
        *(
            part
            for i, n in enumerate(names)
            for part in (
                F.lit(i),
                F.array(*(F.lit(float(e)) for e in edges.get(n, []))).cast("array<double>"),
            )
        )
    )
    above = F.size(F.filter(F.element_at(bounds, F.col("f")), lambda e: F.col("v") >= e))
    binned = long.select(
        F.col("f").alias("feature"),
        F.when(F.col("v").isNull(), F.lit(-1)).otherwise(above).alias("bin"),
        (F.col("v") != 0).alias("on"),
    )
    counts = binned.groupBy("feature", "bin").agg(
        F.count(F.lit(1)).alias("rows"), F.count(F.when(F.col("on"), 1)).alias("active")
    )
    return counts.toPandas()


def _numeric_shares(counted: pd.DataFrame, edges: list[float], rows: int) -> list[float]:
    """[missing, share per bin] as `models.drift` lays them out, from (bin, rows) counts."""
    by_bin = dict(zip(counted["bin"].astype(int), counted["rows"].astype(int), strict=True))
    share = 1.0 / max(rows, 1)
    missing = by_bin.get(-1, 0) * share
    if len(edges) < 2:
        return [missing, 1.0 - missing]
    return [missing, *(by_bin.get(k, 0) * share for k in range(len(edges) - 1))]


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
