"""The list's summary in the terminal: tiers, revenue, the contact set, plays, what changed,
drift, the first ten customers and what was written."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from features.describe import count
from models.uplift import ranking_line


def _control_words(contact: dict) -> str:
    """How the contact set splits into customers to call and the control group."""
    if not contact.get("control"):
        return ""
    return (
        f"; call {contact['to_call']:,}, hold back {contact['control']:,} as the control "
        f"group ({contact['control_share']:.0%} per tier: 'control: do not contact')"
    )


def _contact_line(contact: dict) -> str:
    line = (
        f"contact first: {contact['contacts']:,} of {contact['above_floor']:,} customers at "
        f"or above p={contact['floor']:.2f} (capacity {contact['capacity']:,}), covering "
        f"{contact['share_of_revenue_at_risk']:.0%} of revenue at risk" + _control_words(contact)
    )
    if contact["high_tier_outside"]:
        return line + (
            f"; {contact['high_tier_outside']:,} of {contact['high_tier']:,} high-risk "
            "customers are outside it: the capacity is below the high tier"
        )
    if contact["high_tier"]:
        return line + f"; all {contact['high_tier']:,} high-risk customers are in it"
    return line


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def terminal_text(text: object) -> str:
    """Text from the data as the terminal should show it: control characters (a line break,
    an escape sequence that would recolour or clear the screen) written as `\\n`, `\\x1b`."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


def _top_lines(ranked: pd.DataFrame, n: int = 10) -> list[str]:
    lines = [f"top {n}:"]
    for row in ranked.head(n).itertuples():
        lines.append(
            f"  {row.rank:>3}. {terminal_text(row.customer_id):<10} "
            f"p={row.churn_probability:.2f} {row.risk_tier:<6} at risk "
            f"{row.revenue_at_risk:>10,.2f}  {terminal_text(row.suggested_play)}"
        )
        reasons = "; ".join(r for r in (row.reason_1, row.reason_2, row.reason_3) if r)
        lines.append(f"       {terminal_text(reasons) or '(no single risk stands out)'}")
    return lines


def scoring_summary_lines(ranked: pd.DataFrame, manifest: dict, folder: Path) -> list[str]:
    """What `churn score` prints: the list in numbers, who to call, what changed, the top 10
    (`ranked` may hold only the top of the list), the files written."""
    tiers, model = manifest["tiers"], manifest["model"]
    lines = [
        f"at-risk list as of {manifest['as_of']} (data through {manifest['latest_event']}, "
        f"{count(manifest['freshness_days'], 'day')} before), model {model['name']} "
        f"v{model['version']}",
        f"customers {manifest['customers']:,}: high {tiers['high']:,}, "
        f"medium {tiers['medium']:,}, low {tiers['low']:,}; revenue at risk "
        f"{manifest['revenue_at_risk']:,.2f} {manifest.get('currency') or ''}".rstrip(),
    ]
    if manifest.get("tier_rule"):
        lines.append(f"tiers: {manifest['tier_rule']}")
    if manifest["contact"]["capacity"]:
        lines.append(_contact_line(manifest["contact"]))
        if manifest["contact"].get("ranking"):
            lines.append(ranking_line(manifest["contact"]["ranking"]))
    lines.append("plays: " + ", ".join(f"{k} {v:,}" for k, v in manifest["plays"].items()))
    changes = manifest["changes"]
    if changes.get("previous_as_of"):
        lines.append(
            f"since the list of {changes['previous_as_of']}: {changes['newly_high']:,} customers "
            f"newly high risk, {changes['left_high']:,} left high risk "
            f"({changes['left_high_not_listed']:,} of them no longer on the list)"
        )
    if manifest["drifted_features"]:
        lines.append(
            f"drift: {len(manifest['drifted_features'])} features beyond the PSI threshold: "
            + ", ".join(list(manifest["drifted_features"])[:5])
        )
    partial = manifest.get("drift_history_partial") or {}
    if partial:
        lines.append(
            f"not compared for drift: {', '.join(partial)} (training never held the whole "
            "window: the shift is the exports' history growing)"
        )
    lines += _top_lines(ranked)
    written = sorted(p.name for p in folder.iterdir() if p.name != "manifest.json")
    lines.append(f"written: {folder}/" + ", ".join([*written, "manifest.json"]))
    return lines


def print_scoring_summary(
    ranked: pd.DataFrame,
    manifest: dict,
    folder: Path,
    *,
    seconds: dict[str, float],
    brief: bool = False,
) -> None:
    """The summary `churn score` ends with, and the time per stage; `brief` (cron): one line."""
    if brief:
        tiers = manifest["tiers"]
        print(
            f"list as of {manifest['as_of']}: {manifest['customers']:,} customers (high "
            f"{tiers['high']:,}, medium {tiers['medium']:,}) written to {folder}"
        )
        return
    print("\n".join(scoring_summary_lines(ranked, manifest, folder)))
    print("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items()))
