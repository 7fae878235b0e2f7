"""When a feature's value is a reason for one customer: the rule each feature declares (its
sentence, its risk, the typical customer's value and distribution, its window and table),
the settings of a list's reasons, and the mask of which values are risks for which rows.

The rules know the customer: a value against the typical customer only in the lowest or
highest fifth of training customers; no shortfall or decline over a window longer than the
customer's tenure; no sentence about a window the exports do not hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.describe import (
    TYPICAL,
    TYPICAL_MARGIN,
    TYPICAL_TAIL,
    Risk,
    template_fields,
)
from features.spec import Feature


@dataclass(frozen=True)
class ReasonRule:
    """How one feature becomes a reason: its sentence, when a value is a risk, the sentence
    for a missing value (None: a missing value is never a reason), the typical value
    (training median) that `Risk(than=TYPICAL)` and `{typical}` refer to and the training
    distribution (`percentiles`: its training quantiles, evenly spaced) that says how
    unusual a value is (TYPICAL_TAIL), the feature's kind, window
    and table (a window the customer or the exports do not cover whole is no shortfall, and
    no missing value's sentence), and whether it is a rate over the customer's tenure."""

    template: str
    risk: Risk | None
    missing: str | None = None
    typical: float | None = None
    percentiles: tuple[float, ...] = ()
    kind: str = "count"
    window_days: int | None = None
    per_tenure: bool = False
    table: str | None = None
    notes: dict[str, str] = field(default_factory=dict)
    """Words per value filling `{note}` (a risky plan: how much more often it churned)."""

    @classmethod
    def of(
        cls,
        feature: Feature,
        typical: float | None = None,
        percentiles: tuple[float, ...] = (),
        table: str | None = None,
    ) -> ReasonRule:
        """The rule a feature declaration states."""
        return cls(
            feature.describe,
            feature.risk_rule(),
            feature.describe_missing,
            typical,
            tuple(percentiles),
            feature.kind,
            feature.window_days,
            feature.per_tenure,
            table,
        )


@dataclass(frozen=True)
class ReasonSettings:
    """What may be a reason and how many: rules per feature (a feature without one is never a
    reason), topics (feature -> what it is about; at most `per_topic` reasons per topic, so
    three reasons say three things), `k` reasons per customer, the currency of amounts, and
    how many days of each table the exports hold before the list's date (`history_days`;
    a table left out holds every day a window reads)."""

    rules: dict[str, ReasonRule]
    topics: dict[str, str] = field(default_factory=dict)
    per_topic: int = 1
    k: int = 3
    currency: str = ""
    history_days: dict[str, float] = field(default_factory=dict)


TENURE = "tenure_days"
"""The profile feature that says how long each row's customer has been one."""


def _numbers(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _readable(template: str, values: pd.DataFrame, typical: float | None) -> np.ndarray:
    """Rows where every value the template reads, other than the feature's own, is there."""
    ok = np.ones(len(values), dtype=bool)
    for name in template_fields(template):
        if name in ("value", "since", "note"):
            continue
        if name == "typical":
            ok &= typical is not None and bool(np.isfinite(typical))
        elif name in values.columns:
            column = values[name]
            present = column.notna().to_numpy(dtype=bool, na_value=False)
            if column.dtype.kind == "f":
                present = present & np.isfinite(column.to_numpy(dtype=float))
            ok &= present
        else:
            return np.zeros(len(values), dtype=bool)
    return ok


def _compared(
    x: np.ndarray, when: str, than: float | str, values: pd.DataFrame, rule: ReasonRule
) -> np.ndarray:
    """Where `x` is beyond `than` the `when` way ("higher"/"above", "lower"/"below",
    "at_least"): a number, another column, or TYPICAL (the margin and the range)."""
    if than == TYPICAL:
        typical = np.nan if rule.typical is None else float(rule.typical)
        sign = 1.0 if when in ("higher", "above") else -1.0
        bound = typical + sign * TYPICAL_MARGIN * abs(typical) if when != "at_least" else typical
        with np.errstate(invalid="ignore"):
            if when in ("higher", "above"):
                return (x > bound) & (_share_beyond(x, rule.percentiles, "higher") <= TAIL)
            if when in ("lower", "below"):
                return (x < bound) & (_share_beyond(x, rule.percentiles, "lower") <= TAIL)
            return x >= bound
    if isinstance(than, str):
        bound = _numbers(values[than]) if than in values else np.full(len(x), np.nan)
    else:
        bound = np.full(len(x), float(than))
    with np.errstate(invalid="ignore"):
        if when in ("higher", "above"):
            return x > bound
        if when in ("lower", "below"):
            return x < bound
        return x >= bound


TAIL = TYPICAL_TAIL + 1e-9  # the share read off a grid of quantiles, compared with room


def _share_beyond(x: np.ndarray, grid: tuple[float, ...], when: str) -> np.ndarray:
    """The share of training customers at or beyond each value (`grid`: the training
    quantiles, evenly spaced; none known: 0, so the margin alone decides)."""
    if not grid:
        return np.zeros(len(x))
    points = np.asarray(grid, dtype=float)
    if when == "higher":
        return (len(points) - np.searchsorted(points, x, side="left")) / len(points)
    return np.searchsorted(points, x, side="right") / len(points)


def _given(values: pd.DataFrame, risk: Risk, rules: dict[str, ReasonRule]) -> np.ndarray:
    """Rows meeting every further condition of the risk (`Risk.given`)."""
    ok = np.ones(len(values), dtype=bool)
    for condition in risk.given:
        if condition.column not in values.columns:
            return np.zeros(len(values), dtype=bool)
        x = _numbers(values[condition.column]) * condition.scale
        other = rules.get(condition.column) or ReasonRule("", None)
        met = _compared(x, condition.when, condition.than, values, other)
        ok &= met | (np.isnan(x) & condition.missing)
    return ok


def _lived(values: pd.DataFrame, rule: ReasonRule) -> np.ndarray:
    """Rows whose customer has been one for the feature's whole window (all rows when the
    tenure is not among the values or the feature has no window)."""
    if rule.window_days is None or TENURE not in values.columns:
        return np.ones(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        return _numbers(values[TENURE]) >= rule.window_days


def risk_mask(
    values: pd.DataFrame,
    names: list[str],
    rules: dict[str, ReasonRule],
    history_days: dict[str, float] | None = None,
) -> np.ndarray:
    """rows x features: whether the feature may be a reason for the row, i.e. its value is a
    risk by the feature's rule (or it is missing and has a sentence for that, and both the
    customer and the exports cover its whole window) and its sentence can be written
    without a missing value. A shortfall or a decline over a window longer than the
    customer's tenure is never a risk: a young customer's short history is not a decline."""
    n = len(values)
    mask = np.zeros((len(names), n), dtype=bool)
    for j, name in enumerate(names):
        rule = rules.get(name)
        if rule is None or rule.risk is None or name not in values.columns:
            continue
        risk, column = rule.risk, values[name]
        missing = column.isna().to_numpy(dtype=bool, na_value=True)
        lived = _lived(values, rule)
        if risk.when == "any":
            is_risk = ~missing
        elif risk.when == "in":
            is_risk = column.isin(risk.values).to_numpy(dtype=bool, na_value=False) & ~missing
        else:
            x = _numbers(column) * risk.scale
            if isinstance(risk.than, str) and risk.than != TYPICAL:
                x = x * (1.0 - risk.drop) if risk.when == "higher" else x / (1.0 - risk.drop)
            is_risk = _compared(x, risk.when, risk.than, values, rule) & np.isfinite(x)
            is_risk &= _given(values, risk, rules)
            if risk.needs_whole_window(rule.kind) and not rule.per_tenure:
                is_risk &= lived
        mask[j] = is_risk & _readable(rule.template, values, rule.typical)
        held = (history_days or {}).get(rule.table or "", np.inf)
        if rule.missing is not None and held >= (rule.window_days or 0):
            mask[j] |= missing & lived & _readable(rule.missing, values, rule.typical)
    return mask.T
