"""`[engine.conf]`: the Spark settings whose values have a shape, checked when the
configuration is read.

Spark checks them late and loudly: a malformed `spark.driver.memory` stops the JVM before it
starts ("Java gateway process exited"), and a word in `spark.sql.shuffle.partitions` fails
the first query, each with a stack trace. Checked here, each is one line naming the setting.
Pure Python (no pyspark). Settings not listed are passed to Spark as written: Spark has
hundreds, and Hadoop and Hive keys (`fs.s3a.*`, `hive.*`) go through the same table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_SIZE = re.compile(r"[0-9]+(?:b|k|kb|m|mb|g|gb|t|tb|p|pb)?")  # Spark's JavaUtils.byteStringAs


def _size(value: str) -> str | None:
    text = value.strip().lower()
    if _SIZE.fullmatch(text):
        return None
    if re.fullmatch(r"[0-9]*\.[0-9]+[a-z]*", text):
        return 'Spark takes no fractions: a whole number of a smaller unit, e.g. "1536m"'
    return 'not a size: a whole number with an optional unit k, m, g or t, e.g. "4g", "512m"'


def _whole(low: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        text = value.strip()
        if text.isdigit() and int(text) >= low:
            return None
        return f"must be a whole number >= {low}"

    return check


def _fraction(value: str) -> str | None:
    try:
        if 0 <= float(value) <= 1:
            return None
    except ValueError:
        pass
    return "must be a number from 0 to 1"


def _flag(value: str) -> str | None:
    return None if value.strip().lower() in ("true", "false") else "must be true or false"


def _own_setting(value: str) -> str | None:
    return "set by [engine] master (or spark-submit's --master), not in [engine.conf]"


KINDS: tuple[tuple[str, Callable[[str], str | None]], ...] = (
    (r"spark\.master", _own_setting),
    (r"spark\.(driver|executor|yarn\.am)\.memory(Overhead)?", _size),
    (r"spark\.executor\.pyspark\.memory", _size),
    (r"spark\.driver\.maxResultSize", _size),
    (r"spark\.memory\.offHeap\.size", _size),
    (r"spark\.sql\.files\.maxPartitionBytes", _size),
    (r"spark\.sql\.adaptive\.advisoryPartitionSizeInBytes", _size),
    (r"spark\.kryoserializer\.buffer(\.max)?", _size),
    (r"spark\.sql\.shuffle\.partitions", _whole(1)),
    (r"spark\.default\.parallelism", _whole(1)),
    (r"spark\.(driver|executor)\.cores", _whole(1)),
    (r"spark\.task\.(cpus|maxFailures)", _whole(1)),
    (r"spark\.executor\.instances", _whole(0)),
    (r"spark\.dynamicAllocation\.(min|max|initial)Executors", _whole(0)),
    (r"spark\.memory\.(storageFraction|fraction)", _fraction),
    (r"spark\.[A-Za-z0-9_.]*\.enabled", _flag),
)
"""Settings by name pattern (whole match) and what their value must be: the memory sizes,
counts, fractions and switches a churn run is most often given."""


def conf_problems(conf: Mapping[str, str]) -> list[str]:
    """One text per setting whose value Spark would refuse: `conf "spark.executor.memory" =
    '4 GB': not a size: ...`."""
    problems = []
    for key, value in conf.items():
        for pattern, check in KINDS:
            if re.fullmatch(pattern, key):
                problem = check(value)
                if problem:
                    problems.append(f'conf "{key}" = {value!r}: {problem}')
                break
    return problems
