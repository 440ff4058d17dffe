"""core.tables.format: the text of p-values, intervals and percentages in result tables.

Expectations are written out by hand (rounding done on paper), never produced by the code.
"""

from __future__ import annotations

import math

import pytest

from core.tables.format import MISSING, estimate_interval, interval, p_phrase, p_value, percent


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.04249, "0.042"),
        (0.0425, "0.043"),  # 0.0425 is stored as 0.042500000000000003
        (0.001, "0.001"),  # the boundary is printed as a number
        (0.000999, "< 0.001"),
        (0.0, "< 0.001"),
        (1.0, "1.000"),
        (math.nan, MISSING),
        (math.inf, MISSING),
    ],
)
def test_p_value(p, text):
    assert p_value(p) == text


def test_p_phrase():
    assert p_phrase(0.5) == "p = 0.500"
    assert p_phrase(0.012) == "p = 0.012"
    assert p_phrase(0.00001) == "p < 0.001"
    assert p_phrase(math.nan) == "p –"


def test_interval_and_estimate():
    assert interval(1.1, 14.654) == "1.10 – 14.65"
    assert interval(0.5, 0.25, ".0%") == "50% – 25%"
    assert estimate_interval(4.02, 1.1, 14.65) == "4.02 [1.10 – 14.65]"
    assert estimate_interval(0.75, 0.601, 0.9364, ".1%") == "75.0% [60.1% – 93.6%]"
    # a bound that cannot be estimated prints as R prints it; no interval at all: a dash
    assert interval(math.nan, 2.0) == "NA – 2.00"
    assert interval(17.1, math.nan, ".1f") == "17.1 – NA"
    assert interval(math.nan, math.nan) == MISSING
    assert estimate_interval(0.0, math.nan, math.nan, ".1%") == "0.0%"
    assert estimate_interval(math.nan, 0.1, 0.2) == MISSING


def test_percent():
    assert percent(0.1234) == "12.3%"
    assert percent(0.1236) == "12.4%"
    assert percent(1.0) == "100.0%"
    assert percent(0.5, digits=0) == "50%"
    assert percent(math.nan) == MISSING
    assert MISSING == "–"
