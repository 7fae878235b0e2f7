"""The figure every chart starts from, and the dashed reference line's style: matplotlib only,
so the report's charts draw without the evaluation plots' scikit-learn."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

REFERENCE_STYLE = {"color": "grey", "linestyle": "--", "linewidth": 1}


def agg_figure(width: float = 6.0, height: float = 5.0) -> Figure:
    """An empty figure on its own Agg canvas, outside pyplot so it is freed like any object."""
    figure = Figure(figsize=(width, height), layout="constrained")
    # Binding the canvas per figure gives Agg rendering without switching the global backend.
    FigureCanvasAgg(figure)
    return figure
