"""Per-customer reasons: the risks that push each customer's churn probability up most, in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.describe import (
    TYPICAL,
    TYPICAL_MARGIN,
    TYPICAL_TAIL,
    Risk,
    is_missing,
    render_text,
    since,
    template_fields,
)
from features.spec import Feature


@dataclass(frozen=True)
class Reasons:
    """Each row's top reasons: `columns[i, s]` is the position (in `names`) of row i's s-th
    reason, -1 where fewer features push risk up; `contributions` the matching log-odds;
    `texts[s]` the s-th reason of every row in words ("" where there is none)."""

    names: list[str]
    columns: np.ndarray
    contributions: np.ndarray
    texts: list[np.ndarray]

    def features(self) -> list[list[str]]:
        """Each row's reason feature names, strongest first."""
        names = np.array(self.names, dtype=object)
        count = (self.columns >= 0).sum(axis=1)  # reasons fill the first slots
        out: list = [None] * len(count)
        for i in np.flatnonzero(count == 0).tolist():
            out[i] = []
        for size in range(1, self.columns.shape[1] + 1):
            rows = np.flatnonzero(count == size)
            for i, picked in zip(
                rows.tolist(), names[self.columns[rows, :size]].tolist(), strict=True
            ):
                out[i] = picked
        return out


def _top(candidates, m: int, n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per row, the `m` largest positive values among `candidates` (pairs of column position
    and values), largest first; equal values keep the lower column position first, as a
    stable sort would. Missing slots hold value 0 and column -1."""
    values = [np.zeros(n) for _ in range(m)]
    columns = [np.full(n, -1, dtype=np.int64) for _ in range(m)]
    for column, value in candidates:
        value, column = np.asarray(value, dtype=float), np.broadcast_to(column, (n,))
        for s in range(m):
            better = (value > values[s]) | (
                (value == values[s]) & (column < columns[s]) & (value > 0)
            )
            # insert here and carry the displaced one on to the next slot
            values[s], value = (
                np.where(better, value, values[s]),
                np.where(better, values[s], value),
            )
            columns[s], column = (
                np.where(better, column, columns[s]),
                np.where(better, columns[s], column),
            )
    return values, columns


def select_reasons(
    contributions: np.ndarray,
    names: list[str],
    k: int = 3,
    groups: dict[str, str] | None = None,
    per_group: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """For each row of `contributions` (rows x features, log-odds), the positions of the `k`
    features with the largest positive contribution, at most `per_group` from one family of
    `groups` (feature -> family; a feature without one is its own family). Returns positions
    (-1 where fewer push risk up) and their contributions, both rows x k."""
    n = contributions.shape[0]
    by_column = contributions.T  # one contiguous row per feature when the input is F-ordered
    families: dict[str, list[int]] = {}
    for j, name in enumerate(names):
        families.setdefault((groups or {}).get(name, name), []).append(j)
    # The greedy walk "strongest first, skip a family once it has `per_group`" picks the k
    # strongest among each family's own `per_group` strongest: select those, then the top k.
    candidates = []
    for members in families.values():
        if len(members) <= per_group:
            candidates += [(j, by_column[j]) for j in members]
            continue
        values, columns = _top(((j, by_column[j]) for j in members), per_group, n)
        candidates += list(zip(columns, values, strict=True))
    values, columns = _top(candidates, k, n)
    return np.stack(columns, axis=1), np.stack(values, axis=1)


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


def _exact_key(column: pd.Series) -> np.ndarray | None:
    """Values that are equal exactly when they format the same: floats by their bits (so -0.0
    and 0.0 differ, and NaNs agree), integers and booleans as they are, strings by a code;
    None for other types (e.g. object columns, which may mix 1, 1.0 and True)."""
    if isinstance(column.dtype, pd.StringDtype):
        return pd.factorize(column, use_na_sentinel=False)[0].astype(np.int64)
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else None
    if kind == "f":
        return column.to_numpy().astype(np.float64).view(np.int64)
    if kind in ("i", "u", "b"):
        return column.to_numpy().astype(np.int64)
    return None


def _render_rows(
    rule: ReasonRule, name: str, values: pd.DataFrame, wanted: list[str], currency: str
) -> list:
    own = values[name].tolist() if name in values.columns else [None] * len(values)
    others = [values[f].tolist() for f in wanted]
    out = []
    for value, *fields in zip(own, *others, strict=True):
        row = dict(zip(wanted, fields, strict=True))
        template = rule.missing if is_missing(value) else rule.template
        row |= {"value": value, "typical": rule.typical}
        row["since"] = since(rule.window_days, row.get(TENURE))
        note = rule.notes.get(str(value))
        row["note"] = f" ({note})" if note else ""
        out.append((template and render_text(template, row, currency)) or "")
    return out


def _render_group(
    rule: ReasonRule, name: str, values: pd.DataFrame, wanted: list[str], currency: str
) -> list:
    """The reason filled for every row of `values` (the feature's own column `name` and the
    columns its sentences read); each distinct combination of values is written once."""
    columns = [values[name]] if name in values.columns else []
    columns += [values[f] for f in wanted]
    keys = [_exact_key(c) for c in columns]
    if columns and all(k is not None for k in keys):
        stacked = np.ascontiguousarray(np.stack(keys, axis=1))
        _, first, inverse = np.unique(
            stacked.view(np.dtype((np.void, 8 * len(keys)))).ravel(),
            return_index=True,
            return_inverse=True,
        )
        texts = _render_rows(rule, name, values.iloc[first], wanted, currency)
        return np.asarray(texts, dtype=object)[inverse.ravel()].tolist()
    return _render_rows(rule, name, values, wanted, currency)


def render_reasons(
    columns: np.ndarray, names: list[str], values: pd.DataFrame, settings: ReasonSettings
) -> list[np.ndarray]:
    """The reasons picked by `columns` (rows x k positions in `names`) in words: per slot, an
    array of texts ("" where there is no reason). Only the few columns a sentence reads are
    looked at."""
    n, k = columns.shape
    texts = [np.full(n, "", dtype=object) for _ in range(k)]
    frame_columns = set(values.columns)
    for j in np.unique(columns[columns >= 0]):
        name = names[j]
        rule = settings.rules[name]
        read = template_fields(rule.template) + template_fields(rule.missing or "")
        wanted = [f for f in dict.fromkeys(read) if f in frame_columns and f != name]
        wanted = [f for f in wanted if f not in ("value", "typical", "since", "note")]
        if "since" in read and TENURE in frame_columns and TENURE not in wanted:
            wanted.append(TENURE)
        slot, rows = np.nonzero(j == columns.T)
        needed = [c for c in dict.fromkeys([name, *wanted]) if c in frame_columns]
        rendered = _render_group(rule, name, values[needed].iloc[rows], wanted, settings.currency)
        for s in range(k):
            mine = slot == s
            texts[s][rows[mine]] = np.asarray(rendered, dtype=object)[mine]
    return texts


def explain(contributions: pd.DataFrame, values: pd.DataFrame, settings: ReasonSettings) -> Reasons:
    """For each row, up to `settings.k` reasons: the features with the largest positive
    contribution to churn risk (log-odds) whose value is a risk for that customer by the
    feature's rule, at most `per_topic` per topic, in words. Fewer when fewer qualify: a
    protective factor (a promoter's NPS, rising usage) is never a reason."""
    names = list(contributions.columns)
    frame = values.reset_index(drop=True)
    allowed = risk_mask(frame, names, settings.rules, settings.history_days)
    matrix = np.where(allowed, contributions.to_numpy(dtype=float), 0.0)
    columns, strength = select_reasons(
        np.asfortranarray(matrix), names, settings.k, settings.topics, settings.per_topic
    )
    texts = render_reasons(columns, names, frame, settings)
    return Reasons(names, columns, strength, texts)


def top_reasons(
    contributions: pd.DataFrame, values: pd.DataFrame, settings: ReasonSettings
) -> list[list[dict[str, Any]]]:
    """`explain` as one list per row of {feature, contribution, value, text}."""
    reasons = explain(contributions, values, settings)
    frame = values.reset_index(drop=True)
    out = []
    for i, row in enumerate(reasons.columns.tolist()):
        chosen = []
        for s, j in enumerate(row):
            if j < 0:
                break
            name = reasons.names[j]
            chosen.append(
                {
                    "feature": name,
                    "contribution": float(reasons.contributions[i, s]),
                    "value": frame[name].iloc[i] if name in frame.columns else None,
                    "text": reasons.texts[s][i],
                }
            )
        out.append(chosen)
    return out
