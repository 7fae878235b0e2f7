"""The nightly list on the Spark engine: the model applied on the executors, the list put in
order by Spark and written as Parquet partitioned by risk tier; the driver holds counts, the
contact set and the top of the list, never a row per customer.

A customer's row (probability, contributions, tier, money, reasons, play) depends on that
customer alone, so the DuckDB engine's own code (`models.ranking.list_rows`) runs on each
Arrow batch of the feature query on the executors (`mapInArrow`), with the champion shipped
in the task: one pass for probabilities, contributions and reasons (MLflow's `spark_udf`
would return the model's output columns only, and reasons need them beside the features).

The order is one more pass. Probabilities are rounded to 4 decimals, so there are at most
10,001 of them: their counts (a small result) give each probability's first rank on the
driver, and a window per probability orders its ties by revenue at risk and customer, as
LIST_ORDER says. No window over the whole list (one task would hold every row) and no range
partitioning (its sampled bounds could differ if a stage were recomputed). The contact set
is the top `capacity` of the candidates (Spark's take-ordered, per partition then merged).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from models.arms import ArmDraw
from models.plays import PlaySettings
from models.ranking import (
    CONTACT_ORDER,
    LIST_ORDER,
    MONEY,
    TIERS,
    ListSettings,
    arm_summary,
    list_rows,
)
from models.reason_rules import ReasonSettings
from pipeline.outputs import write_csv
from pipeline.score.manifest import ListCounts, by_count

TOP_ROWS = 10_000
"""The top of the list written as CSV beside the full Parquet list: what a person reads in a
spreadsheet (the contact set has its own CSV)."""

UNROUNDED = "_revenue_at_risk_unrounded"
"""Revenue at risk before rounding: the order and the contact set use it, as on DuckDB; it is
not written."""


def row_schema(features: pa.Schema, k: int, profile_columns: list[str]) -> pa.Schema:
    """The Arrow schema of `list_rows`' output (plus the unrounded revenue at risk), the
    profile columns typed as the feature query declares them."""
    fields = [
        pa.field("customer_id", pa.string()),
        pa.field("churn_probability", pa.float64()),
        pa.field("risk_tier", pa.string()),
        pa.field("monthly_revenue", pa.float64()),
        pa.field("revenue_at_risk", pa.float64()),
        *(pa.field(f"reason_{i + 1}", pa.string()) for i in range(k)),
        pa.field("reason_features", pa.list_(pa.string())),
        pa.field("suggested_play", pa.string()),
        *(features.field(c) for c in profile_columns if c in features.names),
        pa.field(UNROUNDED, pa.float64()),
    ]
    return pa.schema(fields)


@dataclass(frozen=True)
class ListRecipe:
    """Everything an executor needs to turn feature rows into list rows: the model, how
    reasons, plays and tiers are chosen, and the Arrow schemas in and out."""

    model: Any
    reasons: ReasonSettings
    plays: PlaySettings
    settings: ListSettings
    profile_columns: list[str]
    features: pa.Schema
    rows: pa.Schema

    def apply(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """List rows per batch of feature rows, typed as the feature query declares them
        (what `to_frame` gives the DuckDB engine), money rounded as `order_list` rounds it."""
        for batch in batches:
            if batch.num_rows == 0:
                continue
            table = pa.Table.from_batches([batch]).select(self.features.names)
            frame = table.cast(self.features).to_pandas()
            probability, contributions = self.model.scores(frame)
            rows = list_rows(
                frame,
                probability,
                contributions,
                reasons=self.reasons,
                plays=self.plays,
                settings=self.settings,
                profile_columns=self.profile_columns,
            )
            rows[UNROUNDED] = rows["revenue_at_risk"]
            rows = rows.round(dict.fromkeys(MONEY, 2))
            out = pa.Table.from_pandas(rows, schema=self.rows, preserve_index=False)
            yield from out.to_batches()


ROWS_PER_TASK = 50_000
"""Customers scored per task at most. Each task unpickles the model and lays out its trees
before its first batch, so many small tasks cost more than they score: the feature query's
partitions (shuffle partitions, 200 by default) are merged down to this size."""


def scored_rows(features: Any, recipe: ListRecipe, customers: int) -> Any:
    """The list rows of every customer in `features` (a Spark DataFrame of `customers` rows),
    not in order."""
    from pyspark.sql.pandas.types import from_arrow_schema

    tasks = max(1, -(-customers // ROWS_PER_TASK))
    if features.rdd.getNumPartitions() > tasks:
        features = features.coalesce(tasks)
    return features.mapInArrow(recipe.apply, from_arrow_schema(recipe.rows))


def _columns(order: tuple[tuple[str, bool], ...]) -> list[Any]:
    """Spark sort columns for an order of (column, ascending), on unrounded money."""
    from pyspark.sql import functions as F

    named = [(UNROUNDED if c == "revenue_at_risk" else c, up) for c, up in order]
    return [F.col(c).asc() if up else F.col(c).desc() for c, up in named]


def ranked_rows(rows: Any) -> Any:
    """`rows` with `rank` (1 = most likely to churn) in LIST_ORDER."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    probability, ascending = LIST_ORDER[0]
    counts = rows.groupBy(probability).count().toPandas()
    counts = counts.sort_values(probability, ascending=ascending, ignore_index=True)
    counts["first_rank"] = counts["count"].cumsum() - counts["count"] + 1
    firsts = rows.sparkSession.createDataFrame(counts[[probability, "first_rank"]])
    ties = Window.partitionBy(probability).orderBy(*_columns(LIST_ORDER[1:]))
    rank = F.col("first_rank") + F.row_number().over(ties) - 1
    return rows.join(F.broadcast(firsts), probability).withColumn("rank", rank.cast("long"))


def contact_set(ranked: Any, settings: ListSettings, draw: ArmDraw) -> pd.DataFrame:
    """The customers to contact first, their order and arm (customer_id, risk_tier,
    contact_order, contact_arm), chosen as `models.ranking.mark_contacts` chooses them and
    drawn as `models.ranking.with_arms` draws them."""
    from pyspark.sql import functions as F

    empty = pd.DataFrame(
        {
            "customer_id": pd.Series([], dtype=str),
            "risk_tier": pd.Series([], dtype=str),
            "contact_order": pd.Series([], dtype=np.int64),
            "contact_arm": pd.Series([], dtype=str),
        }
    )
    if settings.capacity <= 0:
        return empty
    candidates = ranked.filter(F.col("churn_probability") >= settings.floor)
    if settings.capacity_rank_by == "probability":
        order = LIST_ORDER
    else:
        order = CONTACT_ORDER
        candidates = candidates.withColumn("not_high", F.col("risk_tier") != "high")
    picked = candidates.orderBy(*_columns(order)).limit(settings.capacity)
    chosen = picked.select("customer_id", "risk_tier").toPandas()
    if chosen.empty:
        return empty
    chosen["contact_order"] = np.arange(1, len(chosen) + 1, dtype=np.int64)
    chosen["contact_arm"] = draw.arms(chosen)
    return chosen


def with_contacts(ranked: Any, contacts: pd.DataFrame) -> Any:
    """`contact_first`, `contact_order` and `contact_arm` (empty outside the contact set)."""
    from pyspark.sql import functions as F

    if contacts.empty:
        return (
            ranked.withColumn("contact_first", F.lit(False))
            .withColumn("contact_order", F.lit(None).cast("long"))
            .withColumn("contact_arm", F.lit(None).cast("string"))
        )
    schema = "customer_id string, contact_order long, contact_arm string"
    chosen = ranked.sparkSession.createDataFrame(
        contacts[["customer_id", "contact_order", "contact_arm"]], schema=schema
    )
    joined = ranked.join(F.broadcast(chosen), "customer_id", "left")
    return joined.withColumn("contact_first", F.col("contact_order").isNotNull())


def with_previous(ranked: Any, previous: pd.DataFrame | None) -> Any:
    """`previous_tier`, `previous_probability` and `new_in_tier` against the most recent
    earlier list (its customer_id, risk_tier, churn_probability), as
    `models.ranking.compare_with_previous` has them."""
    from pyspark.sql import functions as F

    if previous is None:
        return (
            ranked.withColumn("previous_tier", F.lit(None).cast("string"))
            .withColumn("previous_probability", F.lit(None).cast("double"))
            .withColumn("new_in_tier", F.lit(True))
        )
    before = pd.DataFrame(
        {
            "customer_id": previous["customer_id"].astype(str),
            "previous_tier": previous["risk_tier"].astype(str),
            "previous_probability": previous["churn_probability"].astype(float),
        }
    ).drop_duplicates("customer_id")
    schema = "customer_id string, previous_tier string, previous_probability double"
    earlier = ranked.sparkSession.createDataFrame(before, schema=schema)
    joined = ranked.join(earlier, "customer_id", "left")
    return joined.withColumn("new_in_tier", ~F.col("previous_tier").eqNullSafe(F.col("risk_tier")))


def list_columns(rows_schema: pa.Schema) -> list[str]:
    """The written list's columns, in the DuckDB engine's order."""
    listed = [n for n in rows_schema.names if n != UNROUNDED]
    return ["rank", *listed, "contact_first", "contact_order", "contact_arm", *PREVIOUS]


PREVIOUS = ("previous_tier", "previous_probability", "new_in_tier")


@dataclass(frozen=True)
class SparkList:
    """A ranked list on Spark (`frame`, cached: it is read for counts, CSVs and the Parquet
    list) with what the driver holds of it."""

    frame: Any
    columns: list[str]
    contacts: pd.DataFrame

    def counts(
        self, settings: ListSettings, draw: ArmDraw | None = None
    ) -> tuple[ListCounts, dict[str, Any]]:
        """The manifest's counts and the contact summary (`models.ranking.contact_summary`),
        from one aggregation and one group-by."""
        from pyspark.sql import functions as F

        money = F.col("revenue_at_risk")
        high = F.col("risk_tier") == "high"
        contact = F.col("contact_first")
        sums = [
            F.count(F.lit(1)).alias("customers"),
            F.sum(money).alias("revenue"),
            F.sum(F.when(contact, money)).alias("covered"),
            F.count(F.when(contact, 1)).alias("contacts"),
            F.count(F.when(F.col("churn_probability") >= settings.floor, 1)).alias("floor"),
            F.count(F.when(high & ~contact, 1)).alias("outside"),
            *(F.count(F.when(F.col("risk_tier") == t, 1)).alias(t) for t in TIERS),
        ]
        row = self.frame.agg(*sums).collect()[0].asDict()
        plays = self.frame.groupBy("suggested_play").count().toPandas()
        total, covered = float(row["revenue"] or 0.0), float(row["covered"] or 0.0)
        counts = ListCounts(
            customers=int(row["customers"]),
            tiers={t: int(row[t]) for t in TIERS},
            plays=by_count({str(k): int(v) for k, v in plays.itertuples(index=False)}),
            revenue_at_risk=total,
        )
        summary = {
            "capacity": int(settings.capacity),
            "rank_by": settings.capacity_rank_by,
            "ranking": settings.contact_ranking.record(),
            "floor": float(settings.floor),
            "contacts": int(row["contacts"]),
            "above_floor": int(row["floor"]),
            "high_tier": int(row["high"]),
            "high_tier_outside": int(row["outside"]),
            "revenue_at_risk": round(covered, 2),
            "share_of_revenue_at_risk": round(covered / total, 4) if total > 0 else 0.0,
            **arm_summary(self.contacts, draw),
        }
        return counts, summary

    def changes(self, previous: pd.DataFrame | None) -> dict[str, int]:
        """`models.ranking.tier_changes` counted on Spark."""
        from pyspark.sql import functions as F

        if previous is None:
            return {}
        was_high = previous.loc[previous["risk_tier"] == "high", "customer_id"].astype(str)
        high, before = F.col("risk_tier") == "high", F.col("previous_tier") == "high"
        row = self.frame.agg(
            F.count(F.when(high, 1)).alias("now"),
            F.count(F.when(high & before, 1)).alias("still"),
            F.count(F.when(before, 1)).alias("listed"),
        ).collect()[0]
        was = was_high.nunique()
        return {
            "newly_high": int(row["now"] - row["still"]),
            "left_high": int(was - row["still"]),
            "left_high_not_listed": int(was - row["listed"]),
            "still_high": int(row["still"]),
        }

    def probabilities(self) -> np.ndarray:
        """Every customer's probability (8 bytes a customer), for the monitoring run's
        distribution plot and quantiles."""
        return self.frame.select("churn_probability").toPandas()["churn_probability"].to_numpy()

    def top(self, n: int = TOP_ROWS) -> pa.Table:
        """The first `n` rows of the list, in order."""
        from pyspark.sql import functions as F

        head = self.frame.filter(F.col("rank") <= n).orderBy("rank").select(*self.columns)
        return head.toArrow()

    def write(self, folder: Path) -> None:
        """The full list as at_risk.parquet/ (a folder of part files per risk_tier=...,
        each part in rank order), the contact set as contacts.csv (in contact order) and the
        top of the list as at_risk_top.csv, into `folder`, which every executor must reach
        under the same path."""
        from pyspark.sql import functions as F

        ordered = self.frame.select(*self.columns).sortWithinPartitions("rank")
        ordered.write.partitionBy("risk_tier").parquet(str(folder / "at_risk.parquet"))
        chosen = self.frame.filter(F.col("contact_first")).orderBy("contact_order")
        write_csv(chosen.select(*self.columns).toArrow(), folder / "contacts.csv")
        write_csv(self.top(), folder / "at_risk_top.csv")


def spark_list(
    features: Any,
    recipe: ListRecipe,
    previous: pd.DataFrame | None,
    *,
    customers: int,
    draw: ArmDraw,
) -> SparkList:
    """Today's ranked list on Spark from the feature rows (`customers` of them): scored on the
    executors, ranked, the contact set marked, compared with the previous list; cached, since
    the counts, the CSVs and the Parquet list all read it."""
    settings = recipe.settings
    rows = scored_rows(features, recipe, customers).cache()
    ranked = ranked_rows(rows)
    contacts = contact_set(ranked, settings, draw)
    frame = with_previous(with_contacts(ranked, contacts), previous)
    frame = frame.select(*list_columns(recipe.rows)).cache()
    frame.count()  # filled from the cached rows, before they go: the model runs once
    rows.unpersist()
    return SparkList(frame, list_columns(recipe.rows), contacts)
