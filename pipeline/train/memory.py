"""How many rows training may hold: `[training] memory_gb` (default a quarter of the machine),
and the share of retained customer-months kept when all of them would not fit."""

from __future__ import annotations

import logging
import os

from models.subsample import (
    matrix_bytes,
    negative_rate,
)
from pipeline.config import TrainingSettings

log = logging.getLogger(__name__)

MEMORY_SHARE = 0.25
"""Default memory for the training stage as a share of the machine's memory."""


HELD_COPIES = 3
"""The training stage's peak over the float32 rows it holds: the held frame, a part's slice
(the training months) and LightGBM's matrix of it beside them. The rows held are kept to
the budget divided by this (measured on the 100k and 1M synthetic sets: bench/results)."""


def machine_memory_gb() -> float:
    """The machine's physical memory in GB, read when asked (not at import)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3


def memory_budget_gb(settings: TrainingSettings) -> float:
    """`[training] memory_gb`, or MEMORY_SHARE of this machine's memory when not set."""
    return (
        settings.memory_gb
        if settings.memory_gb is not None
        else (MEMORY_SHARE * machine_memory_gb())
    )


def retained_rate(
    settings: TrainingSettings, rows: int, churners: int, held: int, features: int
) -> float:
    """The share of retained training rows to keep: `[training] negative_rate` when set, else
    1.0 when the rows held (`held` rows kept whole whatever the rate, plus the `rows` that
    may be thinned, `churners` of them) fit the memory budget as float32 with room for their
    copies (HELD_COPIES), else the share that fits."""
    if settings.negative_rate is not None:
        return settings.negative_rate
    budget = memory_budget_gb(settings) / HELD_COPIES
    rate = negative_rate(rows, churners, features, budget, held=held)
    log.info(
        "rows held %.2f GB of float32 for a %.2f GB share of the memory budget: retained "
        "rows kept at rate %.3g",
        matrix_bytes(rows + held, features) / 1024**3,
        budget,
        rate,
    )
    return rate
