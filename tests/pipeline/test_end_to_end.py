"""One end-to-end run on a small simulated history: train, register, promote, score, refuse."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import tracking
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.simulate import simulate_history, write_history

CONFIG = """
[data]
dir = "exports"
as_of = "2025-11-01"

[tables.customers.profile]
categorical = ["plan", "country"]
numeric = ["seats", "monthly_fee", "loyalty_member"]

[tables.purchases]
file = "purchases.csv.gz"

[churn]
kind = "contractual"
horizon_days = 30

[training]
cutoffs = 12
test_cutoffs = 1
valid_cutoffs = 2
backtest_folds = 2
truth_file = "exports/truth/churn_probability.csv.gz"

[model]
name = "test-churn"

[scoring]
capacity = 25
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project folder with a small simulated history and a model trained on it."""
    root = tmp_path_factory.mktemp("project")
    write_history(
        simulate_history(customers=1200, months=15, seed=11, end=dt.date(2025, 11, 1)),
        root / "exports",
    )
    (root / "churn.toml").write_text(CONFIG)
    assert main(["train", "--config", str(root / "churn.toml")]) == 0
    return root


def _config(project: Path):
    config = load_config(project / "churn.toml")
    tracking.open_store(config.tracking)
    return config


def test_training_logs_a_run_and_registers_a_champion_that_returns_probabilities(project):
    config = _config(project)
    version = tracking.champion_version("test-churn", "champion")
    assert version is not None
    model = tracking.load_model("test-churn", "champion")
    signature = model.metadata.signature
    inputs = {spec.name: spec.type.name for spec in signature.inputs.inputs}
    churn_model = model.unwrap_python_model()
    assert list(inputs) == churn_model.features  # every feature, in order
    assert inputs["plan"] == "string" and inputs["seats"] == "double"
    assert signature.params is not None
    run = tracking.mlflow.get_run(tracking.model_version_info("test-churn", "champion")["run_id"])
    for metric in (
        "test.roc_auc",
        "test.lift_at_10",
        "test.logistic_regression.roc_auc",
        "test.health_score.roc_auc",
        "test.true_probability.roc_auc",
        "test.ece",
    ):
        assert metric in run.data.metrics, metric
    m = run.data.metrics
    gap = m["test.gap_vs_logistic_regression.roc_auc_diff"]
    assert gap == pytest.approx(m["test.roc_auc"] - m["test.logistic_regression.roc_auc"])
    assert m["test.gap_vs_logistic_regression.roc_auc_diff_low"] <= gap
    assert gap <= m["test.gap_vs_logistic_regression.roc_auc_diff_high"]
    history = tracking.mlflow.MlflowClient().get_metric_history(
        run.info.run_id, "backtest.logistic_roc_auc"
    )
    assert len(history) == 2 and all(0 < h.value < 1 for h in history)
    assert run.data.params["churn.horizon_days"] == "30"
    assert run.data.tags["promoted"] == "True"
    artifacts = {a.path for a in tracking.mlflow.artifacts.list_artifacts(run_id=run.info.run_id)}
    assert {"plots", "evaluation", "model_metadata.json", "config"} <= artifacts
    assert config.model.name == "test-churn"


def test_scoring_writes_a_ranked_list_of_exactly_the_active_population(project, capsys):
    capsys.readouterr()
    assert main(["score", "--config", str(project / "churn.toml")]) == 0
    out = capsys.readouterr().out
    assert "top 10:" in out and "revenue at risk" in out
    folder = project / "outputs" / "at_risk" / "as_of=2025-11-01"
    ranked = pd.read_parquet(folder / "at_risk.parquet")
    customers = pd.read_csv(project / "exports" / "customers.csv", dtype={"customer_id": str})
    signup = pd.to_datetime(customers["signup_at"])
    churned = pd.to_datetime(customers["churned_at"])
    cutoff = pd.Timestamp("2025-11-01")
    active = customers.loc[
        (signup < cutoff) & (churned.isna() | (churned >= cutoff)), "customer_id"
    ]
    assert sorted(ranked["customer_id"]) == sorted(active)
    assert ranked["churn_probability"].between(0, 1).all()
    assert ranked["churn_probability"].is_monotonic_decreasing
    assert ranked["contact_first"].sum() == 25
    assert set(ranked["risk_tier"]) <= {"high", "medium", "low"}
    assert (ranked["reason_1"] != "").mean() > 0.9
    # three reasons say three different things: one feature per topic (usage, payments, ...)
    topics = tracking.load_model("test-churn", "champion").unwrap_python_model().metadata["topics"]
    for features in ranked["reason_features"]:
        named = [topics[f] for f in features]
        assert len(set(named)) == len(named), features
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["customers"] == len(ranked)
    assert manifest["model"]["version"] == tracking.champion_version("test-churn", "champion")


def test_reasons_name_features_that_really_drive_the_score(project):
    """Setting a customer's top-reason feature to a low-risk customer's value lowers their
    probability: the reasons are what the model actually reacts to."""
    _config(project)
    churn_model = tracking.load_model("test-churn", "champion").unwrap_python_model()
    folder = project / "outputs" / "at_risk" / "as_of=2025-11-01"
    ranked = pd.read_parquet(folder / "at_risk.parquet").head(30)
    from features.engine import open_tables
    from features.registry import FeatureSpec
    from pipeline.datasets import scoring_features

    cache = next((project / ".churn" / "cache").glob("*/"))
    tables = open_tables({p.stem: p for p in cache.glob("*.parquet")})
    spec = FeatureSpec.from_dict(churn_model.metadata["feature_spec"])
    features = scoring_features(
        tables, pd.Timestamp("2025-11-01"), spec, load_config(project / "churn.toml").churn
    ).set_index("customer_id")
    safest = pd.read_parquet(folder / "at_risk.parquet").iloc[-1]["customer_id"]
    low_risk = features.loc[safest]
    lowered = 0
    for row in ranked.itertuples():
        top = row.reason_features[0]
        before = churn_model.predict(None, features.loc[[row.customer_id]])["probability"].iloc[0]
        changed = features.loc[[row.customer_id]].copy()
        changed[top] = low_risk[top]
        after = churn_model.predict(None, changed)["probability"].iloc[0]
        lowered += after < before
    assert lowered >= 0.8 * len(ranked)


def test_a_second_training_that_is_no_better_is_not_promoted(project, capsys):
    config = _config(project)
    before = tracking.champion_version(config.model.name, "champion")
    # the same data and seed again, without a backtest this time (which must also work)
    toml = project / "churn.toml"
    toml.write_text(toml.read_text().replace("backtest_folds = 2", "backtest_folds = 0"))
    assert main(["train", "--config", str(toml)]) == 0
    out = capsys.readouterr().out
    assert "NOT promoted" in out and "does not beat champion" in out
    assert tracking.champion_version(config.model.name, "champion") == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda p: p.joinpath("churn.toml").write_text(
                p.joinpath("churn.toml").read_text().replace('name = "test-churn"', 'name = "nope"')
            ),
            "no model has this alias",
        ),
        (
            lambda p: p.joinpath("churn.toml").write_text(
                p.joinpath("churn.toml")
                .read_text()
                .replace("horizon_days = 30", "horizon_days = 60")
            ),
            "differs from the model's definition",
        ),
        (lambda p: p.joinpath("exports", "surveys.csv").unlink(), "the exports have no surveys"),
    ],
    ids=["no-alias", "definition-changed", "feature-mismatch"],
)
def test_scoring_refuses_clearly(project, tmp_path, capsys, change, message):
    copy = tmp_path / "p"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("outputs"))
    cfg = copy / "churn.toml"
    change(copy)
    capsys.readouterr()
    code = main(["score", "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code == 3 and message in err and "Traceback" not in err, err
    assert not (copy / "outputs" / "at_risk").exists() or not any(
        (copy / "outputs" / "at_risk").glob("as_of=*")
    )


def test_stale_data_and_empty_population_are_refused(project, capsys):
    capsys.readouterr()
    cfg = str(project / "churn.toml")
    assert main(["score", "--config", cfg, "--as-of", "2025-11-20"]) == 3
    assert "data is stale" in capsys.readouterr().err
    assert main(["score", "--config", cfg, "--as-of", "2020-01-01"]) == 3
    assert "no active customers" in capsys.readouterr().err


def test_rescoring_the_same_date_gives_the_same_list(project):
    cfg = str(project / "churn.toml")
    folder = project / "outputs" / "at_risk" / "as_of=2025-11-01"
    assert main(["score", "--config", cfg]) == 0
    first = pd.read_parquet(folder / "at_risk.parquet")
    assert main(["score", "--config", cfg]) == 0
    second = pd.read_parquet(folder / "at_risk.parquet")
    pd.testing.assert_frame_equal(first, second)
    assert np.isfinite(second["revenue_at_risk"]).all()
