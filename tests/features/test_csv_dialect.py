"""Reading CSV exports in one declared dialect, never guessed from the first rows: quoting
met late in a file, ids holding quote characters, malformed files, configured characters."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.exports.dialect import CsvDialect, header_delimiter, malformed_csv
from features.exports.ingest import ingest_exports
from pipeline.cli import main
from pipeline.config import load_config

# DuckDB's sniffer reads 20,480 rows; what comes after them is what it never saw.
PAST_THE_SAMPLE = 25_000


def _run(project: Path, capsys) -> tuple[int, str, str]:
    code = main(["validate", "--config", str(project / "churn.toml")])
    out, err = capsys.readouterr()
    return code, out, err


def _typed(project: Path) -> tuple[dict[str, pd.DataFrame], list[str]]:
    config = load_config(project / "churn.toml")
    paths, report = ingest_exports(config.exports, project / "cache", config.as_of)
    tables = {name: pd.read_parquet(path) for name, path in paths.items()}
    return tables, [p.line() for p in report.problems]


def _long_engagement(exports: Path, tail: pd.DataFrame) -> int:
    """An engagement export of PAST_THE_SAMPLE plain rows (c2..c5, a minute apart, nothing
    quoted) followed by `tail`; its number of rows."""
    times = pd.date_range("2024-04-10", periods=PAST_THE_SAMPLE, freq="min").astype(str)
    plain = pd.DataFrame(
        {
            "customer_id": [f"c{i % 4 + 2}" for i in range(PAST_THE_SAMPLE)],
            "timestamp": times,
            "event_type": "login",
            "value": "1",
        }
    )
    frame = pd.concat([plain, tail], ignore_index=True)
    frame.to_csv(exports / "engagement.csv", index=False)
    return len(frame)


def test_a_quoted_field_first_met_past_the_sniffed_rows_is_read(export_dir):
    tail = pd.DataFrame(
        {
            "customer_id": ["c1", "c2"],
            "timestamp": ["2024-05-20 10:00:00", "2024-05-20 11:00:00"],
            "event_type": ["search, export", "login"],
            "value": ["2", "3"],
        }
    )
    rows = _long_engagement(export_dir / "exports", tail)
    text = (export_dir / "exports" / "engagement.csv").read_text()
    assert text[: text.index('"search, export"')].count("\n") > PAST_THE_SAMPLE
    tables, problems = _typed(export_dir)
    assert problems == []
    events = tables["engagement"]
    assert len(events) == rows
    assert events.loc[events.customer_id == "c1", "event_type"].tolist() == ["search, export"]


def test_ids_holding_a_quote_survive_in_every_table(export_dir):
    exports, odd = export_dir / "exports", 'c1"x'
    originals = {}
    for table in ("customers", "support", "purchases", "surveys"):
        path = exports / f"{table}.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        originals[table] = int((frame.customer_id == "c1").sum())
        frame.replace({"customer_id": {"c1": odd}}).to_csv(path, index=False)  # "c1""x"
    assert '"c1""x"' in (exports / "customers.csv").read_text()
    tail = pd.DataFrame(
        {
            "customer_id": [odd, odd, "c2"],
            "timestamp": ["2024-05-20 10:00:00", "2024-05-21 10:00:00", "2024-05-21 11:00:00"],
            "event_type": "login",
            "value": "1",
        }
    )
    _long_engagement(exports, tail)
    originals["engagement"] = 2
    tables, problems = _typed(export_dir)
    assert not [p for p in problems if "customer table" in p], problems
    assert {n: int((t.customer_id == odd).sum()) for n, t in tables.items()} == originals
    assert not any((t.customer_id == "c1").any() for t in tables.values())


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("c2,2024-04-02 10:00:00,login,1,extra", "line 4: 5 fields where the header has 4"),
        ('c2,2024-04-02 10:00:00,"login,1', "line 4: a quoted field is never closed"),
    ],
    ids=["ragged-row", "unclosed-quote"],
)
def test_a_malformed_csv_stops_with_one_line_naming_file_and_line(
    export_dir, capsys, bad_row, message
):
    path = export_dir / "exports" / "engagement.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:3] + [bad_row] + lines[3:]) + "\n")
    code, _, err = _run(export_dir, capsys)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1, err
    assert errors[0].startswith(f"error: engagement.csv: not a valid CSV at {message}")
    assert "delimiter ','" in errors[0] and "Traceback" not in err


def test_a_csv_that_is_not_utf8_text_stops_with_one_line_naming_the_line(export_dir, capsys):
    path = export_dir / "exports" / "support.csv"
    lines = path.read_bytes().splitlines()
    path.write_bytes(b"\n".join([*lines[:2], lines[2].replace(b"chat", b"t\xe9l\xe9phone")]))
    code, _, err = _run(export_dir, capsys)
    assert code == 2 and "error: support.csv: not UTF-8 text at line 3" in err, err
    assert "Traceback" not in err


def test_configured_quote_and_escape_characters_are_used(export_dir):
    path = export_dir / "exports" / "engagement.csv"
    path.write_text(
        "customer_id,timestamp,event_type,value\n"
        "c1,2024-03-01 10:00:00,'login, web',5\n"
        "'c6\\'s',2024-04-01 10:00:00,login,3\n"
    )
    with (export_dir / "exports" / "customers.csv").open("a") as customers:
        customers.write('"c6\'s",2024-02-01,,pro,2\n')
    with (export_dir / "churn.toml").open("a") as config:
        config.write("\n[tables.engagement]\nquote = \"'\"\nescape = '\\'\n")
    tables, problems = _typed(export_dir)
    assert problems == []
    events = tables["engagement"].sort_values("customer_id")
    assert events.customer_id.tolist() == ["c1", "c6's"]
    assert events.event_type.tolist() == ["login, web", "login"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ('delimiter = ";"\nquote = ";"', "[tables.purchases] quote must differ from the delimiter"),
        ('quote = "ab"', "[tables.purchases] quote = 'ab': must be one character"),
        ('quote = ""\nescape = "\\\\"', "[tables.purchases] escape has nothing to escape"),
        ('escape = "\\n"', "[tables.purchases] escape must not be a line break"),
    ],
    ids=["quote-is-delimiter", "two-characters", "escape-without-quote", "line-break"],
)
def test_a_csv_dialect_no_file_can_have_is_refused_on_load(export_dir, capsys, settings, message):
    with (export_dir / "churn.toml").open("a") as config:
        config.write(f"\n[tables.purchases]\n{settings}\n")
    code, _, err = _run(export_dir, capsys)
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [("a,b;c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ("a|b", "|"), ("alone", ",")],
)
def test_the_delimiter_is_read_from_the_header_line(header, delimiter):
    assert header_delimiter(header) == delimiter


def test_an_engine_error_that_is_not_about_the_file_structure_is_not_called_malformed():
    assert malformed_csv("Binder Error: column x not found", CsvDialect()) is None


def test_a_malformed_row_on_spark_is_named_by_its_record():
    # the lines of a Spark FAILFAST read error that name the record (Spark 4.0)
    error = (
        "[MALFORMED_RECORD_IN_PARSING.WITHOUT_SUGGESTION] Malformed records are detected in "
        "record parsing: [c2,2024-04-02 10:00:00,login,1].\n\tat org.apache.spark...\n"
        "Caused by: org.apache.spark.SparkRuntimeException: [MALFORMED_CSV_RECORD] Malformed "
        "CSV record: c2,2024-04-02 10:00:00,login,1,extra SQLSTATE: KD000\n\tat org.apache"
    )
    line = malformed_csv(error, CsvDialect(";"))
    assert line is not None
    assert line.startswith("not a valid CSV in the row 'c2,2024-04-02 10:00:00,login,1,extra': ")
    assert "delimiter ';'" in line
