"""Feature frames the steps need: labelled rows for training, current rows for scoring."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.build import (
    KEYS,
    History,
    build_features,
    cutoff_table,
    feature_queries,
    to_frame,
    write_batches,
)
from features.coverage import first_exported_days
from features.exports.contract import TIMELINES, ExportSource
from features.spec import FeatureSpec
from models.labels import (
    LABEL,
    ChurnDefinition,
    eligible_customers,
    label_churn,
    without_contacted,
)
from models.subsample import WEIGHT, NegativeDraw

SPAN_TABLES = ("engagement", "purchases", "support")
"""The tables whose events set the data's span (survey answers do not: a survey sent after
the last export day would stretch it)."""
EVENT_COLUMNS = {name: TIMELINES[name] for name in SPAN_TABLES}


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


def exported_history(tables: dict[str, ir.Table], exports: ExportSource) -> History:
    """Each event table's first exported day: `[tables.<name>] history_starts` where the
    configuration declares it, else the earliest row's day."""
    declared = {name: t.history_starts for name, t in exports.tables.items()}
    return first_exported_days(tables, TIMELINES, declared)


def held_days(history: History, when: pd.Timestamp) -> dict[str, float]:
    """Per table, how many days before `when` the exports hold (reasons about a longer
    window, or about no activity in it, would read unexported months as silence)."""
    return {name: float((when - start).days) for name, start in history.items()}


def labelled_features(
    tables: dict[str, ir.Table], cutoffs: list[pd.Timestamp], spec: FeatureSpec, **labels: Any
) -> pd.DataFrame:
    """Features and churn labels for every eligible, gradable (customer, cutoff), held in
    memory as one frame (see `LabelledStream` for rows that outgrow memory); `labels` are
    `labelled_queries`' definition and data end."""
    return to_frame(labelled_queries(tables, cutoffs, spec, **labels))


def labelled_queries(
    tables: dict[str, ir.Table],
    cutoffs: list[pd.Timestamp],
    spec: FeatureSpec,
    *,
    definition: ChurnDefinition,
    data_end: pd.Timestamp,
    history: History | None = None,
) -> list[ir.Table]:
    """One query per batch of cutoffs (`feature_queries`): the features of every eligible,
    gradable (customer, cutoff) joined with its churn label; `history` as `build_features`
    reads it. With a contact log, customer-months a call could have changed are left out
    (`models.labels.without_contacted`)."""
    customers = int(tables["customers"].count().execute())
    parts = []
    queries = feature_queries(tables, cutoffs, spec, customers, history=history)
    for batch, features in queries:
        labels = label_churn(tables, cutoff_table(batch), definition, data_end.to_pydatetime())
        if "contacts" in tables:
            labels = without_contacted(labels, tables["contacts"], definition)
        parts.append(features.join(labels, list(KEYS)))
    return parts


class LabelledStream:
    """Labelled feature rows streamed to Parquet files in `folder`, one per batch of cutoffs,
    counted as they pass, then read back batch by batch with the retained training rows
    thinned before they are held.

    Counted on the way (before any thinning): rows, churners and customers of each part of
    the split (`parts`: name -> cutoffs), and the values of the `categorical` columns among
    the `train` part's rows (the layout's levels, as `FeatureLayout.from_frame` finds them).
    """

    def __init__(
        self,
        queries: Sequence[ir.Table],
        folder: Path,
        parts: dict[str, Sequence[pd.Timestamp]],
        categorical: Sequence[str],
    ) -> None:
        self._part_of = {
            np.datetime64(pd.Timestamp(c), "us"): p for p, cs in parts.items() for c in cs
        }
        self._train = np.array(
            [np.datetime64(pd.Timestamp(c), "us") for c in parts.get("train", ())],
            dtype="datetime64[us]",
        )
        self._at: dict[np.datetime64, tuple[int, int]] = {}
        self._customers: dict[str, set] = {p: set() for p in parts}
        self._levels: dict[str, set] = {c: set() for c in categorical}
        observed = ["customer_id", "cutoff", LABEL, *categorical]
        self.batches = write_batches(queries, folder, observe=self._count, observed=observed)

    def _cutoffs(self, rows: pa.RecordBatch | pa.Table) -> np.ndarray:
        return rows.column("cutoff").to_numpy(zero_copy_only=False).astype("datetime64[us]")

    def _count(self, batch: pa.RecordBatch) -> None:
        cutoffs = self._cutoffs(batch)
        churned = batch.column(LABEL).to_numpy(zero_copy_only=False) == 1
        customers = batch.column("customer_id")
        for cutoff in np.unique(cutoffs):
            part = self._part_of.get(cutoff)
            if part is None:
                continue
            mine = cutoffs == cutoff
            rows, churners = self._at.get(cutoff, (0, 0))
            self._at[cutoff] = (rows + int(mine.sum()), churners + int(churned[mine].sum()))
            self._customers[part].update(pc.filter(customers, pa.array(mine)).to_pylist())
        train = pa.array(np.isin(cutoffs, self._train))
        for name, values in self._levels.items():
            seen = pc.unique(pc.drop_null(pc.filter(batch.column(name), train)))
            values.update(str(v) for v in seen.to_pylist())

    def counts(self) -> dict[str, tuple[int, int, int]]:
        """Per part: rows, churners and distinct customers, before any thinning."""
        totals = {p: [0, 0] for p in self._customers}
        for cutoff, (rows, churners) in self._at.items():
            total = totals[self._part_of[cutoff]]
            total[0] += rows
            total[1] += churners
        return {
            p: (rows, churners, len(self._customers[p])) for p, (rows, churners) in totals.items()
        }

    def at(self, cutoff: pd.Timestamp) -> tuple[int, int]:
        """The cutoff's rows and churners ((0, 0) for one outside the parts)."""
        return self._at.get(np.datetime64(pd.Timestamp(cutoff), "us"), (0, 0))

    def levels(self) -> dict[str, tuple[str, ...]]:
        """Per categorical column: its values among the training rows, sorted."""
        return {name: tuple(sorted(values)) for name, values in self._levels.items()}

    def held(
        self,
        draw: NegativeDraw,
        *,
        whole: Sequence[pd.Timestamp] = (),
        float32: Sequence[str] = (),
    ) -> pd.DataFrame:
        """The rows as one frame sorted by cutoff and customer, as `labelled_features` gives
        them, with the training rows' retained ones thinned by `draw` batch by batch as they
        are read (every churner kept). Below rate 1 the frame carries each row's weight
        (WEIGHT: 0 for training rows left out but held because their cutoff is in `whole`,
        e.g. a backtest fold's validation month). Columns in `float32` are held as float32
        (the model's matrix precision), halving the held rows."""
        whole_cutoffs = np.array(
            [np.datetime64(pd.Timestamp(c), "us") for c in whole], dtype="datetime64[us]"
        )
        parts = []
        for batch in self.batches:
            table = batch.read()
            cutoffs = self._cutoffs(table)
            if draw.rate < 1.0:
                table = _thinned(table, cutoffs, draw, np.isin(cutoffs, self._train), whole_cutoffs)
            for name in float32:
                at = table.schema.get_field_index(name)
                table = table.set_column(at, name, pc.cast(table.column(name), pa.float32()))
            parts.append(table)
        table = pa.concat_tables(parts)
        del parts
        return table.to_pandas(self_destruct=True, split_blocks=True)


def _thinned(
    table: pa.Table,
    cutoffs: np.ndarray,
    draw: NegativeDraw,
    train: np.ndarray,
    whole: np.ndarray,
) -> pa.Table:
    """The batch's rows to hold, with their weights: training rows kept by `draw` (in row
    order, so the draw is that of all rows at once), training rows of `whole` cutoffs with
    weight 0, every other row with weight 1."""
    churned = table.column(LABEL).to_numpy(zero_copy_only=False) == 1
    weight = np.ones(table.num_rows)
    at = np.flatnonzero(train)
    keep = draw.keep(churned[at])
    weight[at] = np.where(keep, draw.weights(churned[at]), 0.0)
    hold = (weight > 0) | np.isin(cutoffs, whole)
    return table.append_column(WEIGHT, pa.array(weight)).filter(pa.array(hold))


def scoring_features(
    tables: dict[str, ir.Table],
    as_of: pd.Timestamp,
    spec: FeatureSpec,
    *,
    definition: ChurnDefinition,
    history: History | None = None,
) -> pd.DataFrame:
    """Features as of one date for every customer eligible under the churn definition."""
    return to_frame(scoring_query(tables, as_of, spec, definition=definition, history=history))


def scoring_query(
    tables: dict[str, ir.Table],
    as_of: pd.Timestamp,
    spec: FeatureSpec,
    *,
    definition: ChurnDefinition,
    history: History | None = None,
) -> ir.Table:
    """The engine query behind `scoring_features`, not run."""
    features = build_features(tables, [as_of], spec, history=history)
    eligible = eligible_customers(tables, cutoff_table([as_of]), definition)
    return features.join(eligible, list(KEYS))


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
