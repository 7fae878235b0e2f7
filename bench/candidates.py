"""Candidate features measured by the quality benchmark but not in the product: computed here
in plain DuckDB SQL on the typed exports, so their backtest value can be checked again.

- longest gaps: the longest stretch between active days in the last 30 and 90 days (events)
  and between paid orders in the last 365 days (the previous event by a window function);
- onboarding: active days in a customer's first 28 days, paid orders in their first 90 (only
  once those days are over by the cutoff);
- long windows: active days in the last 180 and 365 days, events in the last 365.

Every value reads rows strictly before the cutoff. Missing tables give no candidates.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

GROUPS = {
    "longest gaps": ("gap_days_30d", "gap_days_90d", "order_gap_days_365d"),
    "onboarding": ("onboarding_active_days_28d", "onboarding_orders_90d"),
    "long windows": ("active_days_180d", "active_days_365d", "events_365d"),
}
KEYS = ["customer_id", "cutoff"]

_EVENTS = """
CREATE TABLE ev AS SELECT customer_id, timestamp AS ts,
  date_diff('day', lag(timestamp::date) OVER (PARTITION BY customer_id ORDER BY timestamp),
            timestamp::date) AS gap
FROM read_parquet($path)
"""
_EVENT_FEATURES = """
SELECT customer_id, cutoff,
  max(least(coalesce(gap, 30), 30 - db)) FILTER (WHERE db < 30) AS gap_days_30d,
  max(least(coalesce(gap, 90), 90 - db)) FILTER (WHERE db < 90) AS gap_days_90d,
  count(DISTINCT db) FILTER (WHERE db < 180) AS active_days_180d,
  count(DISTINCT db) AS active_days_365d,
  count(*) AS events_365d
FROM (SELECT ev.*, cutoff, date_diff('day', ts::date, cutoff::date) AS db
      FROM ev JOIN cuts ON ts < cutoff AND ts >= cutoff - INTERVAL 365 DAY)
GROUP BY ALL
"""
_ORDERS = """
CREATE TABLE orders AS SELECT customer_id, timestamp AS ts,
  date_diff('day', lag(timestamp::date) OVER (PARTITION BY customer_id ORDER BY timestamp),
            timestamp::date) AS gap
FROM read_parquet($path) WHERE status = 'paid'
"""
_ORDER_FEATURES = """
SELECT customer_id, cutoff,
  max(least(coalesce(gap, 365), 365 - date_diff('day', ts::date, cutoff::date)))
    AS order_gap_days_365d
FROM orders JOIN cuts ON ts < cutoff AND ts >= cutoff - INTERVAL 365 DAY
GROUP BY ALL
"""
_ONBOARDING = """
SELECT c.customer_id, cuts.cutoff, {measure} AS {name}
FROM customers c JOIN cuts ON c.signup_at + INTERVAL {days} DAY <= cuts.cutoff
LEFT JOIN {table} x ON x.customer_id = c.customer_id AND x.ts >= c.signup_at
  AND x.ts < c.signup_at + INTERVAL {days} DAY
GROUP BY ALL
"""


def candidate_features(paths: dict[str, Path], cutoffs) -> pd.DataFrame:
    """Every candidate the typed tables allow, one row per (customer, cutoff) with any."""
    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    con.register("cuts", pd.DataFrame({"cutoff": pd.to_datetime(sorted(cutoffs))}))
    con.execute(
        "CREATE TABLE customers AS SELECT customer_id, signup_at FROM read_parquet($path)",
        {"path": str(paths["customers"])},
    )
    parts = []
    if "engagement" in paths:
        con.execute(_EVENTS, {"path": str(paths["engagement"])})
        parts.append(con.sql(_EVENT_FEATURES).df())
        parts.append(_onboarding(con, "ev", 28, "count(DISTINCT x.ts::date)", "active_days"))
    if "purchases" in paths:
        con.execute(_ORDERS, {"path": str(paths["purchases"])})
        parts.append(con.sql(_ORDER_FEATURES).df())
        parts.append(_onboarding(con, "orders", 90, "count(x.ts)", "orders"))
    out = None
    for part in parts:
        part["customer_id"] = part["customer_id"].astype(str)
        part["cutoff"] = pd.to_datetime(part["cutoff"]).astype("datetime64[us]")
        out = part if out is None else out.merge(part, on=KEYS, how="outer")
    return out if out is not None else pd.DataFrame(columns=KEYS)


def _onboarding(con, table: str, days: int, measure: str, what: str) -> pd.DataFrame:
    name = f"onboarding_{what}_{days}d"
    query = _ONBOARDING.format(measure=measure, name=name, days=days, table=table)
    return con.sql(query).df()


def with_candidates(frame: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """The labelled rows with the candidates beside them (counts 0 where a customer has none)."""
    right = candidates.astype({"cutoff": frame["cutoff"].dtype})
    out = frame.merge(right, on=KEYS, how="left")
    for column in ("active_days_180d", "active_days_365d", "events_365d"):
        if column in out:
            out[column] = out[column].fillna(0)
    return out
