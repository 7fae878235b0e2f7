"""The export checks' DuckDB SQL said in Spark SQL: sqlglot's transpiler, plus the few
rewrites where its Spark output would fail or mean something else.

The checks (features/exports/: rules.py, numbers.py, sql.py, duplicates.py, ingest.py) are
written once, in DuckDB's dialect; the Spark runner (features/engines/spark/checks.py) passes
each query through `to_spark` before `spark.sql`. Each rewrite below was found by running the
checks' queries on both engines over the same exports (tests/features/test_ingest_on_spark.py):

- `regexp_full_match(text, pattern)` has no Spark function; sqlglot keeps the name. Spark's
  `RLIKE` finds a match anywhere, so the pattern is anchored: `^(?:pattern)$` would still
  accept a trailing line break before `$` (Java), hence `\\z`.
- `isfinite(x)` has no Spark function: NaN and the infinities are compared explicitly.
- `try_strptime(text, format)` is kept as is; DuckDB's `strptime` would become Spark's
  `to_timestamp`, which raises on a bad value under ANSI mode (Spark 4's default). It becomes
  `try_to_timestamp` with the strftime pattern turned into Spark's (fixed-width fields, so
  "%Y%m%d" reads 20240301; sqlglot's own mapping gives single-letter, variable-width ones).
- `quantile_cont(x, q)` becomes `PERCENTILE_CONT(x, q)`, which Spark does not take in that
  form: Spark's `percentile(x, q)` is the same interpolated percentile.
- `make_timestamp(micros)` and `try_to_timestamp` give Spark's TIMESTAMP, an instant: cast to
  TIMESTAMP_NTZ, naive like DuckDB's TIMESTAMP (sqlglot maps TIMESTAMP casts so already).
- `hash(...)` is DuckDB's 64-bit hash; Spark's `hash` is 32 bits, so `xxhash64` is used
  (candidate rows are still compared on their values, so a collision costs only time).
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

# strftime directive -> Spark datetime pattern. Fixed widths: an export's dates are written
# by a program, zero-padded; "%-d" style (unpadded) is not a strptime directive DuckDB reads.
STRFTIME_TO_SPARK = {
    "%Y": "yyyy",
    "%y": "yy",
    "%m": "MM",
    "%d": "dd",
    "%H": "HH",
    "%I": "hh",
    "%M": "mm",
    "%S": "ss",
    "%f": "SSSSSS",
    "%p": "a",
    "%b": "MMM",
    "%B": "MMMM",
    "%a": "EEE",
    "%A": "EEEE",
    "%j": "DDD",
    "%z": "XX",
    "%Z": "z",
    "%%": "%",
}


def spark_datetime_pattern(strftime: str) -> str:
    """Spark's datetime pattern for a strptime `strftime` pattern; literal text between the
    directives is quoted. Raises ValueError naming a directive Spark has no pattern for."""
    out, literal = [], []
    for piece in re.split(r"(%.)", strftime):
        if not piece:
            continue
        if piece.startswith("%") and len(piece) == 2:
            if piece not in STRFTIME_TO_SPARK:
                raise ValueError(f"the strptime directive {piece} has no Spark equivalent")
            if literal:
                out.append(_quoted("".join(literal)))
                literal = []
            out.append(STRFTIME_TO_SPARK[piece])
        else:
            literal.append(piece)
    if literal:
        out.append(_quoted("".join(literal)))
    return "".join(out)


def _quoted(text: str) -> str:
    """Literal pattern text: separators as they are, letters quoted ('T' in 2024-01-01T10)."""
    if re.fullmatch(r"[^A-Za-z']*", text):
        return text
    return "'" + text.replace("'", "''") + "'"


_INFINITY = exp.cast(exp.Literal.string("Infinity"), "DOUBLE")


def _naive(value: exp.Expression) -> exp.Expression:
    """`value` (a Spark TIMESTAMP, instant in the session's UTC) as TIMESTAMP_NTZ: DuckDB's
    TIMESTAMP is naive, and pyspark hands an instant to Python in the machine's zone."""
    return exp.cast(value, exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"))


def _function_name(node: exp.Expression) -> str:
    return node.name.lower() if isinstance(node, exp.Anonymous) else ""


def _rewrite(node: exp.Expression) -> exp.Expression:
    """One node of a DuckDB query as Spark must read it (see the module's list)."""
    if isinstance(node, exp.RegexpFullMatch):
        pattern = node.expression
        if isinstance(pattern, exp.Literal) and pattern.is_string:
            anchored = exp.Literal.string(f"^(?:{pattern.this})\\z")
            return exp.RegexpLike(this=node.this, expression=anchored)
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return exp.Anonymous(this="percentile", expressions=[node.this, node.expression])
    name = _function_name(node)
    if name == "isfinite":
        (value,) = node.expressions
        return exp.paren(
            exp.and_(
                exp.not_(exp.Anonymous(this="isnan", expressions=[value.copy()])),
                exp.func("abs", value.copy()).neq(_INFINITY.copy()),
            )
        )
    if name == "try_strptime":
        value, fmt = node.expressions
        pattern = exp.Literal.string(spark_datetime_pattern(fmt.this))
        return _naive(exp.Anonymous(this="try_to_timestamp", expressions=[value, pattern]))
    scale = node.args.get("scale") if isinstance(node, exp.UnixToTime) else None
    if scale is not None and scale.name == "6":
        return _naive(exp.Anonymous(this="timestamp_micros", expressions=[node.this]))
    if name == "hash":
        return exp.Anonymous(this="xxhash64", expressions=node.expressions)
    return node


def to_spark(sql: str) -> str:
    """The DuckDB query `sql` in Spark SQL."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    # transform() does not descend into the nodes a rewrite returns, and a rewritten call may
    # hold another (isfinite over a number's regexp_full_match): repeat until nothing changes
    text = tree.sql(dialect="spark")
    for _ in range(8):
        tree = tree.transform(_rewrite)
        again = tree.sql(dialect="spark")
        if again == text:
            break
        text = again
    return text
