"""Charts of the retention report: retention, early warnings, today's list, and whether the
earlier lists came true. Like models/plots.py, each builds a standalone Agg figure from small
frames (models/retention.py, signals.py, outcomes.py) and leaves saving to the caller."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from models.plots import REFERENCE_STYLE, agg_figure
from models.ranking import TIERS

TIER_COLOURS = {"high": "tab:red", "medium": "tab:orange", "low": "lightgrey"}
GROUP_COLOURS = {"churned": "tab:red", "retained": "tab:blue"}
WIDE = (9.0, 3.6)


def _percent_axis(axes: Axes, which: str = "y", decimals: int = 0) -> None:
    formatter = axes.yaxis if which == "y" else axes.xaxis
    formatter.set_major_formatter(f"{{x:.{decimals}f}}%")


def _months_axis(axes: Axes, months: pd.Series) -> None:
    ticks = list(range(0, len(months), max(1, -(-len(months) // 12))))  # at most 12 labels
    axes.set_xticks(ticks, [f"{pd.Timestamp(months.iloc[i]):%Y-%m}" for i in ticks])
    axes.tick_params(axis="x", labelrotation=45, labelsize=8)


def crr_figure(monthly: pd.DataFrame, quarterly: pd.DataFrame) -> Figure:
    """Customer retention rate per month (bars) and per quarter (a line over its months)."""
    figure = agg_figure(*WIDE)
    axes = figure.add_subplot()
    x = np.arange(len(monthly))
    axes.bar(x, monthly["crr"], color="tab:blue", alpha=0.6, label="CRR per month")
    position = {start: i for i, start in enumerate(monthly["start"])}
    for number, row in enumerate(quarterly.itertuples()):
        i = position.get(row.start)
        if i is not None:
            label = "CRR per quarter" if number == 0 else None
            axes.plot([i - 0.4, i + 2.4], [row.crr] * 2, color="tab:red", lw=2.5, label=label)
    low = np.nanmin(np.r_[monthly["crr"].to_numpy(dtype=float), quarterly["crr"], 100.0])
    axes.set_ylim(max(0.0, low - 5), 101)
    axes.axhline(100, **REFERENCE_STYLE)
    _months_axis(axes, monthly["start"])
    _percent_axis(axes)
    axes.set(title="Customer retention rate: (CE - CN) / CS", ylabel="customers retained")
    axes.legend(loc="lower left")
    return figure


def churn_and_revenue_figure(logo: pd.DataFrame, revenue: pd.DataFrame) -> Figure:
    """Logo churn rate per month beside gross and net revenue retention per month."""
    figure = agg_figure(*WIDE)
    left, right = figure.subplots(1, 2)
    left.plot(np.arange(len(logo)), 100 * logo["rate"], marker="o", color="tab:red")
    _months_axis(left, logo["month"])
    _percent_axis(left)
    left.set(title="Logo churn rate", ylabel="customers who churned", ylim=(0, None))
    x = np.arange(len(revenue))
    right.plot(x, 100 * revenue["grr"], marker="o", label="gross (losses only)")
    right.plot(x, 100 * revenue["nrr"], marker="s", label="net (with expansion)")
    right.axhline(100, **REFERENCE_STYLE)
    _months_axis(right, revenue["month"])
    _percent_axis(right)
    right.set(title="Revenue retention", ylabel="of last month's revenue")
    right.legend(loc="lower left", fontsize=8)
    return figure


def cohort_figure(table: pd.DataFrame) -> Figure:
    """Heatmap: share of each signup-month cohort still a customer k months on."""
    figure = agg_figure(9.0, max(3.0, 0.22 * len(table) + 1.6))
    axes = figure.add_subplot()
    values = 100 * table.to_numpy(dtype=float)
    mesh = axes.pcolormesh(np.ma.masked_invalid(values), cmap="Blues", vmin=0, vmax=100)
    axes.set_yticks(np.arange(len(table)) + 0.5, table.index, fontsize=7)
    axes.invert_yaxis()
    columns = list(table.columns)
    ticks = [i for i, k in enumerate(columns) if k in (1, 3, 6, 9, 12, 18, 24)]
    axes.set_xticks(np.array(ticks) + 0.5, [str(columns[i]) for i in ticks])
    axes.set(title="Cohort retention", xlabel="months since the signup month", ylabel="signed up")
    figure.colorbar(mesh, ax=axes, label="still customers", format="{x:.0f}%")
    return figure


def segments_figure(tables: Mapping[str, pd.DataFrame], overall: float) -> Figure:
    """Churn rate per value of each segment column (bars, customer-months in the labels),
    with the overall rate as a dashed line."""
    count = max(1, len(tables))
    columns = min(3, count)
    rows = -(-count // columns)
    figure = agg_figure(9.0, 2.6 * rows + 0.4)
    grid = figure.subplots(rows, columns, squeeze=False)
    for axes, (name, table) in zip(grid.flat, tables.items(), strict=False):
        y = np.arange(len(table))[::-1]
        axes.barh(y, 100 * table["rate"], color="tab:purple", alpha=0.7)
        axes.set_yticks(
            y,
            [f"{v} ({n:,})" for v, n in zip(table["value"], table["rows"], strict=True)],
            fontsize=7,
        )
        axes.axvline(100 * overall, **REFERENCE_STYLE)
        _percent_axis(axes, "x")
        axes.set_title(name, fontsize=10)
    for axes in list(grid.flat)[count:]:
        axes.set_visible(False)
    figure.suptitle(f"Monthly churn rate by segment (dashed: all customers, {overall:.1%})")
    return figure


def activity_figure(activity: pd.DataFrame) -> Figure:
    """Average weekly events in the weeks before churn, churners against retained customers."""
    figure = agg_figure(*WIDE)
    axes = figure.add_subplot()
    for group, part in activity.groupby("group"):
        part = part.sort_values("weeks_before", ascending=False)
        axes.plot(
            -part["weeks_before"],
            part["events"],
            marker="o",
            color=GROUP_COLOURS.get(str(group)),
            label=f"{group} ({part['customers'].iloc[0]:,} customer-months)",
        )
    weeks = int(activity["weeks_before"].max()) if len(activity) else 12
    axes.set_xticks(range(-weeks, 0), [str(w) for w in range(weeks, 0, -1)])
    axes.set(
        title="Activity before churn",
        xlabel="weeks before churning (retained: before the same months)",
        ylabel="events per customer and week",
        ylim=(0, None),
    )
    axes.legend(loc="lower left")
    return figure


def groups_figure(table: pd.DataFrame, overall: float, *, title: str) -> Figure:
    """Churn rate per group (bars labelled with customer-months), overall rate dashed."""
    figure = agg_figure(*WIDE)
    _group_bars(figure.add_subplot(), table, overall, title)
    return figure


def _group_bars(axes: Axes, table: pd.DataFrame, overall: float, title: str) -> None:
    x = np.arange(len(table))
    bars = axes.bar(x, 100 * table["rate"], color="tab:purple", alpha=0.7)
    labels = [f"{r:.1%}\n({n:,})" for r, n in zip(table["rate"], table["rows"], strict=True)]
    axes.bar_label(bars, labels, fontsize=7)
    axes.set_xticks(x, table["value"], fontsize=8)
    axes.axhline(100 * overall, label=f"all customers ({overall:.1%})", **REFERENCE_STYLE)
    _percent_axis(axes)
    top = 100 * max(float(table["rate"].max()) if len(table) else 0.0, overall) * 1.35
    axes.set(title=title, ylabel="churn rate", ylim=(0, top + 0.1))
    axes.legend(loc="upper right", fontsize=8)


def nps_figure(groups: pd.DataFrame, overall: float, monthly: pd.DataFrame) -> Figure:
    """Churn rate by NPS group beside the net promoter score per month."""
    figure = agg_figure(*WIDE)
    left, right = figure.subplots(1, 2)
    _group_bars(left, groups, overall, "Churn by NPS group")
    right.plot(np.arange(len(monthly)), monthly["nps"], marker="o", color="tab:green")
    right.axhline(0, **REFERENCE_STYLE)
    _months_axis(right, monthly["month"])
    right.set(title="Net promoter score per month", ylabel="% promoters - % detractors")
    return figure


def health_figure(scores: pd.Series, tiers: pd.Series | None) -> Figure:
    """Distribution of health scores (0-100), stacked by today's risk tier where known."""
    figure = agg_figure(*WIDE)
    axes = figure.add_subplot()
    bins = np.arange(0, 105, 5)
    if tiers is None:
        axes.hist(scores, bins=bins, color="tab:blue", alpha=0.7)
    else:
        parts = [scores[tiers == t] for t in TIERS]
        colours = [TIER_COLOURS[t] for t in TIERS]
        labels = [f"{t} risk ({len(p):,})" for t, p in zip(TIERS, parts, strict=True)]
        axes.hist(parts, bins=bins, stacked=True, color=colours, label=labels)
        axes.legend(loc="upper left")
    axes.set(title="Health score", xlabel="health score (100 = healthy)", ylabel="customers")
    return figure


def at_risk_figure(ranked: pd.DataFrame, by: str | None) -> Figure:
    """Customers (high and medium tiers) and revenue at risk (all tiers) per value of `by`
    (e.g. plan), stacked by tier."""
    figure = agg_figure(*WIDE)
    left, right = figure.subplots(1, 2)
    key = ranked[by].astype(str) if by else pd.Series("all customers", index=ranked.index)
    order = ranked.groupby(key)["revenue_at_risk"].sum().sort_values(ascending=False).index
    x = np.arange(len(order))
    for axes, value, tiers in ((left, None, TIERS[:2]), (right, "revenue_at_risk", TIERS)):
        bottom = np.zeros(len(order))
        for tier in tiers:
            part = ranked[ranked["risk_tier"] == tier]
            grouped = part.groupby(key[part.index])
            height = (grouped.size() if value is None else grouped[value].sum()).reindex(order)
            height = height.fillna(0).to_numpy(dtype=float)
            axes.bar(x, height, bottom=bottom, color=TIER_COLOURS[tier], label=f"{tier} risk")
            bottom += height
        axes.set_xticks(x, order, fontsize=8, rotation=30 if len(order) > 4 else 0)
        axes.legend(loc="upper right", fontsize=8)
    left.set(title="Customers at risk", ylabel="customers", xlabel=by or "")
    right.set(title="Revenue at risk", ylabel="expected revenue lost", xlabel=by or "")
    return figure


def plays_figure(ranked: pd.DataFrame, currency: str = "") -> Figure:
    """Customers per suggested play among the high and medium tiers, with their revenue at
    risk."""
    figure = agg_figure(*WIDE)
    axes = figure.add_subplot()
    at_risk = ranked[ranked["risk_tier"].isin(TIERS[:2])]
    table = at_risk.groupby("suggested_play").agg(
        customers=("customer_id", "size"), revenue=("revenue_at_risk", "sum")
    )
    table = table.sort_values("customers")
    y = np.arange(len(table))
    bars = axes.barh(y, table["customers"], color="tab:green", alpha=0.7)
    labels = [f"{r:,.0f} {currency} at risk".replace("  ", " ") for r in table["revenue"]]
    axes.bar_label(bars, labels, fontsize=7, padding=3)
    axes.set_yticks(y, table.index, fontsize=8)
    axes.set(title="Plays for the customers at risk", xlabel="customers (high and medium risk)")
    axes.set_xlim(0, max(1, table["customers"].max()) * 1.3)
    return figure


def changes_figure(matrix: pd.DataFrame) -> Figure:
    """Counts of customers from each tier of the earlier list (rows) to today's (columns)."""
    figure = agg_figure(6.5, 3.6)
    axes = figure.add_subplot()
    values = matrix.to_numpy(dtype=float)
    axes.imshow(np.log1p(values), cmap="Oranges", aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        axes.text(j, i, f"{v:,.0f}", ha="center", va="center", fontsize=9)
    axes.set_xticks(range(matrix.shape[1]), matrix.columns, fontsize=8)
    axes.set_yticks(range(matrix.shape[0]), matrix.index, fontsize=8)
    axes.set(title="Since the earlier list", xlabel="today", ylabel="earlier list")
    return figure


def came_true_figure(latest: pd.DataFrame, history: pd.DataFrame) -> Figure:
    """Left: predicted against actual churn rate per group of the latest graded list;
    right: the same for the whole list, list by list."""
    figure = agg_figure(*WIDE)
    left, right = figure.subplots(1, 2, width_ratios=(3, 2))
    x = np.arange(len(latest))
    left.bar(x - 0.2, 100 * latest["predicted_rate"], 0.4, color="tab:gray", label="predicted")
    bars = left.bar(x + 0.2, 100 * latest["precision"], 0.4, color="tab:red", label="churned")
    left.bar_label(
        bars,
        [f"{c:,}/{n:,}" for c, n in zip(latest["churned"], latest["customers"], strict=True)],
        fontsize=7,
    )
    left.set_xticks(x, latest["group"], fontsize=8)
    _percent_axis(left)
    left.set(title="Predicted and actual churn", ylabel="churn rate")
    left.legend(loc="upper right", fontsize=8)
    dates = [f"{d:%Y-%m-%d}" for d in history["as_of"]]
    right.plot(
        dates, 100 * history["predicted_rate"], marker="o", color="tab:gray", label="predicted"
    )
    right.plot(dates, 100 * history["precision"], marker="s", color="tab:red", label="churned")
    _percent_axis(right, decimals=1)
    right.set(title="Whole list, list by list")
    right.set_ylim(0, 100 * max(history["predicted_rate"].max(), history["precision"].max()) * 1.3)
    right.tick_params(axis="x", labelrotation=30, labelsize=8)
    right.legend(loc="lower right", fontsize=8)
    return figure


def production_calibration_figure(table: pd.DataFrame) -> Figure:
    """Reliability of the list in production: actual against predicted churn in equal-size
    groups of customers (their size in the legend)."""
    figure = agg_figure(5.5, 4.0)
    axes = figure.add_subplot()
    size = int(table["customers"].median()) if len(table) else 0
    label = f"the list, in groups of about {size:,} customers"
    axes.plot(100 * table["predicted"], 100 * table["observed"], marker="o", label=label)
    top = 100 * max(table["predicted"].max(), table["observed"].max(), 0.01) * 1.15
    axes.plot([0, top], [0, top], label="perfectly calibrated", **REFERENCE_STYLE)
    axes.set(xlim=(0, top), ylim=(0, top), title="Calibration in production")
    axes.set(xlabel="predicted churn", ylabel="actual churn")
    _percent_axis(axes)
    _percent_axis(axes, "x")
    axes.legend(loc="upper left", fontsize=8)
    return figure
