"""Helpers for tests: typed tables from small pandas frames, opened like real exports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.build import KEYS
from features.engines import open_tables

COLUMNS = {
    "customers": {"customer_id": str, "signup_at": "ts", "churned_at": "ts"},
    "engagement": {"customer_id": str, "timestamp": "ts", "event_type": str, "value": float},
    "support": {
        "customer_id": str,
        "opened_at": "ts",
        "resolved_at": "ts",
        "priority": str,
        "channel": str,
        "satisfaction": float,
    },
    "purchases": {
        "customer_id": str,
        "timestamp": "ts",
        "amount": float,
        "discount": float,
        "status": str,
        "kind": str,
    },
    "surveys": {"customer_id": str, "answered_at": "ts", "nps": float},
}


def typed_frame(name: str, rows: list[dict] | pd.DataFrame) -> pd.DataFrame:
    """A frame with the typed-table schema of contract table `name` (extra columns kept)."""
    frame = pd.DataFrame(rows)
    for column, kind in COLUMNS[name].items():
        if column not in frame:
            frame[column] = None
        if kind == "ts":
            frame[column] = pd.to_datetime(frame[column], format="mixed").astype("datetime64[us]")
        elif kind is float:
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
        else:
            frame[column] = frame[column].astype(object)
    return frame


def open_frames(tmp: Path, frames: dict[str, list[dict] | pd.DataFrame]):
    """Write each frame as typed Parquet under tmp and open them as engine tables."""
    tmp.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, rows in frames.items():
        path = tmp / f"{name}.parquet"
        typed_frame(name, rows).to_parquet(path, index=False)
        paths[name] = path
    return open_tables(paths)


# Spark's epoch seconds drop the sub-second part that DuckDB's keep: durations from
# millisecond timestamps differ by under 0.002 s (4e-7 hours), and a fitted monthly trend
# by about 5e-7 orders. Anything larger is a real difference.
RTOL, ATOL = 1e-5, 1e-5


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """Sorted by the keys, timestamps in microseconds (DuckDB's unit; Spark's Arrow gives ns)."""
    frame = frame.sort_values(list(KEYS)).reset_index(drop=True)
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].astype("datetime64[us]")
    return frame


def assert_same_table(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Same rows, columns and values: floats within RTOL/ATOL (nulls in the same places),
    everything else exactly."""
    left, right = _normalised(left), _normalised(right)
    assert list(left.columns) == list(right.columns)
    assert len(left) == len(right)
    different = {}
    for column in left.columns:
        a, b = left[column], right[column]
        if pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b):
            same = np.isclose(
                a.to_numpy(float), b.to_numpy(float), rtol=RTOL, atol=ATOL, equal_nan=True
            )
        else:
            same = (a.isna().to_numpy() & b.isna().to_numpy()) | (a == b).fillna(False).to_numpy()
        if not same.all():
            different[column] = int((~same).sum())
    assert not different, f"columns differing (rows): {different}"
