"""Cutoffs over the history and their split by time: train, validate, out-of-time test.

Never a random row split: a customer's later months must not teach the model about
earlier ones. Earlier sets are purged so no label window overlaps a later set's cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

WARMUP_DAYS = 90  # a cutoff needs this much history before it for its features to mean much


@dataclass(frozen=True)
class TimeSplit:
    """Cutoffs for training, validation (early stopping, calibration) and the test."""

    train: tuple[pd.Timestamp, ...]
    valid: tuple[pd.Timestamp, ...]
    test: tuple[pd.Timestamp, ...]

    @property
    def all(self) -> tuple[pd.Timestamp, ...]:
        return self.train + self.valid + self.test


def monthly_cutoffs(
    data_start: pd.Timestamp,
    data_end: pd.Timestamp,
    label_days: int,
    count: int,
    spacing_months: int = 1,
) -> list[pd.Timestamp]:
    """Up to `count` month-start cutoffs, the last being the latest whose label window
    (`label_days` long) ends by `data_end`, none earlier than the warm-up after `data_start`."""
    latest = (data_end - pd.Timedelta(days=label_days)).to_period("M").to_timestamp()
    if latest + pd.Timedelta(days=label_days) > data_end:
        latest = (latest - pd.DateOffset(months=1)).to_period("M").to_timestamp()
    earliest = data_start + pd.Timedelta(days=WARMUP_DAYS)
    cutoffs = [latest - pd.DateOffset(months=spacing_months * i) for i in range(count)]
    return sorted(c for c in cutoffs if c >= earliest)


def _purged(earlier: list[pd.Timestamp], later_start: pd.Timestamp, label_days: int):
    return tuple(c for c in earlier if c + pd.Timedelta(days=label_days) <= later_start)


def split_cutoffs(cutoffs: list[pd.Timestamp], test: int, valid: int, label_days: int) -> TimeSplit:
    """The most recent `test` cutoffs test; the latest `valid` cutoffs whose label windows end
    by the first test cutoff validate; those whose windows end by the first validation
    cutoff train. So nothing known at test time leaks into training (a gap is left when the
    label window is longer than the cutoff spacing)."""
    ordered = sorted(cutoffs)
    if len(ordered) < test + valid + 1:
        raise ValueError(
            f"need at least {test + valid + 1} gradable cutoffs, the history gives {len(ordered)}"
        )
    test_set = tuple(ordered[-test:])
    valid_set = _purged(ordered[:-test], test_set[0], label_days)[-valid:]
    if not valid_set:
        raise ValueError("no validation cutoff ends its label window before the test cutoff")
    train_set = _purged(ordered[: ordered.index(valid_set[0])], valid_set[0], label_days)
    if not train_set:
        raise ValueError("no training cutoff ends its label window before validation")
    return TimeSplit(train_set, valid_set, test_set)


def backtest_splits(
    cutoffs: list[pd.Timestamp], folds: int, label_days: int, min_train: int = 3
) -> list[TimeSplit]:
    """Expanding-window re-fits: each of the last `folds` cutoffs is tested by a model fitted
    on every cutoff before it (the latest of those validating)."""
    ordered = sorted(cutoffs)
    splits = []
    for end in range(len(ordered) - folds, len(ordered)):
        if end < min_train + 1:
            continue
        try:
            splits.append(split_cutoffs(ordered[: end + 1], 1, 1, label_days))
        except ValueError:
            continue
    return splits
