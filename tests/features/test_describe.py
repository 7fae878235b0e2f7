"""Feature values in words: counts agree in number, money has its currency, nothing says n/a."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.describe import count, money, plain_name, render_text, template_fields


@pytest.mark.parametrize(
    ("value", "noun", "text"),
    [
        (1, "paid order", "1 paid order"),
        (1.0, "paid order", "1 paid order"),
        (2, "paid order", "2 paid orders"),
        (0, "day", "0 days"),
        (1234, "event", "1,234 events"),
        (3, "add-on purchase", "3 add-on purchases"),
        (2, "refund", "2 refunds"),
        (2, "company|companies", "2 companies"),
        (1, "company|companies", "1 company"),
        (2, "different feature", "2 different features"),
        (2, "search", "2 searches"),
        (2, "entry", "2 entries"),
        (2, "'login' event", "2 'login' events"),
    ],
)
def test_counts_agree_in_number(value, noun, text):
    assert count(value, noun) == text


def test_money_carries_the_currency():
    assert money(15, "GBP") == "£15.00"
    assert money(1234.5, "eur") == "€1,234.50"
    assert money(-5, "USD") == "-$5.00"
    assert money(21.600000000000005, "CHF") == "21.60 CHF"
    assert money(3, "") == "3.00"


def test_templates_render_with_the_new_specs_and_refuse_missing_values():
    template = "{value:n:paid order} worth {revenue:money} (typical customer: {typical:,.0f})"
    values = {"value": np.int64(1), "revenue": 20.5, "typical": 3.0}
    assert render_text(template, values, "GBP") == "1 paid order worth £20.50 (typical customer: 3)"
    for missing in (None, float("nan"), np.nan, pd.NA, pd.NaT):
        assert render_text(template, {**values, "revenue": missing}, "GBP") is None
    assert render_text(template, {**values, "typical": float("inf")}) is None
    for spec in ("n:day", "money", ".0f"):  # never "inf days" or "£inf", nor an overflow
        assert render_text(f"{{value:{spec}}}", {"value": float("inf")}, "GBP") is None
    assert render_text("{nope}", values) is None  # a field the row does not have
    assert render_text("{value:.0f", values) is None  # a broken template
    assert template_fields(template) == ["value", "revenue", "typical"]


def test_a_sum_in_another_order_reads_the_same_at_a_rounding_edge():
    parts = [0.1] * 245 + [0.0]
    forward, backward = sum(parts), sum(reversed([*parts[:-1], 1e-13, -1e-13]))
    below, above = 24.499999999999996, 24.500000000000004  # one float either side of 24.5
    template = "usage in the last 30 days: {value:.0f} (typical customer: {typical:,.0f})"
    texts = {
        render_text(template, {"value": v, "typical": 143.0})
        for v in (forward, backward, below, above, np.float64(above))
    }
    assert texts == {"usage in the last 30 days: 24 (typical customer: 143)"}
    assert render_text("{value:n:order}", {"value": 2.4999999999999996}) == "2 orders"
    assert render_text("{value:money}", {"value": 0.125000000000001}, "USD") == "$0.12"
    assert render_text("{value:.3f}", {"value": 0.1234567}) == "0.123"  # real digits stay


@pytest.mark.parametrize(
    ("feature", "words"),
    [
        ("events_30_60d", "events, 30-60 days ago"),
        ("active_days_7d", "active days, last 7 days"),
        ("value_90d", "minutes of use, last 90 days"),
        ("last_nps", "last NPS"),
        ("is_new_customer", "new customer"),
        ("addon_purchases_90d", "add-on purchases, last 90 days"),
        ("acquisition_channel", "acquisition channel"),
    ],
)
def test_plain_names_read_as_words(feature, words):
    assert plain_name(feature, "minutes of use") == words


def test_every_catalogue_sentence_reads_as_string_formatting_fills_it():
    # render_text fills plain templates field by field, for speed; every sentence the feature
    # catalogue declares must read exactly as string.Formatter itself fills it
    from features.describe import _NOT_FILLED, _Formatter
    from features.registry import feature_catalogue
    from features.spec import FeatureSpec

    rng = np.random.default_rng(7)
    choices = [0, 1, 2, 0.5, 24.5, 1234.5678, -3.0, np.float32(2.5), np.int64(12), float("inf"),
               float("nan"), None, pd.NA, "text", 1e-13, 123456789.0]  # fmt: skip
    templates = {
        text
        for feature in feature_catalogue(FeatureSpec())
        for text in (feature.describe, feature.describe_missing)
        if text
    }
    assert len(templates) > 50
    for template in sorted(templates):
        names = ["value", "typical", "since", "note", *template_fields(template)]
        for _ in range(12):
            values = {n: choices[rng.integers(len(choices))] for n in names}
            values["since"], values["note"] = "over the last 30 days", ""
            try:
                expected = _Formatter("GBP").vformat(template, (), values)
            except _NOT_FILLED:
                expected = None
            assert render_text(template, values, "GBP") == expected, (template, values)
