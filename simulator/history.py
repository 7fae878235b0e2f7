"""Seeded simulator of a subscription product's history, and writer for its export files.

``simulate_history`` produces the five export tables (customers, engagement, support, purchases,
surveys) plus a ``truth`` table holding the exact monthly churn probability used for every
active customer. The behavioural mechanism lives in :mod:`simulator.mechanism`.
``write_history`` writes the exports in the project's file formats; the truth goes to a separate
``truth/`` folder so it can never be picked up as an export.
"""

from __future__ import annotations

import dataclasses
import datetime
import gzip
import os
import pathlib
import tempfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simulator import mechanism as mech
from simulator.contacts import ContactPolicy, Contacts, apply_contacts, contact_tables

EXPORT_FILES = {
    "customers": "customers.csv",
    "engagement": "engagement.parquet",
    "support": "support.csv",
    "purchases": "purchases.csv.gz",
    "surveys": "surveys.csv",
}
TRUTH_FILE = pathlib.Path("truth") / "churn_probability.csv.gz"
TERMS_FILE = pathlib.Path("truth") / "hazard_terms.csv.gz"
TERM_DECIMALS = 4
"""Decimals each hazard term is written with (log-odds: 1e-4 is far below any effect)."""
TRUTH_FILES = {"truth": TRUTH_FILE, "truth_terms": TERMS_FILE}
CONTACT_FILES = {"contacts": "contacts.csv", "truth_contacts": "truth/contacts.csv.gz"}
"""Written when the simulated team follows the lists (`simulate_history(contacts=...)`)."""
DATE_COLUMNS = ("signup_at", "churned_at", "month_start")
TIMESTAMP_COLUMNS = ("timestamp", "opened_at", "resolved_at", "answered_at", "contacted_at")
FILE_MODE = 0o644


@dataclasses.dataclass
class _Records:
    """Row fragments collected month by month, concatenated once at the end."""

    engagement: list[dict[str, np.ndarray]] = dataclasses.field(default_factory=list)
    support: list[dict[str, np.ndarray]] = dataclasses.field(default_factory=list)
    purchases: list[dict[str, np.ndarray]] = dataclasses.field(default_factory=list)
    surveys: list[dict[str, np.ndarray]] = dataclasses.field(default_factory=list)
    truth: list[dict[str, np.ndarray]] = dataclasses.field(default_factory=list)


def _concat(parts: list[dict[str, np.ndarray]], keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Concatenate row fragments column by column (empty arrays when there are none)."""
    empty = np.array([], dtype=np.int64)
    return {k: np.concatenate([p[k] for p in parts]) if parts else empty for k in keys}


_TICKET_KEYS = ("customer", "opened", "resolved", "priority", "channel", "satisfaction")


def _shift_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` moved by whole calendar months, clipping the day of month when needed."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    first_next = datetime.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    last_day = (first_next - datetime.timedelta(days=1)).day
    return datetime.date(year, month + 1, min(day.day, last_day))


def _calendar(end: datetime.date, months: int) -> tuple[datetime.date, mech.Calendar]:
    """Window start date and month boundaries; the price rise lands two thirds through the
    window and a two-month slow-support period sits around 40% of it."""
    starts = [_shift_months(end, k - months) for k in range(months + 1)]
    bounds = np.array([(s - starts[0]).days for s in starts], dtype=np.int64)
    slow_first = int(round(0.4 * months))
    calendar = mech.Calendar(
        bounds=bounds,
        price_rise_month=int(round(2 * months / 3)),
        slow_support_months=tuple(m for m in (slow_first, slow_first + 1) if m < months),
    )
    return starts[0], calendar


def _day_effects(start: datetime.date, days: int) -> np.ndarray:
    """Activity shift per day: quieter weekends and a holiday lull at the end of December."""
    dates = pd.date_range(start, periods=days, freq="D")
    weekend = dates.dayofweek >= 5
    holidays = (dates.month == 12) & (dates.day >= 22)
    return np.where(weekend, -1.1, 0.0) + np.where(holidays, -0.5, 0.0)


@dataclasses.dataclass(frozen=True)
class _Team:
    """The simulated retention team: its policy, the customers' ids and the window's first
    day (the log names customers and dates as the exports do), and what it did."""

    policy: ContactPolicy
    customer_ids: np.ndarray
    window_start: datetime.date
    done: Contacts = dataclasses.field(default_factory=Contacts)


def _decide_churn(
    rng: np.random.Generator,
    month: int,
    pop: mech.Population,
    state: mech.State,
    calendar: mech.Calendar,
    records: _Records,
    team: _Team | None = None,
) -> mech.RiskInputs:
    """Month-start step: compute every active customer's hazard, record it as truth, draw who
    cancels and on which day of the month (offset 0-29, never past the month's end). With a
    team, the customers it calls cancel with their probability after the call (the truth
    keeps the probability without it)."""
    start, nxt = int(calendar.bounds[month]), int(calendar.bounds[month + 1])
    risk = mech.observed_risk(_concat(records.support, _TICKET_KEYS), state, pop.size, start)
    active = np.flatnonzero((pop.signup_day < start) & (state.churn_day == mech.NEVER))
    hazard = mech.Hazard()
    terms = mech.hazard_terms(rng, active, pop, state, risk, month, start, calendar, hazard)
    p = mech.churn_probability(terms, hazard)
    u = rng.random(len(active))
    drawn = p
    if team is not None:
        day = team.window_start + datetime.timedelta(days=start)
        ids = team.customer_ids
        drawn = apply_contacts(
            team.policy, month, day, active, terms, hazard, (p, u), ids, team.done
        )
    leaving = u < drawn
    offset = rng.integers(0, min(30, nxt - start), len(active))
    state.churn_day[active[leaving]] = start + offset[leaving]
    records.truth.append(
        {"customer": active, "month": np.full(len(active), month), "probability": p, **terms}
    )
    return risk


def _advance_health(
    rng: np.random.Generator,
    month: int,
    pop: mech.Population,
    state: mech.State,
    risk: mech.RiskInputs,
    calendar: mech.Calendar,
) -> None:
    """Evolve health one month; customers joining this month start at their initial health."""
    start, nxt = calendar.bounds[month], calendar.bounds[month + 1]
    stepped = mech.evolve_health(
        rng, state.health, pop.mu, risk.low_satisfaction | risk.open_ticket
    )
    joining = (pop.signup_day >= start) & (pop.signup_day < nxt)
    state.health_lag2 = np.where(joining, pop.health0, state.health_lag1)
    state.health_lag1 = np.where(joining, pop.health0, state.health)
    state.health = np.where(joining, pop.health0, stepped)
    state.adopted = mech.grow_adoption(rng, state.adopted, state.health)


def _simulate_activity(
    rng: np.random.Generator,
    month: int,
    pop: mech.Population,
    state: mech.State,
    calendar: mech.Calendar,
    day_effects: np.ndarray,
    records: _Records,
) -> None:
    """Generate one month of engagement (day by day), tickets, payments and survey answers."""
    start, nxt = int(calendar.bounds[month]), int(calendar.bounds[month + 1])
    everyone = np.arange(pop.size)
    lo, hi = mech.alive_window(pop, state, everyone, start, nxt)
    alive = everyone[hi > lo]
    for day in range(start, nxt):
        today = alive[(pop.signup_day[alive] <= day) & (state.churn_day[alive] > day)]
        records.engagement.append(
            mech.engagement_day(rng, day, today, pop, state, float(day_effects[day]))
        )
    slow = month in calendar.slow_support_months
    records.support.append(mech.support_month(rng, alive, start, nxt, pop, state, slow))
    rise_day = int(calendar.bounds[calendar.price_rise_month])
    records.purchases.append(
        mech.invoices_month(rng, alive, start, nxt, calendar.days, rise_day, pop, state)
    )
    records.purchases.append(mech.addons_month(rng, alive, start, nxt, pop, state))
    if month % 3 == 0:
        records.surveys.append(mech.surveys_month(rng, alive, start, nxt, pop, state))


def simulate_history(
    customers: int = 5000,
    months: int = 24,
    seed: int = 7,
    end: datetime.date = datetime.date(2026, 11, 1),
    contacts: ContactPolicy | None = None,
) -> dict[str, pd.DataFrame]:
    """Simulate `months` months of history ending at `end` (exclusive). Returns tables
    customers, engagement, support, purchases, surveys, truth, truth_terms.

    About half of ``customers`` are already active when the window opens (signed up up to two
    years earlier, with no recorded history before the window); the rest sign up during it.
    ``truth`` holds, for every customer active at each month start, the exact probability the
    simulator used for a cancellation within the following 30 days, and ``truth_terms`` the
    named log-odds terms it was computed from (mechanism.HAZARD_TERMS). With `contacts` (a
    policy), a retention team follows the lists from its first month (simulator/contacts.py):
    the tables gain ``contacts`` (the log) and ``truth_contacts`` (everyone it put forward,
    their arm and what the call truly did); ``truth`` keeps the probability without a call.
    Without it, the history is exactly as before. Same arguments give identical tables.
    """
    if customers < 2 or months < 1:
        raise ValueError("need at least 2 customers and 1 month")
    rng = np.random.default_rng(seed)
    start, calendar = _calendar(end, months)
    pop = mech.draw_population(rng, customers, calendar)
    state = mech.initial_state(rng, pop)
    day_effects = _day_effects(start, calendar.days)
    records = _Records()
    team = None
    if contacts is not None:
        team = _Team(contacts, _ids("C", np.arange(1, pop.size + 1), 6), start)
    for month in range(calendar.months):
        risk = _decide_churn(rng, month, pop, state, calendar, records, team)
        _advance_health(rng, month, pop, state, risk, calendar)
        _simulate_activity(rng, month, pop, state, calendar, day_effects, records)
    tables = _tables(start, calendar, pop, state, records)
    if team is not None:
        tables["contacts"], tables["truth_contacts"] = contact_tables(team.done)
    return tables


def _timestamps(start: datetime.date, seconds: np.ndarray) -> np.ndarray:
    """Seconds since the window start as datetime64[s]; sentinels become NaT."""
    base = np.datetime64(start, "s")
    out = base + np.minimum(seconds, 10**11).astype("timedelta64[s]")
    return np.where(seconds >= mech.NEVER // 2, np.datetime64("NaT", "s"), out)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded identifiers such as C000123."""
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), width))


def _tables(
    start: datetime.date,
    calendar: mech.Calendar,
    pop: mech.Population,
    state: mech.State,
    records: _Records,
) -> dict[str, pd.DataFrame]:
    """Assemble the output tables from the simulation records."""
    customer_ids = _ids("C", np.arange(1, pop.size + 1), 6)
    end_second = calendar.days * mech.SECONDS_PER_DAY
    churn_second = np.where(
        state.churn_day < mech.NEVER, state.churn_day * mech.SECONDS_PER_DAY, mech.NEVER
    )
    return {
        "customers": _customers_table(start, calendar, pop, state, customer_ids),
        "engagement": _engagement_table(start, records, customer_ids),
        "support": _support_table(start, records, customer_ids, end_second),
        "purchases": _purchases_table(start, records, customer_ids, churn_second),
        "surveys": _surveys_table(start, records, customer_ids),
        "truth": _truth_table(start, calendar, records, customer_ids),
        "truth_terms": _terms_table(start, calendar, records, customer_ids),
    }


def _customers_table(
    start: datetime.date,
    calendar: mech.Calendar,
    pop: mech.Population,
    state: mech.State,
    customer_ids: np.ndarray,
) -> pd.DataFrame:
    """One row per customer with the fee in force on their last day (today if active)."""
    everyone = np.arange(pop.size)
    churn_second = np.where(
        state.churn_day < mech.NEVER, state.churn_day * mech.SECONDS_PER_DAY, mech.NEVER
    )
    last_day = np.minimum(state.churn_day, calendar.days) - 1
    rise_day = int(calendar.bounds[calendar.price_rise_month])
    return pd.DataFrame(
        {
            "customer_id": customer_ids,
            "signup_at": _timestamps(start, pop.signup_day * mech.SECONDS_PER_DAY),
            "churned_at": _timestamps(start, churn_second),
            "plan": np.array(mech.PLANS)[pop.plan],
            "country": np.array(mech.COUNTRIES)[pop.country],
            "acquisition_channel": np.array(mech.CHANNELS)[pop.channel],
            "seats": pop.seats.astype(np.int64),
            "monthly_fee": mech.list_fee(pop, everyone, last_day, rise_day),
            "loyalty_member": pop.loyalty.astype(np.int64),
        }
    )


def _engagement_table(
    start: datetime.date, records: _Records, customer_ids: np.ndarray
) -> pd.DataFrame:
    """Engagement events ordered by customer, time and event type."""
    rows = _concat(records.engagement, ("customer", "second", "event_type", "value"))
    order = np.lexsort((rows["event_type"], rows["second"], rows["customer"]))
    customer = rows["customer"].astype(np.int64)[order]
    return pd.DataFrame(
        {
            "customer_id": pd.Categorical.from_codes(customer, categories=customer_ids),
            "timestamp": _timestamps(start, rows["second"].astype(np.int64)[order]),
            "event_type": pd.Categorical.from_codes(
                rows["event_type"].astype(np.int64)[order], categories=list(mech.EVENT_TYPES)
            ),
            "value": rows["value"].astype(np.float64)[order],
        }
    )


def _support_table(
    start: datetime.date, records: _Records, customer_ids: np.ndarray, end_second: int
) -> pd.DataFrame:
    """Tickets ordered by opening time; tickets still open at the end are unresolved/unrated."""
    rows = _concat(records.support, _TICKET_KEYS)
    order = np.lexsort((rows["customer"], rows["opened"]))
    rows = {k: v.astype(np.int64)[order] for k, v in rows.items()}
    open_at_end = rows["resolved"] >= end_second
    resolved = np.where(open_at_end, mech.NEVER, rows["resolved"])
    satisfaction = pd.array(np.where(open_at_end, 0, rows["satisfaction"]), dtype="Int64")
    satisfaction[satisfaction == 0] = pd.NA
    return pd.DataFrame(
        {
            "customer_id": customer_ids[rows["customer"]],
            "ticket_id": _ids("T", np.arange(1, len(order) + 1), 6),
            "opened_at": _timestamps(start, rows["opened"]),
            "resolved_at": _timestamps(start, resolved),
            "priority": np.array(mech.PRIORITIES)[rows["priority"]],
            "channel": np.array(mech.SUPPORT_CHANNELS)[rows["channel"]],
            "satisfaction": satisfaction,
        }
    )


def _purchases_table(
    start: datetime.date, records: _Records, customer_ids: np.ndarray, churn_second: np.ndarray
) -> pd.DataFrame:
    """Orders by time; a payment retry that would fall after the cancellation is dropped."""
    rows = _concat(
        records.purchases, ("customer", "second", "amount", "discount", "status", "kind")
    )
    customer = rows["customer"].astype(np.int64)
    second = rows["second"].astype(np.int64)
    keep = second < churn_second[customer]
    order = np.flatnonzero(keep)[np.lexsort((rows["kind"][keep], customer[keep], second[keep]))]
    return pd.DataFrame(
        {
            "customer_id": customer_ids[customer[order]],
            "order_id": _ids("O", np.arange(1, len(order) + 1), 7),
            "timestamp": _timestamps(start, second[order]),
            "amount": np.round(rows["amount"][order].astype(np.float64), 2),
            "discount": np.round(rows["discount"][order].astype(np.float64), 2),
            "status": np.array(mech.PURCHASE_STATUSES)[rows["status"][order].astype(np.int64)],
            "kind": np.array(mech.PURCHASE_KINDS)[rows["kind"][order].astype(np.int64)],
        }
    )


def _surveys_table(
    start: datetime.date, records: _Records, customer_ids: np.ndarray
) -> pd.DataFrame:
    """Survey answers ordered by time."""
    rows = _concat(records.surveys, ("customer", "second", "nps"))
    customer = rows["customer"].astype(np.int64)
    second = rows["second"].astype(np.int64)
    order = np.lexsort((customer, second))
    return pd.DataFrame(
        {
            "customer_id": customer_ids[customer[order]],
            "answered_at": _timestamps(start, second[order]),
            "nps": rows["nps"].astype(np.int64)[order],
        }
    )


def _truth_table(
    start: datetime.date, calendar: mech.Calendar, records: _Records, customer_ids: np.ndarray
) -> pd.DataFrame:
    """Exact monthly churn probability per active customer and month start."""
    rows = _concat(records.truth, ("customer", "month", "probability"))
    month = rows["month"].astype(np.int64)
    return pd.DataFrame(
        {
            "customer_id": customer_ids[rows["customer"].astype(np.int64)],
            "month_start": _timestamps(start, calendar.bounds[month] * mech.SECONDS_PER_DAY),
            "churn_probability": rows["probability"].astype(np.float64),
        }
    )


def _terms_table(
    start: datetime.date, calendar: mech.Calendar, records: _Records, customer_ids: np.ndarray
) -> pd.DataFrame:
    """Each named log-odds term of the hazard per active customer and month start (the
    intercept is a constant: the true log-odds is it plus the terms' sum)."""
    rows = _concat(records.truth, ("customer", "month", *mech.HAZARD_TERMS))
    month = rows["month"].astype(np.int64)
    terms = {t: np.round(rows[t].astype(np.float64), TERM_DECIMALS) for t in mech.HAZARD_TERMS}
    return pd.DataFrame(
        {
            "customer_id": customer_ids[rows["customer"].astype(np.int64)],
            "month_start": _timestamps(start, calendar.bounds[month] * mech.SECONDS_PER_DAY),
            **terms,
        }
    )


def _atomic_write_bytes(path: pathlib.Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path`` and move it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise


def _csv_bytes(frame: pd.DataFrame, gzipped: bool) -> bytes:
    """CSV with ISO dates/timestamps and empty cells for missing values (gzip without a
    timestamp in the header, so identical tables give identical bytes)."""
    out = frame.copy()
    for column in out.columns:
        if column in DATE_COLUMNS:
            out[column] = out[column].dt.strftime("%Y-%m-%d")
        elif column in TIMESTAMP_COLUMNS:
            out[column] = out[column].dt.strftime("%Y-%m-%d %H:%M:%S")
    data = out.to_csv(index=False, lineterminator="\n", na_rep="").encode("utf-8")
    return gzip.compress(data, compresslevel=9, mtime=0) if gzipped else data


def _write_parquet(frame: pd.DataFrame, path: pathlib.Path) -> None:
    """Engagement as zstd Parquet: string ids, a real timestamp and dictionary event types."""
    table = pa.table(
        {
            "customer_id": pa.array(frame["customer_id"].astype(str).to_numpy(), pa.string()),
            "timestamp": pa.array(frame["timestamp"].to_numpy(), pa.timestamp("s")),
            "event_type": pa.array(
                frame["event_type"].astype(str).to_numpy(), pa.string()
            ).dictionary_encode(),
            "value": pa.array(frame["value"].to_numpy(), pa.float64(), from_pandas=True),
        }
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            compression_level=9,
            use_dictionary=["customer_id", "event_type", "value"],
            column_encoding={"timestamp": "DELTA_BINARY_PACKED"},
        )
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise


def write_history(
    tables: dict[str, pd.DataFrame], out_dir: pathlib.Path
) -> dict[str, pathlib.Path]:
    """Write the export tables to out_dir and the truth tables to out_dir/'truth'; returns
    paths written. Writes atomically (temp file then os.replace).

    File names and formats are fixed by ``EXPORT_FILES`` and ``TRUTH_FILES``; a stale copy of a
    table under its other CSV name (plain vs gzipped) is removed so readers never see two.
    """
    missing = sorted((set(EXPORT_FILES) | set(TRUTH_FILES)) - set(tables))
    if missing:
        raise ValueError(f"tables missing: {', '.join(missing)}")
    out_dir = pathlib.Path(out_dir)
    (out_dir / TRUTH_FILE).parent.mkdir(parents=True, exist_ok=True)
    targets = {name: out_dir / file for name, file in EXPORT_FILES.items()}
    targets |= {name: out_dir / file for name, file in TRUTH_FILES.items()}
    targets |= {name: out_dir / file for name, file in CONTACT_FILES.items() if name in tables}
    written: dict[str, pathlib.Path] = {}
    for name, path in targets.items():
        if path.suffix == ".parquet":
            _write_parquet(tables[name], path)
        else:
            gzipped = path.suffix == ".gz"
            _atomic_write_bytes(path, _csv_bytes(tables[name], gzipped))
            stale = path.with_suffix("") if gzipped else path.with_name(path.name + ".gz")
            stale.unlink(missing_ok=True)
        written[name] = path
    return written
