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


def test_robustness_table_is_the_cores():
    from core.cohort.db import read_cohort_csv
    from core.study.ensemble import load_ensemble, robustness

    at = run_page(PAGE, timeout=240)
    shown = next(d.value for d in at.dataframe if "Median over reconstructions" in d.value)
    expected = robustness(read_cohort_csv(), load_ensemble()).drop(columns="key")
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), expected, check_dtype=False)


def test_conclusions_table_is_the_stored_summary():
    from core.study.ensemble import stored_summary

    at = run_page(PAGE, timeout=240)
    shown = next(t.value for t in at.table if "Holds in" in t.value.columns)
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), stored_summary(), check_dtype=False)
