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
) -> list[list[dict[str, Any]]]:
    """For each row, the `k` features with the largest positive contribution to churn risk
    (log-odds), each as {feature, contribution, value, text}; fewer when fewer push risk up."""
    matrix = contributions.to_numpy()
    names = list(contributions.columns)
    order = np.argsort(-matrix, axis=1, kind="stable")[:, :k]
    records = values.to_dict("records")
    reasons = []
    for i, top in enumerate(order):
        row = records[i]
        chosen = []
        for j in top:
            if matrix[i, j] <= 0:
                break
            name = names[j]
            chosen.append({
                "feature": name,
                "contribution": float(matrix[i, j]),
                "value": row.get(name),
                "text": describe(templates.get(name, name + " = {value}"), name, row.get(name), row),
            })
        reasons.append(chosen)
    return reasons
