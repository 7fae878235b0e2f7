"""What every step tells the terminal about the exports it checked: each table in the log, and the
tolerated problems as warnings on stderr."""

from __future__ import annotations

import logging
import sys

from features.errors import Problem
from features.exports.verdict import ValidationReport

log = logging.getLogger(__name__)


def log_tables(validation: ValidationReport) -> None:
    """With -v: what each export holds (rows, time span, rows for unknown customers)."""
    for name, table in validation.tables.items():
        span = f"{table.first:%Y-%m-%d} to {table.last:%Y-%m-%d}" if table.first else "no dates"
        log.info(
            "%s (%s): %s rows, %s, %s orphans",
            name,
            table.file,
            f"{table.rows:,}",
            span,
            table.orphans,
        )


def print_warnings(problems: list[Problem]) -> None:
    """Tolerated problems in the exports, one line each on stderr."""
    for problem in problems:
        print(f"warning: {problem.shown()}", file=sys.stderr)
