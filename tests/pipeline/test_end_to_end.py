"""One end-to-end run on a small simulated history: train, register, promote, score, refuse."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from pipeline import tracking
from pipeline.cli import main
from pipeline.config import load_config
from simulator import simulate_history, write_history

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
    model, _ = tracking.load_model("test-churn", "champion")
    signature = model.metadata.signature
    inputs = {spec.name: spec.type.name for spec in signature.inputs.inputs}
    churn_model = model.unwrap_python_model()
    assert list(inputs) == churn_model.features  # every feature, in order
    assert inputs["plan"] == "string" and inputs["seats"] == "double"
    assert signature.params is not None
    run = mlflow.get_run(tracking.model_version_info("test-churn", "champion")["run_id"])
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
    history = MlflowClient().get_metric_history(run.info.run_id, "backtest.logistic_roc_auc")
    assert len(history) == 2 and all(0 < h.value < 1 for h in history)
    # one step per fold, each dated by its test cutoff, which is also a parameter per fold
    assert [h.step for h in history] == [0, 1]
    cutoffs = [run.data.params[f"backtest.fold_{i}.cutoff"] for i in (0, 1)]
    assert cutoffs == ["2025-09-01", "2025-10-01"]
    stamped = [pd.Timestamp(h.timestamp, unit="ms").strftime("%Y-%m-%d") for h in history]
    assert stamped == cutoffs
    assert run.data.params["churn.horizon_days"] == "30"
    assert run.data.tags["promoted"] == "yes" and run.data.tags["promotion"] == "first champion"
    note = run.data.tags["mlflow.note.content"]
    assert "out-of-time test 2025-10-01" in note and "**promoted to @champion**" in note
    described = MlflowClient().get_model_version("test-churn", version).description
    assert described == note
    artifacts = {a.path for a in mlflow.artifacts.list_artifacts(run_id=run.info.run_id)}
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
    manifest = json.loads((folder / "manifest.json").read_text())
    medium = manifest["tier_thresholds"]["medium"]  # the contact floor: the medium tier
    assert manifest["contact"]["floor"] == medium and "base rate" in manifest["tier_rule"]
    above_floor = (ranked["churn_probability"] >= medium).sum()
    assert ranked["contact_first"].sum() == min(25, above_floor) > 0
    assert set(ranked["risk_tier"]) <= {"high", "medium", "low"}
    at_risk = ranked[ranked["risk_tier"] != "low"]
    assert (at_risk["reason_1"] != "").mean() > 0.9
    assert (ranked.loc[ranked["risk_tier"] == "low", "suggested_play"] == "no action").all()
    assert (at_risk["suggested_play"] != "no action").all()
    # three reasons say three different things: one feature per topic (usage, payments, ...)
    topics = (
        tracking.load_model("test-churn", "champion")[0].unwrap_python_model().metadata["topics"]
    )
    for features in ranked["reason_features"]:
        named = [topics[f] for f in features]
        assert len(set(named)) == len(named), features
    assert manifest["customers"] == len(ranked)
    assert manifest["plays"] == ranked["suggested_play"].value_counts().to_dict()
    assert set(ranked.columns) <= set(manifest["columns"])
    assert manifest["freshness_days"] == 1 and manifest["as_of"] == "2025-11-01"
    assert manifest["model"]["version"] == tracking.champion_version("test-churn", "champion")


def test_the_scoring_run_is_tagged_linked_and_described_by_its_model_version(project):
    _config(project)
    version = tracking.champion_version("test-churn", "champion")
    client = MlflowClient()
    experiment = client.get_experiment_by_name("churn-scoring")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    found = client.search_runs([experiment.experiment_id], order_by=["start_time DESC"])[0]
    run = client.get_run(found.info.run_id)  # a search leaves out the run's model inputs
    assert run.data.tags["model.version"] == version
    assert run.data.tags["list.as_of"] == "2025-11-01"
    source = client.get_model_version("test-churn", version).source
    assert [m.model_id for m in run.inputs.model_inputs] == [source.removeprefix("models:/")]
    note = run.data.tags["mlflow.note.content"]
    assert f"[test-churn version {version}](#/models/test-churn/versions/{version})" in note


def test_reasons_name_features_that_really_drive_the_score(project):
    """Setting a customer's top-reason feature to a low-risk customer's value lowers their
    probability: the reasons are what the model actually reacts to."""
    _config(project)
    churn_model = tracking.load_model("test-churn", "champion")[0].unwrap_python_model()
    folder = project / "outputs" / "at_risk" / "as_of=2025-11-01"
    ranked = pd.read_parquet(folder / "at_risk.parquet").head(30)
    from features.engines import open_tables
    from features.spec import FeatureSpec
    from pipeline.datasets import scoring_features

    cache = next((project / ".churn" / "cache").glob("*/"))
    tables = open_tables({p.stem: p for p in cache.glob("*.parquet")})
    spec = FeatureSpec.from_dict(churn_model.metadata["feature_spec"])
    features = scoring_features(
        tables,
        pd.Timestamp("2025-11-01"),
        spec,
        definition=load_config(project / "churn.toml").churn,
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


def test_versions_are_listed_and_the_champion_can_be_rolled_back_with_a_reason(project, capsys):
    """After the second training (not promoted): `churn models` lists both versions, and
    `churn promote` moves the alias and back, each move recorded with its reason."""
    config, toml = _config(project), str(project / "churn.toml")
    capsys.readouterr()
    champion = tracking.champion_version(config.model.name, "champion")
    other = next(v for v in ("1", "2") if v != champion)
    assert main(["models", "--config", toml]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert any(line.strip().startswith(f"@champion v{champion} ") for line in listed), listed
    assert any(f" v{other} " in line and "@champion" not in line for line in listed)
    assert all("learned through 20" in line for line in listed[1:])
    assert main(["promote", other, "--reason", "rollback drill", "--config", toml]) == 0
    out = capsys.readouterr().out
    assert f"@champion moved from v{champion} to v{other}: rollback drill" in out
    assert tracking.champion_version(config.model.name, "champion") == other
    assert main(["models", "--config", toml]) == 0
    assert "rollback drill" in capsys.readouterr().out
    assert main(["promote", champion, "--reason", "back", "--config", toml]) == 0
    assert tracking.champion_version(config.model.name, "champion") == champion
    assert main(["promote", "9", "--reason", "x", "--config", toml]) == 2
    assert "has no version 9" in capsys.readouterr().err


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


def test_reasons_read_as_risks_with_no_missing_values_or_code_names(project):
    folder = project / "outputs" / "at_risk" / "as_of=2025-11-01"
    ranked = pd.read_parquet(folder / "at_risk.parquet")
    texts = pd.concat([ranked[f"reason_{i}"] for i in (1, 2, 3)])
    texts = texts[texts != ""]
    assert len(texts) > len(ranked)
    for bad in ("n/a", "nan", "promoter", "passive", "country", "{", " = "):
        assert not texts.str.contains(bad, regex=False).any(), bad
    # a decline is only told when usage really fell
    features = _scoring_frame(project).set_index("customer_id")
    for row in ranked.itertuples():
        if "events_60_90d" in row.reason_features:
            before, now = features.loc[row.customer_id, ["events_60_90d", "events_30d"]]
            assert now < before, row.customer_id


def _scoring_frame(project: Path) -> pd.DataFrame:
    from features.engines import open_tables
    from features.spec import FeatureSpec
    from pipeline.datasets import scoring_features

    _config(project)
    churn_model = tracking.load_model("test-churn", "champion")[0].unwrap_python_model()
    cache = next((project / ".churn" / "cache").glob("*/"))
    tables = open_tables({p.stem: p for p in cache.glob("*.parquet")})
    spec = FeatureSpec.from_dict(churn_model.metadata["feature_spec"])
    definition = load_config(project / "churn.toml").churn
    return scoring_features(tables, pd.Timestamp("2025-11-01"), spec, definition=definition)


def test_stale_exports_too_early_and_future_dates_are_refused(project, tmp_path, capsys):
    capsys.readouterr()
    cfg = str(project / "churn.toml")
    assert main(["score", "--config", cfg, "--as-of", "2025-11-20"]) == 3
    assert "after the export date 2025-11-01" in capsys.readouterr().err
    assert main(["score", "--config", cfg, "--as-of", "2024-09-01"]) == 3
    assert "too early" in capsys.readouterr().err
    # the documented nightly command without [data] as_of scores as of today: data ending
    # in 2025 is stale, not served as today's list
    copy = tmp_path / "p"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("outputs"))
    toml = copy / "churn.toml"
    toml.write_text(toml.read_text().replace('as_of = "2025-11-01"', ""))
    assert main(["score", "--config", str(toml)]) == 3
    err = capsys.readouterr().err
    assert "data is stale: latest event on 2025-10-31" in err and "Traceback" not in err
    assert not (copy / "outputs" / "at_risk").exists() or not any(
        (copy / "outputs" / "at_risk").glob("as_of=*")
    )


def test_one_table_that_stopped_is_refused_though_others_are_fresh(project, tmp_path, capsys):
    copy = tmp_path / "p"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("outputs"))
    events = copy / "exports" / "engagement.parquet"
    frame = pd.read_parquet(events)
    frame[pd.to_datetime(frame["timestamp"]) < "2025-10-15"].to_parquet(events, index=False)
    capsys.readouterr()
    assert main(["score", "--config", str(copy / "churn.toml")]) == 3
    err = capsys.readouterr().err
    assert "engagement" in err and "export looks stale" in err, err


def test_a_customer_export_a_month_behind_the_events_is_refused(project, tmp_path, capsys):
    """Its newest customers would be missing from the list, their events only counted as
    rows for unknown customers (tolerated here, as a large business's few would be)."""
    copy = tmp_path / "p"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("outputs"))
    customers = copy / "exports" / "customers.csv"
    frame = pd.read_csv(customers, dtype=str, keep_default_na=False)
    frame = frame[frame["signup_at"] < "2025-10-01"]  # exported a month before the events
    frame.loc[frame["churned_at"] >= "2025-10-01", "churned_at"] = ""
    frame.to_csv(customers, index=False)
    toml = copy / "churn.toml"
    toml.write_text(toml.read_text().replace("[data]\n", "[data]\nmax_orphan_share = 0.5\n"))
    capsys.readouterr()
    assert main(["score", "--config", str(toml)]) == 3
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, errors
    newest = max(frame["signup_at"].max(), frame["churned_at"].max())[:10]
    assert errors[0].startswith(
        f"error: customers.csv: customer export looks behind the events: its newest signup or "
        f"cancellation is from {newest}, "
    )
    assert "the events' newest day 2025-10-31" in errors[0] and "allowed: " in errors[0]


def test_an_event_type_renamed_in_the_export_is_refused(project, tmp_path, capsys):
    """Every customer would look at risk for "0 'x' events": refuse instead of a wrong list."""
    copy = tmp_path / "p"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("outputs"))
    events = copy / "exports" / "engagement.parquet"
    frame = pd.read_parquet(events)
    top = frame["event_type"].value_counts().index[0]
    frame["event_type"] = frame["event_type"].astype(str).replace(top, top + "_v2")
    frame.to_parquet(events, index=False)
    capsys.readouterr()
    assert main(["score", "--config", str(copy / "churn.toml")]) == 3
    err = capsys.readouterr().err
    assert "features have (almost) no values today" in err and top in err, err


def test_a_second_date_reports_what_changed_since_the_earlier_list(project, capsys):
    cfg = str(project / "churn.toml")
    assert main(["score", "--config", cfg, "--as-of", "2025-10-01"]) == 0
    assert main(["score", "--config", cfg]) == 0
    out = capsys.readouterr().out
    assert "since the list of 2025-10-01:" in out
    folder = project / "outputs" / "at_risk"
    now = pd.read_parquet(folder / "as_of=2025-11-01" / "at_risk.parquet")
    before = pd.read_parquet(folder / "as_of=2025-10-01" / "at_risk.parquet")
    tiers = before.set_index("customer_id")["risk_tier"]
    expected = now["customer_id"].map(tiers)
    assert (now["previous_tier"].fillna("-") == expected.fillna("-")).all()
    assert (now["new_in_tier"] == (now["previous_tier"] != now["risk_tier"])).all()
    manifest = json.loads((folder / "as_of=2025-11-01" / "manifest.json").read_text())
    newly = set(now.loc[now["risk_tier"] == "high", "customer_id"]) - set(
        before.loc[before["risk_tier"] == "high", "customer_id"]
    )
    assert manifest["changes"]["newly_high"] == len(newly)


def test_rescoring_the_same_date_gives_the_same_list(project):
    cfg = str(project / "churn.toml")
    folder = project / "outputs" / "at_risk" / "as_of=2025-11-01"
    assert main(["score", "--config", cfg]) == 0
    first = pd.read_parquet(folder / "at_risk.parquet")
    assert main(["score", "--config", cfg]) == 0
    second = pd.read_parquet(folder / "at_risk.parquet")
    pd.testing.assert_frame_equal(first, second)
    assert np.isfinite(second["revenue_at_risk"]).all()


def test_a_tampered_model_file_is_refused_before_it_is_loaded(project, capsys):
    """The model is a pickle: loading it runs code. Its files are fingerprinted at
    registration and checked before every load."""
    _config(project)
    version = tracking.champion_version("test-churn", "champion")
    tags = MlflowClient().get_model_version("test-churn", version).tags
    assert len(tags[tracking.DIGEST_TAG]) == 64
    pickles = sorted((project / "mlruns").rglob("python_model.pkl"))
    assert pickles
    original = {p: p.read_bytes() for p in pickles}
    try:
        for path in pickles:
            path.write_bytes(original[path] + b"\n# payload")
        capsys.readouterr()
        assert main(["score", "--config", str(project / "churn.toml")]) == 3
        err = capsys.readouterr().err
        assert "files changed since registration" in err and "refusing to load it" in err
    finally:
        for path, content in original.items():
            path.write_bytes(content)
    assert main(["score", "--config", str(project / "churn.toml")]) == 0
    manifest = json.loads(
        (project / "outputs" / "at_risk" / "as_of=2025-11-01" / "manifest.json").read_text()
    )
    assert manifest["model"]["sha256"] == tags[tracking.DIGEST_TAG]


class _Payload:
    """What an attacker with write access to the store would plant: unpickling it writes a
    file (it would run anything)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def test_a_payload_with_a_rewritten_fingerprint_never_runs(project, capsys, tmp_path):
    """Whoever can write the store can replace the pickle and rewrite the fingerprint tag to
    match; the signature, made with a key the store never holds, does not match, and nothing
    is unpickled."""
    import pickle
    import tempfile

    import mlflow

    from pipeline.tracking.registry import files_digest

    config = _config(project)
    version = tracking.champion_version("test-churn", "champion")
    logged = MlflowClient().get_model_version("test-churn", version).source.split("/")[-1]
    (pickled,) = [
        p for p in (project / "mlruns").rglob("python_model.pkl") if f"/{logged}/" in str(p)
    ]
    marker = tmp_path / "pwned.txt"
    original = pickled.read_bytes()
    tags = MlflowClient().get_model_version("test-churn", version).tags
    try:
        pickled.write_bytes(pickle.dumps(_Payload(marker)))
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(
                f"models:/test-churn/{version}", dst_path=tmp
            )
            forged = files_digest(Path(local))
        assert forged != tags[tracking.DIGEST_TAG]
        MlflowClient().set_model_version_tag("test-churn", version, tracking.DIGEST_TAG, forged)
        capsys.readouterr()
        assert main(["score", "--config", str(project / "churn.toml")]) == 3
        err = capsys.readouterr().err
        assert "has a signature that does not match" in err and "refusing to load it" in err
        assert not marker.exists()
    finally:
        pickled.write_bytes(original)
        MlflowClient().set_model_version_tag(
            "test-churn", version, tracking.DIGEST_TAG, tags[tracking.DIGEST_TAG]
        )
    assert config.tracking.key_file.endswith(".churn/model.key")
    assert (project / ".churn" / "model.key").stat().st_mode & 0o077 == 0
    assert main(["score", "--config", str(project / "churn.toml")]) == 0


def test_a_customer_export_without_cancellation_dates_is_refused(project, tmp_path, capsys):
    """Cancelled customers would otherwise be scored as active (a column dropped or renamed)."""
    copy = tmp_path / "p"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("outputs"))
    customers = copy / "exports" / "customers.csv"
    frame = pd.read_csv(customers, dtype=str, keep_default_na=False)
    frame.drop(columns=["churned_at"]).to_csv(customers, index=False)
    capsys.readouterr()
    assert main(["score", "--config", str(copy / "churn.toml")]) == 3
    assert "no cancellation dates" in capsys.readouterr().err
