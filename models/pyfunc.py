"""The self-contained model that is logged and registered: booster + calibrator + feature
layout + feature descriptions + churn definition. `predict` returns probabilities, and
per-feature contributions when asked with params={"contributions": True}."""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd

from models.trainer import TrainedModel

CONTRIBUTION_PREFIX = "contrib__"


class ChurnModel(mlflow.pyfunc.PythonModel):
    """A calibrated LightGBM churn model with everything needed to score and explain."""

    def __init__(self, trained: TrainedModel, metadata: dict[str, Any]):
        self.trained = trained
        self.metadata = metadata

    @property
    def features(self) -> list[str]:
        return list(self.trained.layout.features)

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None):
        """Churn probability per row (column `probability`); with contributions=True also one
        `contrib__<feature>` column per feature (log-odds contributions)."""
        frame = pd.DataFrame(model_input)
        out = pd.DataFrame({"probability": self.trained.predict_proba(frame)}, index=frame.index)
        if params and params.get("contributions"):
            contrib = self.trained.contributions(frame).add_prefix(CONTRIBUTION_PREFIX)
            out = pd.concat([out, contrib], axis=1)
        return out
