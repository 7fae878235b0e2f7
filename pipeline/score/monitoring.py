"""The scoring run in MLflow: the model version behind the list, its counts, scores, drift and
timings."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.plots import score_distribution_figure
from pipeline import tracking
from pipeline.config import Config
from pipeline.score.common import ListContext
from pipeline.timing import Timer
from pipeline.tracking import descriptions


def log_monitoring(
    config: Config,
    context: ListContext,
    manifest: dict,
    *,
    probabilities: np.ndarray,
    timer: Timer,
    folder: Path,
) -> None:
    """The scoring run in the monitoring experiment, from the step's start: the model version
    it used (tagged, linked, described), counts, scores, drift, timings."""
    experiment, name = config.tracking.scoring_experiment, f"score-{manifest['as_of']}"
    record = scoring_record(
        context, manifest, probabilities=probabilities, seconds=timer.seconds, folder=folder
    )
    model = manifest["model"]
    with tracking.run(
        context.champion.store,
        experiment,
        name,
        started=timer.started,
        description=descriptions.SCORING_EXPERIMENT,
    ):
        tracking.log_record(record)
        tracking.link_model_version(model["name"], model["version"])


def scoring_record(
    context: ListContext,
    manifest: dict,
    *,
    probabilities: np.ndarray,
    seconds: dict[str, float],
    folder: Path,
) -> tracking.RunRecord:
    """What a list's run records: the model version behind it (description, tags,
    parameters), its counts, scores, drift and timings, the manifest and the score plot."""
    model = manifest["model"]
    link = descriptions.version_link(model["name"], model["version"], model["alias"])
    metrics = {
        **{f"tier.{k}": v for k, v in manifest["tiers"].items()},
        "customers": manifest["customers"],
        "revenue_at_risk": manifest["revenue_at_risk"],
        "probability.mean": float(np.mean(probabilities)),
        "probability.p90": float(np.quantile(probabilities, 0.9)),
        "features.drifted": len(manifest["drifted_features"]),
        **{f"psi.{k}": v for k, v in context.drift.items()},
        **{f"seconds.{k}": v for k, v in seconds.items()},
    }
    tiers = {"medium": context.settings.medium_threshold, "high": context.settings.high_threshold}
    figure = score_distribution_figure(probabilities, tiers=tiers)
    return tracking.RunRecord(
        params={"model.version": model["version"], "model.run_id": model["run_id"],
                "as_of": manifest["as_of"]},
        metrics=metrics,
        tags={"model.name": model["name"], "model.version": model["version"],
              "model.alias": model["alias"], "list.as_of": manifest["as_of"]},
        description=descriptions.scoring_description(
            manifest, folder=str(folder), version_link=link
        ),
        dicts={"manifest.json": manifest},
        figures={"plots/score_distribution.png": figure},
    )  # fmt: skip
