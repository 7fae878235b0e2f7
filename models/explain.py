"""Per-customer reasons: the features that push each customer's risk up most, in words."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.registry import render_description


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
                    "text": render_description(
                        templates.get(name, name + " = {value}"), name, row.get(name), row
                    ),
                }
            )
        reasons.append(chosen)
    return reasons
