"""Synthetic typed exports for benchmarks: N customers over one year, written as zstd Parquet.

Per customer on average: about 50 engagement events, 2 support tickets, 5 purchases and 0.5
survey answers, all inside the customer's active span within the year. Activity per customer is
skewed (log-normal), and 8 event types have skewed frequencies. Engagement is generated and
written one week at a time (so sorted by timestamp, and memory stays at one week's rows);
the other tables are small enough to generate whole.

Generated sets are cached under `bench/data/<n>/`: `python -m bench.synthetic 100000 1000000`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

DATA_ROOT = Path(__file__).resolve().parent / "data"
FORMAT_VERSION = 1  # bump when the generator changes, so cached sets are rebuilt

YEAR_START = np.datetime64("2024-01-01T00:00:00", "us")
YEAR_END = np.datetime64("2025-01-01T00:00:00", "us")
FIRST_SIGNUP = np.datetime64("2021-01-01T00:00:00", "us")
US_PER_DAY = 86_400_000_000

EVENTS_PER_CUSTOMER = 50.0
TICKETS_PER_CUSTOMER = 2.0
PURCHASES_PER_CUSTOMER = 5.0
SURVEYS_PER_CUSTOMER = 0.5

EVENT_TYPES = (
    "login",
    "page_view",
    "search",
    "report_view",
    "export",
    "invite",
    "api_call",
    "settings_change",
)
EVENT_WEIGHTS = (0.34, 0.24, 0.13, 0.10, 0.07, 0.05, 0.04, 0.03)
PLANS = ("basic", "pro", "business", "enterprise")
PLAN_WEIGHTS = (0.5, 0.3, 0.15, 0.05)
PRIORITIES = ("low", "normal", "high", "urgent")
CHANNELS = ("email", "chat", "phone", "web")
STATUSES = ("paid", "failed", "refunded")
KINDS = ("subscription", "invoice", "renewal", "addon", "one_off")

TABLES = ("customers", "engagement", "support", "purchases", "surveys")
ROW_GROUP = 1 << 20
TS = pa.timestamp("us")


EXPORTS_CONFIG = """
[data]
dir = "{data}"
as_of = "{as_of}"
cache_dir = "{work}/cache"

[tables.customers.profile]
categorical = ["plan"]
numeric = ["seats"]
"""
"""The [data] and profile sections pointing the pipeline at one synthetic set (fill in data,
as_of and work); each benchmark adds its own training, model and output sections."""


def year_cutoffs() -> tuple[list[np.datetime64], list[np.datetime64]]:
    """The benchmark's cutoffs: ([end of the year], [first of each month Feb..Jan])."""
    months = np.arange("2024-02", "2025-02", dtype="datetime64[M]").astype("datetime64[us]")
    return [YEAR_END], list(months)


def half_month_cutoffs() -> list[np.datetime64]:
    """Twenty-four cutoffs over the synthetic year, the 1st and 16th of each month, ending at
    its end: one year of history holds only twelve monthly ones, and the builder's cost per
    cutoff does not depend on their spacing."""
    months = np.arange("2024-01", "2025-01", dtype="datetime64[M]").astype("datetime64[us]")
    sixteenths = months + np.timedelta64(15, "D")
    return sorted([*(months[1:]), *sixteenths, YEAR_END])


def dataset_paths(directory: Path) -> dict[str, Path]:
    """The Parquet file of every table in a generated set."""
    return {name: directory / f"{name}.parquet" for name in TABLES}


def _ids(n: int) -> pa.Array:
    width = max(7, len(str(n)))
    return pa.array([f"C{i:0{width}d}" for i in range(n)], type=pa.string())


def _choice(rng: np.random.Generator, values: tuple[str, ...], weights, n: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(values), size=n, p=p / p.sum())


def _strings(values: tuple[str, ...], codes: np.ndarray, null: np.ndarray | None = None):
    """Plain (not dictionary-typed) Arrow strings for integer codes into `values`."""
    out = pa.array(values, type=pa.string()).take(pa.array(codes, type=pa.int32()))
    if null is not None:
        out = pc.if_else(pa.array(null), pa.scalar(None, pa.string()), out)
    return out


def _stamps(us: np.ndarray) -> pa.Array:
    return pa.array(us.astype("datetime64[us]"), type=TS)


def _floats(values: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(values, type=pa.float64(), mask=null)


def _write(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd", row_group_size=ROW_GROUP)


class _Customers:
    """Customer spans and per-customer activity rates (kept in memory while generating)."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.n = n
        self.ids = _ids(n)
        span = (YEAR_END - FIRST_SIGNUP).astype(np.int64)
        self.signup = FIRST_SIGNUP.astype(np.int64) + rng.integers(0, span, n)
        churns = rng.random(n) < 0.2
        start = np.maximum(self.signup, YEAR_START.astype(np.int64))
        end_us = YEAR_END.astype(np.int64)
        churn_at = start + (rng.random(n) * (end_us - start)).astype(np.int64)
        self.churned = np.where(churns, churn_at, -1)
        self.start = start
        self.end = np.where(churns, churn_at, end_us)
        # Share of the year each customer is active, times a skewed (log-normal) intensity,
        # scaled so that the average customer gets exactly the per-customer targets.
        active_share = (self.end - self.start) / float(end_us - YEAR_START.astype(np.int64))
        intensity = rng.lognormal(0.0, 1.0, n)
        self.activity = intensity / float(np.mean(intensity * active_share))

    def table(self, rng: np.random.Generator) -> pa.Table:
        n = self.n
        seats = np.maximum(1, np.round(rng.lognormal(1.2, 1.0, n)))
        return pa.table(
            {
                "customer_id": self.ids,
                "signup_at": _stamps(self.signup),
                "churned_at": pa.array(
                    self.churned.astype("datetime64[us]"), type=TS, mask=self.churned < 0
                ),
                "plan": _strings(PLANS, _choice(rng, PLANS, PLAN_WEIGHTS, n)),
                "seats": _floats(seats, rng.random(n) < 0.02),
            }
        )

    def spread(self, rng: np.random.Generator, per_customer: float, lo: int, hi: int):
        """(customer index, timestamp us) for Poisson rows in [lo, hi) within each active span."""
        start = np.maximum(self.start, lo)
        overlap = np.maximum(0, np.minimum(self.end, hi) - start)
        year = float(YEAR_END.astype(np.int64) - YEAR_START.astype(np.int64))
        counts = rng.poisson(per_customer * self.activity * overlap / year)
        who = np.repeat(np.arange(self.n, dtype=np.int64), counts)
        stamps = start[who] + (rng.random(len(who)) * overlap[who]).astype(np.int64)
        return who, stamps


def _engagement(rng: np.random.Generator, people: _Customers, path: Path) -> int:
    schema = pa.schema(
        [
            ("customer_id", pa.string()),
            ("timestamp", TS),
            ("event_type", pa.string()),
            ("value", pa.float64()),
        ]
    )
    year_start = int(YEAR_START.astype(np.int64))
    year_end = int(YEAR_END.astype(np.int64))
    rows = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for lo in range(year_start, year_end, 7 * US_PER_DAY):
            hi = min(lo + 7 * US_PER_DAY, year_end)
            who, stamps = people.spread(rng, EVENTS_PER_CUSTOMER, lo, hi)
            order = np.argsort(stamps, kind="stable")
            who, stamps = who[order], stamps[order]
            n = len(who)
            chunk = pa.table(
                {
                    "customer_id": people.ids.take(pa.array(who)),
                    "timestamp": _stamps(stamps),
                    "event_type": _strings(
                        EVENT_TYPES, _choice(rng, EVENT_TYPES, EVENT_WEIGHTS, n)
                    ),
                    "value": _floats(np.round(rng.exponential(12.0, n), 2), rng.random(n) < 0.1),
                },
                schema=schema,
            )
            writer.write_table(chunk, row_group_size=ROW_GROUP)
            rows += n
    return rows


def _support(rng: np.random.Generator, people: _Customers) -> pa.Table:
    lo, hi = int(YEAR_START.astype(np.int64)), int(YEAR_END.astype(np.int64))
    who, opened = people.spread(rng, TICKETS_PER_CUSTOMER, lo, hi)
    n = len(who)
    resolved = opened + (rng.exponential(30.0, n) * 3_600_000_000).astype(np.int64)
    return pa.table(
        {
            "customer_id": people.ids.take(pa.array(who)),
            "opened_at": _stamps(opened),
            "resolved_at": pa.array(
                resolved.astype("datetime64[us]"), type=TS, mask=rng.random(n) < 0.1
            ),
            "priority": _strings(
                PRIORITIES, _choice(rng, PRIORITIES, (4, 4, 2, 1), n), rng.random(n) < 0.05
            ),
            "channel": _strings(
                CHANNELS, _choice(rng, CHANNELS, (4, 3, 2, 1), n), rng.random(n) < 0.05
            ),
            "satisfaction": _floats(rng.integers(1, 6, n).astype(float), rng.random(n) < 0.5),
        }
    )


def _purchases(rng: np.random.Generator, people: _Customers) -> pa.Table:
    lo, hi = int(YEAR_START.astype(np.int64)), int(YEAR_END.astype(np.int64))
    who, stamps = people.spread(rng, PURCHASES_PER_CUSTOMER, lo, hi)
    n = len(who)
    amount = np.round(rng.gamma(2.0, 40.0, n), 2)
    discount = np.where(rng.random(n) < 0.7, 0.0, np.round(amount * rng.random(n) * 0.3, 2))
    return pa.table(
        {
            "customer_id": people.ids.take(pa.array(who)),
            "timestamp": _stamps(stamps),
            "amount": _floats(amount),
            "discount": _floats(discount, rng.random(n) < 0.2),
            "status": _strings(STATUSES, _choice(rng, STATUSES, (0.85, 0.10, 0.05), n)),
            "kind": _strings(KINDS, _choice(rng, KINDS, (0.55, 0.1, 0.15, 0.15, 0.05), n)),
        }
    )


def _surveys(rng: np.random.Generator, people: _Customers) -> pa.Table:
    lo, hi = int(YEAR_START.astype(np.int64)), int(YEAR_END.astype(np.int64))
    who, stamps = people.spread(rng, SURVEYS_PER_CUSTOMER, lo, hi)
    return pa.table(
        {
            "customer_id": people.ids.take(pa.array(who)),
            "answered_at": _stamps(stamps),
            "nps": _floats(rng.integers(0, 11, len(who)).astype(float)),
        }
    )


def generate(n_customers: int, directory: Path, seed: int = 0) -> dict[str, int]:
    """Write the five typed tables for `n_customers` into `directory`; return rows per table."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    people = _Customers(rng, n_customers)
    paths = dataset_paths(directory)
    rows = {}
    customers = people.table(rng)
    _write(customers, paths["customers"])
    rows["customers"] = customers.num_rows
    rows["engagement"] = _engagement(rng, people, paths["engagement"])
    for name, make in (("support", _support), ("purchases", _purchases), ("surveys", _surveys)):
        table = make(rng, people)
        _write(table, paths[name])
        rows[name] = table.num_rows
    return rows


def ensure_dataset(n_customers: int, root: Path = DATA_ROOT, seed: int = 0) -> dict[str, Path]:
    """Paths of the cached set for `n_customers`, generating it first if missing or stale."""
    directory = root / str(n_customers)
    meta_path = directory / "meta.json"
    wanted = {"n_customers": n_customers, "seed": seed, "format": FORMAT_VERSION}
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if {k: meta.get(k) for k in wanted} == wanted:
            return dataset_paths(directory)
    staging = root / f".{n_customers}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    began = time.perf_counter()
    rows = generate(n_customers, staging, seed)
    meta = {**wanted, "rows": rows, "seconds": round(time.perf_counter() - began, 2)}
    (staging / "meta.json").write_text(json.dumps(meta, indent=2))
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(staging, directory)
    return dataset_paths(directory)


def read_dataset(n_customers: int, root: Path | None = None, seed: int = 0) -> dict[str, Path]:
    """Paths of the set for `n_customers`: generated under DATA_ROOT when `root` is None,
    else read from `root` (e.g. sets generated elsewhere), never written there; raises when
    that set is missing or was generated differently."""
    if root is None:
        return ensure_dataset(n_customers, seed=seed)
    directory = root / str(n_customers)
    meta_path = directory / "meta.json"
    wanted = {"n_customers": n_customers, "seed": seed, "format": FORMAT_VERSION}
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if {k: meta.get(k) for k in wanted} != wanted:
        raise FileNotFoundError(f"{directory}: no synthetic set matching {wanted}")
    return dataset_paths(directory)


def main(argv: list[str] | None = None) -> None:
    """CLI: generate (or reuse) the cached sets for the given sizes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="+", type=int)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for n in args.sizes:
        paths = ensure_dataset(n, seed=args.seed)
        meta = json.loads((paths["customers"].parent / "meta.json").read_text())
        print(n, meta["rows"], f"{meta['seconds']} s")


if __name__ == "__main__":
    main()
