"""The [data] and [tables.*] sections: where the exports are and how each table maps onto the
contract, checked on load like every other section (one line per mistake, all reported at once).

A table's file must lie inside the data folder (links resolved) unless allow_outside = true for
that table (or in [data] for every table), so a configuration cannot make the pipeline read
(and quote in its errors) files it was never meant to see.

With the Spark engine the data folder, a table's file and the cache folder may be URIs
(s3://, gs://, abfss://, dbfs:/, hdfs://, file:/...): they are kept exactly as written, for
Spark to read; nothing is resolved or looked up on the driver. DuckDB reads local files only,
so with it a URI is refused on load.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from features.constraints import (
    Flag,
    Invalid,
    IsoDate,
    Mapping,
    Number,
    OneOf,
    Optional,
    Text,
    TextList,
    check_values,
    did_you_mean,
)
from features.errors import Problem
from features.exports.contract import (
    DECIMAL_MARKS,
    TABLES,
    ExportSource,
    ProfileColumns,
    TableSource,
)
from features.exports.locations import is_uri

NAMED_TIMESTAMP_FORMATS = ("auto", "iso", "epoch_s", "epoch_ms", "epoch_us")
SHARE = Number(0, 1)


@dataclass(frozen=True)
class DataSettings:
    """The [data] section: the exports' folder, the as-of date of the nightly list (None: the
    export date or today), the typed cache and the tolerated shares of unmatched and duplicate
    rows."""

    dir: str = "data/sample"
    as_of: dt.date | None = None
    cache_dir: str = ".churn/cache"
    max_orphan_share: float = 0.01
    max_duplicate_share: float = 0.01
    allow_outside: bool = False

    CHECKS: ClassVar[dict[str, Any]] = {
        "dir": Text(non_empty=True),
        "as_of": IsoDate(),
        "cache_dir": Text(non_empty=True),
        "max_orphan_share": SHARE,
        "max_duplicate_share": SHARE,
        "allow_outside": Flag(),
    }


def timestamp_format(value: Any) -> str:
    """A named timestamp format or a strptime pattern (it must hold a % directive)."""
    if isinstance(value, str) and (value in NAMED_TIMESTAMP_FORMATS or "%" in value):
        return value
    raise Invalid(
        f"allowed: {', '.join(repr(f) for f in NAMED_TIMESTAMP_FORMATS)} or a strptime pattern "
        "such as '%d/%m/%Y %H:%M'"
    )


def table_checks(name: str) -> dict[str, Any]:
    """What each key of [tables.<name>] accepts; column names are the table's contract ones."""
    contract = tuple(c.name for c in TABLES[name].columns)
    return {
        "file": Text(non_empty=True),
        "columns": Mapping(
            Text(non_empty=True), contract, "a table of contract name = the export's name"
        ),
        "timestamps": Mapping(timestamp_format, contract, "a table of column = format"),
        "value_maps": Mapping(
            Mapping(Text(), describe="a table of export value = contract value"),
            contract,
            "a table of column = {export value = contract value}",
        ),
        "delimiter": Text(pattern=r"(?s).", describe="one character, such as ';' or '\\t'"),
        "quote": Text(pattern=r"(?s).?", describe='one character, such as "\'", or "" for none'),
        "escape": Text(pattern=r"(?s).", describe="one character, such as '\\\\'"),
        "decimal": OneOf(DECIMAL_MARKS),
        "max_duplicate_share": Optional(SHARE),
        "allow_outside": Flag(),
        "history_starts": IsoDate(),
        "profile": Mapping(lambda value: value, describe="a table of settings"),
    }


def dialect_mistakes(values: dict[str, Any]) -> list[tuple[str, str]]:
    """A CSV dialect no file can be read with: a line break as delimiter, quote or escape, or
    one character in two of those roles (the quote's own escape is its doubling)."""
    chars = {k: values[k] for k in ("delimiter", "quote", "escape") if values.get(k)}
    mistakes = [(k, "must not be a line break") for k, v in chars.items() if v in "\r\n"]
    delimiter = chars.get("delimiter")
    mistakes += [
        (k, f"must differ from the delimiter {delimiter!r}")
        for k in ("quote", "escape")
        if delimiter is not None and chars.get(k) == delimiter
    ]
    if "escape" in values and values.get("quote") == "":
        mistakes.append(("escape", 'has nothing to escape with quote = "" (no quoting)'))
    return mistakes


PROFILE_CHECKS: dict[str, Any] = {
    "categorical": TextList(),
    "numeric": TextList(),
    "actionable": TextList(),
}


def _problems(where: str, mistakes: list[tuple[str, str]], path: Path) -> list[Problem]:
    return [Problem(str(path), f"[{where}] {key} {text}") for key, text in mistakes]


def read_data(path: Path, raw: Any, problems: list[Problem]) -> DataSettings:
    """[data] checked; mistakes are added to `problems` and the defaults stand in."""
    if not isinstance(raw, dict):
        problems.append(Problem(str(path), "[data] must be a table of settings"))
        return DataSettings()
    values, mistakes = check_values(DataSettings.CHECKS, raw)
    problems += _problems("data", mistakes, path)
    return DataSettings(**values)


def _table(path: Path, name: str, raw: Any, problems: list[Problem]) -> TableSource | None:
    where = f"tables.{name}"
    if not isinstance(raw, dict):
        problems.append(Problem(str(path), f"[{where}] must be a table of settings"))
        return None
    values, mistakes = check_values(table_checks(name), raw)
    mistakes += dialect_mistakes(values)
    if name != "customers" and "profile" in raw:
        mistakes = [*mistakes, ("profile", "belongs to [tables.customers.profile] only")]
    problems += _problems(where, mistakes, path)
    if mistakes:
        return None
    return TableSource(
        file=values.get("file", ""),
        columns=values.get("columns", {}),
        timestamp_formats=values.get("timestamps", {}),
        value_maps=values.get("value_maps", {}),
        delimiter=values.get("delimiter"),
        quote=values.get("quote"),
        escape=values.get("escape"),
        decimal=values.get("decimal", "auto"),
        max_duplicate_share=values.get("max_duplicate_share"),
        history_starts=values.get("history_starts"),
    )


def read_profile(path: Path, raw: Any, problems: list[Problem]) -> ProfileColumns:
    """The customer-table columns used as features, and which of them are actionable."""
    where = "tables.customers.profile"
    if not isinstance(raw, dict):
        problems.append(Problem(str(path), f"[{where}] must be a table of settings"))
        return ProfileColumns()
    values, mistakes = check_values(PROFILE_CHECKS, raw)
    problems += _problems(where, mistakes, path)
    profile = ProfileColumns(
        values.get("categorical", ()), values.get("numeric", ()), values.get("actionable", ())
    )
    stray = [c for c in profile.actionable if c not in profile.all]
    if stray and not mistakes:
        problems.append(
            Problem(
                str(path),
                f"[{where}] actionable names {stray}, which are not profile columns "
                f"{list(profile.all)}",
            )
        )
    return profile


def _outside(directory: Path, file: str) -> bool:
    """Whether `file`, read relative to `directory`, lands outside it once '..', absolute paths
    and symbolic links are resolved (a link inside the folder to a file elsewhere counts as
    outside)."""
    folder = directory.resolve()
    target = (directory / file).resolve()
    return not target.is_relative_to(folder)


def _needs_spark(path: Path, where: str, value: str, backend: str) -> list[Problem]:
    """A URI where the engine cannot read one: one line saying which engine can."""
    if backend == "spark" or not is_uri(value):
        return []
    return [
        Problem(
            str(path),
            f'{where} = {value!r}: object-store paths need [engine] backend = "spark" '
            "(DuckDB reads local files only)",
        )
    ]


def _tables(
    path: Path,
    tables_raw: Any,
    directory: Path | str,
    data: DataSettings,
    problems: list[Problem],
    backend: str = "duckdb",
) -> dict[str, TableSource]:
    """Each [tables.<name>] section checked, its file kept inside the data folder unless
    [data] allow_outside; a URI (file or folder) is kept as written, on Spark only."""
    if not isinstance(tables_raw, dict):
        problems.append(Problem(str(path), "[tables] must hold [tables.<name>] sections"))
        return {}
    tables: dict[str, TableSource] = {}
    for name, table_raw in tables_raw.items():
        if name not in TABLES:
            problems.append(
                Problem(
                    str(path),
                    f"[tables.{name}] is not a contract table{did_you_mean(name, TABLES)}; "
                    f"known: {', '.join(sorted(TABLES))}",
                )
            )
            continue
        source = _table(path, name, table_raw, problems)
        if source is None:
            continue
        problems += _needs_spark(path, f"[tables.{name}] file", source.file, backend)
        allowed = table_raw.get("allow_outside", data.allow_outside)
        remote = isinstance(directory, str) or is_uri(source.file)
        if source.file and not remote and allowed is not True and _outside(directory, source.file):
            problems.append(
                Problem(
                    str(path),
                    f"[tables.{name}] file = {source.file!r}: lies outside the data folder "
                    f"{directory}; move it there or set [tables.{name}] allow_outside = true",
                )
            )
        tables[name] = source
    return tables


def _located(value: str, base: Path) -> Path | str:
    """A configured location: a URI kept as written, a relative path read from `base`."""
    if is_uri(value):
        return value
    path = Path(value)
    return path if path.is_absolute() else base / path


def read_exports(
    path: Path,
    raw: dict[str, Any],
    data_dir: str | None,
    problems: list[Problem],
    backend: str = "duckdb",
) -> tuple[ExportSource, DataSettings, Path | str]:
    """The export source, the [data] settings and the cache folder, from the whole TOML
    document; `data_dir` (the command line's) replaces [data] dir and is read from the
    working folder, a configured one from the configuration's folder. URIs are kept as
    written with the Spark `backend` and refused with DuckDB's."""
    base = path.resolve().parent
    data = read_data(path, raw.get("data", {}), problems)
    given = data_dir or data.dir
    where = "--data" if data_dir else "[data] dir"
    problems += _needs_spark(path, where, given, backend)
    problems += _needs_spark(path, "[data] cache_dir", data.cache_dir, backend)
    directory = _located(given, Path.cwd() if data_dir else base)
    tables_raw = raw.get("tables", {})
    tables = _tables(path, tables_raw, directory, data, problems, backend)
    customers = tables_raw.get("customers", {}) if isinstance(tables_raw, dict) else {}
    profile_raw = customers.get("profile", {}) if isinstance(customers, dict) else {}
    profile = read_profile(path, profile_raw, problems)
    cache = _located(data.cache_dir, base)
    exports = ExportSource(
        str(directory), tables, profile, data.max_orphan_share, data.max_duplicate_share
    )
    return exports, data, cache
