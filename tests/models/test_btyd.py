"""The BG/NBD baseline: it recovers the parameters of customers drawn from its own story, and
its probabilities behave as the story says."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.btyd import BgNbd, fit_bgnbd, quiet_probability, summaries


def _draw(n: int, truth: BgNbd, weeks: float, seed: int) -> pd.DataFrame:
    """Customers who all start on day 0 and live BG/NBD's story for `weeks` weeks."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(truth.r, 1 / truth.alpha, n)
    drop = rng.beta(truth.a, truth.b, n)
    rows = []
    for i in range(n):
        t, alive = 0.0, True
        rows.append((i, 0.0))
        while alive:
            t += rng.exponential(1 / rate[i])
            if t >= weeks:
                break
            rows.append((i, t))
            alive = rng.random() >= drop[i]
    frame = pd.DataFrame(rows, columns=["customer", "week"])
    start = pd.Timestamp("2024-01-01")
    return pd.DataFrame(
        {
            "customer_id": "c" + frame["customer"].astype(str),
            "timestamp": start + pd.to_timedelta(frame["week"] * 7, unit="D"),
        }
    )


def test_fitting_recovers_the_parameters_customers_were_drawn_from():
    truth = BgNbd(r=0.8, alpha=6.0, a=0.6, b=2.5)
    orders = _draw(3000, truth, weeks=52, seed=1)
    cutoff = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=52)
    summary = summaries(orders, cutoff)
    fitted = fit_bgnbd(summary["x"], summary["t_x"], summary["T"])
    # the population's mean order rate and mean drop-out probability
    assert abs(fitted.r / fitted.alpha - truth.r / truth.alpha) < 0.25 * truth.r / truth.alpha
    drop, fitted_drop = truth.a / (truth.a + truth.b), fitted.a / (fitted.a + fitted.b)
    assert abs(fitted_drop - drop) < 0.3 * drop


def test_a_customer_silent_for_long_is_more_likely_gone_and_quiet():
    model = BgNbd(r=0.8, alpha=6.0, a=0.6, b=2.5)
    recent, stale = model.p_alive([5, 5], [50, 10], [52, 52])
    assert recent > stale
    quiet_recent, quiet_stale = model.p_quiet([5, 5], [50, 10], [52, 52], horizon_weeks=4)
    assert quiet_stale > quiet_recent
    assert model.p_alive([0], [0], [10])[0] == 1.0  # no repeat order: never seen dropping out


def test_scores_read_only_orders_before_each_cutoff():
    truth = BgNbd(r=0.8, alpha=6.0, a=0.6, b=2.5)
    orders = _draw(800, truth, weeks=60, seed=2)
    cutoff = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=40)
    rows = pd.DataFrame({"customer_id": orders["customer_id"].unique(), "cutoff": cutoff})
    before = quiet_probability(orders, rows, 28)
    later = orders[orders["timestamp"] >= cutoff]
    changed = pd.concat(
        [orders[orders["timestamp"] < cutoff], later.sample(frac=0.5, random_state=3)]
    )
    assert np.allclose(before, quiet_probability(changed, rows, 28))
    assert ((before > 0) & (before < 1)).all()
