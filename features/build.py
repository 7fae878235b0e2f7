"""Assemble per-(customer, cutoff) feature vectors from the families, for any list of cutoffs.

Training passes many monthly cutoffs, nightly scoring one; both go through `build_features`,
so the model is scored on exactly what it was trained on. Each family is one grouped query
over its rows joined to all cutoffs at once, so twelve cutoffs share one scan (the direct
plan). Features whose aggregate is decomposable (features/rollup.py) are read instead from a
per-customer rollup computed once for all the cutoffs, when the cutoffs allow it (the rollup
plan, `plan_rollups`); `feature_queries` shares one rollup among every batch of cutoffs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from features.coverage import held_values
from features.exports.contract import TIMELINES
from features.expressions import Cutoffs
from features.family import Family
from features.population import active_customers
from features.registry import families, feature_catalogue
from features.rollup import ActiveDaySpan, at_midnight, decomposable
from features.spec import Feature, FeatureSettings, FeatureSpec

KEYS = ("customer_id", "cutoff")
ROW_ORDER = tuple(reversed(KEYS))
"""How feature rows come out, in memory or on disk: by cutoff, then customer."""
# Above this many (customer, cutoff) pairs, cutoffs are built in separate queries: the
# engine's grouping state holds every aggregate of every pair of a query (about 2 GB at
# 500,000 pairs and some 130 aggregates, under 1 GB at 250,000, for about the same time).
MAX_PAIRS_PER_QUERY = 250_000


def resolve_spec(
    tables: dict[str, ir.Table], settings: FeatureSettings, profile_columns
) -> FeatureSpec:
    """Fix the data-dependent parts of the feature set: which optional tables the exports have
    and the most frequent event types (none without engagement events)."""
    return FeatureSpec(
        settings=settings,
        event_types=_top_event_types(tables.get("engagement"), settings.top_event_types),
        profile=profile_columns,
        tables=tuple(t for t in TIMELINES if t in tables),
    )


def _top_event_types(events: ir.Table | None, count: int) -> tuple[str, ...]:
    if events is None:
        return ()
    top = (
        events.group_by("event_type")
        .aggregate(n=events.count())
        .order_by([ibis.desc("n"), "event_type"])
        .limit(count)
        .execute()
    )
    return tuple(str(v) for v in top["event_type"])


def cutoff_table(cutoffs: Sequence[dt.datetime | dt.date | pd.Timestamp]) -> ir.Table:
    """An in-memory table of the cutoff timestamps (midnight when given dates)."""
    return Cutoffs.of(cutoffs).table


Rollups = dict[str, ActiveDaySpan]
"""The rollups a build reads, by family name; a family without one is on the direct plan."""


def plan_rollups(tables: dict[str, ir.Table], cutoffs: Cutoffs, spec: FeatureSpec) -> Rollups:
    """A rollup for every family with decomposable features, when the rollup plan pays and
    is exact: more than one cutoff (for one, the direct query reads each row once anyway) and
    every cutoff at midnight (a rollup counts calendar days, and only at midnight do the
    windows' edges fall on them). Empty otherwise: every family on the direct plan."""
    if len(cutoffs.stamps) < 2 or not at_midnight(cutoffs):
        return {}
    rollups = {}
    for family in families(spec):
        if family.source is None or not any(map(decomposable, family.declare(spec))):
            continue
        source = family.source
        rows = tables[source.table]
        rollups[family.name] = ActiveDaySpan.of(
            rows, source.timestamp, cutoffs, source.lookback_days
        )
    return rollups


def family_aggregates(
    family: Family,
    rows: ir.Table,
    cutoffs: Cutoffs,
    spec: FeatureSpec,
    rollup: ActiveDaySpan | None = None,
) -> ir.Table:
    """One family's declared aggregates, one row per (customer, cutoff) with any history.

    With a `rollup`, its decomposable features are read from it and the rest grouped over
    the joined rows as usual; without one, every feature is grouped over the joined rows."""
    t = family.joined(rows, cutoffs)
    by_rows: dict[Callable | None, dict[str, Feature]] = {}
    rolled: list[Feature] = []
    for feature in family.declare(spec):
        if feature.aggregate is None:
            continue
        if rollup is not None and feature.rows is None and decomposable(feature):
            rolled.append(feature)
        else:
            by_rows.setdefault(feature.rows, {})[feature.name] = feature
    main = t.group_by(list(KEYS)).aggregate(
        **{name: f.aggregate(t) for name, f in by_rows.pop(None, {}).items()}
    )
    extras = []
    for keep, features in by_rows.items():
        subset = t.filter(keep(t))
        extras.append(
            subset.group_by(list(KEYS)).aggregate(
                **{name: f.aggregate(subset) for name, f in features.items()}
            )
        )
    if rolled:
        # The rollup's rows are the (customer, cutoff) pairs with a row in the lookback,
        # the same pairs as the grouping's, so a left join loses nothing.
        extras.append(rollup.read(rolled, cutoffs))
    for extra in extras:
        names = [c for c in extra.columns if c not in KEYS]
        main = main.left_join(extra, list(KEYS)).select(main, *[extra[n] for n in names])
    return main


History = Mapping[str, pd.Timestamp]
"""Each event table's first exported day (features/coverage.py: `first_exported_days`)."""


def build_features(
    tables: dict[str, ir.Table],
    cutoffs: Sequence[dt.datetime | dt.date | pd.Timestamp],
    spec: FeatureSpec,
    rollups: Rollups | None = None,
    history: History | None = None,
) -> ir.Table:
    """One row per (customer active at cutoff, cutoff) with every feature of the spec.

    Only rows strictly before each cutoff are read. Counts are 0 for customers without
    history; values that are unknown (e.g. days since a ticket that never happened) are null.
    `rollups`: the families' rollups covering these cutoffs (`plan_rollups`, possibly for a
    longer list that contains them); by default the builder plans its own, and `{}` keeps
    every family on the direct plan. Both plans give the same features. `history`: each
    event table's first exported day; a window reaching before it is scaled or missing
    (features/coverage.py). None: the exports hold every customer's whole history.
    """
    cut = Cutoffs.of(cutoffs)
    if rollups is None:
        rollups = plan_rollups(tables, cut, spec)
    row = active_customers(tables["customers"], cut.table)
    catalogue = feature_catalogue(spec)
    for family in families(spec):
        if family.table is None:
            continue  # derived from the customer row only (the profile)
        rollup = rollups.get(family.name)
        agg = family_aggregates(family, tables[family.table], cut, spec, rollup)
        names = [f.name for f in family.declare(spec) if f.aggregate]
        row = row.left_join(agg, list(KEYS)).select(row, *[agg[n] for n in names])
    fills = {
        f.name: row[f.name].fill_null(f.fill)
        for f in catalogue
        if f.aggregate and f.fill is not None
    }
    row = row.mutate(**fills)
    if history:
        tables_of = {f.name: f.table for f in families(spec) if f.table}
        aggregated = [f for f in catalogue if f.aggregate]
        held = held_values(row, aggregated, history, tables_of, cut.stamps[0])
        if held:
            row = row.mutate(**held)
    row = _derive_in_layers(row, [f for f in catalogue if f.derive is not None])
    return row.select(*KEYS, *[f.name for f in catalogue])


def _derive_in_layers(row: ir.Table, derived: list[Feature]) -> ir.Table:
    """Add derived features in as few projections as their declared inputs allow: every one
    whose inputs already exist goes into the same mutate (each extra projection costs Ibis a
    select-merging pass at compile time)."""
    pending = list(derived)
    while pending:
        have = set(row.columns)
        ready = [f for f in pending if set(f.inputs) <= have]
        if not ready:
            missing = {f.name: sorted(set(f.inputs) - have) for f in pending}
            raise ValueError(f"derived features read columns that never exist: {missing}")
        row = row.mutate(**{f.name: f.derive(row) for f in ready})
        done = {f.name for f in ready}
        pending = [f for f in pending if f.name not in done]
    return row


def cutoff_batches(
    cutoffs: Sequence[dt.datetime | dt.date | pd.Timestamp],
    customers: int,
    max_pairs: int = MAX_PAIRS_PER_QUERY,
) -> list[list]:
    """Cutoffs in consecutive batches of at most about `max_pairs` (customer, cutoff) pairs.

    One query over many cutoffs shares the scan, but its grouping state grows with
    customers x cutoffs; past a size, separate queries per batch are faster and keep memory
    bounded. Small data (the sample: 5,000 customers x 24 cutoffs) stays one query.
    """
    ordered = sorted(cutoffs)
    size = max(1, max_pairs // max(customers, 1))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def feature_queries(
    tables: dict[str, ir.Table],
    cutoffs: Sequence[dt.datetime | dt.date | pd.Timestamp],
    spec: FeatureSpec,
    customers: int,
    max_pairs: int = MAX_PAIRS_PER_QUERY,
    history: History | None = None,
) -> list[tuple[list, ir.Table]]:
    """The features of every cutoff as (batch of cutoffs, query) pairs (`cutoff_batches`),
    the queries reading one set of rollups planned for all the cutoffs. With more than one
    batch the rollups are computed once, now, by the engine and kept there for the queries."""
    batches = cutoff_batches(cutoffs, customers, max_pairs)
    rollups = plan_rollups(tables, Cutoffs.of(cutoffs), spec)
    if len(batches) > 1:
        rollups = {name: rollup.cached() for name, rollup in rollups.items()}
    return [(batch, build_features(tables, batch, spec, rollups, history)) for batch in batches]


def to_frame(features: ir.Table | Sequence[ir.Table]) -> pd.DataFrame:
    """Execute feature queries (one, or one per batch of cutoffs) and return them as one
    pandas frame, sorted by cutoff and customer."""
    parts = [features] if isinstance(features, ir.Table) else list(features)
    table = pa.concat_tables([p.to_pyarrow() for p in parts])
    # Sorted by Arrow (stable) and converted column by column, releasing each as it goes:
    # the rows are held about twice at most, not three or four times.
    table = table.sort_by([(key, "ascending") for key in ROW_ORDER])
    return table.to_pandas(self_destruct=True, split_blocks=True)


@dataclass(frozen=True)
class ParquetBatch:
    """One feature query's rows on disk, and the Arrow schema its query declares (the
    engine may write narrower types, e.g. int8 for a small count)."""

    path: Path
    schema: pa.Schema

    def read(self) -> pa.Table:
        """The rows, typed as the query declares them and sorted as `to_frame` sorts them. An
        engine may write a folder of part files (Spark does) instead of one file."""
        table = pq.read_table(self.path).cast(self.schema)
        if self.path.is_dir():  # parts: their order is the engine's, not the query's
            table = table.sort_by([(key, "ascending") for key in ROW_ORDER])
        return table


def write_batches(
    features: Sequence[ir.Table],
    folder: Path,
    *,
    observe: Callable[[pa.RecordBatch], None] | None = None,
    observed: Sequence[str] | None = None,
) -> list[ParquetBatch]:
    """Execute each feature query (one per batch of cutoffs) by the engine straight into its
    own Parquet file in `folder`, rows sorted by cutoff and customer as `to_frame` sorts
    them; returns the files in the queries' order. No batch passes through Python memory
    whole, so many cutoffs never sit there together; `observe`, when given, sees each file's
    rows (its `observed` columns, all by default) record batch by record batch."""
    folder.mkdir(parents=True, exist_ok=True)
    batches = []
    for number, query in enumerate(features):
        path = folder / f"batch-{number:04d}.parquet"
        query.order_by(list(ROW_ORDER)).to_parquet(path)
        if observe is not None:
            columns = list(observed) if observed is not None else None
            for batch in pads.dataset(path, format="parquet").to_batches(columns=columns):
                observe(batch)
        batches.append(ParquetBatch(path, query.schema().to_pyarrow()))
    return batches
