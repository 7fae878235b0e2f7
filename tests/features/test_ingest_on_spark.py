"""The export checks on Spark find what they find on DuckDB: the hostile exports of
test_ingest.py run through both runners (one SQL builder, transpiled for Spark) give the same
problems (file, column, count, message, fatal) and the same typed rows. Examples differ only
in how a row is named: 'line 5' on DuckDB, "customer_id 'c3'" on Spark, which has no row order.

Breakages that do not interfere are applied together to one export folder, so that each
Spark check (several seconds of fixed costs on local[2]) covers many cases.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.build import build_features, resolve_spec, to_frame
from features.engines import check_runner, open_tables
from features.engines.spark.cache import intact_copy_at
from features.engines.spark.checks import SparkRunner
from features.errors import ExportError
from features.exports.contract import TABLES, ExportSource
from features.exports.ingest import check_exports, ingest_exports
from features.exports.runners import DuckDBRunner
from features.exports.sql import connect
from pipeline.config import load_config
from tests.conftest import CONFIG, write_valid_exports
from tests.tables import assert_same_table


def _edit(exports: Path, table: str, change, sep: str = ",") -> None:
    path = exports / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(frame).to_csv(path, index=False, sep=sep)


def _events(exports: Path, rows: int = 200) -> pd.DataFrame:
    times = pd.date_range("2024-04-10 10:00", periods=rows, freq="min").astype(str)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i % 5 + 1}" for i in range(rows)],
            "timestamp": times,
            "event_type": "login",
            "value": [str(i % 7) for i in range(rows)],
        }
    )


def _rule_breakages(exports: Path) -> str:
    """One fatal value rule per column: unparseable, negative, out of range, out of order,
    unknown, future, not finite."""
    _edit(
        exports,
        "engagement",
        lambda f: f.assign(
            timestamp=["2024-13-45", "yesterday"] + list(f.timestamp[2:]),
            value=["5", "", "-3.5", "nan", "inf"],
        ),
    )
    _edit(
        exports,
        "purchases",
        lambda f: f.assign(amount=["12,x", "-5", "49"], status=["paid", "chargeback", "paid"]),
    )
    _edit(exports, "surveys", lambda f: f.assign(nps=["11"]))
    _edit(
        exports, "customers", lambda f: f.assign(churned_at=["2023-01-01", "2024-05-10"] + [""] * 3)
    )
    _edit(
        exports,
        "support",
        lambda f: f.assign(opened_at=["2031-01-01 09:00:00", "2024-04-20 09:00:00"]),
    )
    return ""


def _structure_breakages(exports: Path) -> str:
    """A missing file, a missing column, duplicate ids, an empty optional table, Parquet
    doubles that are not numbers."""
    (exports / "purchases.csv").unlink()
    _edit(exports, "engagement", lambda f: f.drop(columns=["event_type"]))
    _edit(exports, "customers", lambda f: pd.concat([f, f.iloc[[0, 2]]]))
    path = exports / "surveys.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    frame = pd.read_csv(exports / "support.csv", dtype=str, keep_default_na=False)
    table = pa.Table.from_pandas(frame.drop(columns="satisfaction"), preserve_index=False)
    values = pa.array([float("nan"), float("inf")])
    pq.write_table(table.append_column("satisfaction", values), exports / "support.parquet")
    (exports / "support.csv").unlink()
    return ""


def _tolerated(exports: Path) -> str:
    """Nothing fatal: decimal commas, a semicolon delimiter read from the header, a blank
    status, a few exact and event duplicates, an unknown customer, an outlier, an event before
    signup, a partitioned Parquet folder, a configured timestamp format, an id holding a quote
    (written "c3""x") in every table that has c3."""
    odd = {"customer_id": {"c3": 'c3"x'}}
    _edit(exports, "purchases", lambda f: f.assign(amount=["10,8", "19", "1.234,5"]))
    _edit(
        exports, "purchases", lambda f: f.assign(status=["paid", "", "paid"]).replace(odd), sep=";"
    )
    events = _events(exports, rows=1000)
    events.loc[120, "value"] = "2500000"
    events.loc[0, "customer_id"] = "ghost"
    events.loc[1, "timestamp"] = "2023-12-30 10:00:00"  # c2 signed up on 2024-01-15
    events = events.replace(odd)
    repeats = [events.iloc[[7]], events.iloc[[3]].assign(value="99")]
    pd.concat([events, *repeats]).to_csv(exports / "engagement.csv", index=False)
    customers = pd.read_csv(exports / "customers.csv", dtype=str, keep_default_na=False)
    customers = customers.replace(odd)
    customers["signup_at"] = pd.to_datetime(customers["signup_at"])
    customers["churned_at"] = pd.to_datetime(customers["churned_at"].replace("", None))
    customers["seats"] = customers["seats"].astype(float)
    customers.to_parquet(exports / "customers.parquet", partition_cols=["plan"])
    (exports / "customers.csv").unlink()
    _edit(exports, "surveys", lambda f: f.assign(answered_at=["20240415"]))
    return '\n[tables.surveys.timestamps]\nanswered_at = "%Y%m%d"\n'


def _repeats(exports: Path) -> str:
    """Fatal repeats and numbers: an export appended to itself, more duplicates than allowed,
    mixed decimal conventions, grouped whole numbers alone."""
    _edit(exports, "purchases", lambda f: pd.concat([f, f]))
    events = _events(exports)
    pd.concat([events, events.iloc[:10]]).to_csv(exports / "engagement.csv", index=False)
    _edit(exports, "support", lambda f: f.assign(satisfaction=["2,5", "3.5"]))
    _edit(exports, "customers", lambda f: f.assign(seats=["1,234", "2,500", "3", "4", "5"]))
    return ""


def _orphans(exports: Path) -> str:
    """Rows for unknown customers above the tolerance; same-day identical rows kept."""
    _edit(exports, "engagement", lambda f: f.assign(customer_id=["zz"] * len(f)))
    _edit(exports, "purchases", lambda f: pd.concat([f, f.iloc[[1]]]))
    return ""


CASES = {
    "rules": _rule_breakages,
    "structure": _structure_breakages,
    "tolerated": _tolerated,
    "repeats": _repeats,
    "orphans": _orphans,
}

# How each engine names an example row: "line 5: 'x'" / "row 3: 'x'" (DuckDB) and
# "customer_id 'c3': 'x'" (Spark); repeats as "line 2 = line 5" or "2 rows with ...".
_POSITION = re.compile(r"^(line [\d,]+|row [\d,]+|\w+ (?:'[^']*'|None)|row): (.*)$")
_REPEAT = re.compile(r"^(line|row) [\d,]+ (=|and) (line|row) [\d,]+$|^\d+ rows with .*$")


# A double from a Parquet export is shown as text the engine's way: DuckDB's 'nan' and 'inf'
# are Spark's 'NaN' and 'Infinity'.
_DOUBLE_WORDS = {"'NaN'": "'nan'", "'Infinity'": "'inf'", "'-Infinity'": "'-inf'"}


def _value(example: str) -> str:
    """An example without its row's name: the value shown, or '<repeat>' for a repeat."""
    if _REPEAT.match(example):
        return "<repeat>"
    match = _POSITION.match(example)
    value = match.group(2) if match else example
    return _DOUBLE_WORDS.get(value, value)


def _comparable(report) -> list[tuple]:
    found = [
        (p.file, p.column, p.count, p.fatal, p.message, sorted(map(_value, p.examples)))
        for p in report.problems
    ]
    return sorted(found, key=repr)


def _project(root: Path, case: str) -> Path:
    write_valid_exports(root / "exports")
    settings = CASES[case](root / "exports")
    (root / "churn.toml").write_text(CONFIG + settings)
    return root / "churn.toml"


@pytest.fixture(scope="module")
def runners(spark):
    """Both runners; Spark's on the test run's session (tests/conftest.py: few shuffle
    partitions, for these five-row exports)."""
    return DuckDBRunner(connect()), SparkRunner(spark._session)


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_exports_give_the_same_problems_on_spark_and_duckdb(
    tmp_path, runners, case, monkeypatch
):
    config = load_config(_project(tmp_path, case))
    duck, spark = runners
    if case == "tolerated":  # nothing fatal: checked and typed, the typed rows compared below
        duck_paths, on_duckdb = ingest_exports(config.exports, tmp_path / "d", config.as_of, duck)
        spark_paths, on_spark = ingest_exports(config.exports, tmp_path / "s", config.as_of, spark)
    else:
        on_duckdb = check_exports(duck, config.exports, config.as_of)
        on_spark = check_exports(spark, config.exports, config.as_of)
    assert len(on_duckdb.problems) >= 3 or case == "orphans"  # a real mix, not one line
    assert _comparable(on_spark) == _comparable(on_duckdb)
    assert {n: (t.rows, t.first, t.last, t.orphans) for n, t in on_spark.tables.items()} == {
        n: (t.rows, t.first, t.last, t.orphans) for n, t in on_duckdb.tables.items()
    }
    if case == "rules":  # the same line, the rows named by their customer instead of line
        line = (
            "engagement.csv: column 'timestamp': 2 rows with unparseable timestamps (set its "
            "format in the config: iso, epoch_s, epoch_ms or a strptime pattern), e.g. "
        )
        assert line + "line 2: '2024-13-45'; line 3: 'yesterday'" in _lines(on_duckdb)
        assert line + "customer_id 'c1': '2024-13-45'; customer_id 'c1': 'yesterday'" in _lines(
            on_spark
        )
    if case == "tolerated":
        assert not on_duckdb.fatal and len(on_duckdb.warnings) >= 6
        assert sum(t.orphans for t in on_duckdb.tables.values()) == 1  # 'ghost' only
        for name in ("customers", "engagement", "purchases"):
            assert 'c3"x' in set(pd.read_parquet(spark_paths[name])["customer_id"]), name
        assert Path(spark_paths["engagement"]).is_dir()  # Spark's parts, not the driver's file
        for name, path in duck_paths.items():
            expected = _sorted(pd.read_parquet(path))
            pd.testing.assert_frame_equal(_sorted(pd.read_parquet(spark_paths[name])), expected)
        # DuckDB (churn report) opens Spark's folders of parts too
        opened = open_tables(spark_paths)
        assert {n: int(t.count().execute()) for n, t in opened.items()} == {
            n: len(pd.read_parquet(p)) for n, p in duck_paths.items()
        }

        # unchanged exports on Spark: the verdict kept in the copy's manifest is replayed
        def no_second_check(*args, **kwargs):
            raise AssertionError("unchanged exports were checked again on Spark")

        monkeypatch.setattr("features.exports.ingest.check_exports", no_second_check)
        again, replayed = ingest_exports(config.exports, tmp_path / "s", config.as_of, spark)
        assert again == spark_paths and replayed.replayed_from is not None
        assert _lines(replayed) == _lines(on_spark)
        assert all(p.recorded for p in replayed.warnings)


def _lines(report) -> list[str]:
    return [p.line() for p in report.problems]


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):  # a partition column
            frame[column] = frame[column].astype(str)
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_exports_at_file_uris_are_checked_typed_and_featurised_on_spark(export_dir, spark, runners):
    exports, typed = (export_dir / "exports").as_uri(), (export_dir / "typed").as_uri()
    on_spark = export_dir / "spark.toml"
    on_spark.write_text(
        CONFIG.replace('dir = "exports"', f'dir = "{exports}"\ncache_dir = "{typed}"')
        + '\n[engine]\nbackend = "spark"\n'
    )
    config, local = load_config(on_spark), load_config(export_dir / "churn.toml")
    assert config.exports.directory == exports and config.cache_dir == typed
    runner = check_runner(config.engine)
    paths, report = ingest_exports(config.exports, config.cache_dir, config.as_of, runner)
    assert report.fatal == [] and sorted(paths) == sorted(set(TABLES) - {"contacts"})
    assert all(p.startswith(typed + "/") for p in paths.values())
    folder = paths["customers"].rsplit("/", 1)[0]  # the copy is found again, intact
    assert intact_copy_at(runner, folder, list(paths)) == paths
    duck_paths, _ = ingest_exports(local.exports, export_dir / "duck", local.as_of)
    sparked, duck = open_tables(paths, spark), open_tables(duck_paths)
    spec = resolve_spec(duck, local.features, local.exports.profile)
    cutoffs = [pd.Timestamp("2024-05-01")]
    on_duckdb = to_frame(build_features(duck, cutoffs, spec))
    assert len(on_duckdb) == 5 and on_duckdb.shape[1] > 50  # every family, every customer
    assert_same_table(on_duckdb, to_frame(build_features(sparked, cutoffs, spec)))


def test_a_uri_spark_cannot_reach_stops_with_one_line(runners):
    source = ExportSource("s3a://no-such-bucket/exports", {})
    with pytest.raises(ExportError) as raised:
        check_exports(runners[1], source, None)
    (problem,) = raised.value.problems
    assert problem.line().startswith("s3a://no-such-bucket/exports: cannot be read: ")
