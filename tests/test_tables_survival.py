"""core/tables/survival.py: the display tables (format_*, level_label) of the Survival page.

Expectations are worked out by hand (Greenwood limits and 30.4375 days per month in the
docstrings); the numbers come from core.stats.survival, checked against R in tests/test_survival.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.stats.survival import KMResult, kaplan_meier, n_at_risk, survival_at
from core.tables.survival import (
    format_chi2_test,
    format_cif_table,
    format_hazard_ratios,
    format_landmarks,
    format_medians,
    format_n_at_risk,
    format_pairwise,
    format_time,
    level_label,
)


# --------------------------------------------------------------------------------------
# display tables (format_*): expectations worked out by hand
# --------------------------------------------------------------------------------------
def _three_deaths() -> pd.DataFrame:
    """Three patients, deaths at days 10, 20 and 30 (no censoring)."""
    return pd.DataFrame({"t": [10, 20, 30], "e": [1, 1, 1]})


def _km_with_medians(medians: pd.DataFrame) -> KMResult:
    """A Kaplan-Meier result holding only a given median table (all format_medians reads)."""
    return KMResult(
        table=pd.DataFrame(),
        medians=medians,
        conf_type="log",
        duration="t",
        event="e",
        group="g",
        levels=tuple(medians["group"]),
    )


def test_level_label_and_format_time():
    assert [level_label(v) for v in (2.0, np.float64(0.0), 2.5, "CRS", 3)] == [
        "2",
        "0",
        "2.5",
        "CRS",
        "3",
    ]
    # days: whole days; months: days / 30.4375 to one decimal
    assert format_time(183.0) == "183"
    assert format_time(183.0, "months") == "6.0"  # 183 / 30.4375 = 6.012
    assert format_time(365.0, "months") == "12.0"  # 11.992
    assert format_time(45.0, "months") == "1.5"  # 1.478
    assert format_time(float("nan")) == "NR" and format_time(np.nan, "months") == "NR"
    with pytest.raises(ValueError, match="unit"):
        format_time(30.0, "weeks")


def test_format_medians_hand():
    medians = pd.DataFrame(
        {
            "group": [1.0, 2.0],
            "n": [12, 7],
            "events": [5, 7],
            "median": [np.nan, 91.0],
            "lower": [200.0, 30.0],
            "upper": [np.nan, 365.0],
        }
    )
    shown = format_medians(_km_with_medians(medians), "days")
    assert shown.columns.tolist() == ["Group", "N", "Events", "Median (days)", "95% CI"]
    assert shown["Group"].tolist() == ["1", "2"]
    assert shown["N"].tolist() == [12, 7] and shown["Events"].tolist() == [5, 7]
    assert shown["Median (days)"].tolist() == ["NR", "91"]
    assert shown["95% CI"].tolist() == ["200 – NR", "30 – 365"]
    months = format_medians(_km_with_medians(medians), "months")
    # 91 / 30.4375 = 2.990; 200 -> 6.571; 30 -> 0.986; 365 -> 11.992
    assert months["Median (months)"].tolist() == ["NR", "3.0"]
    assert months["95% CI"].tolist() == ["6.6 – NR", "1.0 – 12.0"]


def test_format_medians_from_kaplan_meier_hand():
    """Deaths at 10, 20, 30: S = 2/3, 1/3, 0, so the median is 20 (first S <= 0.5).

    Log-scale Greenwood limits at day 10: S = 2/3, se(log S) = sqrt(1 / (3 * 2)) = 0.408, so
    lower = 2/3 * exp(-1.96 * 0.408) = 0.300 (<= 0.5: the median's lower limit is day 10) and
    upper = 2/3 * exp(+1.96 * 0.408) = 1.48, capped at 1; at day 20 the upper limit is still 1,
    so the upper limit of the median is not reached.
    """
    km = kaplan_meier(_three_deaths(), "t", "e")
    shown = format_medians(km, "days")
    assert shown.to_dict("list") == {
        "Group": ["All"],
        "N": [3],
        "Events": [3],
        "Median (days)": ["20"],
        "95% CI": ["10 – NR"],
    }


def test_format_landmarks_hand():
    # S(15) = 2/3 with 2 at risk; CI (0.300, 1) from the Greenwood calculation above
    at = survival_at(_three_deaths(), "t", "e", [15, 45])
    shown = format_landmarks(at, "days")
    assert shown.columns.tolist() == ["Group", "Time (days)", "At risk", "S(t)", "95% CI"]
    assert shown["Time (days)"].tolist() == ["15", "45"]
    assert shown["At risk"].tolist() == [2, 0]
    assert shown["S(t)"].iloc[0] == 0.667 and np.isnan(shown["S(t)"].iloc[1])
    assert shown["95% CI"].tolist() == ["0.300 – 1.000", "–"]  # beyond follow-up: no CI
    by_month = format_landmarks(at, "months")
    assert by_month["Time (months)"].tolist() == ["0.5", "1.5"]  # 0.493, 1.478
    frame = pd.DataFrame(
        {
            "group": ["CRS", 1.0],
            "time": [90.0, 180.0],
            "n_risk": [21, 4],
            "survival": [0.71649, 0.5],
            "lower": [0.5751, np.nan],
            "upper": [0.89249, np.nan],
        }
    )
    shown = format_landmarks(frame)
    assert shown["Group"].tolist() == ["CRS", "1"]
    assert shown["S(t)"].tolist() == [0.716, 0.5]
    assert shown["95% CI"].tolist() == ["0.575 – 0.892", "–"]


def test_format_n_at_risk_hand():
    # at risk at t = patients with time >= t; events / censored with time <= t
    km = kaplan_meier(_three_deaths().assign(e=[1, 0, 1]), "t", "e")
    nar = n_at_risk(km, [0, 15, 30])
    shown = format_n_at_risk(nar, "days")
    assert shown.columns.tolist() == ["group", "time", "at_risk", "events", "censored"]
    assert shown["group"].tolist() == ["All"] * 3
    assert shown["time"].tolist() == ["0", "15", "30"]
    assert shown["at_risk"].tolist() == [3, 2, 1]
    assert shown["events"].tolist() == [0, 1, 2]
    assert shown["censored"].tolist() == [0, 0, 1]
    # 15 / 30.4375 = 0.493, 30 / 30.4375 = 0.986
    assert format_n_at_risk(nar, "months")["time"].tolist() == ["0.0", "0.5", "1.0"]


def test_format_cif_table_hand():
    at = pd.DataFrame(
        {
            "group": [0.0, "All"],
            "time": [30.0, 365.0],
            "n_risk": [40, 9],
            "cif_progression": [0.0, 0.25049],
            "cif_death": [0.05, 0.1],
            "event_free": [0.95, 0.64951],
            "lower_progression": [np.nan, 0.1234],
            "upper_progression": [np.nan, 0.50849],
            "lower_death": [0.01, 0.04],
            "upper_death": [0.2, 0.25],
        }
    )
    shown = format_cif_table(at, "days")
    assert shown.columns.tolist() == [
        "Group",
        "Time (days)",
        "At risk",
        "Progression",
        "Prog. 95% CI",
        "Death w/o progression",
        "Death 95% CI",
        "Alive, no progression",
    ]
    assert shown["Group"].tolist() == ["0", "All"]
    assert shown["Time (days)"].tolist() == ["30", "365"]
    assert shown["At risk"].tolist() == [40, 9]
    assert shown["Progression"].tolist() == [0.0, 0.25]
    assert shown["Prog. 95% CI"].tolist() == ["–", "0.123 – 0.508"]  # no CI while F = 0
    assert shown["Death w/o progression"].tolist() == [0.05, 0.1]
    assert shown["Death 95% CI"].tolist() == ["0.010 – 0.200", "0.040 – 0.250"]
    assert shown["Alive, no progression"].tolist() == [0.95, 0.65]
    assert format_cif_table(at, "months")["Time (months)"].tolist() == ["1.0", "12.0"]


def test_format_pairwise_and_hazard_ratios_hand():
    pw = pd.DataFrame(
        {
            "group_a": [0.0, 0.0],
            "group_b": [1.0, 2.5],
            "n_a": [5, 5],
            "n_b": [6, 7],
            "statistic": [4.2, 0.3],
            "p_value": [0.04, 0.58],
            "p_adjusted": [0.08, 0.58],
            "warning": [None, None],
        }
    )
    shown = format_pairwise(pw)
    assert shown.to_dict("list") == {
        "group_a": ["0", "0"],
        "group_b": ["1", "2.5"],
        "statistic": [4.2, 0.3],
        "p_value": [0.04, 0.58],
        "p_adjusted": [0.08, 0.58],
    }
    hr = pd.DataFrame(
        {
            "level": [0.0, 1.0],
            "n": [10, 12],
            "events": [3, 8],
            "hr": [1.0, 2.5],
            "lower": [np.nan, 1.1],
            "upper": [np.nan, 5.7],
            "p_value": [np.nan, 0.03],
            "reference": [True, False],
        }
    )
    shown = format_hazard_ratios(hr)
    assert shown.columns.tolist() == ["level", "n", "events", "hr", "lower", "upper", "p_value"]
    assert shown["level"].tolist() == ["0", "1"]
    assert shown["hr"].tolist() == [1.0, 2.5] and shown["p_value"].iloc[1] == 0.03


def test_format_chi2_test_hand():
    assert format_chi2_test(7.8149, 3, 0.04999) == "χ² = 7.81, df = 3, p = 0.050"
    assert format_chi2_test(12.0, 1, 0.00053) == "χ² = 12.00, df = 1, p < 0.001"
    assert format_chi2_test(0.0, 1, float("nan")) == "χ² = 0.00, df = 1, p –"
