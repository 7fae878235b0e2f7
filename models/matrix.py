"""Turn a feature frame into the model's input: fixed column order, float numbers, and
categoricals with the levels seen in training (unseen levels become missing)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class FeatureLayout:
    """The model's columns: names in order, and the levels of each categorical column."""

    features: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, features: list[str], categorical: list[str]):
        """Learn the layout (categorical levels) from the training rows."""
        levels = {c: tuple(sorted(str(v) for v in frame[c].dropna().unique())) for c in categorical}
        return cls(tuple(features), levels)

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model input for these rows; raises KeyError naming any missing feature."""
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            raise KeyError(f"missing feature columns: {missing}")
        out = {}
        for name in self.features:
            column = frame[name]
            if name in self.categories:
                values = column.astype(object).where(column.notna(), None)
                values = values.map(lambda v: None if v is None else str(v))
                out[name] = pd.Categorical(values, categories=list(self.categories[name]))
            else:
                out[name] = pd.to_numeric(column, errors="coerce").astype(np.float64)
        return pd.DataFrame(out, index=frame.index)

    def plain(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The same columns with categoricals as plain strings (object): what the logged
        model's signature accepts, since signatures reject pandas `category` columns."""
        m = self.matrix(frame)
        for name in self.categories:
            m[name] = m[name].astype(object).where(m[name].notna(), None)
        return m
