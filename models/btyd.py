"""The buy-till-you-die baseline: a BG/NBD model's probability that a customer places no order
in the horizon, as an analyst of a shop without subscriptions would fit it in ten lines.

BG/NBD (Fader, Hardie and Lee 2005, "Counting your customers the easy way"): while alive, a
customer orders as a Poisson process whose rate varies across customers as a gamma (r, alpha);
after each order they drop out with a probability that varies as a beta (a, b). From each
customer's frequency (repeat order days), recency (first to last order) and age (first order
to the cutoff), all read before the cutoff, it gives

- P(alive) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)),
- P(no order in the next h | alive) = ((alpha + T) / (alpha + T + h))^(r + x),

so P(no order in the horizon) = 1 - P(alive) + P(alive) P(no order | alive): the churn an
inactivity definition on purchases labels. The parameters are fitted by maximum likelihood on
every customer's summary at the cutoff (only orders before it), in weeks.

The formulas are those of the paper and of the `lifetimes` package's BetaGeoFitter; the
project fits them itself (scipy) rather than add a dependency for sixty lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import gammaln

WEEK = pd.Timedelta(days=7)


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters."""

    r: float
    alpha: float
    a: float
    b: float

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """The probability each customer has not dropped out by the cutoff."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        log_ratio = (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x))
        odds = np.where(
            x > 0,
            self.a / np.maximum(self.b + x - 1, 1e-12) * np.exp(np.minimum(log_ratio, 700)),
            0.0,
        )
        return 1.0 / (1.0 + odds)

    def p_quiet(self, x, t_x, T, horizon_weeks: float) -> np.ndarray:
        """The probability of no order in the next `horizon_weeks`: dropped out, or alive and
        not ordering."""
        x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
        alive = self.p_alive(x, t_x, T)
        silent = np.exp(
            (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + T + horizon_weeks))
        )
        return (1.0 - alive) + alive * silent


def log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> float:
    """The BG/NBD log-likelihood of the customers' summaries (parameters on the log scale)."""
    r, alpha, a, b = np.exp(params)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return float(np.sum(a1 + a2 + np.logaddexp(a3, a4)))


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters for these summaries (weeks)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))

    def loss(params: np.ndarray) -> float:
        value = -log_likelihood(params, x, t_x, T) / max(len(x), 1)
        return value if np.isfinite(value) else 1e10

    found = minimize(loss, np.zeros(4), method="Nelder-Mead",
                     options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-9})  # fmt: skip
    return BgNbd(*np.exp(found.x))


def summaries(orders: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Each customer's frequency, recency and age at `cutoff` from their paid orders strictly
    before it (`orders`: customer_id, timestamp), in weeks: x repeat order days, t_x from
    the first to the last order day, T from the first order day to the cutoff."""
    before = orders[orders["timestamp"] < cutoff]
    days = before.assign(day=before["timestamp"].dt.normalize())[["customer_id", "day"]]
    days = days.drop_duplicates()
    grouped = days.groupby("customer_id")["day"]
    first, last, count = grouped.min(), grouped.max(), grouped.size()
    return pd.DataFrame(
        {
            "x": (count - 1).astype(float),
            "t_x": (last - first) / WEEK,
            "T": (cutoff - first) / WEEK,
        }
    )


def quiet_probability(orders: pd.DataFrame, rows: pd.DataFrame, horizon_days: int) -> np.ndarray:
    """The BG/NBD probability of no order in the horizon after each row's cutoff (`rows`:
    customer_id, cutoff), the model fitted per cutoff on every customer's orders before it.
    Customers with no order before their cutoff get the probability of customers who ordered
    once on the cutoff's eve (the model's newest customer)."""
    out = np.full(len(rows), np.nan)
    horizon = horizon_days / 7.0
    for cutoff, at in rows.groupby("cutoff").indices.items():
        summary = summaries(orders, pd.Timestamp(cutoff))
        model = fit_bgnbd(summary["x"], summary["t_x"], summary["T"])
        mine = summary.reindex(rows["customer_id"].iloc[at].astype(str).to_numpy())
        mine = mine.fillna({"x": 0.0, "t_x": 0.0, "T": 1 / 7})
        out[at] = model.p_quiet(mine["x"], mine["t_x"], mine["T"], horizon)
    return out
