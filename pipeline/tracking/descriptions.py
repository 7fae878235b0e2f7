"""What the MLflow UI says about the project's experiments, runs and registered versions: the
descriptions (Markdown) a reader sees first, and the short tag values that fit a table cell.

Text the project does not write itself (folders, names, reasons) is put in as text: a path
as a code span, anything else with Markdown's markup characters escaped, so that a folder
named `[x](http://...)` or `<img ...>` shows as written instead of as a link or markup."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from models.labels import ChurnDefinition
from models.split import TimeSplit

TRAINING_EXPERIMENT = (
    "Training runs of the churn model. Each run builds point-in-time features at monthly "
    "cutoffs, trains LightGBM with calibration, compares it out of time with a logistic "
    "regression and a health score, and registers the model; the production alias moves only "
    "when the new model is better on the same test months."
)
SCORING_EXPERIMENT = (
    "One run per at-risk list (`churn score`): the model version used, customers per tier, "
    "revenue at risk, the score distribution, drift of each feature, and the retention "
    "report (`churn report`) as an HTML artifact."
)
SCORER_NAMES = {
    "model": "LightGBM model",
    "logistic_regression": "logistic regression",
    "health_score": "health score",
    "true_probability": "true probability (simulator)",
    "buy_till_you_die": "buy-till-you-die (BG/NBD)",
}
"""Plain names of the scorers compared out of time (summary table, legends, descriptions)."""


_MARKUP = re.compile(r"([\\`*_\[\]<>|~&!#])")


def markdown_text(text: str) -> str:
    """`text` on one line with every character Markdown reads as markup (emphasis, links,
    code, HTML, tables) backslash-escaped: shown as written."""
    return _MARKUP.sub(r"\\\1", " ".join(str(text).split()))


def code(text: str) -> str:
    """`text` on one line as a Markdown code span, shown as written whatever it holds:
    fenced by more backticks than any run inside it."""
    text = " ".join(str(text).split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def dates(cutoffs: Sequence[pd.Timestamp]) -> str:
    """`2026-08-01, 2026-09-01` or, for more than three, `2025-02-01 to 2026-05-01 (16)`."""
    if len(cutoffs) > 3:
        return f"{cutoffs[0]:%Y-%m-%d} to {cutoffs[-1]:%Y-%m-%d} ({len(cutoffs)})"
    return ", ".join(f"{c:%Y-%m-%d}" for c in cutoffs)


def churn_words(definition: ChurnDefinition) -> str:
    """`contractual churn within 30 days` (and the lead time when there is one)."""
    words = f"{definition.kind} churn within {definition.horizon_days} days"
    return words + (
        f", {definition.lead_days} days after the cutoff" if definition.lead_days else ""
    )


def promotion_tag(promoted: bool, champion: str | None, metric: str) -> str:
    """A few words on promotion that a table cell shows whole."""
    if champion is None:
        return "first champion"
    return f"beats v{champion} ({metric})" if promoted else f"below v{champion} ({metric})"


def verdict(*, promoted: bool, alias: str, reason: str) -> str:
    """`**promoted to @champion**: why`, or not."""
    shown = f"{'promoted to' if promoted else 'not promoted to'} @{markdown_text(alias)}"
    return f"**{shown}**: {markdown_text(reason)}"


def refit_words(split: TimeSplit) -> str:
    """What the registered model is when it was refit after evaluation."""
    return (
        " The registered model is the evaluated one refit on every labelled month: fitted on "
        f"{split.train[0]:%Y-%m-%d} to {split.train[-1]:%Y-%m-%d}, stopped and calibrated on "
        f"{', '.join(f'{c:%Y-%m-%d}' for c in split.valid)}; the metrics above are its "
        "evaluated twin's, which promotion compares (`[training] refit = false` registers "
        "the evaluated model itself)."
    )


def training_description(
    *,
    data: str,
    churn: str,
    split: TimeSplit,
    rows: dict[str, int],
    scores: dict[str, dict[str, float]],
    registered: str,
) -> str:
    """The training run's description: what data, which cutoffs, how good, promoted or not."""
    quality = ", ".join(
        f"{SCORER_NAMES.get(name, name)} {s['roc_auc']:.3f}"
        for name, s in scores.items()
        if name != "model"
    )
    model = scores["model"]
    return "\n".join(
        [
            f"Churn model trained on {code(data)} ({churn}).",
            "",
            f"- Cutoffs: train {dates(split.train)}; validation {dates(split.valid)} (early "
            f"stopping and calibration); out-of-time test {dates(split.test)}.",
            f"- Rows: {sum(rows.values()):,} customer-months (train {rows['train']:,}, "
            f"validation {rows['valid']:,}, test {rows['test']:,}).",
            f"- Test ROC AUC {model['roc_auc']:.3f} ({quality}); the top 10% of the list "
            f"holds {model['capture_at_10']:.0%} of the churners.",
            f"- {registered}",
        ]
    )


def scoring_description(manifest: dict, *, folder: str, version_link: str) -> str:
    """The scoring run's description: which list, from which model, what it holds."""
    tiers, currency = manifest["tiers"], manifest.get("currency") or ""
    contact = manifest["contact"]
    lines = [
        f"At-risk list as of {manifest['as_of']} (data through {manifest['latest_event']}) "
        f"from {version_link}.",
        "",
        f"- {manifest['customers']:,} customers: high {tiers['high']:,}, medium "
        f"{tiers['medium']:,}, low {tiers['low']:,}; revenue at risk "
        f"{manifest['revenue_at_risk']:,.2f} {currency}".rstrip(),
        f"- Contact set: {contact['contacts']:,} customers (capacity {contact['capacity']:,}).",
        f"- Drift: {len(manifest['drifted_features'])} features beyond the PSI threshold.",
        f"- Files: {code(folder)}",
    ]
    return "\n".join(lines)


def version_link(name: str, version: str, alias: str) -> str:
    """A Markdown link to a registered version's page in the MLflow UI."""
    text = markdown_text(f"{name} version {version}")
    return f"[{text}](#/models/{name}/versions/{version}) (@{markdown_text(alias)})"
