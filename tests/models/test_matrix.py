"""The model's input: categoricals placed among the training levels exactly as naming every
row by its text would place them, whatever the column's type."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.matrix import FeatureLayout


def _named_row_by_row(column: pd.Series, levels: list[str]) -> list[str | None]:
    """The reference: each row's text, None where missing or not a training level."""
    out = []
    for value in column.astype(object):
        text = None if pd.isna(value) else str(value)
        out.append(text if text in levels else None)
    return out


COLUMNS = {
    "text with gaps": pd.Series(["pro", None, "basic", "gold", np.nan, "basic"]),
    "whole numbers": pd.Series([1, 2, 3, 1, 7, 2]),
    "numbers with gaps": pd.Series([1.0, np.nan, 2.5, 1.0, 3.0, np.nan]),
    "mixed types naming one level": pd.Series([1, "1", "2", None, 2.0, "x"], dtype=object),
    "pandas categories": pd.Series(["b", "a", None, "c", "a", "b"], dtype="category"),
    "arrow strings": pd.Series(["a", None, "b", "z", "a", "b"], dtype="string[pyarrow]"),
    "booleans": pd.Series([True, False, None, True, False, True], dtype=object),
    "all missing": pd.Series([None, np.nan, None, None, np.nan, None], dtype=object),
}
LEVELS = ["1", "1.0", "2", "2.5", "False", "True", "a", "b", "basic", "pro"]


@pytest.mark.parametrize("name", list(COLUMNS))
def test_categorical_codes_equal_naming_each_row(name):
    column = COLUMNS[name]
    layout = FeatureLayout(("plan",), {"plan": tuple(LEVELS)})
    frame = pd.DataFrame({"plan": column})

    placed = layout.matrix(frame)["plan"]
    assert list(placed.cat.categories) == LEVELS
    assert [None if pd.isna(v) else v for v in placed] == _named_row_by_row(column, LEVELS)

    codes = layout.numeric(frame)[:, 0]
    expected = [np.nan if t is None else LEVELS.index(t) for t in _named_row_by_row(column, LEVELS)]
    np.testing.assert_array_equal(codes, np.array(expected, dtype=float))


def test_levels_given_for_prediction_replace_the_training_levels():
    layout = FeatureLayout(("plan",), {"plan": ("a", "b")})
    frame = pd.DataFrame({"plan": ["b", "c", None, "a"]})
    codes = layout.numeric(frame, [["c", "b"]])[:, 0]
    np.testing.assert_array_equal(codes, [1.0, 0.0, np.nan, np.nan])


def test_no_rows_give_an_empty_matrix():
    layout = FeatureLayout(("plan", "seats"), {"plan": ("a",)})
    frame = pd.DataFrame({"plan": pd.Series([], dtype=object), "seats": pd.Series([], dtype=float)})
    assert layout.numeric(frame).shape == (0, 2)
    assert len(layout.matrix(frame)) == 0
