"""Drift between training and scoring: PSI per feature from bin shares."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.drift import population_stability, reference_profile, stability_from_shares


def test_a_value_a_last_bit_below_an_edge_is_binned_with_the_edge():
    # a feature with few values sits on its quantile edges; another engine's rounding must
    # not move those customers to the bin below
    values = pd.DataFrame({"trend": np.repeat([-1 / 13, 0.0, 2 / 13, 5 / 13], 25)})
    edges = [-1 / 13, 0.0, 2 / 13, 5 / 13]  # inner edges 0 and 2/13: bins of 25, 25 and 50
    profile = {"trend": {"kind": "numeric", "edges": edges, "shares": [0.0, 0.25, 0.25, 0.5]}}
    nudged = values.assign(trend=np.nextafter(values["trend"], -np.inf))
    assert population_stability(values, profile)["trend"] == 0.0
    assert population_stability(nudged, profile)["trend"] == 0.0
    moved = values.assign(trend=values["trend"] - 1e-6)  # a real difference still counts
    assert population_stability(moved, profile)["trend"] > 0.3


def test_psi_from_counted_shares_is_the_psi_of_the_rows():
    rng = np.random.default_rng(3)
    train = pd.DataFrame({"x": rng.normal(size=500), "plan": rng.choice(["a", "b"], 500)})
    today = pd.DataFrame({"x": rng.normal(0.5, size=400), "plan": rng.choice(["a", "c"], 400)})
    profile = reference_profile(train, ["x"], ["plan"])
    direct = population_stability(today, profile)
    counted = stability_from_shares(
        profile,
        {
            "x": [
                0.0,
                *np.histogram(today["x"], [-np.inf, *profile["x"]["edges"][1:-1], np.inf])[0] / 400,
            ],
            "plan": today["plan"].value_counts(normalize=True).to_dict(),
        },
    )
    assert direct["x"] > 0.1 and direct["plan"] > 0.1
    assert np.allclose(counted.sort_index(), direct.sort_index())


def test_shifting_one_feature_flags_exactly_it_and_history_growth_is_named_apart():
    from models.drift import flagged_drift

    rng = np.random.default_rng(5)
    names = ["usage", "tickets", "orders", "days_since_nps"]

    def draw(n: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "usage": rng.gamma(2.0, 50.0, n),
                "tickets": rng.poisson(0.4, n).astype(float),
                "orders": rng.poisson(12, n).astype(float),
                "days_since_nps": rng.uniform(0, 400, n),
            }
        )

    profile = reference_profile(draw(20_000), names, [])
    today = draw(5_000)
    calm = population_stability(today, profile)
    assert flagged_drift(calm, 0.2, []) == ({}, {})
    # usage halves; the NPS age reaches back further, as a longer export allows
    shifted = today.assign(usage=today["usage"] * 0.5, days_since_nps=today["days_since_nps"] * 2)
    flagged, apart = flagged_drift(population_stability(shifted, profile), 0.2, ["days_since_nps"])
    assert list(flagged) == ["usage"]
    assert list(apart) == ["days_since_nps"]
