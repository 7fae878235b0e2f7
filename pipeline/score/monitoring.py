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
    with tracking.run(
        context.champion.store,
        experiment,
        name,
        started=timer.started,
        description=descriptions.SCORING_EXPERIMENT,
    ):
        _name_the_model(manifest, folder)
        _log_list_numbers(context, manifest, probabilities=probabilities, seconds=timer.seconds)
        tracking.log_figure(
            score_distribution_figure(
                probabilities,
                tiers={
                    "medium": context.settings.medium_threshold,
                    "high": context.settings.high_threshold,
                },
            ),
            "plots/score_distribution.png",
        )


def _name_the_model(manifest: dict, folder: Path) -> None:
    """The run's description, tags and input link name the model version behind the list."""
    model = manifest["model"]
    link = descriptions.version_link(model["name"], model["version"], model["alias"])
    tracking.describe_run(
        descriptions.scoring_description(manifest, folder=str(folder), version_link=link)
    )
    tracking.set_tags(
        {
            "model.name": model["name"],
            "model.version": model["version"],
            "model.alias": model["alias"],
            "list.as_of": manifest["as_of"],
        }
    )
    tracking.link_model_version(model["name"], model["version"])


def _log_list_numbers(
    context: ListContext, manifest: dict, *, probabilities: np.ndarray, seconds: dict[str, float]
) -> None:
    model = manifest["model"]
    tracking.log_params(
        {
            "model.version": model["version"],
            "model.run_id": model["run_id"],
            "as_of": manifest["as_of"],
        }
    )
    tracking.log_metrics({f"tier.{k}": v for k, v in manifest["tiers"].items()})
    tracking.log_metrics(
        {
            "customers": manifest["customers"],
            "revenue_at_risk": manifest["revenue_at_risk"],
            "probability.mean": float(np.mean(probabilities)),
            "probability.p90": float(np.quantile(probabilities, 0.9)),
            "features.drifted": len(manifest["drifted_features"]),
        }
    )
    tracking.log_metrics({f"psi.{k}": v for k, v in context.drift.items()})
    tracking.log_metrics({f"seconds.{k}": v for k, v in seconds.items()})
    tracking.log_dict(manifest, "manifest.json")
