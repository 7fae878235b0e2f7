"""Helpers for tests: typed tables from small pandas frames, opened like real exports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.engine import open_tables

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
