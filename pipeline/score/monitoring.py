"""The scoring run in MLflow: the model version behind the list, its counts, scores, drift and
timings; and the run of a list whose own run ended before logging it, logged late from the
list's files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

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
    record = scoring_record(
        manifest,
        probabilities=probabilities,
        drift=context.drift.to_dict(),
        seconds=timer.seconds,
        folder=folder,
    )
    _log(config, context.champion.store, manifest, record, started=timer.started)


def log_late_monitoring(
    config: Config, store: tracking.Store, manifest: dict, *, probabilities, folder: Path
) -> None:
    """The run of a published list whose own run ended before logging it, from the list's
    manifest and scores (None: unreadable), dated when the list was written and tagged as
    logged late (when). Drift holds only the features the manifest flagged."""
    now = pd.Timestamp.now(tz="UTC")
    record = scoring_record(
        manifest,
        probabilities=probabilities,
        drift=manifest.get("drifted_features", {}),
        seconds={},
        folder=folder,
    )
    late = tracking.RunRecord(
        tags={tracking.LOGGED_LATE_TAG: f"{now:%Y-%m-%d %H:%M:%S UTC}"},
        description=(
            f"**Logged late** on {now:%Y-%m-%d %H:%M UTC} by a later `churn score`: the run "
            "that wrote this list ended before logging it. Drift lists only the features the "
            "manifest flagged; timings are unknown.\n\n" + (record.description or "")
        ),
    )
    started = pd.Timestamp(manifest["created_at"]).timestamp()
    _log(config, store, manifest, record | late, started=started)


def _log(
    config: Config,
    store: tracking.Store,
    manifest: dict,
    record: tracking.RunRecord,
    *,
    started: float,
) -> None:
    model = manifest["model"]
    with tracking.run(
        store,
        config.tracking.scoring_experiment,
        f"score-{manifest['as_of']}",
        started=started,
        description=descriptions.SCORING_EXPERIMENT,
    ):
        tracking.log_record(record)
        tracking.link_model_version(model["name"], model["version"])


def scoring_record(
    manifest: dict,
    *,
    probabilities: np.ndarray | None,
    drift: dict[str, float],
    seconds: dict[str, float],
    folder: Path,
) -> tracking.RunRecord:
    """What a list's run records: the model version behind it (description, tags,
    parameters), its counts, scores (when given), drift (PSI per feature) and timings, the
    manifest and the score plot."""
    model = manifest["model"]
    link = descriptions.version_link(model["name"], model["version"], model["alias"])
    metrics = {
        **{f"tier.{k}": v for k, v in manifest["tiers"].items()},
        "customers": manifest["customers"],
        "revenue_at_risk": manifest["revenue_at_risk"],
        "features.drifted": len(manifest["drifted_features"]),
        **{f"psi.{k}": v for k, v in drift.items()},
        **{f"seconds.{k}": v for k, v in seconds.items()},
    }
    figures = {}
    if probabilities is not None and len(probabilities):
        metrics["probability.mean"] = float(np.mean(probabilities))
        metrics["probability.p90"] = float(np.quantile(probabilities, 0.9))
        tiers = manifest.get("tier_thresholds") or None
        figures["plots/score_distribution.png"] = score_distribution_figure(
            probabilities, tiers=tiers
        )
    return tracking.RunRecord(
        params={"model.version": model["version"], "model.run_id": model["run_id"],
                "as_of": manifest["as_of"]},
        metrics=metrics,
        tags={"model.name": model["name"], "model.version": model["version"],
              "model.alias": model["alias"], "list.as_of": manifest["as_of"],
              tracking.LIST_CREATED_TAG: manifest.get("created_at", "")},
        description=descriptions.scoring_description(
            manifest, folder=str(folder), version_link=link
        ),
        dicts={"manifest.json": manifest},
        figures=figures,
    )  # fmt: skip
