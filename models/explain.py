"""Per-customer reasons: the risks that push each customer's churn probability up most, in words."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.describe import (
    is_missing,
    render_text,
    since,
    template_fields,
)
from models.reason_rules import TENURE, ReasonRule, ReasonSettings, risk_mask


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
