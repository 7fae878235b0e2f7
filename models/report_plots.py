"""Charts of the retention report: retention and the early warnings. Like models/plots.py,
each builds a standalone Agg figure from small frames (models/retention.py, signals.py) and
leaves saving to the caller; models/list_plots.py draws today's list and the graded lists.

Every chart is one panel WIDTH inches wide with text no smaller than 8 pt (STYLE), so that
on a 400 px phone, where a chart shrinks to about 366 px, its smallest text is still about
9 px; charts that belong together sit side by side on a wide page and one above the other
on a narrow one (the page lays them out, not the figure)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from models.figures import REFERENCE_STYLE, agg_figure
from models.ranking import TIERS
from models.signals import HEALTHY_FROM

TIER_COLOURS = {"high": "tab:red", "medium": "tab:orange", "low": "lightgrey"}
GROUP_COLOURS = {"churned": "tab:red", "retained": "tab:blue"}
WIDTH = 4.2  # inches: 403 px at 96 dpi, about 360 px once shrunk onto a 400 px phone
HEIGHT = 3.0
SMALL = 8  # pt: the smallest text a chart has (tick labels, legends, bar labels)
STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": SMALL,
    "ytick.labelsize": SMALL,
    "legend.fontsize": SMALL,
    "legend.title_fontsize": SMALL,
    "figure.titlesize": 10,
    # Data text (plan names, play names) is never mathtext: "team_$10_$20" must draw as is.
    "text.parse_math": False,
}
"""The report's chart text: apply it (matplotlib.rc_context) while a figure is built and
drawn, since matplotlib reads these when each text is created."""


LABEL_CHARS = 24
"""The longest value from the data a chart label shows whole (a plan, a country): a longer one
would squeeze the chart's bars and push its other text off the chart's edge."""


def data_label(value: object, most: int = LABEL_CHARS) -> str:
    """A value from the data as a chart label: on one line, cut to `most` characters with an
    ellipsis (the report's text and tables name it whole)."""
    text = " ".join(str(value).split())
    return text if len(text) <= most else text[: most - 1].rstrip() + "\u2026"


def chart_figure(height: float = HEIGHT) -> Figure:
    """An empty report chart: WIDTH wide, `height` tall."""
    return agg_figure(WIDTH, height)


def percent_axis(axes: Axes, which: str = "y") -> None:
    """Tick labels of `which` axis as percentages of the plotted values, with the decimals
    the ticks need ("0.5%", "1%": a fixed number of decimals would print "0% 0% 1% 1%")."""
    axis = axes.yaxis if which == "y" else axes.xaxis
    axis.set_major_formatter("{x:g}%")


def months_axis(axes: Axes, months: pd.Series, most: int = 8) -> None:
    """Month labels under a bar or line per month, at most `most` of them, slanted."""
    ticks = list(range(0, len(months), max(1, -(-len(months) // most))))
    axes.set_xticks(ticks, [f"{pd.Timestamp(months.iloc[i]):%Y-%m}" for i in ticks])
    axes.tick_params(axis="x", labelrotation=45)


def crr_figure(monthly: pd.DataFrame, quarterly: pd.DataFrame) -> Figure:
    """Customer retention rate per month (bars) and per quarter (a line over its months)."""
    figure = chart_figure()
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
    months_axis(axes, monthly["start"])
    percent_axis(axes)
    axes.set(title="CRR: (CE - CN) / CS", ylabel="customers retained")
    axes.legend(loc="lower left")
    return figure


def logo_churn_figure(logo: pd.DataFrame) -> Figure:
    """Logo churn rate per month."""
    figure = chart_figure()
    axes = figure.add_subplot()
    axes.plot(np.arange(len(logo)), 100 * logo["rate"], marker="o", color="tab:red")
    months_axis(axes, logo["month"])
    percent_axis(axes)
    axes.set(title="Logo churn rate", ylabel="customers who churned", ylim=(0, None))
    return figure


def revenue_retention_figure(revenue: pd.DataFrame) -> Figure:
    """Gross and net revenue retention per month."""
    figure = chart_figure()
    axes = figure.add_subplot()
    x = np.arange(len(revenue))
    axes.plot(x, 100 * revenue["grr"], marker="o", label="gross (losses only)")
    axes.plot(x, 100 * revenue["nrr"], marker="s", label="net (with expansion)")
    axes.axhline(100, **REFERENCE_STYLE)
    months_axis(axes, revenue["month"])
    percent_axis(axes)
    axes.set(title="Revenue retention", ylabel="of last month's revenue")
    axes.legend(loc="lower left")
    return figure


def cohort_figure(table: pd.DataFrame) -> Figure:
    """Heatmap: share of each signup-month cohort still a customer k months after signing
    up."""
    figure = chart_figure(max(HEIGHT, 0.17 * len(table) + 1.3))
    axes = figure.add_subplot()
    values = 100 * table.to_numpy(dtype=float)
    # one embedded image rather than a path per cell: 29 KB instead of 129 KB on the sample
    mesh = axes.imshow(
        np.ma.masked_invalid(values),
        cmap="Blues",
        vmin=0,
        vmax=100,
        aspect="auto",
        interpolation="nearest",
    )
    axes.set_yticks(np.arange(len(table)), table.index)
    columns = list(table.columns)
    ticks = [i for i, k in enumerate(columns) if k in (1, 3, 6, 9, 12, 18, 24)]
    axes.set_xticks(ticks, [str(columns[i]) for i in ticks])
    axes.set(title="Cohort retention", xlabel="months since signing up", ylabel="signed up")
    figure.colorbar(mesh, ax=axes, label="still customers", format="{x:.0f}%", fraction=0.08)
    return figure


def segments_figure(tables: Mapping[str, pd.DataFrame], overall: float) -> Figure:
    """Churn rate per value of each segment column on one scale: a heading row per column,
    its values below (customer-months in the labels), the overall rate dashed. One axes for
    every column: each figure's layout costs about 40 ms to draw."""
    labels, rates, y, headings = [], [], [], []
    row = 0
    for name, table in tables.items():
        headings.append((row, name))
        for value, n, rate in zip(table["value"], table["rows"], table["rate"], strict=True):
            row += 1
            labels.append(f"{data_label(value)} ({n:,})")
            rates.append(100 * rate)
            y.append(-row)
        row += 1
    figure = chart_figure(max(2.0, 0.22 * row + 1.0))
    axes = figure.add_subplot()
    axes.barh(y, rates, color="tab:purple", alpha=0.7)
    axes.set_yticks(y, labels)
    for at, name in headings:
        axes.text(0, -at, name, fontweight="bold", va="center", fontsize=SMALL + 1)
    axes.set_ylim(-row, 0.7)
    axes.axvline(100 * overall, label=f"all customers ({overall:.1%})", **REFERENCE_STYLE)
    percent_axis(axes, "x")
    axes.set(title="Churn by segment", xlabel="monthly churn rate")
    axes.legend(loc="lower right")
    return figure


def activity_figure(activity: pd.DataFrame) -> Figure:
    """Average weekly events in the weeks before churn, churners against retained customers."""
    figure = chart_figure()
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
    ticks = range(-weeks, 0, 2) if weeks > 8 else range(-weeks, 0)
    axes.set_xticks(list(ticks), [str(-w) for w in ticks])
    axes.set(
        title="Activity before churn",
        xlabel="weeks before churning (retained: same months)",
        ylabel="events per customer and week",
        ylim=(0, None),
    )
    axes.legend(loc="lower left")
    return figure


def groups_figure(table: pd.DataFrame, overall: float, *, title: str) -> Figure:
    """Churn rate per group (bars labelled with rate and customer-months), overall dashed."""
    figure = chart_figure(3.4)
    axes = figure.add_subplot()
    x = np.arange(len(table))
    bars = axes.bar(x, 100 * table["rate"], color="tab:purple", alpha=0.7)
    labels = [f"{r:.1%}\n({n:,})" for r, n in zip(table["rate"], table["rows"], strict=True)]
    axes.bar_label(bars, labels, fontsize=SMALL)
    # group names are long ("tickets resolved in time"): wrapped to fit a narrow chart
    axes.set_xticks(x, [textwrap.fill(str(v), 12) for v in table["value"]])
    axes.axhline(100 * overall, label=f"all customers ({overall:.1%})", **REFERENCE_STYLE)
    percent_axis(axes)
    top = 100 * max(float(table["rate"].max()) if len(table) else 0.0, overall) * 1.4
    axes.set(title=title, ylabel="churn rate", ylim=(0, top + 0.1))
    axes.legend(loc="upper right")
    return figure


def nps_trend_figure(monthly: pd.DataFrame) -> Figure:
    """The net promoter score per month with answers."""
    figure = chart_figure(3.4)
    axes = figure.add_subplot()
    axes.plot(np.arange(len(monthly)), monthly["nps"], marker="o", color="tab:green")
    axes.axhline(0, **REFERENCE_STYLE)
    months_axis(axes, monthly["month"])
    axes.set(title="Net promoter score per month", ylabel="% promoters - % detractors")
    return figure


def health_figure(scores: pd.Series, tiers: pd.Series | None) -> Figure:
    """Distribution of health scores (0-100), stacked by today's risk tier where known, with
    the score below which a customer-success team would flag a customer."""
    figure = chart_figure()
    axes = figure.add_subplot()
    bins = np.arange(0, 105, 5)
    if tiers is None:
        axes.hist(scores, bins=bins, color="tab:blue", alpha=0.7)
    else:
        parts = [scores[tiers == t] for t in TIERS]
        colours = [TIER_COLOURS[t] for t in TIERS]
        labels = [f"{t} risk ({len(p):,})" for t, p in zip(TIERS, parts, strict=True)]
        axes.hist(parts, bins=bins, stacked=True, color=colours, label=labels)
    axes.axvline(HEALTHY_FROM, label=f"flagged below {HEALTHY_FROM}", **REFERENCE_STYLE)
    axes.legend(loc="upper left")
    axes.set(title="Health score", xlabel="health score (100 = healthy)", ylabel="customers")
    return figure
