"""Behavioural mechanism behind the subscription-history simulator.

Each customer carries a latent *health* (how much value the account gets from the product).
Health follows a mean-reverting random walk with occasional shocks; everything observable is a
noisy manifestation of it or of independent events:

* engagement intensity (active-day probability, events per active day, feature breadth),
* support-ticket volume, and NPS answers,
* while failed payments, a price rise and tenure act on risk directly.

At every month start each active customer cancels with probability ``p`` from a logistic
hazard. The effects follow well-established retention findings:

* declining usage precedes defection and churn models reach only moderate accuracy
  (Neslin et al., 2006, "Defection Detection", Journal of Marketing Research 43(2));
* core-service failures, poor service encounters and price increases are leading reasons for
  switching (Keaveney, 1995, "Customer Switching Behavior in Service Industries", Journal of
  Marketing 59(2));
* retention improves with tenure, largely through heterogeneity (Fader & Hardie, 2007,
  "How to Project Customer Retention", Journal of Interactive Marketing 21(1));
* NPS detractors defect more often (Reichheld, 2003, "The One Number You Need to Grow", HBR);
* failed card payments cause "involuntary" churn, a material share of subscription churn.

A customer-level frailty, a customer-month noise term and an additive base hazard make part of
churn unpredictable from any observable history, keeping the best achievable ROC AUC realistic.
"""

from __future__ import annotations

import dataclasses

import numpy as np

SECONDS_PER_DAY = 86_400
NEVER = np.iinfo(np.int64).max // 4
"""Sentinel day/second for events that have not happened (far beyond any window)."""

PLANS = ("basic", "pro", "business")
PLAN_PRICE_PER_SEAT = np.array([12.0, 39.0, 79.0])
PRICE_RISE_PLAN = 1  # "pro"
PRICE_RISE_FACTOR = 1.20

COUNTRIES = ("US", "GB", "DE", "FR", "NL", "CA", "AU")
COUNTRY_WEIGHTS = np.array([0.36, 0.15, 0.14, 0.10, 0.07, 0.10, 0.08])

CHANNELS = ("organic", "paid_search", "referral", "partner", "sales")
CHANNEL_WEIGHTS = np.array([0.34, 0.26, 0.15, 0.12, 0.13])
CHANNEL_HEALTH = np.array([0.0, -0.30, 0.30, 0.10, 0.10])

EVENT_TYPES = (
    "login",
    "page_view",
    "dashboard_view",
    "report_created",
    "export",
    "integration_used",
    "invite_sent",
    "api_call",
)
N_CORE_TYPES = 3
"""The first three event types are used by every customer; the others must be adopted."""
EVENT_RATES = np.array([0.12, 0.55, 0.30, 0.18, 0.12, 0.20, 0.03, 0.55])
"""Mean events per active day for an adopter of average intensity (login: extra sessions)."""

PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_WEIGHTS = np.array([0.30, 0.45, 0.18, 0.07])
PRIORITY_MEDIAN_HOURS = np.array([40.0, 22.0, 9.0, 3.0])
SUPPORT_CHANNELS = ("email", "chat", "phone")

PURCHASE_STATUSES = ("paid", "failed", "refunded")
PURCHASE_KINDS = ("subscription", "addon")


@dataclasses.dataclass(frozen=True)
class Hazard:
    """Coefficients of the monthly churn hazard (log-odds scale unless stated)."""

    intercept: float = -4.05
    health: float = -1.0
    health_trend: float = -0.9
    tenure_early: float = 1.1
    """Multiplies exp(-tenure_months / 4): the first months are the riskiest."""
    onboarding: float = -0.55
    """Multiplies the latent onboarding quality, fading as exp(-tenure_months / 18). The same
    quality drives activity and feature adoption in the first 30 days, so weak onboarding is
    visible in a new customer's first month of events."""
    breadth: float = -0.22
    """Per adopted feature type relative to five."""
    seats: float = -0.18
    """Multiplies log(seats)."""
    plan: tuple[float, float, float] = (0.20, 0.0, -0.45)
    loyalty: float = -0.55
    recent_tickets: float = 0.12
    """Per ticket opened in the last 60 days (capped at four)."""
    open_ticket: float = 0.45
    """At least one ticket open for more than two days at the month start."""
    slow_ticket: float = 0.35
    """A ticket resolved in the last 90 days that took more than 72 hours."""
    low_satisfaction: float = 0.60
    """A satisfaction rating of 1-2 in the last 90 days."""
    failed_recovered: float = 0.40
    """Last invoice failed but a retry succeeded before the month start."""
    failed_unrecovered: float = 1.60
    """Last invoice failed and is still unpaid at the month start."""
    price_rise: tuple[float, ...] = (1.30, 1.00, 0.60, 0.30)
    """Extra log-odds for customers of the repriced plan in the months after the rise."""
    frailty_sd: float = 0.35
    noise_sd: float = 0.5
    base_hazard: float = 0.006
    """Additive monthly probability of sudden churn unrelated to anything observable."""


@dataclasses.dataclass(frozen=True)
class Calendar:
    """Day offsets (from the window start) of every month start, plus the window end."""

    bounds: np.ndarray
    price_rise_month: int
    slow_support_months: tuple[int, ...]

    @property
    def months(self) -> int:
        """Number of simulated months."""
        return len(self.bounds) - 1

    @property
    def days(self) -> int:
        """Number of simulated days."""
        return int(self.bounds[-1])


@dataclasses.dataclass
class Population:
    """Static attributes of every customer, ordered by signup day."""

    signup_day: np.ndarray
    plan: np.ndarray
    country: np.ndarray
    channel: np.ndarray
    seats: np.ndarray
    loyalty: np.ndarray
    onboarding: np.ndarray
    mu: np.ndarray
    health0: np.ndarray
    style: np.ndarray
    frailty: np.ndarray
    billing_dom: np.ndarray

    @property
    def size(self) -> int:
        """Number of customers."""
        return len(self.signup_day)


@dataclasses.dataclass
class State:
    """Time-varying state of every customer."""

    health: np.ndarray
    health_lag1: np.ndarray
    health_lag2: np.ndarray
    adopted: np.ndarray
    churn_day: np.ndarray
    fail_day: np.ndarray
    retry_second: np.ndarray
    retry_ok: np.ndarray


def draw_signup_days(
    rng: np.random.Generator, customers: int, candidates: int, calendar: Calendar
) -> np.ndarray:
    """Signup day offsets: ``candidates`` pre-window signups (tenure up to two years, skewed to
    recent ones) followed by the in-window signups, which join each month with mild growth."""
    tenure = np.minimum(rng.exponential(450.0, candidates).astype(np.int64) + 1, 730)
    weights = 1.01 ** np.arange(calendar.months)
    per_month = rng.multinomial(customers - customers // 2, weights / weights.sum())
    lo = np.repeat(calendar.bounds[:-1], per_month)
    span = np.repeat(np.diff(calendar.bounds), per_month)
    new_days = lo + (rng.random(len(lo)) * span).astype(np.int64)
    return np.concatenate([-tenure, new_days])


def draw_population(rng: np.random.Generator, customers: int, calendar: Calendar) -> Population:
    """Draw the static attributes of all customers, ordered by signup day.

    Acquisition channel shapes plan, seats and expected health (referrals fit better than
    paid-search signups). The base already active at the window start is a survivor sample:
    twice as many pre-window candidates are drawn and kept with probability proportional to
    their chance of having survived their tenure, so it is healthier than fresh signups.
    """
    n_start = customers // 2
    signup_day = draw_signup_days(rng, customers, 2 * n_start, calendar)
    pop = _draw_attributes(rng, signup_day)
    survival = _survival_weight(pop)
    pre = np.flatnonzero(signup_day < 0)
    kept = rng.choice(pre, n_start, replace=False, p=survival[pre] / survival[pre].sum())
    chosen = np.concatenate([kept, np.flatnonzero(signup_day >= 0)])
    chosen = chosen[np.argsort(signup_day[chosen], kind="stable")]
    return Population(**{f.name: getattr(pop, f.name)[chosen] for f in dataclasses.fields(pop)})


def _survival_weight(pop: Population) -> np.ndarray:
    """Approximate chance of surviving the tenure so far, from static risk factors only."""
    hazard = Hazard()
    static = (
        hazard.health * pop.mu
        + hazard.frailty_sd * pop.frailty
        + hazard.loyalty * pop.loyalty
        + hazard.seats * np.log(pop.seats)
        + np.asarray(hazard.plan)[pop.plan]
    )
    tenure_months = np.maximum(-pop.signup_day, 0) / 30.44
    return np.exp(-0.03 * tenure_months * np.exp(static - static.mean()))


def _draw_attributes(rng: np.random.Generator, signup_day: np.ndarray) -> Population:
    """Static attributes for customers with the given signup days."""
    n = len(signup_day)
    channel = rng.choice(len(CHANNELS), n, p=CHANNEL_WEIGHTS)
    plan_probs = np.where(
        (channel == CHANNELS.index("sales"))[:, None], [[0.10, 0.40, 0.50]], [[0.52, 0.37, 0.11]]
    )
    plan = (rng.random(n)[:, None] > np.cumsum(plan_probs, axis=1)).sum(axis=1)
    seats = np.select(
        [plan == 0, plan == 1],
        [
            1 + np.minimum(rng.poisson(0.8, n), 4),
            np.clip(np.round(rng.lognormal(1.6, 0.6, n)), 2, 60),
        ],
        np.clip(np.round(rng.lognormal(3.2, 0.7, n)), 8, 500),
    ).astype(np.int64)
    loyalty = rng.random(n) < 0.22
    onboarding = rng.normal(0.0, 1.0, n)
    mu = (
        0.35
        + CHANNEL_HEALTH[channel]
        + 0.25 * onboarding
        + 0.15 * loyalty
        + 0.08 * np.log(seats)
        + rng.normal(0.0, 0.45, n)
    )
    return Population(
        signup_day=signup_day,
        plan=plan,
        country=rng.choice(len(COUNTRIES), n, p=COUNTRY_WEIGHTS),
        channel=channel,
        seats=seats,
        loyalty=loyalty,
        onboarding=onboarding,
        mu=mu,
        health0=mu + rng.normal(0.0, 0.55, n),
        style=rng.normal(0.0, 0.55, n),
        frailty=rng.normal(0.0, 1.0, n),
        billing_dom=rng.integers(1, 29, n),
    )


def initial_adoption(rng: np.random.Generator, pop: Population) -> np.ndarray:
    """Which feature types each customer uses at signup: core types always; advanced ones more
    likely with good onboarding, bigger teams and higher plans."""
    n = pop.size
    q, log_seats = pop.onboarding, np.log(pop.seats)
    business = (pop.plan == 2).astype(float)
    basic = (pop.plan == 0).astype(float)
    logits = np.column_stack(
        [
            1.2 + 0.9 * q - 0.5 * basic,
            -0.4 + 0.8 * q + 0.6 * business - 0.6 * basic,
            -0.9 + 0.7 * q + 0.8 * business - 0.5 * basic,
            -1.6 + 0.5 * q + 0.45 * log_seats,
            -2.8 + 0.4 * q + 1.6 * business,
        ]
    )
    advanced = rng.random((n, logits.shape[1])) < 1.0 / (1.0 + np.exp(-logits))
    return np.hstack([np.ones((n, N_CORE_TYPES), dtype=bool), advanced])


def initial_state(rng: np.random.Generator, pop: Population) -> State:
    """State before the first month; pre-window customers get a short health burn-in so that a
    health trend exists at the first month start."""
    pre = pop.signup_day < 0
    no_support = np.zeros(pop.size, dtype=bool)
    path = [pop.health0]
    for _ in range(3):
        path.append(np.where(pre, evolve_health(rng, path[-1], pop.mu, no_support), path[-1]))
    n = pop.size
    return State(
        health=path[3],
        health_lag1=path[2],
        health_lag2=path[1],
        adopted=initial_adoption(rng, pop),
        churn_day=np.full(n, NEVER, dtype=np.int64),
        fail_day=np.full(n, -NEVER, dtype=np.int64),
        retry_second=np.full(n, NEVER, dtype=np.int64),
        retry_ok=np.zeros(n, dtype=bool),
    )


def evolve_health(
    rng: np.random.Generator, health: np.ndarray, mu: np.ndarray, bad_support: np.ndarray
) -> np.ndarray:
    """One monthly step of the health process: mean reversion towards the customer's own level,
    Gaussian drift, rare negative shocks (champion leaves, budget cut), rarer positive ones, and
    a dent after a poor support experience."""
    n = len(health)
    down = rng.random(n) < 0.05
    up = rng.random(n) < 0.02
    shock = np.where(down, -rng.normal(1.3, 0.4, n), 0.0) + np.where(
        up, rng.normal(0.7, 0.3, n), 0.0
    )
    drift = rng.normal(0.0, 0.33, n)
    return health + 0.22 * (mu - health) + drift + shock - 0.25 * bad_support


def grow_adoption(rng: np.random.Generator, adopted: np.ndarray, health: np.ndarray) -> np.ndarray:
    """Healthy customers keep discovering advanced features; adoption never reverts."""
    rate = 0.012 * np.exp(0.6 * health)[:, None]
    return adopted | (rng.random(adopted.shape) < rate)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


@dataclasses.dataclass
class RiskInputs:
    """Per-customer observable-history inputs to the hazard, as known at a month start."""

    recent_tickets: np.ndarray
    open_ticket: np.ndarray
    slow_ticket: np.ndarray
    low_satisfaction: np.ndarray
    failed_recovered: np.ndarray
    failed_unrecovered: np.ndarray


HAZARD_TERMS = (
    "health",
    "health_trend",
    "tenure_early",
    "onboarding",
    "breadth",
    "seats",
    "plan",
    "loyalty",
    "recent_tickets",
    "open_ticket",
    "slow_ticket",
    "low_satisfaction",
    "failed_recovered",
    "failed_unrecovered",
    "price_rise",
    "frailty",
    "noise",
)
"""The named log-odds terms of the monthly hazard, in the order they are summed: each
customer-month's contribution of each is written beside the true probability, so reasons
can be graded against the causes that really drove a customer's risk."""


def hazard_terms(
    rng: np.random.Generator,
    idx: np.ndarray,
    pop: Population,
    state: State,
    risk: RiskInputs,
    month: int,
    start_day: int,
    calendar: Calendar,
    hazard: Hazard,
) -> dict[str, np.ndarray]:
    """Each named log-odds term (HAZARD_TERMS) of customers ``idx`` at a month start.

    Last month's health and its two-month change, tenure, onboarding quality, adoption
    breadth, account traits, support and payment history and the price rise, plus a customer
    frailty and customer-month noise that no observable history reveals (drawn here)."""
    tenure_months = (start_day - pop.signup_day[idx]) / 30.44
    since_rise = month - calendar.price_rise_month
    rise = np.zeros(len(idx))
    if 0 <= since_rise < len(hazard.price_rise):
        rise = hazard.price_rise[since_rise] * (pop.plan[idx] == PRICE_RISE_PLAN)
    h, h2 = state.health[idx], state.health_lag2[idx]
    return {
        "health": hazard.health * h,
        "health_trend": hazard.health_trend * (h - h2),
        "tenure_early": hazard.tenure_early * np.exp(-tenure_months / 4.0),
        "onboarding": hazard.onboarding * pop.onboarding[idx] * np.exp(-tenure_months / 18.0),
        "breadth": hazard.breadth * (state.adopted[idx].sum(axis=1) - 5),
        "seats": hazard.seats * np.log(pop.seats[idx]),
        "plan": np.asarray(hazard.plan)[pop.plan[idx]],
        "loyalty": hazard.loyalty * pop.loyalty[idx],
        "recent_tickets": hazard.recent_tickets * np.minimum(risk.recent_tickets[idx], 4),
        "open_ticket": hazard.open_ticket * risk.open_ticket[idx],
        "slow_ticket": hazard.slow_ticket * risk.slow_ticket[idx],
        "low_satisfaction": hazard.low_satisfaction * risk.low_satisfaction[idx],
        "failed_recovered": hazard.failed_recovered * risk.failed_recovered[idx],
        "failed_unrecovered": hazard.failed_unrecovered * risk.failed_unrecovered[idx],
        "price_rise": rise,
        "frailty": hazard.frailty_sd * pop.frailty[idx],
        "noise": rng.normal(0.0, hazard.noise_sd, len(idx)),
    }


def churn_probability(terms: dict[str, np.ndarray], hazard: Hazard) -> np.ndarray:
    """Monthly cancellation probability from the hazard's terms (`hazard_terms`).

    Logistic in the sum of the terms; the additive base hazard adds sudden churn. Rounded to
    six decimals so that the written truth is exactly the probability used for the draw.
    """
    logit = hazard.intercept
    for name in HAZARD_TERMS:  # summed in this order: the same probabilities, bit for bit
        logit = logit + terms[name]
    p = hazard.base_hazard + (1.0 - hazard.base_hazard) * sigmoid(logit)
    return np.round(np.clip(p, 1e-6, 1.0 - 1e-6), 6)


def observed_risk(
    tickets: dict[str, np.ndarray], state: State, n: int, start_day: int
) -> RiskInputs:
    """Summarise support and payment history as visible at ``start_day``."""
    now = start_day * SECONDS_PER_DAY
    cust, opened, resolved, sat = (
        tickets["customer"],
        tickets["opened"],
        tickets["resolved"],
        tickets["satisfaction"],
    )
    recent = (opened >= now - 60 * SECONDS_PER_DAY) & (opened < now)
    open_long = (opened < now - 2 * SECONDS_PER_DAY) & (resolved >= now)
    resolved_recent = (resolved >= now - 90 * SECONDS_PER_DAY) & (resolved < now)
    slow = resolved_recent & (resolved - opened > 72 * 3600)
    low_sat = resolved_recent & (sat >= 1) & (sat <= 2)

    def any_per_customer(mask: np.ndarray) -> np.ndarray:
        return np.bincount(cust[mask], minlength=n) > 0

    failed_recent = state.fail_day >= start_day - 35
    recovered = failed_recent & state.retry_ok & (state.retry_second < now)
    return RiskInputs(
        recent_tickets=np.bincount(cust[recent], minlength=n),
        open_ticket=any_per_customer(open_long),
        slow_ticket=any_per_customer(slow),
        low_satisfaction=any_per_customer(low_sat),
        failed_recovered=recovered,
        failed_unrecovered=failed_recent & ~recovered,
    )


def time_of_day(
    rng: np.random.Generator, n: int, centre_hour: float, off_hours: float
) -> np.ndarray:
    """Seconds after midnight: mostly around working hours, a share spread over the day."""
    working = rng.normal(centre_hour * 3600.0, 2.6 * 3600.0, n)
    anytime = rng.uniform(0.0, SECONDS_PER_DAY, n)
    seconds = np.where(rng.random(n) < off_hours, anytime, working)
    return np.clip(seconds, 0, SECONDS_PER_DAY - 1).astype(np.int64)


def engagement_day(
    rng: np.random.Generator,
    day: int,
    idx: np.ndarray,
    pop: Population,
    state: State,
    day_effect: float,
) -> dict[str, np.ndarray]:
    """Engagement events of customers ``idx`` (all alive) on one day.

    Whether a customer is active follows health, a usage style unrelated to risk, team size and
    the weekday; new customers' first 30 days follow their onboarding quality, and customers who
    have already decided to leave wind down. Counts per event type are Poisson over adopted
    types, so the observable record is a noisy view of health rather than a copy of it.
    """
    h, style, log_seats = state.health[idx], pop.style[idx], np.log(pop.seats[idx])
    onboarding = (day - pop.signup_day[idx]) < 30
    leaving = state.churn_day[idx] < NEVER
    logit = (
        -1.45
        + 0.85 * h
        + style
        + 0.12 * log_seats
        + day_effect
        + onboarding * (0.2 + 0.7 * pop.onboarding[idx])
        - 0.7 * leaving
    )
    active = rng.random(len(idx)) < sigmoid(logit)
    who = idx[active]
    intensity = np.exp(0.3 * h[active] + 0.5 * style[active] + 0.12 * log_seats[active])
    counts = rng.poisson(EVENT_RATES[None, :] * intensity[:, None] * state.adopted[who])
    counts[:, 0] += 1
    flat = counts.ravel()
    n_types = len(EVENT_TYPES)
    customer = np.repeat(np.repeat(who, n_types), flat)
    event_type = np.repeat(np.tile(np.arange(n_types), len(who)), flat)
    session = np.repeat(np.repeat(time_of_day(rng, len(who), 13.0, 0.2), n_types), flat)
    totals = counts.sum(axis=1)
    first = np.zeros(len(customer), dtype=bool)
    first[np.cumsum(totals) - totals] = True
    later = session + rng.exponential(360.0, len(customer)).astype(np.int64)
    extra_login = time_of_day(rng, len(customer), 15.0, 0.4)
    seconds = np.where(first, session, np.where(event_type == 0, extra_login, later))
    seconds = np.minimum(seconds, SECONDS_PER_DAY - 1) + day * SECONDS_PER_DAY
    return {
        "customer": customer,
        "second": seconds,
        "event_type": event_type.astype(np.int8),
        "value": event_values(rng, event_type, state.health[customer]),
    }


def event_values(
    rng: np.random.Generator, event_type: np.ndarray, health: np.ndarray
) -> np.ndarray:
    """Session minutes for logins, minutes on page for page views, NaN for other types."""
    n = len(event_type)
    session = rng.lognormal(np.log(11.0) + 0.15 * health, 0.7, n)
    page = rng.lognormal(np.log(1.4), 0.9, n)
    value = np.select([event_type == 0, event_type == 1], [session, page], np.nan)
    return np.round(value, 1)


def alive_window(
    pop: Population, state: State, idx: np.ndarray, start_day: int, next_day: int
) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last alive day of customers ``idx`` within [start_day, next_day)."""
    lo = np.maximum(start_day, pop.signup_day[idx])
    hi = np.minimum(next_day, state.churn_day[idx])
    return lo, hi


def random_days(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniformly random day in [lo, hi) for each element (hi > lo)."""
    return lo + (rng.random(len(lo)) * (hi - lo)).astype(np.int64)


def support_month(
    rng: np.random.Generator,
    idx: np.ndarray,
    start_day: int,
    next_day: int,
    pop: Population,
    state: State,
    slow: bool,
) -> dict[str, np.ndarray]:
    """Tickets opened during one month. Unhealthy and larger accounts file more tickets; in a
    slow-support period (an incident backlog) there are more of them and they take about three
    times longer. Satisfaction falls with resolution time and with the customer's health."""
    lo, hi = alive_window(pop, state, idx, start_day, next_day)
    rate = 0.0035 * np.exp(-0.55 * state.health[idx]) * pop.seats[idx] ** 0.15
    count = rng.poisson(rate * (1.4 if slow else 1.0) * (hi - lo))
    customer = np.repeat(idx, count)
    day = random_days(rng, np.repeat(lo, count), np.repeat(hi, count))
    n = len(customer)
    opened = day * SECONDS_PER_DAY + time_of_day(rng, n, 12.5, 0.1)
    priority = rng.choice(len(PRIORITIES), n, p=PRIORITY_WEIGHTS)
    business = pop.plan[customer] == 2
    channel_probs = np.where(business[:, None], [[0.35, 0.35, 0.30]], [[0.52, 0.36, 0.12]])
    channel = (rng.random(n)[:, None] > np.cumsum(channel_probs, axis=1)).sum(axis=1)
    hours = PRIORITY_MEDIAN_HOURS[priority] * rng.lognormal(0.0, 0.9, n) * (3.0 if slow else 1.0)
    resolved = opened + np.maximum(hours * 3600.0, 300.0).astype(np.int64)
    score = 4.1 - 0.55 * np.log(hours / 24.0) + 0.35 * state.health[customer]
    score = np.clip(np.round(score + rng.normal(0.0, 0.9, n)), 1, 5).astype(np.int64)
    rated = rng.random(n) < 0.5
    return {
        "customer": customer,
        "opened": opened,
        "resolved": resolved,
        "priority": priority,
        "channel": channel,
        "satisfaction": np.where(rated, score, 0),
    }


def list_fee(pop: Population, idx: np.ndarray, day: np.ndarray, rise_day: int) -> np.ndarray:
    """Monthly list fee (per-seat price times seats) on ``day``, including the price rise."""
    per_seat = PLAN_PRICE_PER_SEAT[pop.plan[idx]]
    repriced = (pop.plan[idx] == PRICE_RISE_PLAN) & (day >= rise_day)
    return np.round(per_seat * np.where(repriced, PRICE_RISE_FACTOR, 1.0) * pop.seats[idx], 2)


def invoice_discount(pop: Population, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Discount rate: partner deals 10%, paid-search promo 20% for 90 days, loyalty 5%."""
    partner = 0.10 * (pop.channel[idx] == CHANNELS.index("partner"))
    promo = 0.20 * (
        (pop.channel[idx] == CHANNELS.index("paid_search")) & (day - pop.signup_day[idx] < 90)
    )
    return partner + promo + 0.05 * pop.loyalty[idx]


def invoices_month(
    rng: np.random.Generator,
    idx: np.ndarray,
    start_day: int,
    next_day: int,
    end_day: int,
    rise_day: int,
    pop: Population,
    state: State,
) -> dict[str, np.ndarray]:
    """Monthly subscription invoices on each customer's billing day. About 3% of charges fail
    (more on the basic plan and after an unrecovered failure); most failures are retried a few
    days later and the retry succeeds two times in three. Updates the payment state used by the
    next month's hazard."""
    signup = pop.signup_day[idx]
    day = np.where(signup >= start_day, signup, start_day + pop.billing_dom[idx] - 1)
    keep = (day >= signup) & (day < state.churn_day[idx]) & (day < min(next_day, end_day))
    who, day = idx[keep], day[keep]
    n = len(who)
    fee = list_fee(pop, who, day, rise_day)
    discount = np.round(fee * invoice_discount(pop, who, day), 2)
    previous_unpaid = (state.fail_day[who] > -NEVER) & ~state.retry_ok[who]
    fail_p = np.where(previous_unpaid, 0.5, 0.028 * np.where(pop.plan[who] == 0, 1.4, 1.0))
    failed = rng.random(n) < fail_p
    refunded = ~failed & (rng.random(n) < 0.008)
    status = np.where(failed, 1, np.where(refunded, 2, 0))
    second = day * SECONDS_PER_DAY + rng.integers(3600, 5 * 3600, n)
    retry_day = day + rng.integers(3, 7, n)
    retry_ok = rng.random(n) < 2 / 3
    retried = failed & (rng.random(n) < 0.8) & (retry_day < state.churn_day[who])
    retried &= retry_day < end_day
    retry_second = retry_day * SECONDS_PER_DAY + rng.integers(3600, 5 * 3600, n)
    state.fail_day[who] = np.where(failed, day, -NEVER)
    state.retry_second[who] = np.where(retried, retry_second, NEVER)
    state.retry_ok[who] = retried & retry_ok
    r = retried
    return {
        "customer": np.concatenate([who, who[r]]),
        "second": np.concatenate([second, retry_second[r]]),
        "amount": np.concatenate([fee - discount, (fee - discount)[r]]),
        "discount": np.concatenate([discount, discount[r]]),
        "status": np.concatenate([status, np.where(retry_ok[r], 0, 1)]),
        "kind": np.zeros(n + r.sum(), dtype=np.int8),
    }


def addons_month(
    rng: np.random.Generator,
    idx: np.ndarray,
    start_day: int,
    next_day: int,
    pop: Population,
    state: State,
) -> dict[str, np.ndarray]:
    """One-off add-on purchases, more frequent for healthy and business accounts."""
    lo, hi = alive_window(pop, state, idx, start_day, next_day)
    rate = 0.0012 * np.exp(0.35 * state.health[idx]) * np.where(pop.plan[idx] == 2, 2.0, 1.0)
    count = rng.poisson(rate * (hi - lo))
    customer = np.repeat(idx, count)
    n = len(customer)
    day = random_days(rng, np.repeat(lo, count), np.repeat(hi, count))
    amount = np.round(rng.lognormal(np.log(90.0), 0.7, n), 2)
    discount = np.round(amount * np.where(rng.random(n) < 0.15, rng.uniform(0.1, 0.25, n), 0.0), 2)
    return {
        "customer": customer,
        "second": day * SECONDS_PER_DAY + time_of_day(rng, n, 14.0, 0.15),
        "amount": amount - discount,
        "discount": discount,
        "status": rng.choice(3, n, p=[0.95, 0.03, 0.02]),
        "kind": np.ones(n, dtype=np.int8),
    }


def surveys_month(
    rng: np.random.Generator,
    idx: np.ndarray,
    start_day: int,
    next_day: int,
    pop: Population,
    state: State,
) -> dict[str, np.ndarray]:
    """Quarterly NPS survey: a random fifth of alive customers is asked, healthier ones answer
    more often, and the score follows health with noise (detractors are the unhealthy ones)."""
    lo, hi = alive_window(pop, state, idx, start_day, next_day)
    h = state.health[idx]
    answers = (rng.random(len(idx)) < 0.22) & (rng.random(len(idx)) < sigmoid(-0.2 + 0.45 * h))
    who = idx[answers]
    n = len(who)
    day = random_days(rng, lo[answers], hi[answers])
    nps = np.clip(np.round(7.0 + 1.5 * h[answers] + rng.normal(0.0, 1.5, n)), 0, 10)
    return {
        "customer": who,
        "second": day * SECONDS_PER_DAY + time_of_day(rng, n, 13.0, 0.3),
        "nps": nps.astype(np.int64),
    }
