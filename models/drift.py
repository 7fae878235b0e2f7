"""Feature drift between training and scoring: population stability index (PSI) per feature."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

EPS = 1e-4
MISSING = "__missing__"


def reference_profile(
    frame: pd.DataFrame, numeric: list[str], categorical: list[str], bins: int = 10
) -> dict[str, Any]:
    """Bin edges and shares of each feature in the training rows, saved with the model."""
    profile: dict[str, Any] = {}
    for name in numeric:
        values = pd.to_numeric(frame[name], errors="coerce").astype(float)
        present = values.dropna()
        edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1))) if len(present) else []
        edges = [float(e) for e in edges]
        profile[name] = {
            "kind": "numeric",
            "edges": edges,
            "shares": _numeric_shares(values, edges),
        }
    for name in categorical:
        shares = frame[name].astype(object).fillna(MISSING).value_counts(normalize=True)
        profile[name] = {
            "kind": "categorical",
            "shares": {str(k): float(v) for k, v in shares.items()},
        }
    return profile


EDGE_TOLERANCE = 1e-9
"""A value this close below a bin edge (relative, at least absolute) counts as on it. Engines
may add the same floats in another order and differ in the last bits, and features taking few
values (counts, trends) sit exactly on the training quantiles: a last-bit difference must not
move a customer to the bin below and show as drift that one engine sees and the other not."""


def inner_edges(edges: list[float]) -> list[float]:
    """The edges between bins, each lowered by EDGE_TOLERANCE: a value at or above one is in
    the bin above it."""
    return [e - EDGE_TOLERANCE * max(1.0, abs(e)) for e in edges[1:-1]]


def _numeric_shares(values: pd.Series, edges: list[float]) -> list[float]:
    n = max(len(values), 1)
    missing = float(values.isna().sum()) / n
    present = values.dropna().to_numpy()
    if len(edges) < 2:
        return [missing, 1.0 - missing]
    inner = np.asarray(inner_edges(edges))
    idx = np.searchsorted(inner, present, side="right")
    counts = np.bincount(idx, minlength=len(edges) - 1)
    return [missing, *(counts / n).tolist()]


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e, a = np.clip(expected, EPS, None), np.clip(actual, EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def population_stability(frame: pd.DataFrame, profile: dict[str, Any]) -> pd.Series:
    """PSI of each profiled feature in `frame` against the training profile, largest first.
    Rule of thumb: < 0.1 stable, 0.1-0.2 moderate shift, > 0.2 significant shift."""
    shares: dict[str, Any] = {}
    for name, ref in profile.items():
        if name not in frame.columns:
            continue
        if ref["kind"] == "numeric":
            values = pd.to_numeric(frame[name], errors="coerce").astype(float)
            shares[name] = _numeric_shares(values, ref["edges"])
        else:
            counts = frame[name].astype(object).fillna(MISSING).value_counts(normalize=True)
            shares[name] = {str(k): float(v) for k, v in counts.items()}
    return stability_from_shares(profile, shares)


def stability_from_shares(profile: dict[str, Any], shares: dict[str, Any]) -> pd.Series:
    """PSI per feature from today's shares, counted by any engine: a numeric feature's
    [missing, share per bin of the profile's edges], a categorical's {value: share}; features
    without shares are left out. Largest first."""
    out = {}
    for name, actual in shares.items():
        ref = profile[name]
        if ref["kind"] == "numeric":
            out[name] = _psi(np.array(ref["shares"]), np.array(actual))
        else:
            keys = sorted(set(ref["shares"]) | set(actual))
            expected = np.array([ref["shares"].get(k, 0.0) for k in keys])
            now = np.array([float(actual.get(k, 0.0)) for k in keys])
            out[name] = _psi(expected, now)
    return pd.Series(out, dtype=float).sort_values(ascending=False)


def flagged_drift(
    drift: pd.Series, threshold: float, partial: list[str]
) -> tuple[dict[str, float], dict[str, float]]:
    """The features beyond the PSI threshold, and apart from them those whose training
    reference never held their whole window (`partial`): their shift is the exports' history
    growing, not the customers changing, so they are named but never flagged as drift."""
    beyond = drift[drift > threshold]
    apart = set(partial)
    flagged = {k: float(v) for k, v in beyond.items() if k not in apart}
    return flagged, {k: float(v) for k, v in beyond.items() if k in apart}


def typical_values(frame: pd.DataFrame, numeric: list[str]) -> dict[str, float]:
    """Each numeric feature's median over the rows (missing values left out): the "typical
    customer" reasons compare a customer with."""
    out = {}
    for name in numeric:
        values = pd.to_numeric(frame[name], errors="coerce").astype(float)
        median = values.median()
        if pd.notna(median):
            out[name] = float(median)
    return out


def percentiles(frame: pd.DataFrame, numeric: list[str], steps: int) -> dict[str, list[float]]:
    """Each numeric feature's quantiles at 0, 1/steps, ..., 1 over the rows (missing values
    left out): how unusual a customer's value is (features/describe.py, TYPICAL_TAIL)."""
    out = {}
    grid = np.linspace(0, 1, steps + 1)
    for name in numeric:
        values = pd.to_numeric(frame[name], errors="coerce").astype(float).dropna()
        if len(values):
            out[name] = [float(f"{q:.6g}") for q in np.quantile(values, grid)]
    return out


def active_shares(frame: pd.DataFrame, numeric: list[str]) -> dict[str, float]:
    """Each numeric feature's share of rows with a value other than 0 or missing: a feature
    that was alive in training and is dead today points at an export that changed."""
    out = {}
    for name in numeric:
        values = pd.to_numeric(frame[name], errors="coerce").astype(float)
        out[name] = float(((values != 0) & values.notna()).mean()) if len(values) else 0.0
    return out


def vanished_features(
    frame: pd.DataFrame, trained: dict[str, float], alive: float = 0.2, ratio: float = 0.05
) -> dict[str, tuple[float, float]]:
    """Features with a value (not 0, not missing) for at least `alive` of the training rows
    but under `ratio` times that share today: {feature: (training share, today's share)}.
    A renamed event type, a dropped column or an export that stopped produce exactly this."""
    names = [n for n, before in trained.items() if before >= alive and n in frame.columns]
    return vanished_from_shares(active_shares(frame, names), trained, alive, ratio)


def vanished_from_shares(
    today: dict[str, float], trained: dict[str, float], alive: float = 0.2, ratio: float = 0.05
) -> dict[str, tuple[float, float]]:
    """`vanished_features` from today's active shares (`active_shares`, counted by any
    engine); features without a share today are left out."""
    out = {}
    for name, before in trained.items():
        if before < alive or name not in today:
            continue
        if today[name] < ratio * before:
            out[name] = (before, today[name])
    return out
