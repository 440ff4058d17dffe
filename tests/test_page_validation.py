"""The validation page in AppTest: every number is core.study.validation's on the active
cohort (reconstructed, a paper-format upload, an upload without SOFA)."""

from __future__ import annotations

import numpy as np
import pytest

from app_pages._ui.views.validation import VALIDATION
from core.study.validation import validate
from tests.apptest import USER_KEY, run_page, shipped_cohort, uploaded_cohort
from tests.test_validation import simulate

PAGE = "app_pages/validation.py"


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_reconstructed_cohort_is_apparent_performance_with_core_numbers():
    at = run_page(PAGE)
    warnings = [w.value for w in at.warning]
    assert any("apparent performance" in w for w in warnings)
    assert any("fewer than 100 events" in w for w in warnings)  # before any number
    res = validate(shipped_cohort(), n_boot=200)
    shown = _metrics(at)
    assert shown["Harrell's C (95% CI)"] == res.c_harrell.text()
    assert shown["Calibration slope"] == res.slope.text()
    assert shown["Observed / expected"] == res.oe.text()
    assert shown["AUC at day 365"] == res.auc.text()


def test_a_paper_format_upload_with_a_horizon_from_the_link():
    df = simulate(600, seed=21)
    df.insert(0, "patient_id", [f"P{i}" for i in range(len(df))])
    state = {USER_KEY: uploaded_cohort(df, name="icu.csv")}
    at = run_page(PAGE, session_state=state, **VALIDATION.link(horizon=180))
    assert not any("apparent performance" in w.value for w in at.warning)
    res = validate(df, horizon=180)
    shown = _metrics(at)
    assert shown["Uno's C by day 180"] == res.c_uno.text()
    assert shown["Calibration slope"] == res.slope.text()
    card = at.dataframe[-1].value
    assert "Upload: icu.csv" in set(card["Value"])


def test_an_upload_without_sofa_says_what_is_missing():
    df = simulate(200, seed=22).drop(columns=["sofa"])
    df.insert(0, "patient_id", np.arange(len(df)))
    at = run_page(PAGE, session_state={USER_KEY: uploaded_cohort(df)})
    infos = " ".join(i.value for i in at.info)
    assert "cannot be validated" in infos and "sofa" in infos
    assert not at.metric or all("C" not in m.label for m in at.metric)


@pytest.mark.parametrize("baseline", ["recalibrate", "slope"])
def test_updating_the_baseline_changes_calibration_not_discrimination(baseline):
    base = run_page(PAGE)
    at = run_page(PAGE, **VALIDATION.link(baseline=baseline))
    b, a = _metrics(base), _metrics(at)
    assert a["Harrell's C (95% CI)"] == b["Harrell's C (95% CI)"]
    res = validate(shipped_cohort(), baseline=baseline)
    assert a["Observed / expected"] == res.oe.text()


def test_calibration_table_counts_every_patient_once():
    """The table beside the calibration plot: each group's deaths over its patients, and the
    groups together hold the whole cohort (71 patients in the paper) and its deaths by day 365."""
    from core.study.published import load_published
    from tests.apptest import frame_with

    at = run_page(PAGE)
    table = frame_with(at, "Deaths / patients")
    assert list(table.columns) == ["Group", "Deaths / patients", "Predicted", "Observed (95% CI)"]
    deaths, patients = zip(
        *(map(int, cell.split(" / ")) for cell in table["Deaths / patients"]), strict=True
    )
    cohort = shipped_cohort()
    assert sum(patients) == len(cohort) == load_published()["meta"]["n"]
    by_365 = ((cohort["os_days"] <= 365) & (cohort["os_event"] == 1)).sum()
    assert sum(deaths) == by_365
    assert all(cell.endswith("%)") and "–" in cell for cell in table["Observed (95% CI)"])
