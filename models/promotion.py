"""When a newly trained model replaces the one in production: a better score on the same
out-of-time test rows, by a metric whose direction is known."""

from __future__ import annotations

import math

HIGHER_IS_BETTER: dict[str, bool] = {
    "roc_auc": True,
    "pr_auc": True,
    **{f"{k}_at_{p}": True for k in ("lift", "capture", "precision") for p in (5, 10, 20)},
    "log_loss": False,
    "brier": False,
    "ece": False,
}
"""The metrics a challenger can be promoted on, and which way is better for each."""


def promotion_decision(challenger: float, champion: float | None, metric: str) -> tuple[bool, str]:
    """Promote only when the challenger beats the champion on the same test rows (higher or
    lower, as the metric says)."""
    if champion is None or math.isnan(champion):
        return True, "no comparable champion on these test cutoffs"
    better = challenger > champion if HIGHER_IS_BETTER[metric] else challenger < champion
    if better:
        return True, f"{metric} {challenger:.4f} beats champion {champion:.4f}"
    return False, f"{metric} {challenger:.4f} does not beat champion {champion:.4f}"
