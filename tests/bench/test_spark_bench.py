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


def _write_list(folder, name, rows):
    folder.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(folder / name, index=False)


def test_the_top_of_a_list_is_compared_row_by_row_with_the_reference_list(tmp_path):
    from bench.score_bench import SCORE_AS_OF
    from bench.spark_list_bench import compare_top

    lists = tmp_path / "lists"
    rows = [
        {"customer_id": c, "churn_probability": p, "risk_tier": t, "reason_1": r}
        for c, p, t, r in [
            ("a", 0.5, "high", "x 9.0"),
            ("b", 0.2, "medium", "y"),
            ("c", 0.1, "low", ""),
        ]
    ]
    _write_list(lists / "duckdb" / f"as_of={SCORE_AS_OF}", "at_risk.csv", rows)
    top = [dict(rows[0], reason_1="x 8.9"), rows[1]]  # the first two rows; a figure rounded
    _write_list(lists / "spark" / f"as_of={SCORE_AS_OF}", "at_risk_top.csv", top)
    found = compare_top("spark", tmp_path)
    assert found == {
        "rows": 2,
        "same_order": True,
        "same_tiers": True,
        "same_probabilities": True,
        "rows_with_any_difference": 1,
    }
    swapped = [rows[1], rows[0]]
    _write_list(lists / "other" / f"as_of={SCORE_AS_OF}", "at_risk_top.csv", swapped)
    assert not compare_top("other", tmp_path)["same_order"]
