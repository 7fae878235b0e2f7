"""Probability calibration fitted on the validation cutoffs, so a 0.2 means about 20% churn.

`sigmoid` (Platt scaling on the booster's log-odds) keeps the ranking intact and is stable with
few churners; `isotonic` is more flexible but over-fits small validation sets.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

Method = Literal["sigmoid", "isotonic"]
EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p)).reshape(-1, 1)


class Calibrator:
    """Maps raw probabilities to calibrated ones."""

    def __init__(self, method: Method = "sigmoid"):
        if method not in ("sigmoid", "isotonic"):
            raise ValueError(f"calibration must be 'sigmoid' or 'isotonic', not {method!r}")
        self.method = method
        self._model: LogisticRegression | IsotonicRegression | None = None

    def fit(self, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        """Learn the mapping on validation rows."""
        if self.method == "sigmoid":
            self._model = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(raw), y)
        else:
            self._model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
            self._model.fit(raw, y)
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities in [0, 1]."""
        if isinstance(self._model, LogisticRegression):
            return self._model.predict_proba(_logit(raw))[:, 1]
        return np.clip(self._model.predict(raw), 0.0, 1.0)
