"""The checks' DuckDB SQL said in Spark SQL: the places where sqlglot's own transpiler would
give Spark a function it lacks or one that means something else (features/engines/spark/sql.py).
Pure text; that Spark computes the same results is tests/features/test_ingest_on_spark.py."""

from __future__ import annotations

import pytest

from features.engines.spark.sql import spark_datetime_pattern, to_spark
from features.exports.numbers import text_number_sql
from features.exports.sql import timestamp_sql


def test_a_full_regexp_match_becomes_an_anchored_rlike():
    sql = to_spark(f"SELECT {text_number_sql('amount', ',')} FROM t")
    assert "REGEXP_FULL_MATCH" not in sql
    assert "RLIKE '^(?:[+-]?(([0-9]+(,[0-9]*)?" in sql and ")\\\\z'" in sql


def test_functions_spark_lacks_are_rewritten_inside_other_rewrites():
    # isfinite over a text number: the regexp inside the rewritten isfinite is rewritten too
    number = text_number_sql("v", ".")
    sql = to_spark(f"SELECT count(*) FILTER (WHERE NOT isfinite({number})) FROM t")
    assert "ISFINITE" not in sql and "REGEXP_FULL_MATCH" not in sql
    assert "ISNAN(" in sql and "CAST('Infinity' AS DOUBLE)" in sql


@pytest.mark.parametrize(
    ("duckdb", "spark"),
    [
        ("quantile_cont(x, 0.99)", "PERCENTILE(x, 0.99)"),
        ("hash(a, b)", "XXHASH64(a, b)"),
        ("try_strptime(s, '%Y%m%d')", "CAST(TRY_TO_TIMESTAMP(s, 'yyyyMMdd') AS TIMESTAMP_NTZ)"),
        ("make_timestamp(m)", "CAST(TIMESTAMP_MICROS(m) AS TIMESTAMP_NTZ)"),
        ("TIMESTAMP '2024-07-01 00:00:00'", "CAST('2024-07-01 00:00:00' AS TIMESTAMP_NTZ)"),
    ],
)
def test_each_gap_gets_the_spark_function_that_means_the_same(duckdb, spark):
    assert to_spark(f"SELECT {duckdb}") == f"SELECT {spark}"


def test_epoch_and_iso_timestamps_stay_naive_on_spark():
    sql = to_spark(f"SELECT {timestamp_sql('ts', 'VARCHAR', 'auto')} FROM t")
    assert "TIMESTAMP_MICROS" in sql and "AS TIMESTAMP_NTZ" in sql and "MAKE_TIMESTAMP" not in sql


@pytest.mark.parametrize(
    ("strftime", "spark"),
    [
        ("%Y%m%d", "yyyyMMdd"),
        ("%d/%m/%Y %H:%M", "dd/MM/yyyy HH:mm"),
        ("%Y-%m-%dT%H:%M:%S", "yyyy-MM-dd'T'HH:mm:ss"),
        ("%d %b %Y at %I%p", "dd MMM yyyy' at 'hha"),
    ],
)
def test_strptime_patterns_become_fixed_width_spark_patterns(strftime, spark):
    assert spark_datetime_pattern(strftime) == spark


def test_a_directive_spark_cannot_read_is_named():
    with pytest.raises(ValueError, match="%U"):
        spark_datetime_pattern("%Y week %U")
