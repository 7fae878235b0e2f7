"""`churn report` end to end on a small simulated history: one self-contained file, the CRR of
the exports by its formula, the first list graded against what happened, the file attached
to the scoring run, and sections without their data saying so."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from models.arms import CONTACT, CONTROL
from pipeline import tracking
from pipeline.cli import main
from pipeline.config import load_config
from tests.pipeline.conftest import (
    CONTROL_CALLED,
    FIRST_LIST,
    NOT_REACHED,
    SECOND_LIST,
    report_path,
)


def _customers(project: Path) -> pd.DataFrame:
    return pd.read_csv(
        project / "exports" / "customers.csv",
        dtype={"customer_id": str},
        parse_dates=["signup_at", "churned_at"],
    )


def _rows(html: str, first_cell: str) -> list[list[str]]:
    """The cells of the HTML table rows whose first cell is `first_cell`."""
    rows = re.findall(r"<tr>(.*?)</tr>", html)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]
    return [row for row in cells if row and row[0] == first_cell]


def test_the_report_is_one_self_contained_file_with_every_part(reported_project):
    path = report_path(reported_project)
    html = path.read_text()
    assert path.stat().st_size < 3_000_000
    for part in ("Retention", "Early warnings", "Today&#x27;s list", "Did the lists come true"):
        assert f">{part}</h2>" in html, part
    # nothing is fetched: no script, style, font or image from anywhere else
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html and "@import" not in html
    charts = html.count("<svg")
    assert charts >= 12 and f'data-charts="{charts}"' in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # the charts' ids cannot clash


def test_crr_is_the_formula_on_the_customer_export(reported_project):
    """October 2025: CS customers at its start, CE at its end, CN signed up in it."""
    customers = _customers(reported_project)

    def active(day: str) -> int:
        t = pd.Timestamp(day)
        signed, left = customers["signup_at"] < t, customers["churned_at"]
        return int((signed & (left.isna() | (left >= t))).sum())

    new = customers["signup_at"].between("2025-10-01", "2025-10-31 23:59:59").sum()
    cs, ce = active("2025-10-01"), active("2025-11-01")
    crr = 100 * (ce - new) / cs
    html = report_path(reported_project).read_text()
    assert (
        f"CRR was {crr:.1f}% in 2025-10: {cs:,} customers at the start, {new:,} new, "
        f"{ce:,} at the end" in html
    )


def test_the_first_list_is_graded_by_tier_against_what_happened(reported_project):
    """Outcomes counted here from the customer export alone: a listed customer churned when
    their cancellation falls in the 30 days after the list's date."""
    listed = pd.read_parquet(
        reported_project / "outputs" / "at_risk" / f"as_of={FIRST_LIST}" / "at_risk.parquet"
    )
    cancelled = _customers(reported_project).set_index("customer_id")["churned_at"]
    start = pd.Timestamp(FIRST_LIST)
    when = listed["customer_id"].map(cancelled)
    listed["churned"] = (when >= start) & (when < start + pd.Timedelta(days=30))
    html = report_path(reported_project).read_text()
    for tier in ("high", "medium", "low"):
        part = listed[listed["risk_tier"] == tier]
        (row,) = [r for r in _rows(html, FIRST_LIST) if r[1] == tier]
        assert int(row[2].replace(",", "")) == len(part), tier
        assert int(row[4].replace(",", "")) == int(part["churned"].sum()), tier
        assert row[3] == f"{part['churn_probability'].sum():,.1f}", tier
    contacts = listed[listed["contact_first"]]
    (row,) = [r for r in _rows(html, FIRST_LIST) if r[1] == "contact set"]
    assert (int(row[2]), int(row[4])) == (len(contacts), int(contacts["churned"].sum()))
    high = listed[listed["risk_tier"] == "high"]
    assert (f"The list of {FIRST_LIST}: its high tier churned at" in html) == (len(high) > 0)
    assert "nan%" not in html and "nan " not in html
    # the later list's horizon has not passed: it is not graded yet
    assert not _rows(html, SECOND_LIST)
    assert f"the list of {SECOND_LIST} is graded once its horizon ends on 2025-12-01" in html


def test_calls_are_measured_against_the_first_lists_control_group(reported_project):
    """Counted here from the list and the customer export alone: churn in each arm of the
    first list's contact set, saves summed over tiers, and who the log shows reached."""
    listed = pd.read_parquet(
        reported_project / "outputs" / "at_risk" / f"as_of={FIRST_LIST}" / "at_risk.parquet"
    )
    cancelled = _customers(reported_project).set_index("customer_id")["churned_at"]
    start = pd.Timestamp(FIRST_LIST)
    when = listed["customer_id"].map(cancelled)
    listed = listed[listed["contact_first"] & (when.isna() | (when >= start))]
    listed = listed.assign(churned=(when >= start) & (when < start + pd.Timedelta(days=30)))
    contact, control = (listed[listed["contact_arm"] == arm] for arm in (CONTACT, CONTROL))
    assert len(control) >= 2 and len(contact) > len(control)
    saved = 0.0
    for _tier, part in listed.groupby("risk_tier"):
        rates = part.groupby("contact_arm")["churned"].mean()
        if {CONTACT, CONTROL} <= set(rates.index):
            saved += (rates[CONTROL] - rates[CONTACT]) * (part["contact_arm"] == CONTACT).sum()
    html = report_path(reported_project).read_text()
    assert ">Did contacting them help</h3>" in html
    assert (
        f"of the {len(contact):,} customers put forward for a call churned against "
        f"{control['churned'].mean():.1%} of the {len(control):,} held back: "
        f"customers saved {saved:,.1f} (95% interval"
    ) in html
    assert (
        f"{NOT_REACHED} of the {len(contact):,} customers put forward were not in the contact "
        f"log" in html
    )
    assert f"{CONTROL_CALLED} of the {len(control):,} held back were contacted anyway" in html
    config = load_config(reported_project / "churn.toml")
    tracking.open_store(config.tracking)
    client = MlflowClient()
    experiment = client.get_experiment_by_name("churn-scoring")
    (run,) = client.search_runs(
        [experiment.experiment_id], filter_string=f"params.as_of = '{FIRST_LIST}'"
    )
    assert abs(run.data.metrics["saves.all.saved"] - saved) < 1e-9


def test_the_report_is_attached_to_its_lists_scoring_run(reported_project):
    config = load_config(reported_project / "churn.toml")
    tracking.open_store(config.tracking)
    client = MlflowClient()
    experiment = client.get_experiment_by_name("churn-scoring")
    (run,) = client.search_runs(
        [experiment.experiment_id], filter_string=f"params.as_of = '{SECOND_LIST}'"
    )
    assert [a.path for a in client.list_artifacts(run.info.run_id, "report")] == [
        "report/report.html"
    ]


def test_sections_without_their_data_say_so(reported_project, tmp_path):
    copy = tmp_path / "p"
    shutil.copytree(reported_project, copy, ignore=shutil.ignore_patterns("reports"))
    (copy / "exports" / "surveys.csv").unlink()
    assert main(["-q", "report", "--config", str(copy / "churn.toml")]) == 0
    html = report_path(copy).read_text()
    assert "no survey (NPS) data in the exports" in html
    assert "Churn by support experience" in html  # the other sections are all there
    from pipeline.report.early_warnings import support_section

    section = support_section(None, {}, "support")
    assert section.missing == "no support data in the exports" and not section.charts


def test_a_broken_tracking_store_is_one_line_after_the_report_is_written(
    reported_project, tmp_path, capsys
):
    """The store is opened while the exports are checked, but the report does not need it:
    the file is written first, then the store's problem is one line and exit code 4."""
    from features.errors import EXIT_FAULT

    copy = tmp_path / "p"
    shutil.copytree(reported_project, copy, ignore=shutil.ignore_patterns("reports"))
    (copy / "mlruns" / "mlflow.db").write_text("not a database")
    capsys.readouterr()
    assert main(["-q", "report", "--config", str(copy / "churn.toml")]) == EXIT_FAULT
    assert "Retention report as of" in report_path(copy).read_text()
    errors = capsys.readouterr().err
    assert "the tracking store's database cannot be used" in errors
    assert "Traceback" not in errors


def test_a_report_folder_that_cannot_be_written_is_one_line_not_a_traceback(tmp_path):
    import pytest

    from features.errors import Fault
    from pipeline.report import write_report

    in_the_way = tmp_path / "reports"
    in_the_way.write_text("a file where the folder should be")
    with pytest.raises(Fault) as raised:
        write_report(in_the_way, pd.Timestamp("2025-11-01"), "<html></html>")
    (problem,) = raised.value.problems
    assert "cannot write the report" in problem.line() and "[report] output_dir" in problem.line()
    ok = write_report(tmp_path / "fine", pd.Timestamp("2025-11-01"), "<html></html>")
    assert ok.read_text() == "<html></html>" and not list(ok.parent.glob(".report-*"))


def test_a_full_disk_under_the_reports_is_one_line_saying_so(tmp_path, monkeypatch):
    import errno
    import os
    import tempfile

    import pytest

    from features.errors import Fault
    from pipeline.report import write_report

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tempfile, "mkstemp", full)
    with pytest.raises(Fault) as raised:
        write_report(tmp_path / "reports", pd.Timestamp("2025-11-01"), "<html></html>")
    (problem,) = raised.value.problems
    assert problem.line() == (
        f"{tmp_path / 'reports' / 'as_of=2025-11-01'}: the disk is full; free space or set "
        "[report] output_dir, then re-run"
    )


def test_the_header_counts_customers_and_lists_in_words_that_agree():
    from pipeline.report import header_facts
    from pipeline.report.data import History, Lists

    end = pd.Timestamp("2025-11-01")
    one = pd.DataFrame({"customer_id": ["a"]})
    history = History([], end, end, one, pd.DataFrame(), pd.DataFrame())
    first = Lists((end, pd.DataFrame()), None, [(end, Path("x"))])
    assert header_facts("exports", history, first, "contractual churn") == [
        "Data: exports, through 2025-10-31; 1 customer; contractual churn.",
        "At-risk list as of 2025-11-01; 1 list so far.",
    ]
    two = Lists(first.latest, None, [(end, Path("x")), (end, Path("y"))])
    assert header_facts("e", history, two, "c")[1].endswith("; 2 lists so far.")
    assert len(header_facts("e", history, Lists(None, None, []), "c")) == 1


def test_an_unreadable_list_is_not_counted_or_graded_as_a_list(tmp_path, caplog):
    from pipeline.outputs import write_list
    from pipeline.report.data import at_risk_lists

    ranked = pd.DataFrame({"customer_id": ["a"], "risk_tier": ["high"], "churn_probability": [0.9]})
    for day in ("2025-10-01", "2025-10-15", "2025-11-01"):
        write_list(tmp_path, pd.Timestamp(day), ranked, manifest={})
    (tmp_path / "as_of=2025-10-15" / "at_risk.parquet").write_bytes(b"not a parquet file")
    lists = at_risk_lists(tmp_path, pd.Timestamp("2025-11-01"))
    assert [f"{d:%Y-%m-%d}" for d, _ in lists.folders] == ["2025-10-01", "2025-11-01"]
    assert [lists.latest[0], lists.earlier[0]] == [
        pd.Timestamp("2025-11-01"),
        pd.Timestamp("2025-10-01"),
    ]
    assert "as_of=2025-10-15: cannot read the list" in caplog.text


def test_the_health_score_features_are_built_without_the_families_it_does_not_read():
    """Every signal the score reads is built; without engagement or support tables the
    score reads the last paid order and failed payments, and those are built too."""
    from features.registry import feature_catalogue
    from models.baselines import HEALTH_SIGNALS
    from pipeline.report import health_spec

    config = load_config(Path(__file__).parents[2] / "churn.toml")
    built = feature_catalogue(health_spec(config, {"engagement": None, "support": None}))
    assert set(HEALTH_SIGNALS) <= {f.name for f in built}
    names = {f.name for f in built}
    assert "surveys" not in {f.family for f in built}
    assert not names & set(config.exports.profile.all)  # plan, country, seats, ...
    purchases_only = {f.name for f in feature_catalogue(health_spec(config, {}))}
    assert {"failed_payments_90d", "days_since_last_purchase"} <= purchases_only


def test_the_report_step_starts_without_scikit_learn_or_lightgbm():
    """The report reads no model: importing its step must not pull in the training stack
    (scikit-learn and SciPy took 0.7 s of the report's 12 s on the 2-core machine)."""
    import subprocess
    import sys

    check = "import sys, pipeline.report; print(sorted({'sklearn', 'lightgbm'} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert done.stdout.strip() == "[]"


def test_the_registered_model_has_learned_from_the_latest_labelled_month(reported_project):
    """The champion is the evaluated model refit on every labelled month; promotion and the
    run's metrics are its evaluated twin's."""
    config = load_config(reported_project / "churn.toml")
    tracking.open_store(config.tracking)
    model = tracking.load_model("report-churn", "champion")[0].unwrap_python_model()
    client = MlflowClient()
    version = client.get_model_version_by_alias("report-churn", "champion")
    run = client.get_run(version.run_id)
    tested = run.data.params["cutoffs.test"].split(",")
    assert run.data.params["refit.valid_cutoffs"].split(",")[-1] == tested[-1]
    assert model.metadata["learned_through"] == tested[-1]
    assert model.evaluated is not None and model.evaluated is not model.trained
    assert "refit on every labelled month" in version.description
    base = model.metadata["base_rate"]
    assert base["months"] == tested and 0 < base["rate"] < 0.5
