"""The summary `make train` ends with states the gaps to the baselines and the backtest."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from models.evaluate import compare_models, evaluate_scores, paired_auc_difference
from pipeline.train.record import TrainingOutcome
from pipeline.train.summary import comparison_lines, print_training_summary


def test_summary_prints_gap_intervals_and_backtest_per_cutoff(capsys):
    rng = np.random.default_rng(1)
    y = rng.binomial(1, 0.1, 3_000)
    model = y * 0.5 + rng.uniform(size=3_000)
    logistic = y * 0.3 + rng.uniform(size=3_000)
    scores = {"model": evaluate_scores(y, model / 1.5), "logistic_regression": {}}
    scores["logistic_regression"] = evaluate_scores(y, logistic / 1.3)
    gap = paired_auc_difference(y, model, logistic, rounds=100)
    cutoffs = pd.to_datetime(["2026-07-01", "2026-08-01"])
    backtest = pd.DataFrame(
        {"cutoff": cutoffs, "roc_auc": [0.76, 0.74], "logistic_roc_auc": [0.75, 0.73]}
    )
    split = SimpleNamespace(all=list(cutoffs), train=cutoffs[:1], valid=[], test=cutoffs[1:])
    outcome = TrainingOutcome(
        run_id="r",
        name="m",
        version="3",
        alias="champion",
        promoted=True,
        reason="no comparable champion",
        champion=None,
        ui="http://127.0.0.1:5000",
        store="sqlite:///x.db",
    )
    frame = pd.DataFrame({"cutoff": cutoffs})
    print_training_summary(
        comparison=compare_models(scores),
        outcome=outcome,
        seconds={"features": 1.0},
        rows=len(frame),
        split=split,
        gaps={"logistic_regression": gap},
        backtest=backtest,
    )
    out = capsys.readouterr().out
    expected = (
        f"logistic regression {gap['roc_auc_diff']:+.3f} "
        f"[{gap['roc_auc_diff_low']:+.3f}, {gap['roc_auc_diff_high']:+.3f}]"
    )
    assert expected in out
    assert gap["roc_auc_diff"] > 0.05
    assert "backtest ROC AUC (model / logistic): 2026-07 0.760/0.750, 2026-08 0.740/0.730" in out


def test_the_comparison_table_names_each_scorer_once_in_plain_words():
    y = np.array([0, 1, 0, 1, 0, 0])
    p = np.array([0.1, 0.8, 0.2, 0.6, 0.3, 0.1])
    scores = {"model": evaluate_scores(y, p), "health_score": evaluate_scores(y, p[::-1])}
    header, *rows = comparison_lines(compare_models(scores))
    assert " ".join(header.split()) == "ROC AUC PR AUC lift top 10% capture top 10% Brier ECE"
    assert [r.split("  ")[0] for r in rows] == ["LightGBM model", "health score"]
    assert "model" not in header and "_" not in "".join(rows)


def test_a_brief_summary_is_the_promotion_line_alone(capsys):
    outcome = TrainingOutcome("r", "m", "3", "champion", False, "worse", "2", "url", "store")
    print_training_summary(
        comparison=pd.DataFrame(), outcome=outcome, seconds={}, rows=0, split=None, brief=True
    )
    assert capsys.readouterr().out == "model m version 3 NOT promoted to @champion: worse\n"
