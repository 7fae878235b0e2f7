"""What checking an export finds, and the query helper every check of one table shares: the
summary of each table, the report of a validation, and one table check (`TableCheck`: its raw
view, its columns as the contract reads them, counts and example rows)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from features.errors import ExportError, Problem
from features.exports.contract import (
    TABLES,
    ColumnSpec,
    ProfileColumns,
    TableSource,
)
from features.exports.locations import file_name
from features.exports.rules import Column, main_timestamp
from features.exports.runners import CheckRunner
from features.exports.sql import (
    is_text,
    number_sql,
    quote_name,
    sql_literal,
    text_sql,
    timestamp_sql,
)

EXAMPLES = 3


@dataclass
class TableSummary:
    """What one export holds: rows, and the time span of its main timestamp."""

    file: str
    rows: int
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    orphans: int = 0
    duplicates: int = 0  # exact copies of other rows, left out of the typed copy
    timed: bool = False  # some timestamps carry a time of day
    findings: dict = field(default_factory=dict)  # rule hits, duplicates: what appends add to


def problem_record(problem: Problem) -> dict:
    """A problem as JSON-ready data, as a recorded verdict keeps it."""
    return {**asdict(problem), "examples": list(problem.examples)}


def recorded_problem(record: dict, **changes) -> Problem:
    """The problem a `problem_record` holds (with `changes`, e.g. when it was recorded)."""
    return Problem(**{**record, "examples": tuple(record["examples"]), **changes})


@dataclass
class ValidationReport:
    """The outcome of checking all exports: problems found and a summary per table."""

    problems: list[Problem] = field(default_factory=list)
    tables: dict[str, TableSummary] = field(default_factory=dict)
    replayed_from: str | None = None  # when set: the recorded verdict of unchanged content
    growth: dict | None = None  # each export's state, recorded so a later run sees appends
    appended: dict[str, dict] = field(default_factory=dict)  # tables extended, not re-checked

    @property
    def fatal(self) -> list[Problem]:
        return [p for p in self.problems if p.fatal]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.fatal]

    def raise_if_fatal(self) -> None:
        """Raise ExportError listing every fatal problem, if there is any."""
        if self.fatal:
            raise ExportError(self.fatal)

    def record(self, checked_at: dt.datetime) -> dict:
        """The verdict as JSON-ready data, kept beside the typed copy of the content it judged,
        so a later run on the same content can replay it instead of checking again."""
        return {
            "checked_at": checked_at.isoformat(timespec="seconds"),
            "problems": [problem_record(p) for p in self.problems if not p.fatal],
            "tables": {
                name: {
                    **asdict(t),
                    "first": None if t.first is None else t.first.isoformat(),
                    "last": None if t.last is None else t.last.isoformat(),
                }
                for name, t in self.tables.items()
            },
            "growth": self.growth,
        }

    @classmethod
    def replayed(cls, record: dict) -> ValidationReport:
        """The report a recorded verdict holds, its warnings marked with the time this content
        was checked (it is unchanged since, so its checks were not run again)."""
        when = record["checked_at"].replace("T", " ")[:16]
        problems = [recorded_problem(p, recorded=when) for p in record["problems"]]
        tables = {
            name: TableSummary(
                **{
                    **t,
                    "first": None if t["first"] is None else dt.datetime.fromisoformat(t["first"]),
                    "last": None if t["last"] is None else dt.datetime.fromisoformat(t["last"]),
                }
            )
            for name, t in record["tables"].items()
        }
        return cls(problems=problems, tables=tables, replayed_from=record["checked_at"])


class TableCheck:
    """Checks one export and builds the SQL that types it."""

    def __init__(
        self,
        runner: CheckRunner,
        name: str,
        location: str,
        source: TableSource | None,
        profile: ProfileColumns | None = None,
        *,
        label: str | None = None,
        offset: int = 0,
        reader: str | None = None,
    ):
        """`label`, `offset` and `reader` check rows appended to an export: its file name, the
        rows before them (positions count on from there) and the engine's reader of the new
        rows alone, when it is not `location`."""
        self.runner, self.name, self.location = runner, name, location
        self.label = label or file_name(location)
        self.source = source or TableSource(file=self.label)
        self.offset = offset
        if reader is None:
            self.dialect = runner.read_export(f"raw_{name}", location, source)
        else:
            runner.create_view(f"raw_{name}", f"SELECT * FROM {reader}")
            self.dialect = None
        self.is_csv = self.dialect is not None
        self.raw_types = runner.columns(f"raw_{name}")
        contract = {c.name for c in TABLES[name].columns}
        profile = profile or ProfileColumns()
        self.profile_columns = [
            (c, kind)
            for names, kind in ((profile.categorical, "text"), (profile.numeric, "number"))
            for c in names
            if c not in contract
        ]

    def text_numbers(self) -> list[str]:
        """Source names of the number columns (contract and profile) that hold text."""
        wanted = [
            self.source.source_column(spec.name)
            for spec in TABLES[self.name].columns
            if spec.kind == "number"
        ] + [name for name, kind in self.profile_columns if kind == "number"]
        return [n for n in wanted if n in self.raw_types and is_text(self.raw_types[n])]

    def columns(self, mark: str) -> tuple[list[Column], list[Problem]]:
        """Map contract columns to source columns, text numbers read with decimal `mark`;
        report required ones that are missing."""
        columns, problems = [], []
        for spec in TABLES[self.name].columns:
            source_name = self.source.source_column(spec.name)
            if source_name not in self.raw_types:
                if spec.required:
                    mapped = "" if source_name == spec.name else f" (mapped from '{source_name}')"
                    present = ", ".join(list(self.raw_types)[:12])
                    problems.append(
                        Problem(
                            self.label,
                            f"missing required column '{source_name}'{mapped}; "
                            f"columns present: {present}",
                        )
                    )
                columns.append(Column(spec, None, source_name, "NULL"))
                continue
            raw = quote_name(source_name)
            raw_type = self.raw_types[source_name]
            if spec.kind == "timestamp":
                fmt = self.source.timestamp_formats.get(spec.name, "auto")
                parsed = timestamp_sql(raw, raw_type, fmt)
            elif spec.kind == "number":
                parsed = number_sql(raw, raw_type, mark)
            elif spec.kind == "id":
                text = raw if is_text(raw_type) else f"CAST({raw} AS VARCHAR)"
                parsed = f"NULLIF(trim({text}), '')"
            else:
                parsed = text_sql(raw, self.source.value_maps.get(spec.name, {}), raw_type)
            columns.append(Column(spec, raw, source_name, parsed, raw_type))
        present = ", ".join(list(self.raw_types)[:12])
        for name, kind in self.profile_columns:
            if name not in self.raw_types:
                problems.append(
                    Problem(
                        self.label,
                        f"profile column '{name}' named in the config is "
                        f"missing; columns present: {present}",
                    )
                )
                continue
            raw = quote_name(name)
            raw_type = self.raw_types[name]
            parsed = (
                number_sql(raw, raw_type, mark) if kind == "number" else text_sql(raw, {}, raw_type)
            )
            columns.append(
                Column(ColumnSpec(name, kind, required=False), raw, name, parsed, raw_type)
            )
        return columns, problems

    def position(self, row: int) -> str:
        """Where 1-based data row `row` of the whole export is: its line in a CSV (the header
        is line 1), else its row number."""
        return f"line {row + 1:,}" if self.is_csv else f"row {row:,}"

    def naming(self) -> list[tuple[str, str]]:
        """What names a row where rows have no position (Spark): the source names and text
        SQL of the customer id and the main timestamp, those the export holds."""
        named = []
        for contract in ("customer_id", main_timestamp(self.name)):
            name = self.source.source_column(contract)
            if name in self.raw_types:
                named.append((name, f"CAST({quote_name(name)} AS VARCHAR)"))
        return named

    def described(self, values: tuple) -> str:
        """A row named by its values: "customer_id 'c3', timestamp '2024-04-01'"."""
        names = [name for name, _ in self.naming()]
        return ", ".join(f"{n} {v!r}" for n, v in zip(names, values, strict=True)) or "a row"

    def rows(self) -> int:
        """How many data rows the export holds."""
        return self.runner.rows(f"SELECT count(*) FROM raw_{self.name}")[0][0]

    def examples(self, condition: str, shown: str) -> tuple[str, ...]:
        """A few rows matching `condition`, as 'line N: value' (CSV) or 'row N: value'; on an
        engine without row order (Spark), as "customer_id 'c3': value", the first few by id."""
        if not self.runner.numbered:
            key = self.naming()[:1]
            named = key[0][1] if key else "NULL"
            rows = self.runner.rows(
                f"SELECT {named}, {shown} FROM raw_{self.name} WHERE {condition} "
                f"ORDER BY 1, 2 LIMIT {EXAMPLES}"
            )
            word = key[0][0] if key else "row"
            return tuple(f"{word} {r[0]!r}: {r[1]!r}" for r in rows)
        offset, word = (1 + self.offset, "line") if self.is_csv else (self.offset, "row")
        rows = self.runner.rows(
            f"SELECT __row + {offset}, {shown} FROM "
            f"(SELECT row_number() OVER () AS __row, * FROM raw_{self.name}) "
            f"WHERE {condition} LIMIT {EXAMPLES}"
        )
        return tuple(f"{word} {r[0]}: {r[1]!r}" for r in rows)


def typed_select(name: str, columns: list[Column], repeats: str | None = None) -> str:
    """SELECT typing the raw view; given `repeats`, SQL selecting the only rows that may repeat,
    exact copies among them are left out."""
    parts = []
    for col in columns:
        expr = col.parsed
        if col.raw is None:
            expr = {"timestamp": "CAST(NULL AS TIMESTAMP)", "number": "CAST(NULL AS DOUBLE)"}.get(
                col.spec.kind, "CAST(NULL AS VARCHAR)"
            )
            if col.spec.absent is not None:  # the contract's value for a column left out
                expr = sql_literal(col.spec.absent)
        parts.append(f"{expr} AS {quote_name(col.spec.name)}")
    rows = f"raw_{name}"
    if repeats:
        # DISTINCT over the few candidate rows only: over a whole 50M-row table it would cost
        # as much as grouping every row hash.
        rows = (
            f"(SELECT * FROM raw_{name} WHERE ({repeats}) IS NOT TRUE "
            f"UNION ALL SELECT DISTINCT * FROM raw_{name} WHERE {repeats})"
        )
    return f"SELECT {', '.join(parts)} FROM {rows}"
