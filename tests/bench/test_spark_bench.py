"""The Spark benchmark's comparison names the worst float column and counts other cells."""

from __future__ import annotations

import pandas as pd

from bench.spark_bench import compare


def test_the_comparison_names_the_column_furthest_apart_and_counts_differing_cells(tmp_path):
    reference = pd.DataFrame(
        {"customer_id": ["a", "b"], "days": [10.0, None], "ratio": [0.5, 2.0], "plan": ["x", "y"]}
    )
    result = reference.assign(days=[10.00001, None], ratio=[0.5, 2.2], plan=["x", "z"])
    reference.to_parquet(tmp_path / "reference.parquet")
    result.to_parquet(tmp_path / "result.parquet")
    found = compare(tmp_path / "result.parquet", tmp_path / "reference.parquet")
    assert found["same_shape"] and found["differing_cells"] == 1
    assert found["column_of_max_relative"] == "ratio"
    assert abs(found["max_float_difference"] - 0.2) < 1e-9
    assert abs(found["max_relative_difference"] - 0.1) < 1e-9
