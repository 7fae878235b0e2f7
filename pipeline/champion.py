"""`churn models` and `churn promote`: the registered versions in a table a person reads, and
moving the production alias by hand (a rollback), recorded on the versions with why."""

from __future__ import annotations

from features.errors import ConfigError, Problem
from pipeline import tracking
from pipeline.config import Config


def version_lines(config: Config) -> list[str]:
    """One line per registered version, newest first: its number, when it was registered,
    its out-of-time ROC AUC and test months, the latest month it learned from, and for the
    champion when and why the alias came to it."""
    tracking.open_store(config.tracking)
    name, alias = config.model.name, config.model.alias
    versions = tracking.model_versions(name, alias)
    if not versions:
        return [f"{name}: no registered version yet; run `make train`"]
    lines = [f"{name} (the list uses @{alias}):"]
    for v in versions:
        auc = f"ROC AUC {v['roc_auc']:.3f}" if v["roc_auc"] is not None else "ROC AUC -"
        months = v["test_months"].replace(",", ", ") or "-"
        mark = f"@{alias}" if v["champion"] else " " * (len(alias) + 1)
        line = (
            f"  {mark} v{v['version']:<4} registered {v['registered']:%Y-%m-%d %H:%M}  {auc} "
            f"on {months}; learned through {v['learned_through'] or '-'}"
        )
        if v["incomplete"]:
            line += f"; INCOMPLETE: {v['incomplete']} (cannot be champion)"
        if v["champion"] and (v["moved"] or v["why"]):
            line += f"; champion since {v['moved'] or 'training'}: {v['why']}"
        lines.append(line)
    return lines


def promote(config: Config, version: str, why: str) -> str:
    """Make `version` the champion by hand, recording why; returns the line to print."""
    tracking.open_store(config.tracking)
    name, alias = config.model.name, config.model.alias
    known = {v["version"] for v in tracking.model_versions(name, alias)}
    if version not in known:
        shown = ", ".join(sorted(known, key=int)) or "none"
        raise ConfigError(
            [Problem(f"models:/{name}", f"has no version {version} (versions: {shown})")]
        )
    before = tracking.move_champion(name, alias, version, why)
    if before == version:
        return f"{name} v{version} already was @{alias}; recorded: {why}"
    return f"{name} @{alias} moved from v{before or '-'} to v{version}: {why}"
