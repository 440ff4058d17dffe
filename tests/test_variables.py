"""core/cohort/variables.py (make_groups, cut_variable, add_derived): expectations by hand.

The groups are checked as the estimators see them (core.stats.survival.kaplan_meier,
core.stats.compare.compare_groups); lifelines' ``load_lung`` and seeded sets are the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.cohort.variables import add_derived, cut_variable, make_groups
from core.stats.compare import compare_groups, result_groups
from core.stats.survival import kaplan_meier
from tests.helpers_survival import _lung, _random_set


def test_make_groups():
    d = _lung()
    g = make_groups(d, "age", 60)
    assert g.levels == ("age < 60", "age ≥ 60") and g.threshold == 60 and not g.ordered
    assert (g.df[g.column] == "age < 60").sum() == (d["age"] < 60).sum()
    assert make_groups(d, "age").threshold == d["age"].median()
    g = make_groups(d, "ph.ecog")
    assert g.n_missing == 1 and g.levels == (0.0, 1.0, 2.0, 3.0) and g.ordered
    assert len(g.df) == len(d) - 1
    g = make_groups(d, "sex")
    assert g.levels == (1, 2) and not g.ordered  # two levels: no separate trend test
    # cut above the maximum: only one group is left
    g = make_groups(d, "age", 1000)
    assert g.levels == ("age < 1000",)
    km = kaplan_meier(g.df, "time", "status", g.column)
    assert km.levels == g.levels


def test_make_groups_order_and_label():
    d = _random_set(51, 4, n=80)
    g = make_groups(d, "g", order=["G3", "G1"])
    assert g.levels == ("G3", "G1", "G0", "G2")
    km = kaplan_meier(g.df, "time", "status", g.column)
    assert km.levels == g.levels and km.medians["group"].tolist() == list(g.levels)
    d["x"] = np.arange(80) / 2
    assert make_groups(d, "x", 10, label="Dose").levels == ("Dose < 10", "Dose ≥ 10")


def test_cut_variable_labels_and_missing():
    d = pd.DataFrame({"sofa": [2, 6, 7, np.nan, 5.5], "y": [1, 2, 3, 4, 5]})
    out = cut_variable(d, "sofa", 6)
    col = out["sofa ≥ 6"]
    assert list(col.cat.categories) == ["sofa < 6", "sofa ≥ 6"]
    assert col.tolist()[:3] == ["sofa < 6", "sofa ≥ 6", "sofa ≥ 6"]
    assert pd.isna(col.iloc[3])
    res = compare_groups(out, "sofa ≥ 6", ["y"])
    assert result_groups(res) == ["sofa < 6", "sofa ≥ 6"]
    with pytest.raises(ValueError, match="numeric"):
        cut_variable(pd.DataFrame({"s": ["a"]}), "s", 1)


def test_derived_reason_dp():
    df = pd.DataFrame({"icu_reason": ["CRS", "Disease progression", "Sepsis", None]})
    out = add_derived(df)
    assert out["reason_dp"].tolist()[:3] == [0.0, 1.0, 0.0]
    assert np.isnan(out["reason_dp"].iloc[3])


def test_identifier_like_text_and_repeated_groupings_are_not_offered():
    from core.cohort.variables import grouping_columns, looks_like_identifier
    from core.study.paper_tables import variable_catalog

    n = 20
    df = pd.DataFrame(
        {
            "record": [f"P{i:02d}" for i in range(n)],  # a generic upload's own identifier
            "arm": ["A", "B"] * (n // 2),
            "death_1y": [True, False] * (n // 2),
            "outcome_1y": ["1-year decedent", "1-year survivor"] * (n // 2),
            "os_days": range(1, n + 1),
        }
    )
    assert looks_like_identifier(df["record"]) and not looks_like_identifier(df["arm"])
    assert not looks_like_identifier(df["os_days"])  # numbers are never identifiers here
    assert grouping_columns(df) == ["arm", "outcome_1y"]  # death_1y repeats outcome_1y
    assert "record" not in variable_catalog(df) and "arm" in variable_catalog(df)
