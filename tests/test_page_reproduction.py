"""AppTest of app_pages/reproduction.py: the counts shown are core.study.reproduction's, and the
stated HR target is the one in data/published.yaml (never a typed figure)."""

from __future__ import annotations

import pandas as pd

from core.study.published import load_published
from core.study.reproduction import CLOSE, MISS, OK, reproduce, summary_counts
from tests.apptest import run_page

PAGE = "app_pages/reproduction.py"


def test_counts_and_stated_target_come_from_the_core_and_the_yaml():
    from core.cohort import db

    at = run_page(PAGE, timeout=240)
    tol = float(load_published()["cox"]["hr_tolerance_relative"])
    intro = " ".join(m.value for m in at.markdown)
    assert f"within ±{round(tol * 100)}%" in intro
    result = reproduce(db.fetch_cohort(db.connect()))
    counts = summary_counts(result)
    shown = [m.value for m in at.metric][:4]
    assert shown == [str(len(result)), *(str(counts[s]) for s in (OK, CLOSE, MISS))]


def test_robustness_table_is_the_cores_and_k_is_the_files():
    from core.study.ensemble import load_ensemble, robustness, stepwise_frequency

    at = run_page(PAGE, timeout=240)
    shown = next(d.value for d in at.dataframe if "Median over reconstructions" in d.value)
    expected = robustness().drop(columns="key")
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), expected, check_dtype=False)
    sw = next(d.value for d in at.dataframe if "Selected" in d.value)
    expected_sw = stepwise_frequency()
    pd.testing.assert_frame_equal(sw.reset_index(drop=True), expected_sw, check_dtype=False)
    k = load_ensemble()["reconstruction"].nunique()
    shown_k = next(m.value for m in at.metric if m.label == "Reconstructions in the ensemble")
    assert shown_k == str(k)
    holds = next(t.value for t in at.table if "Holds in" in t.value.columns)["Holds in"]
    assert holds.str.endswith(f"of {k} reconstructions").all()


def test_conclusions_table_is_the_stored_summary():
    from core.study.ensemble import stored_summary

    at = run_page(PAGE, timeout=240)
    shown = next(t.value for t in at.table if "Holds in" in t.value.columns)
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), stored_summary(), check_dtype=False)
