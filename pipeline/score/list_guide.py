"""docs/at-risk-list.md, generated from the code that writes the list (a test keeps it in sync):
`python -m pipeline.score.list_guide > docs/at-risk-list.md`."""

from __future__ import annotations

from models.plays import DEFAULT_BY_TOPIC, WHY, PlaySettings
from models.ranking import COLUMNS
from models.report_plots import LABEL_CHARS
from pipeline.score.spark_list import TOP_ROWS

INTRO = """\
# The at-risk list

`churn score` writes one folder per as-of date, `outputs/at_risk/as_of=YYYY-MM-DD/`:
`at_risk.parquet` (the full list, raw values), `at_risk.csv` (the same rows for spreadsheets)
and `manifest.json` (what the list is, in numbers). On the Spark engine (docs/spark.md)
`at_risk.parquet` is a folder partitioned by tier (`risk_tier=high/`, ...; read it whole, and
sort by `rank`), and the CSVs are `contacts.csv` (the contact set, in contact order) and
`at_risk_top.csv` (the first TOP_ROWS rows). Generated from the code by
`python -m pipeline.score.list_guide`; a test keeps it in sync.

## As of which date

The as-of date is `--as-of`, else `[data] as_of` (the export date; the bundled sample sets it),
else today. Features use only rows strictly before that date. The run refuses (exit 3, one
line, no list written) when the list would be wrong:

- the as-of date is after the export date, or too early (less than 90 days of history);
- the data is stale: its latest event is more than `[scoring] max_staleness_days` before the
  as-of date;
- one table's export stopped: its latest row is older than twice the longest gap its rows
  usually have (and than `max_staleness_days`), while other tables run on;
- the customer export is behind the events: its newest signup or cancellation is further before
  the events' newest day than `max_staleness_days` and than twice the longest gap between its
  signup and cancellation days in the year before (so a business with a few signups a month is
  not refused for a quiet month): the customers who signed up since would be missing;
- features that most customers had in training have (almost) no values today (a renamed event
  type, a dropped column): every customer would look at risk for a reason that is not real;
- the model's churn definition or tables (support, surveys) are not in the exports.

## Columns

| column | meaning |
| --- | --- |
"""

REASONS = """
The configured profile columns (categorical and numeric) follow `suggested_play` as the model
read them, not byte for byte as exported: text is trimmed and lowercased when the exports are
typed, so that `GB`, `gb` and ` Gb ` are one value to the model, and the list shows `gb` (a
blank is empty); numbers are numbers (`true`/`yes` read as 1, `false`/`no` as 0, text numbers
with the configured decimal mark). The export itself is left as it is. Probabilities are
rounded to 4 decimals and money to 2 after ranking.

## Reasons

A reason is a feature that pushes this customer's risk up (its LightGBM contribution is
positive) **and** whose value is a risk for this customer by the feature's rule: below or
above the typical customer's value by more than 20%, a decline against the customer's own
recent window, a detractor's NPS, a failed payment. Protective factors (a promoter's NPS,
rising usage, a loyalty flag) are never reasons. A missing value has its own sentence ("no
activity in the last 90 days") or is no reason; no text says "n/a". Profile columns are
reasons only when listed under `[tables.customers.profile] actionable`. The three reasons are
about three different topics (usage, adoption, open tickets, payment problems, ...).
docs/features.md gives each feature's sentence and rule.

## Plays

A customer's play is the one of the first topic in this table (in order of urgency) among
their reasons, which is not always the strongest reason's topic: a failed payment is fixed
before usage is revived, so a customer whose strongest reason is falling usage and whose third
is a failed payment gets a billing follow-up. Low-risk customers get `low_tier`; at-risk
customers whose reasons map to no play get `default`. `[plays]` in the configuration changes
any of it.

| topic | play | why |
| --- | --- | --- |
"""

CONTACTS = """
## Contact set

`contact_first` marks up to `[scoring] capacity` customers (or `--capacity N`) among those at
or above the contact floor (`contact_floor`, default the medium threshold): the high tier
first, then by revenue at risk (probability x monthly revenue: the revenue a successful call
saves), or in pure probability order with `capacity_rank_by = "probability"`. The summary and
the manifest say how many high-risk customers are outside the set and why.

With `[contact] rank_by = "uplift"` the set is ranked instead by expected saved revenue
(revenue at risk x the share of churn the customer's suggested play removed on earlier graded
lists, contact arm against control group), but only once the graded lists hold at least
`[contact] uplift_min_graded` (default 200) customers in each arm and the calls' saving is
beyond chance; otherwise by risk as above. Either way the summary's line "contact set ranked
by ..." and the manifest's `contact.ranking` (asked, used, reason, effects per play) say which
ranking was used and why. The Spark engine ranks by risk. Measured in simulation, ranking by
estimated effects saved 19% fewer customers than risk without the gate, and no more than risk
with it: docs/contacts.md.

## The control group

A share of the contact set (`[contact] control_share`, default 10%, per tier) is drawn at
random and marked `contact_arm = "control: do not contact"`: do not call them. Churn among them
against churn among the customers called is what the calls bought (`churn report`, "Did
contacting them help"); without them it cannot be measured, since the contacted are the
riskiest. The draw is a hash of `[contact] seed`, the list's date and the customer id, the
same on every engine and re-run; a customer who was in a list's contact set less than a
horizon ago keeps the arm they had there. The summary and the manifest (`contact.control`,
`contact.arms_by_tier`) count both arms. Log whom you called in the `contacts` export
(docs/data-contract.md).

## What changed

`previous_tier`, `previous_probability` and `new_in_tier` compare with the most recent earlier
list in the same folder; the summary says how many customers are newly high risk and how many
left the high tier (and of those, how many are no longer on the list: cancelled or inactive).

## Safe files

The list is written to a staging folder and swapped in whole under a per-date lock; a run that
was killed half way is repaired by the next one. Re-scoring a date keeps the replaced list when
it differs, under `.replaced/`.

## Text from the data

Text cells of the CSV that a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
`@`, a tab, a carriage return or a line feed, also after leading spaces, or with a full-width
`＝` `＋` `－` `＠`) get a leading `'`, so opening the file never runs anything: plan and
country names, reasons quoting an event type, every profile column. `customer_id` and
`suggested_play` are written exactly as they are, formula signs included: the team copies them
into the contact log (docs/contacts.md), which the report reads back, where `'+4915...` would
be another customer; they come from the company's own systems and `[plays]`, not from free
text (open the file with `customer_id` as a text column so that a spreadsheet keeps leading
zeros and signs). Numbers stay numbers, negative ones included; lists of reason features are
JSON text. The Parquet file keeps every raw value. In the retention report every name from
the data is shown as text: HTML-escaped in the page, drawn literally in the charts (a `$` is
never read as a formula), where a name longer than LABEL_CHARS characters is cut with `…` so
that the chart keeps its layout; the report's text names it whole.
"""


def list_guide_markdown() -> str:
    """The whole guide as Markdown."""
    plays = PlaySettings()
    lines = [INTRO.rstrip("\n").replace("TOP_ROWS", f"{TOP_ROWS:,}")]
    lines += [f"| `{name}` | {text} |" for name, text in COLUMNS.items()]
    lines.append(REASONS.rstrip("\n"))
    lines += [f"| {topic} | {play} | {WHY[play]} |" for topic, play in DEFAULT_BY_TOPIC.items()]
    lines.append(f"| (none of the above) | {plays.default} | {WHY[plays.default]} |")
    lines.append(f"| (low tier) | {plays.low_tier} | {WHY[plays.low_tier]} |")
    lines.append(CONTACTS.rstrip("\n").replace("LABEL_CHARS", str(LABEL_CHARS)))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(list_guide_markdown(), end="")
