"""The self-contained model that is logged and registered: booster + calibrator + feature
layout + feature descriptions + churn definition. `predict` returns probabilities, and
per-feature contributions when asked with params={"contributions": True}."""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

from models.trainer import TrainedModel

CONTRIBUTION_PREFIX = "contrib__"


class ChurnModel(mlflow.pyfunc.PythonModel):
    """A calibrated LightGBM churn model with everything needed to score and explain."""

    def __init__(
        self,
        trained: TrainedModel,
        metadata: dict[str, Any],
        evaluated: TrainedModel | None = None,
    ):
        self.trained = trained
        self.metadata = metadata
        self.evaluated = evaluated
        """The evaluated twin when `trained` was refit on every labelled month: promotion
        scores it, not the refit, on a challenger's test months (the refit has learned
        them)."""

    def twin_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """The probabilities promotion compares: the evaluated twin's (the model itself when
        it was not refit, or was pickled before twins existed)."""
        twin = getattr(self, "evaluated", None) or self.trained
        return twin.predict_proba(frame)

    @property
    def features(self) -> list[str]:
        return list(self.trained.layout.features)

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None):
        """Churn probability per row (column `probability`); with contributions=True also one
        `contrib__<feature>` column per feature (log-odds contributions)."""
        frame = pd.DataFrame(model_input)
        if not (params and params.get("contributions")):
            probability = self.trained.predict_proba(frame)
            return pd.DataFrame({"probability": probability}, index=frame.index)
        probability, contributions = self.scores(frame)
        out = contributions.add_prefix(CONTRIBUTION_PREFIX)
        out.insert(0, "probability", probability)
        return out

    def scores(self, frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """Churn probability per row and the per-feature contributions (log-odds), one column
        per feature, indexed like `frame`."""
        probability, contributions = self.trained.scores(frame)
        columns = pd.DataFrame(contributions, columns=self.features, index=frame.index, copy=False)
        return probability, columns
