"""MLflow's routine log lines are kept off the user's screen; everything else gets through."""

from __future__ import annotations

import logging

from pipeline.config import TrackingSettings
from pipeline.tracking import open_store


def test_known_mlflow_noise_is_dropped_and_other_warnings_kept(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    open_store(TrackingSettings(store_dir=str(tmp_path / "mlruns")))
    logger = logging.getLogger("mlflow.pyfunc")
    with caplog.at_level(logging.INFO, logger="mlflow.pyfunc"):
        logger.info("Validating input example against model signature")
        logger.warning("Passing a Python object ... serialized using CloudPickle, it requires")
        logger.warning("model dependencies mismatch")
    assert [r.getMessage() for r in caplog.records] == ["model dependencies mismatch"]
