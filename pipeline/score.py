"""`churn score`: the nightly ranked at-risk list from the production (champion) model."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from features.engine import open_tables
from features.errors import Problem, Refusal
from features.ingest import ingest_exports
from features.registry import FeatureSpec
from models.drift import population_stability
from models.ranking import ListSettings, rank_customers
from pipeline import tracking
from pipeline.config import Config
from pipeline.datasets import data_span, scoring_features, today
from pipeline.outputs import date_lock, write_list
from pipeline.report import print_warnings
from pipeline.timing import Timer


def _refuse(where: str, message: str) -> Refusal:
    return Refusal([Problem(where, message)])


def load_champion(config: Config):
    """The production model, its registry facts and metadata; refuses when there is none."""
    store = tracking.open_store(config.tracking)
    name, alias = config.model.name, config.model.alias
    if tracking.champion_version(name, alias) is None:
        raise _refuse(
            f"models:/{name}@{alias}",
            "no model has this alias in the registry "
            f"({store.tracking_uri}); run `make train` first",
        )
    loaded = tracking.load_model(name, alias)
    return store, loaded.unwrap_python_model(), tracking.model_version_info(name, alias)


def check_definition(config: Config, metadata: dict) -> None:
    """Refuse when the configured churn definition differs from the model's."""
    trained = metadata["churn_definition"]
    current = config.churn.to_dict()
    differs = {k: (trained.get(k), v) for k, v in current.items() if trained.get(k) != v}
    if differs:
        detail = ", ".join(f"{k}: model {a!r} vs config {b!r}" for k, (a, b) in differs.items())
        raise _refuse(
            str(config.path),
            f"[churn] differs from the model's definition ({detail}); "
            "retrain or restore the config",
        )


def _check_freshness(config: Config, when: pd.Timestamp, data_end: pd.Timestamp) -> None:
    latest_event = data_end - pd.Timedelta(days=1)
    stale_days = (when - data_end).days + 1
    if stale_days > config.scoring.max_staleness_days:
        raise _refuse(
            config.exports.directory,
            f"data is stale: latest event on {latest_event:%Y-%m-%d}, {stale_days} days before "
            f"the as-of date {when:%Y-%m-%d} (allowed: {config.scoring.max_staleness_days})",
        )


def _current_features(config, tables, when, spec, model) -> pd.DataFrame:
    if spec.has_surveys and "surveys" not in tables:
        raise _refuse(
            config.exports.directory,
            "the model was trained with survey (NPS) features; the exports have no surveys",
        )
    features = scoring_features(tables, when, spec, config.churn)
    missing = [f for f in model.features if f not in features.columns]
    if missing:
        raise _refuse(
            config.exports.directory,
            f"the model needs features the data no longer produces: {missing[:8]}",
        )
    if features.empty:
        raise _refuse(config.exports.directory, f"no active customers as of {when:%Y-%m-%d}")
    return features


def run_scoring(
    config: Config, as_of: dt.date | None = None, capacity: int | None = None, write_hook=None
) -> int:
    """Validate, build today's features, score, rank, write the list, log monitoring."""
    timer = Timer()
    with timer("validate"):
        paths, validation = ingest_exports(
            config.exports, config.cache_dir, config.as_of or today()
        )
    print_warnings(validation.warnings)
    with timer("load_model"):
        store, model, registry = load_champion(config)
    metadata = model.metadata
    check_definition(config, metadata)
    spec = FeatureSpec.from_dict(metadata["feature_spec"])
    with timer("features"):
        tables = open_tables(paths)
        _, data_end = data_span(tables)
        when = pd.Timestamp(as_of) if as_of else data_end
        _check_freshness(config, when, data_end)
        features = _current_features(config, tables, when, spec, model)
    with timer("predict"):
        probability, contributions = model.scores(features)
    settings = ListSettings(
        config.scoring.high_threshold,
        config.scoring.medium_threshold,
        config.scoring.capacity if capacity is None else capacity,
        config.scoring.capacity_rank_by,
        config.churn.horizon_days,
    )
    # One reason per topic; models trained before topics existed group by family, two each.
    groups, per_group = (
        (metadata["topics"], 1) if "topics" in metadata else (metadata.get("families"), 2)
    )
    with timer("rank_and_reasons"):
        ranked = rank_customers(
            features,
            probability,
            contributions,
            metadata["descriptions"],
            list(spec.profile.categorical),
            settings,
            groups,
            per_group,
        )
    with timer("drift"):
        drift = population_stability(features, metadata.get("reference_profile", {}))
    manifest = _manifest(config, registry, when, data_end - pd.Timedelta(days=1), ranked, drift)
    output_dir = Path(config.scoring.output_dir)
    with timer("write"), date_lock(output_dir, when):
        folder = write_list(output_dir, when, ranked, manifest, write_hook)
    with timer("monitoring"):
        _log_monitoring(store, config, manifest, ranked, drift, timer.seconds)
    _print_summary(ranked, manifest, folder, timer.seconds)
    return 0


def _manifest(config, registry, when, latest_event, ranked, drift) -> dict:
    tiers = ranked["risk_tier"].value_counts()
    contacts = ranked[ranked["contact_first"]]
    flagged = drift[drift > config.scoring.psi_threshold]
    return {
        "model": {"name": config.model.name, "alias": config.model.alias, **registry},
        "as_of": f"{when:%Y-%m-%d}",
        "latest_event": f"{latest_event:%Y-%m-%d}",
        "freshness_days": (when - latest_event).days,
        "customers": len(ranked),
        "tiers": {t: int(tiers.get(t, 0)) for t in ("high", "medium", "low")},
        "revenue_at_risk": float(ranked["revenue_at_risk"].sum()),
        "contact_capacity": int(len(contacts)),
        "contact_revenue_at_risk": float(contacts["revenue_at_risk"].sum()),
        "contact_share_of_revenue_at_risk": float(
            contacts["revenue_at_risk"].sum() / max(ranked["revenue_at_risk"].sum(), 1e-9)
        ),
        "drifted_features": {k: round(float(v), 4) for k, v in flagged.items()},
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _log_monitoring(store, config, manifest, ranked, drift, seconds) -> None:
    from models.plots import score_distribution_figure

    with tracking.run(store, config.tracking.scoring_experiment, f"score-{manifest['as_of']}"):
        tracking.log_params(
            {
                "model.version": manifest["model"]["version"],
                "model.run_id": manifest["model"]["run_id"],
                "as_of": manifest["as_of"],
            }
        )
        tracking.log_metrics({f"tier.{k}": v for k, v in manifest["tiers"].items()})
        tracking.log_metrics(
            {
                "customers": manifest["customers"],
                "revenue_at_risk": manifest["revenue_at_risk"],
                "probability.mean": float(ranked["churn_probability"].mean()),
                "probability.p90": float(ranked["churn_probability"].quantile(0.9)),
                "features.drifted": len(manifest["drifted_features"]),
            }
        )
        tracking.log_metrics({f"psi.{k}": v for k, v in drift.items()})
        tracking.log_metrics({f"seconds.{k}": v for k, v in seconds.items()})
        tracking.log_dict(manifest, "manifest.json")
        tracking.log_figure(
            score_distribution_figure(ranked["churn_probability"].to_numpy()),
            "plots/score_distribution.png",
        )


def _print_summary(
    ranked: pd.DataFrame, manifest: dict, folder: Path, seconds: dict[str, float]
) -> None:
    print(
        f"at-risk list as of {manifest['as_of']} (data through {manifest['latest_event']}), "
        f"model {manifest['model']['name']} v{manifest['model']['version']}"
    )
    tiers = manifest["tiers"]
    print(
        f"customers {manifest['customers']:,}: high {tiers['high']:,}, "
        f"medium {tiers['medium']:,}, low {tiers['low']:,}; "
        f"revenue at risk {manifest['revenue_at_risk']:,.0f}"
    )
    if manifest["contact_capacity"]:
        print(
            f"contact first: {manifest['contact_capacity']} customers covering "
            f"{manifest['contact_revenue_at_risk']:,.0f} "
            f"({manifest['contact_share_of_revenue_at_risk']:.0%}) of revenue at risk"
        )
    if manifest["drifted_features"]:
        print(
            f"drift: {len(manifest['drifted_features'])} features beyond the PSI threshold: "
            + ", ".join(list(manifest["drifted_features"])[:5])
        )
    print("top 10:")
    for row in ranked.head(10).itertuples():
        print(
            f"  {row.rank:>3}. {row.customer_id:<10} p={row.churn_probability:.2f} "
            f"{row.risk_tier:<6} at risk {row.revenue_at_risk:>8,.0f}  {row.suggested_play}"
        )
        print(
            f"       {row.reason_1}"
            + (f"; {row.reason_2}" if row.reason_2 else "")
            + (f"; {row.reason_3}" if row.reason_3 else "")
        )
    print(f"written: {folder}/at_risk.parquet, at_risk.csv, manifest.json")
    print("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items()))
