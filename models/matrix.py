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
        self._require(frame)
        out = {name: self._column(frame[name], name) for name in self.features}
        return pd.DataFrame(out, index=frame.index)

    def _require(self, frame: pd.DataFrame) -> None:
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            raise KeyError(f"missing feature columns: {missing}")

    def _column(self, column: pd.Series, name: str, levels: list[str] | None = None):
        if name in self.categories:
            # Each distinct value is named once (its str), then placed among the levels:
            # the same categories as naming every row, without a Python call per row.
            known = list(levels or self.categories[name])
            codes, uniques = pd.factorize(column, use_na_sentinel=True)
            names = pd.Index([str(u) for u in uniques], dtype=object)
            positions = pd.Index(known, dtype=object).get_indexer(names)
            placed = np.where(codes < 0, -1, positions[codes] if len(names) else codes)
            return pd.Categorical.from_codes(placed, categories=known)
        return pd.to_numeric(column, errors="coerce").astype(np.float64)

    def numeric(
        self,
        frame: pd.DataFrame,
        levels: list[list[str]] | None = None,
        *,
        dtype: type[np.floating] = np.float64,
    ) -> np.ndarray:
        """The model input as LightGBM reads it: rows x features floats, categoricals as the
        position of the value among `levels` (one list per categorical, in order; by default
        the training levels), NaN for missing. Feature-major in memory (Fortran order), so a
        feature's values are contiguous and LightGBM takes the array without copying it;
        `dtype=np.float32` halves the training matrix (LightGBM bins the values anyway)."""
        self._require(frame)
        out = np.empty((len(self.features), len(frame)), dtype=dtype)
        categorical = iter(levels or [])
        for j, name in enumerate(self.features):
            if name in self.categories:
                column = self._column(frame[name], name, next(categorical, None))
                codes = column.codes.astype(dtype)
                codes[column.codes < 0] = np.nan
                out[j] = codes
            else:
                out[j] = pd.to_numeric(frame[name], errors="coerce").to_numpy(
                    dtype=dtype, na_value=np.nan
                )
        return out.T

    def training_levels(self) -> list[list[str]]:
        """The categorical levels in column order, as LightGBM records them for a pandas
        frame (its `pandas_categorical`), so a model fitted on `numeric` reads frames alike."""
        return [list(self.categories[n]) for n in self.features if n in self.categories]

    def plain(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The same columns with categoricals as plain strings (object): what the logged
        model's signature accepts, since signatures reject pandas `category` columns."""
        m = self.matrix(frame)
        for name in self.categories:
            m[name] = m[name].astype(object).where(m[name].notna(), None)
        return m
