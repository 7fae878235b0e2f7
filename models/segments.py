"""Which groups of customers churn materially more often than the rest, with confidence.

A category (a plan, a channel, a country) or a band of a number (the fewest seats) is a
reason only when its customers churned materially more often than everyone else in the
training months (a risk ratio of at least MIN_RISK_RATIO) and the 95% interval of that ratio
excludes 1: "plan basic (a higher-risk plan)" on 58% of customers, for plans churning at
3.5% against 3.3%, tells the team nothing. Measured on the training rows and saved with the
model, so every list uses the groups the model was trained on.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

MIN_RISK_RATIO = 1.5
Z95 = 1.959964
MIN_CHURNERS = 5
"""Fewer churners in a group and its interval says nothing."""
BANDS = (0.25, 0.75)
"""A number's bands: its lowest and its highest quarter in the training rows."""


def risk_ratio(churned: float, rows: float, rest_churned: float, rest_rows: float) -> dict:
    """The group's churn rate against the rest's, their ratio and its 95% interval (Katz's
    log method); rates from weighted counts, the interval from the counts."""
    rate = churned / rows if rows else float("nan")
    rest = rest_churned / rest_rows if rest_rows else float("nan")
    if not (churned > 0 and rest_churned > 0 and rows > 0 and rest_rows > 0):
        return {"rate": rate, "rest": rest, "ratio": float("nan"), "low": float("nan"),
                "high": float("nan")}  # fmt: skip
    ratio = rate / rest
    se = math.sqrt(max(1 / churned - 1 / rows + 1 / rest_churned - 1 / rest_rows, 0.0))
    low, high = ratio * math.exp(-Z95 * se), ratio * math.exp(Z95 * se)
    return {"rate": rate, "rest": rest, "ratio": ratio, "low": low, "high": high}


def _materially_riskier(stats: dict, churners: int) -> bool:
    return churners >= MIN_CHURNERS and stats["ratio"] >= MIN_RISK_RATIO and stats["low"] > 1.0


def _stats(inside: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[dict, int]:
    raw = (float(y[inside].sum()), float(inside.sum()), float(y[~inside].sum()),
           float((~inside).sum()))  # fmt: skip
    weighted = (float((w * y)[inside].sum()), float(w[inside].sum()))
    rest = (float((w * y)[~inside].sum()), float(w[~inside].sum()))
    stats = risk_ratio(*raw)
    rate = weighted[0] / weighted[1] if weighted[1] else float("nan")
    rest_rate = rest[0] / rest[1] if rest[1] else float("nan")
    if rest_rate > 0:
        stats |= {"rate": rate, "rest": rest_rate}
    return stats, int(raw[0])


def segment_risks(
    frame: pd.DataFrame,
    categorical: list[str],
    numeric: list[str],
    label: str,
    weight: str | None = None,
) -> dict[str, dict]:
    """Per profile column, the groups that churned materially more often than the rest:
    {column: {"kind": "categorical", "levels": {level: stats}}} or {"kind": "numeric",
    "below": q25, "above": q75, "bands": {"below" | "above": stats}}, keeping only the
    risky groups (`risk_ratio` stats, rounded)."""
    y = frame[label].to_numpy(dtype=float)
    w = frame[weight].to_numpy(dtype=float) if weight and weight in frame else np.ones(len(y))
    out: dict[str, dict] = {}
    for column in categorical:
        values = frame[column].astype(object)
        levels = {}
        for level in values.dropna().unique():
            stats, churners = _stats((values == level).to_numpy(), y, w)
            if _materially_riskier(stats, churners):
                levels[str(level)] = _rounded(stats)
        out[column] = {"kind": "categorical", "levels": levels}
    for column in numeric:
        x = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        present = ~np.isnan(x)
        if not present.any():
            continue
        low, high = np.quantile(x[present], BANDS)
        bands = {}
        for band, inside in (("below", x < low), ("above", x > high)):
            stats, churners = _stats(inside, y, w)
            if _materially_riskier(stats, churners):
                bands[band] = _rounded(stats)
        out[column] = {"kind": "numeric", "below": float(low), "above": float(high),
                       "bands": bands}  # fmt: skip
    return out


def _rounded(stats: dict) -> dict:
    return {k: round(float(v), 4) for k, v in stats.items()}


def risk_note(stats: dict) -> str:
    """A group's risk in words: "churned 1.8 times as often as the rest in training"."""
    return f"churned {stats['ratio']:.1f} times as often as the rest in training"
