"""The `churn validate` step: check the exports and summarise what they hold."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from features.contract import ExportSource
from features.ingest import ValidationReport, check_exports, connect, monthly_churn


@dataclass
class ExportSummary:
    """A validation report plus the customer base's churn rate per month."""

    report: ValidationReport
    customers: int
    churn_by_month: list[tuple[dt.date, int, int, float]]


def validate_exports(source: ExportSource, as_of: dt.date | None) -> ExportSummary:
    """Check every export; when nothing fatal is found, also compute monthly churn rates."""
    con = connect()
    report = check_exports(con, source, as_of)
    if report.fatal:
        return ExportSummary(report, 0, [])
    starts = [t.first for name, t in report.tables.items() if name != "customers" and t.first]
    since = min(starts) - dt.timedelta(days=1) if starts else None
    return ExportSummary(report, report.tables["customers"].rows, monthly_churn(con, since))


def summary_lines(summary: ExportSummary) -> list[str]:
    """The human-readable summary `churn validate` prints."""
    lines = ["table        file                       rows       from        to"]
    for name, t in summary.report.tables.items():
        first = f"{t.first:%Y-%m-%d}" if t.first else "-"
        last = f"{t.last:%Y-%m-%d}" if t.last else "-"
        lines.append(f"{name:<12} {t.file:<24} {t.rows:>10,}  {first}  {last}")
    lines.append(f"customers: {summary.customers:,}")
    if summary.churn_by_month:
        rates = [r for *_, r in summary.churn_by_month]
        lines.append(
            f"monthly churn: mean {sum(rates) / len(rates):.1%}, min {min(rates):.1%}, "
            f"max {max(rates):.1%} over {len(rates)} months"
        )
        for month, active, churned, rate in summary.churn_by_month:
            lines.append(
                f"  {month:%Y-%m}  active {active:>7,}  churned {churned:>6,}  {rate:6.1%}"
            )
    return lines
