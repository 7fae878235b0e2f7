"""The contact log is an export like any other: checked, typed, its mistakes named in one line
or counted, and absent or empty until the team starts calling."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.exports.ingest import ingest_exports
from pipeline.cli import main
from pipeline.config import load_config


def _contacts(project: Path, rows: dict) -> None:
    pd.DataFrame(rows).to_csv(project / "exports" / "contacts.csv", index=False)


def _validate(project: Path, capsys) -> tuple[int, str, str]:
    code = main(["validate", "--config", str(project / "churn.toml")])
    out, err = capsys.readouterr()
    return code, out, err


VALID = {
    "customer_id": ["c1", "c3", "c4"],
    "contacted_at": ["2024-05-02 10:00:00", "2024-05-02 11:30:00", "2024-06-03 09:00:00"],
    "play": ["billing follow-up", "onboarding help", "re-engagement campaign"],
    "channel": ["phone", "email", "phone"],
}


def test_a_contact_log_is_typed_and_kept_out_of_the_activity_tables(export_dir, capsys):
    _contacts(export_dir, VALID)
    code, _, err = _validate(export_dir, capsys)
    assert code == 0 and err == ""
    config = load_config(export_dir / "churn.toml")
    paths, report = ingest_exports(config.exports, export_dir / "cache", config.as_of)
    typed = pd.read_parquet(paths["contacts"])
    assert typed["contacted_at"].dt.strftime("%Y-%m-%d %H:%M").tolist() == [
        "2024-05-02 10:00",
        "2024-05-02 11:30",
        "2024-06-03 09:00",
    ]
    assert "outcome" in typed.columns and typed["outcome"].isna().all()  # optional column


def test_no_contacts_yet_is_a_header_alone_or_no_file(export_dir, capsys):
    _contacts(export_dir, {k: [] for k in VALID})
    code, _, err = _validate(export_dir, capsys)
    assert code == 0
    assert "contacts.csv: no rows" in err
    config = load_config(export_dir / "churn.toml")
    paths, _ = ingest_exports(config.exports, export_dir / "cache", config.as_of)
    assert "contacts" not in paths


def test_contacts_dated_after_the_export_date_are_refused_in_one_line(export_dir, capsys):
    _contacts(export_dir, {**VALID, "contacted_at": [*VALID["contacted_at"][:2], "2024-08-01"]})
    code, _, err = _validate(export_dir, capsys)
    assert code == 2
    line = next(x for x in err.splitlines() if "contacts.csv" in x)
    assert "column 'contacted_at'" in line and "after the data's as-of date" in line
    assert "2024-08-01" in line and "Traceback" not in err


def test_contacts_for_unknown_customers_and_repeated_rows_are_counted(export_dir, capsys):
    many = pd.DataFrame(VALID).loc[[0, 1, 2] * 70].reset_index(drop=True)
    many["contacted_at"] = pd.date_range("2024-05-01", periods=len(many), freq="h").astype(str)
    many.loc[0, "customer_id"] = "ghost"
    many = pd.concat([many, many.iloc[[5]]], ignore_index=True)  # one contact logged twice
    _contacts(export_dir, many.to_dict("list"))
    code, _, err = _validate(export_dir, capsys)
    assert code == 0, err
    assert "contacts.csv: column 'customer_id': 1 rows" in err and "'ghost'" in err
    assert "contacts.csv" in err and "duplicate" in err
