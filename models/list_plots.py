"""Charts of the retention report about the at-risk lists: today's list (customers and revenue
at risk by tier, plays, what changed) and whether the earlier lists came true. One panel each,
sized and styled like models/report_plots.py (WIDTH, STYLE)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from models.figures import REFERENCE_STYLE
from models.ranking import TIERS
from models.report_plots import (
    HEIGHT,
    SMALL,
    TIER_COLOURS,
    chart_figure,
    data_label,
    percent_axis,
)


def at_risk_figure(ranked: pd.DataFrame, by: str | None, *, revenue: bool) -> Figure:
    """Per value of `by` (e.g. plan), stacked by tier: customers in the high and medium
    tiers, or (`revenue`) revenue at risk in every tier."""
    figure = chart_figure(3.4)
    axes = figure.add_subplot()
    key = ranked[by].astype(str) if by else pd.Series("all customers", index=ranked.index)
    order = ranked.groupby(key)["revenue_at_risk"].sum().sort_values(ascending=False).index
    x = np.arange(len(order))
    bottom = np.zeros(len(order))
    for tier in TIERS if revenue else TIERS[:2]:
        part = ranked[ranked["risk_tier"] == tier]
        grouped = part.groupby(key[part.index])
        height = (grouped["revenue_at_risk"].sum() if revenue else grouped.size()).reindex(order)
        height = height.fillna(0).to_numpy(dtype=float)
        axes.bar(x, height, bottom=bottom, color=TIER_COLOURS[tier], label=f"{tier} risk")
        bottom += height
    axes.set_xticks(x, [data_label(v) for v in order], rotation=30 if len(order) > 3 else 0)
    axes.legend(loc="best")
    if revenue:
        axes.set(title="Revenue at risk", ylabel="expected revenue lost", xlabel=by or "")
    else:
        axes.set(title="Customers at risk", ylabel="customers", xlabel=by or "")
    return figure


def plays_figure(ranked: pd.DataFrame, currency: str = "") -> Figure:
    """Customers per suggested play among the high and medium tiers, with their revenue at
    risk."""
    at_risk = ranked[ranked["risk_tier"].isin(TIERS[:2])]
    table = at_risk.groupby("suggested_play").agg(
        customers=("customer_id", "size"), revenue=("revenue_at_risk", "sum")
    )
    table = table.sort_values("customers")
    figure = chart_figure(max(2.0, 0.32 * len(table) + 1.1))
    axes = figure.add_subplot()
    y = np.arange(len(table))
    bars = axes.barh(y, table["customers"], color="tab:green", alpha=0.7)
    labels = [f"{r:,.0f} {currency}".rstrip() for r in table["revenue"]]
    axes.bar_label(bars, labels, fontsize=SMALL, padding=3)
    axes.set_yticks(y, table.index)
    axes.set(title="Plays (labels: revenue at risk)", xlabel="customers (high and medium risk)")
    axes.set_xlim(0, max(1, table["customers"].max() if len(table) else 1) * 1.45)
    return figure


def changes_figure(matrix: pd.DataFrame) -> Figure:
    """Counts of customers from each tier of the earlier list (rows) to today's (columns)."""
    figure = chart_figure()
    axes = figure.add_subplot()
    values = matrix.to_numpy(dtype=float)
    axes.imshow(np.log1p(values), cmap="Oranges", aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        axes.text(j, i, f"{v:,.0f}", ha="center", va="center", fontsize=9)
    axes.set_xticks(range(matrix.shape[1]), [str(c).replace(" ", "\n", 1) for c in matrix])
    axes.set_yticks(range(matrix.shape[0]), matrix.index)
    axes.set(title="Since the earlier list", xlabel="today", ylabel="earlier list")
    return figure


def came_true_figure(latest: pd.DataFrame) -> Figure:
    """Predicted against actual churn rate per group of the latest graded list."""
    figure = chart_figure(HEIGHT + 0.4)
    axes = figure.add_subplot()
    x = np.arange(len(latest))
    axes.bar(x - 0.2, 100 * latest["predicted_rate"], 0.4, color="tab:gray", label="predicted")
    bars = axes.bar(x + 0.2, 100 * latest["precision"], 0.4, color="tab:red", label="churned")
    axes.bar_label(
        bars,
        [f"{c:,}/{n:,}" for c, n in zip(latest["churned"], latest["customers"], strict=True)],
        fontsize=SMALL,
    )
    axes.set_xticks(x, [str(g).replace(" ", "\n", 1) for g in latest["group"]])
    percent_axis(axes)
    axes.set(title="Predicted and actual churn", ylabel="churn rate")
    axes.legend(loc="upper right")
    return figure


def lists_true_figure(history: pd.DataFrame) -> Figure:
    """The whole list's predicted against actual churn rate, list by list."""
    figure = chart_figure(HEIGHT + 0.4)
    axes = figure.add_subplot()
    dates = [f"{d:%Y-%m-%d}" for d in history["as_of"]]
    axes.plot(
        dates, 100 * history["predicted_rate"], marker="o", color="tab:gray", label="predicted"
    )
    axes.plot(dates, 100 * history["precision"], marker="s", color="tab:red", label="churned")
    percent_axis(axes)
    axes.set(title="Whole list, list by list", ylabel="churn rate")
    top = max(history["predicted_rate"].max(), history["precision"].max(), 0.001)
    axes.set_ylim(0, 100 * top * 1.3)
    axes.tick_params(axis="x", labelrotation=30)
    axes.legend(loc="lower right")
    return figure


def production_calibration_figure(table: pd.DataFrame) -> Figure:
    """Reliability of the list in production: actual against predicted churn in equal-size
    groups of customers (their size in the legend)."""
    figure = chart_figure(3.6)
    axes = figure.add_subplot()
    size = int(table["customers"].median()) if len(table) else 0
    label = f"the list, groups of about {size:,}"
    axes.plot(100 * table["predicted"], 100 * table["observed"], marker="o", label=label)
    top = 100 * max(table["predicted"].max(), table["observed"].max(), 0.01) * 1.15
    axes.plot([0, top], [0, top], label="perfectly calibrated", **REFERENCE_STYLE)
    axes.set(xlim=(0, top), ylim=(0, top), title="Calibration in production")
    axes.set(xlabel="predicted churn", ylabel="actual churn")
    percent_axis(axes)
    percent_axis(axes, "x")
    axes.legend(loc="upper left")
    return figure


def saves_figure(saves: pd.DataFrame) -> Figure:
    """Customers saved per group (overall, each tier, each play) with their 95% interval:
    a bar whose interval crosses zero is not yet beyond chance."""
    table = saves.iloc[::-1]
    figure = chart_figure(max(2.0, 0.32 * len(table) + 1.1))
    axes = figure.add_subplot()
    y = np.arange(len(table))
    saved = table["saved"].to_numpy(dtype=float)
    below = saved - table["saved_low"].to_numpy(dtype=float)
    above = table["saved_high"].to_numpy(dtype=float) - saved
    colours = ["tab:green" if low > 0 else "tab:grey" for low in table["saved_low"]]
    axes.barh(y, saved, color=colours, alpha=0.7)
    axes.errorbar(saved, y, xerr=[below, above], fmt="none", ecolor="black", capsize=3)
    axes.axvline(0, color="black", linewidth=0.8)
    pairs = zip(table["kind"], table["group"], strict=True)
    names = [g if k != "play" else f"play: {g}" for k, g in pairs]
    axes.set_yticks(y, names)
    axes.set(title="Customers saved (95% interval)", xlabel="customers saved by the calls")
    return figure
