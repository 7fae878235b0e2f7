"""The project's user-facing errors: one small hierarchy, each with its exit status.

A `UserError` is a mistake or a condition the user can fix (bad exports, bad configuration,
a refusal to produce a wrong result, a fault in the environment such as an unwritable folder).
The CLI prints its problems one line each and exits with the class's `exit_code`; it never
shows a traceback for these. Programming errors are not `UserError`s and stay tracebacks.

Exit statuses (docs/exit-codes.md): 0 ok, 2 bad input (data or configuration),
3 refused (stale data, model mismatch, no model, another run holds the date), 4 fault in the
environment (disk, permissions, tracking store, cache).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

EXIT_OK, EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_FAULT = 0, 2, 3, 4


@dataclass(frozen=True)
class Problem:
    """One finding: where it is (file, column), what is wrong, how many rows, a few examples."""

    file: str
    message: str
    column: str | None = None
    count: int | None = None
    examples: tuple[str, ...] = ()
    fatal: bool = True
    recorded: str | None = None  # when replayed: the time (UTC) the unchanged content was checked

    def line(self) -> str:
        """Render the problem as the single readable line the CLI prints (and records)."""
        where = self.file if self.column is None else f"{self.file}: column '{self.column}'"
        text = f"{where}: {self.message}"
        if self.examples:
            text += ", e.g. " + "; ".join(self.examples)
        return " ".join(text.split())  # one line, whatever the examples hold

    def shown(self) -> str:
        """The line as a person reads it at the terminal: a replayed finding says so, as its
        checks did not run this time."""
        if self.recorded is None:
            return self.line()
        return f"{self.line()} [as checked {self.recorded} UTC; content unchanged since]"


class UserError(Exception):
    """Root of every error the user can act on; carries one or more `Problem`s."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problems: list[Problem] | str, where: str = "config"):
        if isinstance(problems, str):
            problems = [Problem(file=where, message=problems)]
        self.problems = problems
        super().__init__("\n".join(p.line() for p in problems))


class DataError(UserError):
    """The exports break the contract (missing files or columns, unparseable or bad values)."""


class ConfigError(UserError):
    """The configuration file is missing, not TOML, or has a bad key or value."""


class Refusal(UserError):
    """The step will not produce a result that would be wrong (stale data, model mismatch,
    nobody to score, another run holds the output)."""

    exit_code = EXIT_REFUSED


class Fault(UserError):
    """The environment fails: an unwritable or wrong output path, a corrupt or unreachable
    tracking store, a broken cache."""

    exit_code = EXIT_FAULT


# The name the first version used for data errors; kept so callers and tests read the same.
ExportError = DataError


DISK_FULL = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up"}
# Libraries that keep only the system's words, not its errno: DuckDB and Arrow repeat
# strerror's text, SQLite says "database or disk is full".
_DISK_FULL_WORDS = {
    "no space left on device": errno.ENOSPC,
    "database or disk is full": errno.ENOSPC,
    "disk quota exceeded": errno.EDQUOT,
}


def disk_full_code(error: BaseException) -> int | None:
    """ENOSPC or EDQUOT when `error` says the disk is full, by its errno or by its words."""
    code = getattr(error, "errno", None)
    if code in DISK_FULL:
        return code
    text = str(error).lower()
    return next((c for words, c in _DISK_FULL_WORDS.items() if words in text), None)


def disk_full(error: BaseException) -> str | None:
    """The words for a full disk (`DISK_FULL`) when `error` says the disk is full; None for
    any other error."""
    return DISK_FULL.get(disk_full_code(error))


def disk_full_fault(path: str, error: BaseException, remedy: str) -> Fault | None:
    """A full disk under `path` as one `Fault` line: the path, that the disk is full, and
    `remedy` (e.g. "free space or set [data] cache_dir to another disk"); None when `error` is
    not a full disk."""
    full = disk_full(error)
    if full is None:
        return None
    return Fault([Problem(path, f"{full}; {remedy}, then re-run")])
