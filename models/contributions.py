"""LightGBM's per-feature contributions (pred_contrib) for many rows at a fraction of the cost.

TreeSHAP's contributions from one tree depend on a row only through the direction the row takes
at each of the tree's splits. Our trees are small (a handful of splits), so however many rows
there are, each tree sees only a few dozen distinct direction patterns. LightGBM computes each
tree's contributions once per pattern (on one row that has it, with `start_iteration` pointing
at that tree), and numpy adds them up per row. The raw score is the sum of the leaves reached,
in tree order, as LightGBM sums it. A sample of rows is checked against `pred_contrib` on
every call; on any disagreement the plain `pred_contrib` result is used instead.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import lightgbm as lgb
import numpy as np

log = logging.getLogger(__name__)

MAX_SPLITS = 10  # larger trees have too many patterns to pay off: use pred_contrib
CHUNK_ROWS = 32768
"""Rows explained per numpy pass (one pass per thread at a time). The work is a few numpy calls
per tree and chunk: at 800,000 rows and 240 trees, 4,096-row chunks took 4.8 s and 32,768-row
ones 3.2 s, for about 150 MB more at the peak of a million-customer list."""
CHECK_ROWS = 256
ZERO = 1e-35  # LightGBM's kZeroThreshold: smaller magnitudes are read as 0


class _MissingRun(NamedTuple):
    """Conditions [first, stop) of one feature whose missing values go one default way."""

    kind: str  # "NaN" or "Zero"
    first: int
    stop: int
    left: bool


class _NumericRun(NamedTuple):
    """One feature's numeric conditions: rows [first, stop) of the condition table, their
    thresholds (a column), and the runs that fix missing values."""

    feature: int
    first: int
    stop: int
    thresholds: np.ndarray
    missing: list[_MissingRun]


@dataclass(frozen=True)
class _Split:
    """One split condition: go left when the value is <= threshold (numeric) or one of the
    categories (categorical); missing values go `default_left` per LightGBM's missing type."""

    feature: int
    threshold: float
    categories: tuple[int, ...]  # empty for numeric splits
    default_left: bool
    missing: str  # "None": missing read as 0; "Zero": 0 and NaN missing; "NaN": NaN missing

    @classmethod
    def of(cls, node: dict) -> _Split:
        """The split of a node of `Booster.dump_model()`."""
        if node["decision_type"] == "==":
            categories = tuple(int(c) for c in str(node["threshold"]).split("||"))
            return cls(int(node["split_feature"]), 0.0, categories, False, "")
        return cls(
            int(node["split_feature"]),
            float(node["threshold"]),
            (),
            bool(node["default_left"]),
            str(node["missing_type"]),
        )


def _leaves(node: dict, splits: list[_Split], path: dict[int, int]) -> list[tuple[dict, float]]:
    """Number the splits depth first; the leaves as (split -> side taken, leaf value)."""
    if "leaf_value" in node:
        return [(path, float(node["leaf_value"]))]
    splits.append(_Split.of(node))
    bit = len(splits) - 1
    return _leaves(node["left_child"], splits, {**path, bit: 1}) + _leaves(
        node["right_child"], splits, {**path, bit: 0}
    )


class PatternExplainer:
    """Raw scores and contributions of a fitted single-output booster, computed once per
    split-direction pattern of each tree."""

    def __init__(
        self, booster: lgb.Booster, num_iteration: int | None = None, threads: int | None = None
    ):
        self.booster = booster
        self.threads = threads or min(os.cpu_count() or 1, 4)
        self._learning = threading.Lock()
        dump = booster.dump_model(num_iteration=num_iteration)
        if dump["num_tree_per_iteration"] != 1:
            raise ValueError("only single-output (binary or regression) models are supported")
        self.n_features = dump["max_feature_idx"] + 1
        self.num_iteration = len(dump["tree_info"])
        trees = []
        for info in dump["tree_info"]:
            splits: list[_Split] = []
            trees.append((splits, _leaves(info["tree_structure"], splits, {})))
        self.usable = all(len(splits) <= MAX_SPLITS for splits, _ in trees)
        if self.usable:
            self._layout(trees)

    def _layout(self, trees: list) -> None:
        n_trees, bits = len(trees), max(len(s) for s, _ in trees)
        patterns = np.arange(2**bits)
        # Distinct split conditions, numeric ones grouped by feature so a feature's conditions
        # are compared in one go; then categorical ones. Each (bit, tree) of a pattern code is
        # decided by one condition; bits a tree does not use read an always-false last row.
        distinct = dict.fromkeys(s for splits, _ in trees for s in splits)
        conditions = sorted(
            distinct, key=lambda s: (bool(s.categories), s.feature, s.missing, s.default_left)
        )
        index = {s: i for i, s in enumerate(conditions)}
        self.conditions = conditions
        self.code_type = np.uint8 if bits <= 8 else np.uint16
        self.categorical = [(i, s) for i, s in enumerate(conditions) if s.categories]
        # Per feature: its numeric conditions (a run of rows), then the runs whose missing
        # values (by missing type) go one default way: (missing kind, first, stop, left).
        self.numeric = []
        for f in sorted({s.feature for s in conditions if not s.categories}):
            ids = [i for i, s in enumerate(conditions) if s.feature == f and not s.categories]
            fixes = []
            for kind in ("NaN", "Zero"):
                for left in (False, True):
                    run = [i for i in ids if conditions[i].missing == kind]
                    run = [i for i in run if conditions[i].default_left == left]
                    if run:
                        fixes.append(_MissingRun(kind, run[0], run[-1] + 1, left))
            thresholds = np.array([conditions[i].threshold for i in ids])[:, None]
            self.numeric.append(_NumericRun(f, ids[0], ids[-1] + 1, thresholds, fixes))
        self.bit_condition = np.full((bits, n_trees), len(conditions), dtype=np.int64)
        self.leaf = np.zeros((n_trees, len(patterns)))  # value of the leaf each pattern reaches
        self.features: list[list[int]] = []
        for t, (splits, leaves) in enumerate(trees):
            for b, split in enumerate(splits):
                self.bit_condition[b, t] = index[split]
            for path, value in leaves:
                reaches = np.ones(len(patterns), dtype=bool)
                for bit, side in path.items():
                    reaches &= ((patterns >> bit) & 1) == side
                self.leaf[t, reaches] = value
            self.features.append(sorted({s.feature for s in splits}))
        # Per-tree contributions per pattern: tree x slot x pattern, the bias in the last slot.
        slots = max(len(f) for f in self.features) + 1
        self.table = np.zeros((n_trees, slots, len(patterns)))
        self.known = np.zeros(n_trees * len(patterns), dtype=bool)  # per (tree, pattern)
        self.offsets = (np.arange(n_trees) * len(patterns)).astype(np.int32)[:, None]

    def _decisions(self, x: np.ndarray) -> np.ndarray:
        """Whether each row (column of `x`, features x rows) goes left at each condition, as
        LightGBM's Numerical/CategoricalDecision decide; plus an always-false last row."""
        out = np.zeros((len(self.conditions) + 1, x.shape[1]), dtype=bool)
        nan = np.isnan(x)
        zero = (np.abs(x) <= ZERO) | nan  # LightGBM reads NaN as 0 unless NaN means missing
        value = np.where(zero, 0.0, x)
        for f, first, stop, thresholds, fixes in self.numeric:
            np.less_equal(value[f], thresholds, out=out[first:stop])
            for kind, start, end, left in fixes:
                missing = nan[f] if kind == "NaN" else zero[f]
                if left:
                    np.logical_or(out[start:end], missing, out=out[start:end])
                else:
                    np.logical_and(out[start:end], ~missing, out=out[start:end])
        for i, split in self.categorical:
            whole = np.trunc(value[split.feature])
            out[i] = np.isin(whole, split.categories) & ~nan[split.feature] & (whole >= 0)
        return out

    def _patterns(self, x: np.ndarray) -> np.ndarray:
        """Each tree's pattern code per row: trees x rows."""
        decisions = self._decisions(x).view(np.uint8)
        codes = np.zeros((len(self.features), x.shape[1]), dtype=self.code_type)
        bit = np.empty_like(codes)
        for b, conditions in enumerate(self.bit_condition):
            np.left_shift(decisions[conditions], b, out=bit, dtype=self.code_type)
            codes |= bit
        return codes

    def _learn(self, x: np.ndarray, codes: np.ndarray) -> None:
        """Ask LightGBM for each tree's contributions on one row of every new pattern."""
        flat = codes + self.offsets
        if self.known[flat].all():
            return
        n_trees, _, n_patterns = self.table.shape
        unknown = np.zeros_like(self.known)
        unknown[flat] = True
        unknown = (unknown & ~self.known).reshape(n_trees, n_patterns)
        for t in np.flatnonzero(unknown.any(axis=1)).tolist():
            new = np.flatnonzero(unknown[t])
            row_of = np.empty(n_patterns, dtype=np.int64)
            row_of[codes[t]] = np.arange(x.shape[1])  # any row with the pattern will do
            rows = np.ascontiguousarray(x[:, row_of[new]].T)
            values = self.booster.predict(
                rows, start_iteration=t, num_iteration=1, pred_contrib=True
            )
            for k, f in enumerate(self.features[t]):
                self.table[t, k, new] = values[:, f]
            self.table[t, -1, new] = values[:, -1]
            self.known[t * n_patterns + new] = True

    def _chunk(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        codes = self._patterns(x)
        with self._learning:  # one chunk at a time adds patterns to the shared tables
            self._learn(x, codes)
        codes = codes.astype(np.intp)  # what take() indexes with, converted once
        raw = np.zeros(x.shape[1])
        out = np.zeros((self.n_features + 1, x.shape[1]))
        values = np.empty(x.shape[1])
        # Tree by tree, so every sum adds up in LightGBM's order.
        for t, features in enumerate(self.features):
            code = codes[t]
            np.add(raw, np.take(self.leaf[t], code, out=values), out=raw)
            for k, f in enumerate(features):
                np.add(out[f], np.take(self.table[t, k], code, out=values), out=out[f])
            np.add(out[-1], np.take(self.table[t, -1], code, out=values), out=out[-1])
        return raw, out

    def explain(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw scores (log-odds) and contributions (rows x features + bias, the bias last) of
        `matrix` (rows x features, LightGBM's numeric input: categoricals as codes, NaN for
        missing). The contributions come back as a view of a features-major array."""
        if not self.usable:
            return self._plain(matrix)
        n = matrix.shape[0]
        raw = np.empty(n)
        out = np.empty((self.n_features + 1, n))

        def fill(start: int) -> None:
            stop = min(start + CHUNK_ROWS, n)
            chunk = np.ascontiguousarray(matrix[start:stop].T, dtype=np.float64)
            raw[start:stop], out[:, start:stop] = self._chunk(chunk)

        # numpy releases the GIL in its loops, so chunks overlap on several cores
        with ThreadPoolExecutor(self.threads) as pool:
            list(pool.map(fill, range(0, n, CHUNK_ROWS)))
        if not self._agrees(matrix, raw, out.T):
            log.warning("pattern contributions disagree with LightGBM's; using pred_contrib")
            return self._plain(matrix)
        return raw, out.T

    def _agrees(self, matrix: np.ndarray, raw: np.ndarray, contributions: np.ndarray) -> bool:
        rows = np.unique(np.linspace(0, len(matrix) - 1, min(CHECK_ROWS, len(matrix))).astype(int))
        sample = np.ascontiguousarray(matrix[rows], dtype=np.float64)
        want = self.booster.predict(sample, num_iteration=self.num_iteration, pred_contrib=True)
        want_raw = self.booster.predict(sample, num_iteration=self.num_iteration, raw_score=True)
        return bool(
            np.allclose(contributions[rows], want, rtol=0, atol=1e-9)
            and np.array_equal(raw[rows], want_raw)
        )

    def _plain(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = np.empty((self.n_features + 1, len(matrix)))
        for start in range(0, len(matrix), CHUNK_ROWS):
            part = matrix[start : start + CHUNK_ROWS]
            out[:, start : start + len(part)] = self.booster.predict(
                part, num_iteration=self.num_iteration, pred_contrib=True
            ).T
        raw = self.booster.predict(matrix, num_iteration=self.num_iteration, raw_score=True)
        return raw, out.T
