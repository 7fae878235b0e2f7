"""Validation of exports: every kind of bad input gives one clear line and a non-zero exit."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.errors import UserError
from features.exports.cache import export_fingerprint
from features.exports.ingest import check_exports, ingest_exports
from features.exports.sql import connect
from pipeline.cli import main
from pipeline.config import load_config


def _run(project: Path, capsys) -> tuple[int, str, str]:
    code = main(["validate", "--config", str(project / "churn.toml")])
    out, err = capsys.readouterr()
    return code, out, err


def _edit(project: Path, table: str, change) -> None:
    path = project / "exports" / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(frame).to_csv(path, index=False)


def test_valid_exports_print_a_summary(export_dir, capsys):
    code, out, err = _run(export_dir, capsys)
    assert code == 0, err
    assert "customers: 5" in out
    assert "engagement" in out and "monthly churn" in out
    assert "2024-05" in out  # c2 cancelled in May


def test_typed_copy_parses_every_timestamp_style(export_dir):
    config = load_config(export_dir / "churn.toml")
    paths, report = ingest_exports(config.exports, export_dir / "cache", config.as_of)
    events = pd.read_parquet(paths["engagement"]).sort_values("customer_id")
    assert list(events["timestamp"].dt.strftime("%Y-%m-%d %H:%M")) == [
        "2024-03-01 10:00",
        "2024-04-02 11:00",
        "2024-04-01 00:00",
        "2024-04-01 10:00",
        "2024-05-01 10:00",  # epoch seconds and epoch milliseconds
    ]
    assert report.fatal == []
    customers = pd.read_parquet(paths["customers"])
    assert customers["seats"].tolist() == [3.0, 1.0, 5.0, 20.0, 1.0]


BROKEN = [
    pytest.param(
        lambda p: (p / "exports" / "purchases.csv").unlink(),
        "purchases.parquet or purchases.csv",
        "file not found",
        id="missing-file",
    ),
    pytest.param(
        lambda p: _edit(p, "engagement", lambda f: f.drop(columns=["event_type"])),
        "engagement.csv",
        "missing required column 'event_type'",
        id="missing-column",
    ),
    pytest.param(
        lambda p: _edit(
            p,
            "engagement",
            lambda f: f.assign(timestamp=["2024-13-45", "yesterday"] + list(f.timestamp[2:])),
        ),
        "engagement.csv: column 'timestamp'",
        "2 rows with unparseable timestamps",
        id="bad-timestamp",
    ),
    pytest.param(
        lambda p: _edit(p, "purchases", lambda f: f.assign(amount=["12,x", "19", "49"])),
        "purchases.csv: column 'amount'",
        "1 rows with unparseable numbers",
        id="bad-number",
    ),
    pytest.param(
        lambda p: _edit(p, "customers", lambda f: pd.concat([f, f.iloc[[0]]])),
        "customers.csv: column 'customer_id'",
        "1 duplicate customer ids",
        id="duplicate-ids",
    ),
    pytest.param(
        lambda p: _edit(p, "purchases", lambda f: f.assign(amount=["-5", "19", "49"])),
        "purchases.csv: column 'amount'",
        "negative values not allowed",
        id="negative-amount",
    ),
    pytest.param(
        lambda p: _edit(p, "engagement", lambda f: f.assign(value=["5", "", "-3.5", "1", "2"])),
        "engagement.csv: column 'value'",
        "1 rows with negative values not allowed",
        id="negative-engagement-value",
    ),
    pytest.param(
        lambda p: _edit(p, "purchases", lambda f: f.assign(status=["", " ", ""])),
        "purchases.csv: column 'status'",
        "every status is empty, so no purchase would count as paid",
        id="status-blank-throughout",
    ),
    pytest.param(
        lambda p: _edit(p, "engagement", lambda f: f.assign(customer_id=["zz"] * len(f))),
        "engagement.csv: column 'customer_id'",
        "customers not in the customer table",
        id="unknown-customers",
    ),
    pytest.param(
        lambda p: _edit(
            p, "engagement", lambda f: f.assign(timestamp=["2031-01-01"] + list(f.timestamp[1:]))
        ),
        "engagement.csv: column 'timestamp'",
        "after the data's as-of date 2024-06-30",
        id="future-timestamp",
    ),
    pytest.param(
        lambda p: _edit(p, "purchases", lambda f: f.assign(status=["paid", "chargeback", "paid"])),
        "purchases.csv: column 'status'",
        "unknown status values",
        id="unknown-status",
    ),
    pytest.param(
        lambda p: _edit(p, "surveys", lambda f: f.assign(nps=["11"])),
        "surveys.csv: column 'nps'",
        "values outside 0-10",
        id="nps-range",
    ),
    pytest.param(
        lambda p: _edit(
            p, "customers", lambda f: f.assign(churned_at=["2023-01-01", "2024-05-10", "", "", ""])
        ),
        "customers.csv: column 'churned_at'",
        "cancellation before signup",
        id="churn-before-signup",
    ),
]


@pytest.mark.parametrize(("breakage", "where", "message"), BROKEN)
def test_broken_exports_fail_with_one_clear_line(export_dir, capsys, breakage, where, message):
    breakage(export_dir)
    code, out, err = _run(export_dir, capsys)
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert where in errors[0] and message in errors[0], errors[0]
    assert "Traceback" not in err


def test_examples_name_the_offending_lines(export_dir, capsys):
    _edit(
        export_dir,
        "engagement",
        lambda f: f.assign(timestamp=list(f.timestamp[:3]) + ["not a date", f.timestamp[4]]),
    )
    _, _, err = _run(export_dir, capsys)
    assert "line 5: 'not a date'" in err  # header is line 1, so the 4th row is line 5


def test_a_few_orphan_rows_are_tolerated_and_reported(export_dir, capsys):
    events = pd.read_csv(export_dir / "exports" / "engagement.csv", dtype=str)
    many = pd.concat([events] * 40, ignore_index=True)
    # 200 distinct events a minute apart, not 40 copies of five
    many["timestamp"] = pd.date_range("2024-04-10", periods=len(many), freq="min").astype(str)
    many.loc[0, "customer_id"] = "ghost"
    many.to_csv(export_dir / "exports" / "engagement.csv", index=False)
    code, out, err = _run(export_dir, capsys)
    assert code == 0
    assert "warning: engagement.csv: column 'customer_id': 1 rows (0.50%)" in err
    assert "left out of features" in err and "'ghost'" in err

    config = load_config(export_dir / "churn.toml")
    paths, _ = ingest_exports(config.exports, export_dir / "cache", config.as_of)
    typed = pd.read_parquet(paths["engagement"])
    assert len(typed) == len(many) - 1 and "ghost" not in set(typed["customer_id"])


def test_column_mapping_and_timestamp_format_come_from_config(export_dir, capsys):
    _edit(
        export_dir,
        "engagement",
        lambda f: f.rename(columns={"timestamp": "event_time"}).assign(
            event_time=["20240301", "20240402", "20240401", "20240401", "20240501"]
        ),
    )
    config = export_dir / "churn.toml"
    config.write_text(
        config.read_text()
        + """
[tables.engagement.columns]
timestamp = "event_time"
[tables.engagement.timestamps]
timestamp = "%Y%m%d"
"""
    )
    code, _, err = _run(export_dir, capsys)
    assert code == 0, err


def test_ambiguous_numeric_dates_are_not_guessed(export_dir, capsys):
    _edit(export_dir, "engagement", lambda f: f.assign(timestamp=["20240301"] * len(f)))
    code, _, err = _run(export_dir, capsys)
    assert code == 2 and "set its format in the config" in err


def test_config_typos_are_reported(export_dir, capsys):
    (export_dir / "churn.toml").write_text("[churn]\nhorizon_dayz = 30\n")
    code, _, err = _run(export_dir, capsys)
    assert code == 2 and "horizon_dayz" in err and "Traceback" not in err


def test_command_line_exit_code_without_traceback(export_dir):
    (export_dir / "exports" / "customers.csv").unlink()
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "validate", "--config", "churn.toml"],
        cwd=export_dir,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "customers" in result.stderr
    assert "Traceback" not in result.stderr


def _engagement_typed(exports) -> pd.DataFrame:
    """The engagement export with its timestamps as timestamps (epoch-second rows, which a
    Parquet column cannot mix in, become a date), ready to be written as Parquet."""
    frame = pd.read_csv(exports / "engagement.csv", dtype=str, keep_default_na=False)
    frame["timestamp"] = pd.to_datetime(
        frame["timestamp"].str[:10].where(~frame["timestamp"].str.isdigit(), "2024-04-01")
    )
    return frame


def test_parquet_exports_are_read_natively(export_dir):
    exports = export_dir / "exports"
    frame = _engagement_typed(exports)
    frame.to_parquet(exports / "engagement.parquet")
    (exports / "engagement.csv").unlink()
    config = load_config(export_dir / "churn.toml")
    report = check_exports(connect(), config.exports, dt.date(2024, 6, 30))
    assert report.fatal == [] and report.tables["engagement"].file == "engagement.parquet"


def test_a_partitioned_parquet_folder_is_read_with_its_partition_column(export_dir):
    # Spark and Hive write a table as a folder of parts under column=value subfolders; the
    # partition column's values live in the folder names, not in the parts
    exports = export_dir / "exports"
    frame = _engagement_typed(exports)
    frame.to_parquet(exports / "flat.parquet")
    frame.to_parquet(exports / "engagement.parquet", partition_cols=["event_type"])
    assert (exports / "engagement.parquet" / "event_type=login").is_dir()
    (exports / "engagement.csv").unlink()
    config = load_config(export_dir / "churn.toml")
    before = export_fingerprint(config.exports, None)
    paths, report = ingest_exports(config.exports, export_dir / "cache", dt.date(2024, 6, 30))
    assert report.fatal == [] and report.tables["engagement"].rows == len(frame)
    typed = pd.read_parquet(paths["engagement"]).sort_values(["customer_id", "timestamp"])
    assert (
        typed["event_type"].tolist()
        == frame.sort_values(["customer_id", "timestamp"])["event_type"].tolist()
    )
    # a part changed in a partition folder is a changed export: the typed copy is not reused
    part = next((exports / "engagement.parquet" / "event_type=login").glob("*.parquet"))
    pq.write_table(pq.read_table(part).slice(0, 1), part)
    assert export_fingerprint(config.exports, None) != before


def _header_only(project: Path, table: str) -> None:
    path = project / "exports" / f"{table}.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")


def test_absent_optional_tables_are_simply_left_out(export_dir, capsys):
    (export_dir / "exports" / "support.csv").unlink()
    (export_dir / "exports" / "surveys.csv").unlink()
    code, out, err = _run(export_dir, capsys)
    assert code == 0 and err == ""
    config = load_config(export_dir / "churn.toml")
    paths, report = ingest_exports(config.exports, export_dir / "cache", config.as_of)
    assert sorted(paths) == ["customers", "engagement", "purchases"] == sorted(report.tables)


def test_optional_table_with_a_header_and_no_rows_is_left_out_with_a_warning(export_dir, capsys):
    _header_only(export_dir, "support")
    code, out, err = _run(export_dir, capsys)
    assert code == 0
    assert err == "warning: support.csv: no rows; the support features are left out\n"
    assert "support" not in out
    config = load_config(export_dir / "churn.toml")
    paths, _ = ingest_exports(config.exports, export_dir / "cache", config.as_of)
    assert "support" not in paths
    assert not list((export_dir / "cache").glob("*/support.parquet"))


def test_optional_parquet_table_with_no_rows_is_left_out(export_dir):
    exports = export_dir / "exports"
    pd.read_csv(exports / "surveys.csv", dtype=str).iloc[:0].to_parquet(exports / "surveys.parquet")
    (exports / "surveys.csv").unlink()
    config = load_config(export_dir / "churn.toml")
    report = check_exports(connect(), config.exports, config.as_of)
    assert report.fatal == [] and "surveys" not in report.tables
    assert [p.line() for p in report.warnings] == [
        "surveys.parquet: no rows; the surveys features are left out"
    ]


def test_engagement_with_no_rows_is_left_out_with_a_warning(export_dir, capsys):
    """Usage is optional (purchases-only shops): a header-only export is said, not hidden."""
    _header_only(export_dir, "engagement")
    code, _, err = _run(export_dir, capsys)
    assert code == 0
    assert "warning: engagement.csv: no rows; the engagement features are left out" in err


@pytest.mark.parametrize("table", ["customers", "purchases"])
def test_required_table_with_no_rows_is_fatal(export_dir, capsys, table):
    _header_only(export_dir, table)
    code, _, err = _run(export_dir, capsys)
    assert code == 2
    assert f"error: {table}.csv: no rows; the {table} table is required" in err


def test_an_empty_file_is_reported_as_empty_not_as_missing_columns(export_dir, capsys):
    (export_dir / "exports" / "customers.csv").write_text("")
    code, _, err = _run(export_dir, capsys)
    assert code == 2 and "customers.csv: no rows" in err and "missing" not in err


def _typed(project: Path, table: str) -> pd.DataFrame:
    config = load_config(project / "churn.toml")
    paths, _ = ingest_exports(config.exports, project / "cache", config.as_of)
    return pd.read_parquet(paths[table])


def _set_table(project: Path, table: str, settings: str) -> None:
    config = project / "churn.toml"
    config.write_text(config.read_text() + f"\n[tables.{table}]\n{settings}\n")


def test_decimal_commas_are_read_as_fractions_and_the_choice_is_reported(export_dir, capsys):
    _edit(export_dir, "purchases", lambda f: f.assign(amount=["10,8", "19", "1.234,5"]))
    code, _, err = _run(export_dir, capsys)
    assert code == 0
    assert "warning: purchases.csv: column 'amount': numbers read with a decimal comma" in err
    assert 'decimal = ","' in err and "line 2: '10,8'" in err
    assert _typed(export_dir, "purchases")["amount"].tolist() == [10.8, 19.0, 1234.5]


@pytest.mark.parametrize("setting", ["", 'delimiter = ";"'], ids=["sniffed", "set"])
def test_semicolon_delimited_export_with_decimal_commas(export_dir, setting):
    path = export_dir / "exports" / "purchases.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.assign(amount=["10,8", "0,25", "49"]).to_csv(path, index=False, sep=";")
    if setting:
        _set_table(export_dir, "purchases", setting)
    assert _typed(export_dir, "purchases")["amount"].tolist() == [10.8, 0.25, 49.0]


def test_quoted_decimal_commas_in_a_comma_delimited_export(export_dir):
    _edit(export_dir, "purchases", lambda f: f.assign(amount=["10,8", "19,5", "49"]))
    assert '"10,8"' in (export_dir / "exports" / "purchases.csv").read_text()
    assert _typed(export_dir, "purchases")["amount"].tolist() == [10.8, 19.5, 49.0]


def test_thousands_separators_still_read_with_a_decimal_point(export_dir):
    _edit(export_dir, "purchases", lambda f: f.assign(amount=["1,234.5", "19.5", "12,345,678"]))
    assert _typed(export_dir, "purchases")["amount"].tolist() == [1234.5, 19.5, 12345678.0]


@pytest.mark.parametrize(
    ("table", "change"),
    [
        pytest.param(
            "purchases", lambda f: f.assign(amount=["10,8", "10.5", "49"]), id="one-column"
        ),
        pytest.param(
            "purchases",
            lambda f: f.assign(amount=["10,8", "19", "49"], discount=["0.5", "", "1"]),
            id="across-columns",
        ),
    ],
)
def test_mixed_decimal_conventions_in_one_file_are_fatal(export_dir, capsys, table, change):
    _edit(export_dir, table, change)
    code, _, err = _run(export_dir, capsys)
    assert code == 2
    assert "purchases.csv" in err and "mixed decimal conventions" in err
    assert "'10,8'" in err and "[tables.purchases] decimal" in err


def test_grouped_whole_numbers_alone_are_refused_not_guessed(export_dir, capsys):
    _edit(export_dir, "purchases", lambda f: f.assign(amount=["1,234", "19", "2,500"]))
    code, _, err = _run(export_dir, capsys)
    assert code == 2
    assert "2 numbers read differently with a decimal point or a decimal comma" in err
    assert "line 2: '1,234'" in err and '[tables.purchases] decimal = "." or ","' in err


@pytest.mark.parametrize(("mark", "amounts"), [(".", [1234.0, 19.0]), (",", [1.234, 19.0])])
def test_a_set_decimal_mark_settles_grouped_numbers(export_dir, mark, amounts):
    _edit(export_dir, "purchases", lambda f: f.assign(amount=["1,234", "19", "49"]))
    _set_table(export_dir, "purchases", f'decimal = "{mark}"')
    assert _typed(export_dir, "purchases")["amount"].tolist()[:2] == amounts


def test_a_set_decimal_point_refuses_a_comma_that_groups_nothing(export_dir, capsys):
    _edit(export_dir, "purchases", lambda f: f.assign(amount=["10,8", "19", "49"]))
    _set_table(export_dir, "purchases", 'decimal = "."')
    code, _, err = _run(export_dir, capsys)
    assert code == 2 and "1 rows with unparseable numbers, e.g. line 2: '10,8'" in err


def test_nan_and_infinity_written_as_text_are_unparseable(export_dir, capsys):
    _edit(
        export_dir, "engagement", lambda f: f.assign(value=["nan", "inf", "-inf", "infinity", "1"])
    )
    code, _, err = _run(export_dir, capsys)
    assert code == 2 and "engagement.csv: column 'value': 4 rows with unparseable numbers" in err


def test_parquet_doubles_that_are_not_finite_are_fatal(export_dir, capsys):
    exports = export_dir / "exports"
    frame = pd.read_csv(exports / "purchases.csv", dtype=str, keep_default_na=False)
    table = pa.Table.from_pandas(frame.drop(columns="amount"), preserve_index=False)
    amounts = pa.array([float("nan"), float("inf"), 49.0])  # a real NaN, not a null
    pq.write_table(table.append_column("amount", amounts), exports / "purchases.parquet")
    (exports / "purchases.csv").unlink()
    code, _, err = _run(export_dir, capsys)
    assert code == 2
    assert "purchases.parquet: column 'amount': 2 rows with values that are not finite" in err


def test_a_few_blank_statuses_are_counted_as_not_paid_and_kept(export_dir, capsys):
    _edit(export_dir, "purchases", lambda f: f.assign(status=["paid", "", "paid"]))
    code, _, err = _run(export_dir, capsys)
    assert code == 0
    assert (
        "warning: purchases.csv: column 'status': 1 rows with empty status values, counted as "
        "not paid, e.g. line 3: None" in err
    )
    assert _typed(export_dir, "purchases")["status"].isna().sum() == 1


def _events(project: Path, rows: int = 200, dates_only: bool = False) -> pd.DataFrame:
    """`rows` distinct engagement events after every signup, written and returned: a minute
    apart, or with `dates_only` one a day per customer."""
    times = pd.date_range("2024-04-10 10:00", periods=rows, freq="min").astype(str)
    if dates_only:
        times = pd.Series(pd.date_range("2024-04-10", periods=rows // 5 + 1, freq="D"))
        times = times.repeat(5).dt.strftime("%Y-%m-%d").iloc[:rows].tolist()
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i % 5 + 1}" for i in range(rows)],
            "timestamp": times,
            "event_type": "login",
            "value": [str(i % 7) for i in range(rows)],
        }
    )
    frame.to_csv(project / "exports" / "engagement.csv", index=False)
    return frame


def _write_events(project: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(project / "exports" / "engagement.csv", index=False)


def test_an_export_appended_to_itself_is_fatal_naming_a_duplicated_pair(export_dir, capsys):
    _edit(export_dir, "purchases", lambda f: pd.concat([f, f]))
    code, _, err = _run(export_dir, capsys)
    assert code == 2
    assert (
        "error: purchases.csv: every row appears at least twice (3 exact duplicate rows, 50.0%): "
        "the export looks appended to itself; export it again, e.g. line 2 = line 5; "
        "line 3 = line 6; line 4 = line 7"
    ) in err


def test_more_exact_duplicates_than_allowed_are_fatal(export_dir, capsys):
    events = _events(export_dir)
    _write_events(export_dir, pd.concat([events, events.iloc[:10]]))
    code, _, err = _run(export_dir, capsys)
    assert code == 2
    assert (
        "error: engagement.csv: 10 exact duplicate rows (4.8%, allowed 1.0%): rows were "
        "exported more than once; remove them or raise [tables.engagement] max_duplicate_share, "
        "e.g. line 2 = line 202"
    ) in err


def test_a_few_exact_duplicates_are_counted_and_left_out_of_the_typed_copy(export_dir, capsys):
    events = _events(export_dir)
    _write_events(export_dir, pd.concat([events, events.iloc[[7]]]))
    code, _, err = _run(export_dir, capsys)
    assert code == 0
    assert (
        "warning: engagement.csv: 1 exact duplicate rows (0.50%, allowed 1.0%) left out, "
        "e.g. line 9 = line 202"
    ) in err
    typed = _typed(export_dir, "engagement")
    assert len(typed) == 200 and not typed.duplicated().any()


def test_a_table_may_tolerate_more_duplicates_than_the_default(export_dir, capsys):
    events = _events(export_dir)
    _write_events(export_dir, pd.concat([events, events.iloc[:10]]))
    _set_table(export_dir, "engagement", "max_duplicate_share = 0.05")
    code, _, err = _run(export_dir, capsys)
    assert code == 0 and "10 exact duplicate rows (4.8%, allowed 5.0%) left out" in err
    assert len(_typed(export_dir, "engagement")) == 200


def test_identical_rows_without_a_time_of_day_are_kept_as_same_day_events(export_dir, capsys):
    events = _events(export_dir, dates_only=True)
    _write_events(export_dir, pd.concat([events, events.iloc[:40]]))  # 40 second logins
    code, _, err = _run(export_dir, capsys)
    assert code == 0
    assert (
        "warning: engagement.csv: 40 identical rows (16.7%, allowed 1.0%) kept: the timestamps "
        "carry no time of day, so they may be separate events on one day"
    ) in err
    assert len(_typed(export_dir, "engagement")) == 240


def test_date_only_export_where_every_row_repeats_is_fatal(export_dir, capsys):
    events = _events(export_dir, dates_only=True)
    _write_events(export_dir, pd.concat([events, events]))
    code, _, err = _run(export_dir, capsys)
    assert code == 2 and "every row appears at least twice" in err


def test_events_repeated_with_different_values_are_fatal_above_the_tolerance(export_dir, capsys):
    events = _events(export_dir)
    changed = events.iloc[:5].assign(value="99")
    _write_events(export_dir, pd.concat([events, changed]))
    code, _, err = _run(export_dir, capsys)
    assert code == 2
    assert (
        "error: engagement.csv: 5 duplicated events: rows repeating another row's customer, "
        "timestamp and event type with other values (2.4%, allowed 1.0%); remove them or raise "
        "[tables.engagement] max_duplicate_share, e.g. line 2 and line 202"
    ) in err


def test_a_few_events_repeated_with_different_values_are_kept_with_a_warning(export_dir, capsys):
    events = _events(export_dir)
    _write_events(export_dir, pd.concat([events, events.iloc[[3]].assign(value="99")]))
    code, _, err = _run(export_dir, capsys)
    assert code == 0 and "1 duplicated events" in err and "(0.50%, allowed 1.0%); kept" in err
    assert len(_typed(export_dir, "engagement")) == 201


def test_duplicate_rows_in_parquet_are_named_by_row_number(export_dir, capsys):
    exports = export_dir / "exports"
    frame = pd.read_csv(exports / "purchases.csv", dtype=str, keep_default_na=False)
    pd.concat([frame, frame]).to_parquet(exports / "purchases.parquet")
    (exports / "purchases.csv").unlink()
    _, _, err = _run(export_dir, capsys)
    assert "e.g. row 1 = row 4" in err


def test_duplicates_in_an_export_kept_in_time_order_are_found_too(export_dir, capsys):
    events = _events(export_dir)
    doubled = pd.concat([events, events.iloc[[7]]]).sort_values("timestamp", kind="stable")
    _write_events(export_dir, doubled)
    code, _, err = _run(export_dir, capsys)
    assert code == 0 and "1 exact duplicate rows (0.50%, allowed 1.0%) left out" in err
    assert "e.g. line 9 = line 10" in err
    assert len(_typed(export_dir, "engagement")) == 200


@pytest.mark.parametrize(
    ("table", "column", "rows"),
    [
        ("engagement", "timestamp", 5),
        ("support", "opened_at", 2),
        ("purchases", "timestamp", 3),
        ("surveys", "answered_at", 1),
    ],
)
def test_events_before_the_customers_signup_are_counted_and_kept(
    export_dir, capsys, table, column, rows
):
    # Row 0 of every table belongs to c1, who signed up on 2024-01-01.
    _edit(export_dir, table, lambda f: f.assign(**{column: ["2023-12-30"] + list(f[column][1:])}))
    code, _, err = _run(export_dir, capsys)
    assert code == 0
    assert (
        f"warning: {table}.csv: column '{column}': 1 rows ({1 / rows:.2%}) dated before their "
        "customer's signup, kept, e.g. 'c1' on 2023-12-30, signed up 2024-01-01"
    ) in err
    assert len(_typed(export_dir, table)) == rows


def test_values_far_beyond_the_columns_own_distribution_are_counted_and_kept(export_dir, capsys):
    events = _events(export_dir, rows=1000)  # values 0-6
    events.loc[50, "value"] = "5900"  # just under 1000 x the 99th percentile (6): not flagged
    events.loc[120, "value"] = "2500000"
    _write_events(export_dir, events)
    code, _, err = _run(export_dir, capsys)
    assert code == 0
    assert (
        "warning: engagement.csv: column 'value': 1 rows with values over 1,000 times the "
        "column's 99th percentile of positive values (6), kept; check for a unit or typing "
        "slip, e.g. line 122: '2500000'"
    ) in err
    assert _typed(export_dir, "engagement")["value"].max() == 2_500_000


def test_large_amounts_that_are_common_in_the_column_are_not_flagged(export_dir, capsys):
    _edit(export_dir, "purchases", lambda f: f.assign(amount=["49", "120000", "49000"]))
    code, _, err = _run(export_dir, capsys)
    assert code == 0 and err == ""


def _ingest(project: Path) -> dict[str, Path]:
    config = load_config(project / "churn.toml")
    paths, _ = ingest_exports(config.exports, project / "cache", config.as_of)
    return paths


def test_an_export_rewritten_with_the_same_size_and_time_is_read_again(export_dir):
    first = pd.read_parquet(_ingest(export_dir)["customers"])
    assert first["churned_at"].notna().tolist() == [False, True, False, False, False]
    path = export_dir / "exports" / "customers.csv"
    before = path.stat()
    # c2's cancellation moves to c3: same bytes count, and the old times are put back.
    text = path.read_text()
    path.write_text(
        text.replace("2024-05-10", "").replace("2024-02-01,,", "2024-02-01,2024-05-10,")
    )
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    again = pd.read_parquet(_ingest(export_dir)["customers"])
    assert again["churned_at"].notna().tolist() == [False, False, True, False, False]


@pytest.mark.parametrize("lost", ["engagement.parquet", "report.json"])
def test_a_cached_copy_missing_a_file_is_rebuilt(export_dir, lost):
    paths = _ingest(export_dir)
    (paths["engagement"].parent / lost).unlink()
    again = _ingest(export_dir)
    assert all(p.exists() for p in again.values())
    assert len(pd.read_parquet(again["engagement"])) == 5


def test_a_changed_part_of_a_parquet_directory_changes_the_cache_key(export_dir):
    exports = export_dir / "exports"
    parts = exports / "events"
    parts.mkdir()
    frame = pd.read_csv(exports / "engagement.csv", dtype=str, keep_default_na=False)
    frame.iloc[:2].to_parquet(parts / "part-0.parquet")
    frame.iloc[2:].to_parquet(parts / "part-1.parquet")
    config = export_dir / "churn.toml"
    config.write_text(config.read_text() + '\n[tables.engagement]\nfile = "events"\n')
    source = load_config(config).exports
    key = export_fingerprint(source, None)
    frame.iloc[2:].assign(value="7").to_parquet(parts / "part-1.parquet")
    assert export_fingerprint(source, None) != key


def _append_event(project: Path, **row: str) -> None:
    path = project / "exports" / "engagement.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    pd.concat([frame, frame.iloc[[0]].assign(**row)]).to_csv(path, index=False)


def test_unchanged_exports_replay_their_recorded_verdict_without_checking_again(
    export_dir, monkeypatch
):
    _append_event(export_dir, customer_id="c4", timestamp="2024-02-01 10:00:00")  # pre-signup
    config = load_config(export_dir / "churn.toml")
    paths, checked = ingest_exports(config.exports, export_dir / "cache", config.as_of)
    assert [p.message for p in checked.warnings] and checked.replayed_from is None

    def no_second_check(*args, **kwargs):
        raise AssertionError("unchanged exports were checked again")

    monkeypatch.setattr("features.exports.ingest.check_exports", no_second_check)
    again, replayed = ingest_exports(config.exports, export_dir / "cache", config.as_of)
    assert again == paths and replayed.replayed_from is not None
    assert replayed.tables == checked.tables  # rows, spans, orphans, duplicates
    assert [p.line() for p in replayed.warnings] == [p.line() for p in checked.warnings]
    assert all(p.recorded and p.recorded in p.shown() for p in replayed.warnings)
    assert all(p.shown() == p.line() for p in checked.warnings)


def test_an_appended_row_duplicating_an_old_one_is_caught_after_a_replay(export_dir, capsys):
    config = load_config(export_dir / "churn.toml")
    code, first, _ = _run(export_dir, capsys)
    assert code == 0 and "duplicate" not in first
    code, replayed, _ = _run(export_dir, capsys)  # unchanged: the recorded verdict
    assert code == 0 and replayed == first
    _append_event(export_dir)  # a new day's export repeating an old row
    with pytest.raises(UserError, match="1 exact duplicate rows.*line 2 = line 7"):
        ingest_exports(config.exports, export_dir / "cache", config.as_of)


def test_a_damaged_recorded_verdict_is_checked_again(export_dir):
    config = load_config(export_dir / "churn.toml")
    paths, _ = ingest_exports(config.exports, export_dir / "cache", config.as_of)
    manifest = paths["customers"].parent / "report.json"
    record = json.loads(manifest.read_text())
    record["verdict"]["problems"] = [{"file": "customers.csv"}]  # no message: not a finding
    manifest.write_text(json.dumps(record))
    again, report = ingest_exports(config.exports, export_dir / "cache", config.as_of)
    assert report.replayed_from is None and again == paths
