"""The one exception type for mistakes in a user's exports or configuration."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One finding about the exports: where it is, how many rows, a few examples."""

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
        return text


class ExportError(Exception):
    """Raised for user mistakes (bad exports, bad configuration); never a programming error."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem(file="config", message=problems)]
        self.problems = problems
        super().__init__("\n".join(p.line() for p in problems))
