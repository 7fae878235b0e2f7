"""The LightGBM churn classifier: early stopping on the validation cutoffs, then calibration
on them (sigmoid by default, isotonic on request), so a predicted 0.2 means about 20% churn."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import log_loss

from models.calibration import Calibrator, Method
from models.contributions import PatternExplainer
from models.matrix import FeatureLayout

# Churn is imbalanced (a few percent a month): keep the natural class balance so scores stay
# calibratable, stop on log loss (steadier than AUC with few churners), and guard against
# over-fitting rare positives with small trees, large leaves, feature subsampling and L2.
# Chosen by bench/quality_bench.py (results/quality.json) by coordinate descent over the
# backtest folds of the sample, Online Retail and the 100k synthetic set: split points drawn
# at random per feature (extra_trees) at a rate of 0.03 raised the mean fold ROC AUC by
# 0.0025 over the best-split trees at 0.05, on each of the three data sets. Around it, 3-15
# leaves, 50-400 per leaf, feature fraction 0.3-0.8 and L2 1-20 scored within 0.002; 1,000
# rows per leaf was worse (-0.005). Randomised splits over-fit rare churners less; the
# slower rate lets their averaging work (best-split trees at 0.03 were worse than at 0.05).
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    # Log loss only: an AUC on the validation rows each round sorts them every round (7 s of
    # a 50 s training stage at 100k customers) and stops nothing.
    "metric": "binary_logloss",
    "learning_rate": 0.03,
    "extra_trees": True,
    "num_leaves": 7,
    "min_child_samples": 150,
    "feature_fraction": 0.5,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 5.0,
    "cat_smooth": 20,
    "max_cat_to_onehot": 8,
    "verbosity": -1,
    "num_threads": 2,
    "deterministic": True,
    # Histograms built feature by feature: on 2 threads about a quarter faster than row by row
    # at 555,000 rows x 105 features (9 s instead of 12 s), as fast on the sample, the same
    # trees.
    "force_col_wise": True,
}
MAX_ROUNDS = 1000
PATIENCE = 1.0
"""Early stopping waits PATIENCE / learning rate rounds (33 at 0.03, 100 at 0.01) for the
validation log loss to improve: about the same learning whatever the rate. Waiting 1.5 /
rate stopped every fit of the 100k benchmark at the same round, 4 s later."""
MIN_PATIENCE = 30

log = logging.getLogger(__name__)

OnProgress = Callable[[str, float, float | None], None]
"""Told how far a long part has come: (what, done, total or None). The CLI draws it."""

SEARCH_SPACE: dict[str, list[Any]] = {
    "extra_trees": [True, False],
    "num_leaves": [3, 5, 7, 15],
    "min_child_samples": [50, 150, 400],
    "feature_fraction": [0.3, 0.5, 0.8],
    "lambda_l2": [1.0, 5.0, 20.0],
    "learning_rate": [0.03, 0.05, 0.1],
}
"""Where `search_seconds` looks (models/tuning.py): the plateau the quality bench found."""


@dataclass
class TrainedModel:
    """A fitted booster, its calibrator and the column layout it expects."""

    booster: lgb.Booster
    calibrator: Calibrator
    layout: FeatureLayout
    params: dict[str, Any]
    best_iteration: int
    search: list[dict[str, Any]] = field(default_factory=list)

    def raw_probability(self, frame: pd.DataFrame) -> np.ndarray:
        """Uncalibrated booster probabilities."""
        return self.booster.predict(self.layout.matrix(frame), num_iteration=self.best_iteration)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probabilities in [0, 1]."""
        return self.calibrator.predict(self.raw_probability(frame))

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per-feature contributions to each row's log-odds (LightGBM's pred_contrib)."""
        values = self.booster.predict(
            self.layout.matrix(frame), num_iteration=self.best_iteration, pred_contrib=True
        )
        return pd.DataFrame(values[:, :-1], columns=list(self.layout.features), index=frame.index)

    def scores(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated churn probabilities and per-feature contributions (rows x features, in
        layout order), the same numbers as `predict_proba` and `contributions` from one pass
        over the trees."""
        matrix = self.layout.numeric(frame, self.booster.pandas_categorical)
        raw, contributions = PatternExplainer(self.booster, self.best_iteration).explain(matrix)
        scale = float(self.booster.params.get("sigmoid", 1.0))
        return self.calibrator.predict(_sigmoid(raw, scale)), contributions[:, :-1]

    def importance(self) -> pd.Series:
        """Total gain per feature, largest first."""
        gain = self.booster.feature_importance(importance_type="gain")
        return pd.Series(gain, index=list(self.layout.features)).sort_values(ascending=False)


def _sigmoid(raw: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """LightGBM's binary output transform (its `sigmoid` parameter is `scale`)."""
    return 1.0 / (1.0 + np.exp(-scale * raw))


def _fit(
    params: dict[str, Any],
    train: lgb.Dataset,
    valid: lgb.Dataset,
    seed: int,
    progress: OnProgress | None = None,
) -> lgb.Booster:
    patience = max(MIN_PATIENCE, round(PATIENCE / params["learning_rate"]))
    callbacks = [lgb.early_stopping(patience, first_metric_only=True, verbose=False)]
    if progress is not None:
        callbacks.append(_rounds(progress))
    return lgb.train(
        {**params, "seed": seed},
        train,
        num_boost_round=MAX_ROUNDS,
        valid_sets=[valid],
        valid_names=["valid"],
        callbacks=callbacks,
    )


def _rounds(progress: OnProgress) -> Callable[[Any], None]:
    """A LightGBM callback telling `progress` each boosting round (early stopping usually
    ends well before the maximum)."""

    def callback(env: Any) -> None:
        progress("boosting round", env.iteration + 1, env.end_iteration)

    return callback


def _datasets(
    layout: FeatureLayout,
    train: pd.DataFrame,
    valid: pd.DataFrame,
    label: str,
    weight: np.ndarray | None = None,
) -> tuple[lgb.Dataset, lgb.Dataset]:
    """LightGBM datasets from float32 matrices that LightGBM takes without copying (half the
    memory of float64 frames), with the categorical levels recorded as for a pandas frame so
    the booster reads frames at prediction time as before."""
    categorical = [n for n in layout.features if n in layout.categories]
    train_set = lgb.Dataset(
        layout.numeric(train, dtype=np.float32),
        label=train[label].to_numpy(),
        weight=weight,
        feature_name=list(layout.features),
        categorical_feature=categorical,
    )
    train_set.pandas_categorical = layout.training_levels()
    valid_set = lgb.Dataset(
        layout.numeric(valid, dtype=np.float32),
        label=valid[label].to_numpy(),
        feature_name=list(layout.features),
        categorical_feature=categorical,
        reference=train_set,
    )
    return train_set, valid_set


def fit_booster(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    layout: FeatureLayout,
    params: dict[str, Any],
    *,
    seed: int = 7,
    label: str = "churned",
    progress: OnProgress | None = None,
    weight: np.ndarray | None = None,
) -> lgb.Booster:
    """LightGBM on the training rows (each counted `weight` times when given, as after
    negative subsampling: models/subsample.py), stopped early on the validation rows' log
    loss."""
    train_set, valid_set = _datasets(layout, train, valid, label, weight)
    return _fit(params, train_set, valid_set, seed, progress)


def train_churn_model(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    layout: FeatureLayout,
    label: str = "churned",
    seed: int = 7,
    calibration: Method = "sigmoid",
    params: dict[str, Any] | None = None,
    *,
    progress: OnProgress | None = None,
    search: list[dict[str, Any]] | None = None,
    weight: np.ndarray | None = None,
) -> TrainedModel:
    """Fit LightGBM with `params` (the defaults when None) on the training rows with early
    stopping on validation, then calibrate on the validation rows. `progress` hears of
    boosting rounds; `search` records the parameter sets tried before (models/tuning.py);
    `weight` counts each training row that many times (subsampled retained rows weigh
    1 / rate, so the booster's probabilities are those of the full data). The validation
    rows are never subsampled, so calibration is fitted on the true class balance."""
    chosen = dict(params or DEFAULT_PARAMS)
    booster = fit_booster(
        train, valid, layout, chosen, seed=seed, label=label, progress=progress, weight=weight
    )
    y_valid = valid[label].to_numpy()
    raw_valid = booster.predict(layout.matrix(valid), num_iteration=booster.best_iteration)
    log.info(
        "LightGBM stopped at round %d, validation log loss %.4f",
        booster.best_iteration,
        log_loss(y_valid, raw_valid, labels=[0, 1]),
    )
    calibrator = Calibrator(calibration).fit(raw_valid, y_valid)
    return TrainedModel(booster, calibrator, layout, chosen, booster.best_iteration, search or [])
