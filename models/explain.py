"""Per-customer reasons: the features that push each customer's risk up most, in words."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.registry import render_description


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


_FIELD = re.compile(r"[.\[]")


def _fields(template: str) -> list[str]:
    """The named fields a format template reads (`{active_days_30_60d:.0f}` -> that name)."""
    try:
        parsed = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    except ValueError:
        return []
    return [_FIELD.split(f, maxsplit=1)[0] for f in parsed]


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


def _render_group(template: str, name: str, values: pd.DataFrame, wanted: list[str]) -> list:
    """`template` filled for every row of `values` (the reason's own column `name` and the
    columns it reads); each distinct combination of values is formatted once."""
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
        texts = _render_rows(template, name, values.iloc[first], wanted)
        return np.asarray(texts, dtype=object)[inverse.ravel()].tolist()
    return _render_rows(template, name, values, wanted)


def _render_rows(template: str, name: str, values: pd.DataFrame, wanted: list[str]) -> list:
    own = values[name].tolist() if name in values.columns else [None] * len(values)
    others = [values[f].tolist() for f in wanted]
    return [
        render_description(template, name, value, dict(zip(wanted, fields, strict=True)))
        for value, *fields in zip(own, *others, strict=True)
    ]


def render_reasons(
    columns: np.ndarray, names: list[str], values: pd.DataFrame, templates: dict[str, str]
) -> list[np.ndarray]:
    """The reasons picked by `columns` (rows x k positions in `names`) in words: per slot, an
    array of texts ("" where there is no reason). Only the few columns a template reads are
    looked at."""
    n, k = columns.shape
    texts = [np.full(n, "", dtype=object) for _ in range(k)]
    frame_columns = set(values.columns)
    for j in np.unique(columns[columns >= 0]):
        name = names[j]
        template = templates.get(name, name + " = {value}")
        # The template sees the row's values by name; "value" as a column clashes with the
        # keyword and makes every text fall back, as it would when formatted against the row.
        wanted = [f for f in dict.fromkeys([*_fields(template), "value"]) if f in frame_columns]
        slot, rows = np.nonzero(j == columns.T)
        needed = [c for c in dict.fromkeys([name, *wanted]) if c in frame_columns]
        rendered = _render_group(template, name, values[needed].iloc[rows], wanted)
        for s in range(k):
            mine = slot == s
            texts[s][rows[mine]] = np.asarray(rendered, dtype=object)[mine]
    return texts


def explain(
    contributions: pd.DataFrame,
    values: pd.DataFrame,
    templates: dict[str, str],
    k: int = 3,
    groups: dict[str, str] | None = None,
    per_group: int = 2,
) -> Reasons:
    """For each row, the `k` features with the largest positive contribution to churn risk
    (log-odds), in words; fewer when fewer push risk up. With `groups` (feature -> family),
    at most `per_group` reasons come from one family, so the list is not three ways of
    saying "usage dropped"."""
    names = list(contributions.columns)
    columns, strength = select_reasons(contributions.to_numpy(), names, k, groups, per_group)
    texts = render_reasons(columns, names, values.reset_index(drop=True), templates)
    return Reasons(names, columns, strength, texts)


def top_reasons(
    contributions: pd.DataFrame,
    values: pd.DataFrame,
    templates: dict[str, str],
    k: int = 3,
    groups: dict[str, str] | None = None,
    per_group: int = 2,
) -> list[list[dict[str, Any]]]:
    """`explain` as one list per row of {feature, contribution, value, text}."""
    reasons = explain(contributions, values, templates, k, groups, per_group)
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
