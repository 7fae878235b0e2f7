"""Export and cache locations as text: local paths, or URIs that only Spark reads.

A URI (s3://bucket/exports, abfss://..., dbfs:/..., file:///tmp/x) is kept exactly as
written: pathlib would fold its '//' (s3:/bucket) and resolve it against the working folder.
"""

from __future__ import annotations

import re
from pathlib import Path

URI_SCHEMES = ("s3", "s3a", "s3n", "gs", "abfs", "abfss", "wasb", "wasbs", "dbfs", "hdfs", "file")
_URI = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):/")


def uri_scheme(location: str) -> str | None:
    """The scheme of a URI location ("s3" for s3://b/x, "dbfs" for dbfs:/x), else None.

    Only the schemes Spark's file systems serve count: "C:/data" is a Windows path."""
    match = _URI.match(location)
    if match and match.group(1).lower() in URI_SCHEMES:
        return match.group(1).lower()
    return None


def is_uri(location: str) -> bool:
    """Whether `location` is an object-store or file-system URI rather than a local path."""
    return uri_scheme(location) is not None


def join_location(base: str, name: str) -> str:
    """`name` under `base`: a URI `name` as it is, else joined with '/' under a URI base or
    with pathlib under a local one."""
    if is_uri(name):
        return name
    if is_uri(base):
        return base.rstrip("/") + "/" + name.lstrip("/")
    return str(Path(base) / name)


def file_name(location: str) -> str:
    """The last part of a location's path (the export's file name in messages)."""
    if is_uri(location):
        return location.rstrip("/").rsplit("/", 1)[-1]
    return Path(location).name


def local_path(location: str) -> Path:
    """A local location as a Path; a file: URI as the path it names."""
    if uri_scheme(location) == "file":
        return Path(re.sub(r"^file:(//)?", "", location, flags=re.IGNORECASE))
    return Path(location)
