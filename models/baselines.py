"""Two baselines trained and evaluated on the same split as the model: logistic regression
on the same features, and a transparent rule-based health score."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from models.health import HEALTH_SIGNALS, health_risk  # noqa: F401 (the baselines' score)
from models.matrix import FeatureLayout
from models.subsample import thinned_to


def _signed_log(x: np.ndarray) -> np.ndarray:
    # Counts and amounts are heavy-tailed; a linear model needs them compressed.
    return np.sign(x) * np.log1p(np.abs(x))


MAX_LOGISTIC_ROWS = 100_000
"""The baseline learns from at most about this many training rows: every churner and a
seeded share of the retained rows, weighted back (models/subsample.py), so its coefficients
see all the churners the model sees at a fraction of the cost; its preprocessing copies the
matrix several times."""


def fit_logistic(
    train: pd.DataFrame,
    layout: FeatureLayout,
    label: str = "churned",
    weight: np.ndarray | None = None,
) -> Pipeline:
    """Logistic regression on the same features (log-scaled, imputed with missing flags), on
    the training rows counted `weight` times each when given (as LightGBM counts them)."""
    weight = np.ones(len(train)) if weight is None else np.asarray(weight, dtype=float)
    if len(train) > MAX_LOGISTIC_ROWS:
        train, weight, _ = thinned_to(train, weight, label, MAX_LOGISTIC_ROWS, seed=0)
    numeric = [f for f in layout.features if f not in layout.categories]
    categorical = list(layout.categories)
    prep = ColumnTransformer(
        [
            (
                "num",
                # Each missing value gets a flag, so the fill only sets where the flag's
                # coefficient starts from: the mean (a median costs five times as long).
                make_pipeline(
                    FunctionTransformer(_signed_log),
                    SimpleImputer(strategy="mean", add_indicator=True, keep_empty_features=True),
                    StandardScaler(),
                ),
                numeric,
            ),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore", min_frequency=20),
                ),
                categorical,
            ),
        ]
    )
    # Newton steps on the ~200 standardised columns converge in a handful of iterations (about
    # twice as fast as L-BFGS here, the same coefficients to the AUC's third decimal).
    model = make_pipeline(prep, LogisticRegression(C=0.3, solver="newton-cholesky", max_iter=200))
    weighted = {} if (weight == 1).all() else {"logisticregression__sample_weight": weight}
    model.fit(
        layout.plain(train).astype({c: object for c in categorical}), train[label], **weighted
    )
    return model


def predict_logistic(model: Pipeline, frame: pd.DataFrame, layout: FeatureLayout) -> np.ndarray:
    """Churn probabilities from the logistic baseline."""
    return model.predict_proba(layout.plain(frame))[:, 1]


def fit_health_calibration(valid: pd.DataFrame, label: str = "churned") -> IsotonicRegression:
    """Map health-score risk points to churn probabilities on the validation cutoffs."""
    calibrator = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    calibrator.fit(health_risk(valid), valid[label].to_numpy())
    return calibrator
