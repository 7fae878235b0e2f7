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

    def line(self) -> str:
        """Render the problem as the single readable line the CLI prints."""
        where = self.file if self.column is None else f"{self.file}: column '{self.column}'"
        text = f"{where}: {self.message}"
        if self.examples:
            text += ", e.g. " + "; ".join(self.examples)
        return " ".join(text.split())  # one line, whatever the examples hold


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
