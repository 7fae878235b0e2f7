"""Per-customer reasons: the features that push each customer's risk up most, in words."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


class _Missing(float):
    def __format__(self, spec: str) -> str:
        return "n/a"


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _Missing("nan")
    if isinstance(value, np.generic):
        return value.item()
    return value


def describe(template: str, name: str, value: Any, row: dict[str, Any]) -> str:
    """Fill a feature's description template with this customer's values."""
    values = {k: _clean(v) for k, v in row.items()}
    try:
        return template.format(value=_clean(value), **values)
    except (ValueError, TypeError, KeyError, IndexError):
        return f"{name} = {value}"


def top_reasons(
    contributions: pd.DataFrame,
    values: pd.DataFrame,
    templates: dict[str, str],
    k: int = 3,
    groups: dict[str, str] | None = None,
    per_group: int = 2,
) -> list[list[dict[str, Any]]]:
    """For each row, the `k` features with the largest positive contribution to churn risk
    (log-odds), each as {feature, contribution, value, text}; fewer when fewer push risk up.
    With `groups` (feature -> family), at most `per_group` reasons come from one family, so
    the list is not three ways of saying "usage dropped"."""
    matrix = contributions.to_numpy()
    names = list(contributions.columns)
    order = np.argsort(-matrix, axis=1, kind="stable")
    records = values.to_dict("records")
    reasons = []
    for i, ranked in enumerate(order):
        row = records[i]
        chosen: list[dict[str, Any]] = []
        used: dict[str, int] = {}
        for j in ranked:
            if matrix[i, j] <= 0 or len(chosen) == k:
                break
            name = names[j]
            group = (groups or {}).get(name, name)
            if used.get(group, 0) >= per_group:
                continue
            used[group] = used.get(group, 0) + 1
            chosen.append(
                {
                    "feature": name,
                    "contribution": float(matrix[i, j]),
                    "value": row.get(name),
                    "text": describe(
                        templates.get(name, name + " = {value}"), name, row.get(name), row
                    ),
                }
            )
        reasons.append(chosen)
    return reasons
