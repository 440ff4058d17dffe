"""AppTest of app_pages/survival.py: widgets drive the shown medians and tables; no exception.

Expected numbers are not typed here: the page must show what core.stats.survival computes on the
same
active cohort (core.stats.survival itself is checked against R in tests/test_survival.py).
"""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app_pages._ui.views.common import NONE
from app_pages._ui.views.survival import SURVIVAL, TAB_CR, TAB_KEY, TAB_PAR
from core.stats.survival import kaplan_meier, truncate_at
from tests.apptest import (
    ROOT,
    USER_KEY,
    frame_with,
    query_value,
    run_page,
    shipped_cohort,
    uploaded_cohort,
)

PAGE = "app_pages/survival.py"  # relative to the repository root


@pytest.fixture(scope="module")
def at() -> AppTest:
    return run_page(PAGE, timeout=120)


def test_default_view_matches_core(at):
    med = frame_with(at, "Median (days)", substring=True)
    cohort = shipped_cohort()
    km = kaplan_meier(cohort.dropna(subset=["ecog_ps"]), "os_days", "os_event", "ecog_ps")
    assert med["N"].tolist() == km.medians["n"].tolist()
    assert med["Events"].tolist() == km.medians["events"].tolist()
    shown = [None if v == "NR" else float(v) for v in med["Median (days)"]]
    expected = [None if pd.isna(v) else round(float(v)) for v in km.medians["median"]]
    assert shown == expected
    assert at.selectbox(key="km_group").value == "ecog_ps"  # the default: Figure 2's grouping


def test_change_group_changes_medians():
    at = run_page(PAGE, timeout=120)
    before = frame_with(at, "Median (days)", substring=True)
    at.selectbox(key="km_group").set_value("icu_reason").run()
    assert not at.exception
    after = frame_with(at, "Median (days)", substring=True)
    assert not before.equals(after)
    assert set(after["Group"]) <= {"CRS", "CRS or sepsis", "Sepsis", "Disease progression"}
    cohort = shipped_cohort()
    km = kaplan_meier(cohort, "os_days", "os_event", "icu_reason")
    shown = dict(zip(after["Group"], after["N"], strict=True))
    assert shown == dict(zip(km.medians["group"], km.medians["n"], strict=True))
    # levels in the data dictionary's order (the paper's), not alphabetical
    assert after["Group"].tolist()[:3] == ["CRS", "CRS or sepsis", "Sepsis"]


def test_change_horizon_changes_tables():
    at = run_page(PAGE, timeout=120)
    land_before = frame_with(at, "S(t)", substring=True)
    nar_before = frame_with(at, "at_risk", substring=True)
    at.slider(key="km_h").set_value(180).run()
    assert not at.exception
    land_after = frame_with(at, "S(t)", substring=True)
    assert not land_before.equals(land_after)
    assert not nar_before.equals(frame_with(at, "at_risk", substring=True))
    assert max(float(t) for t in land_after["Time (days)"]) == 180
    # censoring the statistics at the horizon changes the median table too
    med_before = frame_with(at, "Median (days)", substring=True)
    at.slider(key="km_h").set_value(60).run()
    at.toggle(key="km_trunc").set_value(True).run()
    assert not at.exception
    med_after = frame_with(at, "Median (days)", substring=True)
    cohort = shipped_cohort().dropna(subset=["ecog_ps"])
    km = kaplan_meier(
        truncate_at(cohort, "os_days", "os_event", 60), "os_days", "os_event", "ecog_ps"
    )
    assert med_after["Events"].tolist() == km.medians["events"].tolist()
    assert not med_before.equals(med_after)


def test_presets_endpoint_units_and_continuous_group():
    at = run_page(PAGE, timeout=120)
    at.selectbox(key="km_preset").set_value("fig3").run()
    assert at.selectbox(key="km_group").value == "icu_reason"
    at.radio(key="km_endpoint").set_value("pfs").run()
    assert not at.exception
    at.radio(key="km_unit").set_value("months").run()
    assert not at.exception
    assert "Median (months)" in frame_with(at, "Median (months)", substring=True).columns
    at.selectbox(key="km_group").set_value("age").run()
    assert not at.exception
    assert at.selectbox(key="km_preset").value == "custom"
    at.number_input(key="km_cut").set_value(60.0).run()
    assert not at.exception
    groups = frame_with(at, "Median (months)", substring=True)["Group"].tolist()
    assert len(groups) == 2 and groups[0].endswith("< 60") and groups[1].endswith("≥ 60")
    for key in ("km_ci", "km_cens", "km_lm"):
        at.toggle(key=key).set_value(False).run()
        assert not at.exception
    at.selectbox(key="km_group").set_value("(none: whole cohort)").run()
    assert not at.exception


def test_query_params_restore_view():
    at = run_page(
        PAGE, timeout=120, **SURVIVAL.link(group="icu_reason", endpoint="pfs", mo=6, unit="months")
    )
    assert at.selectbox(key="km_group").value == "icu_reason"
    assert at.radio(key="km_endpoint").value == "pfs"
    # months axis: the horizon slider is in (whole) months; the URL keeps days
    assert at.slider(key="km_mo").value == 6
    assert "Median (months)" in frame_with(at, "Median (months)", substring=True).columns


@pytest.mark.parametrize("pfs", ["absent", "empty"])
def test_uploaded_cohort_without_pfs_shows_os_and_a_message(pfs):
    from core.cohort import db

    df = db.read_cohort_csv()[["patient_id", "icu_reason", "ecog_ps", "os_days", "os_event"]]
    if pfs == "empty":
        df = df.assign(pfs_days=pd.NA, pfs_event=pd.NA).astype(
            {"pfs_days": "Float64", "pfs_event": "Int64"}
        )
    state = {USER_KEY: uploaded_cohort(df), TAB_KEY: TAB_CR}
    at = run_page(PAGE, timeout=120, session_state=state)
    assert any("Competing risks need" in i.value for i in at.info)
    assert frame_with(at, "Median", substring=True) is not None


def test_group_options_exclude_outcomes_and_warn_post_admission():
    at = run_page(PAGE, timeout=120)
    labels = pd.read_csv(ROOT / "data" / "dictionary.csv").set_index("column")["label"]
    options = at.selectbox(key="km_group").options  # shown labels (format_func)
    outcomes = ["death_1y", "outcome_1y", "icu_death", "hospital_death", "icu_los_days"]
    outcomes += ["os_days", "os_event", "pfs_days", "pfs_event"]
    for col in outcomes:
        assert col not in options and labels.get(col, col) not in options
    assert labels["ecog_ps"] in options and labels["tocilizumab"] in options
    assert not at.warning
    at.selectbox(key="km_group").set_value("tocilizumab").run()
    assert not at.exception
    assert any("immortal-time bias" in w.value for w in at.warning)
    at.selectbox(key="km_group").set_value("sofa").run()
    assert not any("immortal-time bias" in w.value for w in at.warning)


def test_horizon_slider_follows_time_unit():
    at = run_page(PAGE, timeout=120)
    assert at.slider(key="km_h").value == 360
    at.radio(key="km_unit").set_value("months").run()
    assert not at.exception
    # 360 days = 11.8 months: the slider shows 12 months (the horizon is 365 days)
    assert at.slider(key="km_mo").value == 12
    assert "Horizon (months" in at.slider(key="km_mo").label
    assert any("day 365 " in c.value for c in at.caption)
    at.slider(key="km_mo").set_value(6).run()
    assert not at.exception
    land = frame_with(at, "S(t)", substring=True)
    assert max(float(t) for t in land["Time (months)"]) == 6.0
    at.radio(key="km_unit").set_value("days").run()
    assert at.slider(key="km_h").value == 180  # 183 days on the 30-day grid


def test_published_figures_only_for_reconstructed_cohort():
    at = run_page(PAGE, timeout=120, **SURVIVAL.link(group=NONE))
    assert any("Paper (" in c.value for c in at.caption)
    from core.cohort import db

    df = db.read_cohort_csv()[["patient_id", "ecog_ps", "os_days", "os_event"]]
    up = run_page(PAGE, timeout=120, session_state={USER_KEY: uploaded_cohort(df)})
    up.selectbox(key="km_group").set_value("(none: whole cohort)").run()
    assert not up.exception
    assert frame_with(up, "Median", substring=True) is not None
    assert not any("Paper (" in c.value for c in up.caption)


def test_competing_risks_curves_with_ci_from_url():
    """km_cr_ci=true draws curves with CIs; each shown interval holds its estimate."""
    page = run_page(PAGE, timeout=120, session_state={TAB_KEY: TAB_CR}, km_cr_ci="true")
    toggle = next(t for t in page.toggle if t.key == "km_cr_ci")
    assert toggle.value is True
    table = frame_with(page, "Prog. 95% CI")
    checked = 0
    for est_col, ci_col in (
        ("Progression", "Prog. 95% CI"),
        ("Death w/o progression", "Death 95% CI"),
    ):
        for est, ci in zip(table[est_col], table[ci_col], strict=True):
            if ci == "–":
                assert est == 0
                continue
            lo, hi = (float(x) for x in ci.split(" – "))
            assert lo - 5e-4 <= est <= hi + 5e-4
            assert 0 <= lo < hi <= 1
            checked += 1
    assert checked > 0
    toggle.set_value(False).run()
    assert not page.exception
    assert next(t for t in page.toggle if t.key == "km_cr_ci").value is False


def test_cut_from_the_url_and_reset_with_a_new_grouping():
    page = run_page(PAGE, timeout=120, **SURVIVAL.link(group="age", cut=55))
    assert page.number_input(key="km_cut").value == 55
    assert any("Age < 55" in str(v) for v in frame_with(page, "N").iloc[:, 0])
    page.selectbox(key="km_group").set_value("icu_reason").run()
    assert "km_cut" not in page.session_state  # the next continuous grouping starts at its median
    page.selectbox(key="km_group").set_value("age").run()
    assert page.number_input(key="km_cut").value == shipped_cohort()["age"].median()


def test_post_admission_grouping_warns_and_links_the_glossary_entry():
    from core.cohort.variables import POST_ADMISSION_COLUMNS
    from core.study.glossary import glossary_url, term

    column = (
        "tocilizumab" if "tocilizumab" in POST_ADMISSION_COLUMNS else min(POST_ADMISSION_COLUMNS)
    )
    page = run_page(PAGE, timeout=120, **SURVIVAL.link(group=column))
    warning = next(w.value for w in page.warning if "immortal-time bias" in w.value)
    assert glossary_url("immortal_time") in warning
    assert term("immortal time").key == "immortal_time"


def test_the_papers_median_is_labelled_as_the_whole_cohorts_when_filtered():
    at = run_page(PAGE, timeout=120, f_ps=["PS 2", "PS 3"], **SURVIVAL.link(group=NONE))
    paper = next(c.value for c in at.caption if c.value.startswith("Paper ("))
    n_total = len(shipped_cohort())
    assert f"for all {n_total} patients of the paper" in paper
    unfiltered = run_page(PAGE, timeout=120, **SURVIVAL.link(group=NONE))
    assert "for all" not in next(
        c.value for c in unfiltered.caption if c.value.startswith("Paper (")
    )


def test_small_group_shows_the_test_with_a_warning_and_a_permutation_p():
    """By reason for ICU admission the disease-progression group has 4 patients (Table 3)."""
    from app_pages._ui.views.common import group_label
    from core.cohort.schema import level_order
    from core.cohort.variables import make_groups
    from core.stats.logrank import logrank, logrank_permutation
    from core.tables.format import p_phrase

    at = run_page(PAGE, timeout=120, **SURVIVAL.link(group="icu_reason"))
    cohort = shipped_cohort()
    lr = logrank(cohort, "os_days", "os_event", "icu_reason")
    assert lr.warning  # the reconstruction keeps the paper's group of 4
    shown = " ".join(m.value for m in at.markdown)
    assert f"{lr.statistic:.2f}" in shown  # the test is shown, not hidden
    warning = next(w.value for w in at.warning if "Small groups" in w.value)
    # the seeded relabelling depends on the rows' order: the page's grouped frame, as it builds it
    g = make_groups(
        cohort, "icu_reason", label=group_label("icu_reason"), order=level_order("icu_reason")
    )
    perm = logrank_permutation(g.df, "os_days", "os_event", g.column)
    # the core's permutation p, in the words every page uses for a p (core.tables.format)
    assert "Permutation log-rank" in warning and p_phrase(perm) in warning


def test_ordinal_cut_and_merged_levels_give_two_groups_with_log_rank_and_hr():
    """PS ≥ 2 vs < 2 (Table 1: 22 + 6 vs 11 + 32), and disease progression vs the other three
    reasons (Table 3: 4 vs 67), each with its log-rank test from core on the same split."""
    from core.cohort.variables import make_groups
    from core.stats.logrank import logrank

    cohort = shipped_cohort()
    ps = run_page(PAGE, timeout=120, **SURVIVAL.link(group="ecog_ps", split=True, cut=2))
    med = frame_with(ps, "N")
    assert med["N"].tolist() == [43, 28]
    split = make_groups(cohort, "ecog_ps", 2.0, label="ECOG PS")
    lr = logrank(split.df, "os_days", "os_event", split.column)
    assert f"{lr.statistic:.2f}" in " ".join(m.value for m in ps.markdown)
    dp = run_page(
        PAGE, timeout=120,
        **SURVIVAL.link(group="icu_reason", split=True, merge=("Disease progression",)),
    )  # fmt: skip
    assert frame_with(dp, "N")["N"].tolist() == [4, 67]


def test_competing_risks_by_group_show_grays_test():
    from app_pages._ui.views.survival import SURVIVAL
    from core.paths import DATA_DIR
    from core.stats.competing import gray_tests
    from core.tables.survival import format_chi2_test

    at = run_page(
        PAGE, session_state={TAB_KEY: TAB_CR}, **SURVIVAL.link(group="ecog_ps", cr_by=True)
    )
    captions = [c.value for c in at.caption if "Gray's test" in c.value]
    assert captions, [c.value for c in at.caption]
    prog = gray_tests(pd.read_csv(DATA_DIR / "cohort.csv"), "ecog_ps")[0]
    assert format_chi2_test(prog.statistic, prog.dof, prog.p_value) in captions[0].replace("\\", "")


def test_parametric_tab_shows_core_fits_and_warns_when_extrapolating():
    from app_pages._ui.views.survival import SURVIVAL
    from core.paths import DATA_DIR
    from core.stats.parametric import fit_parametric

    df = pd.read_csv(DATA_DIR / "cohort.csv")
    last = int(df["os_days"].max())
    on_tab = {TAB_KEY: TAB_PAR}
    at = run_page(PAGE, session_state=on_tab, **SURVIVAL.link(par=("exponential",), ext=last + 300))
    table = next(d.value for d in at.dataframe if "AIC" in d.value.columns)
    fit = fit_parametric(df, "os_days", "os_event", "exponential", until=last + 300)
    assert table["AIC"].tolist() == [f"{fit.aic:.1f}"]
    assert any("extrapolated" in w.value for w in at.warning)
    inside = run_page(PAGE, session_state=on_tab, **SURVIVAL.link(ext=max(30, last - 10)))
    assert not any("extrapolated" in w.value for w in inside.warning)


def test_parametric_tab_shows_the_aft_regression_of_core_whatever_the_grouping():
    """The regression on the paper's covariates is core.stats.parametric.fit_aft on the active
    cohort (checked against R survreg in tests/test_parametric.py), also when the page groups
    by one of its covariates; exponential is not offered as a regression."""
    from core.stats.parametric import fit_aft
    from core.study.model import paper_model
    from core.tables.format import estimate_interval, p_value

    model = paper_model()
    at = run_page(
        PAGE, timeout=180, session_state={TAB_KEY: TAB_PAR},
        **SURVIVAL.link(group="icu_reason", par=("weibull", "loglogistic", "exponential")),
    )  # fmt: skip
    ratios = frame_with(at, "Weibull: time ratio [95% CI]")
    stats = frame_with(at, "Shape (1 / scale)")
    cohort = shipped_cohort()
    fits = {
        d: fit_aft(cohort, model.duration, model.event, model.covariates, d, horizon_days=365)
        for d in ("weibull", "loglogistic")
    }
    for dist, name in (("weibull", "Weibull"), ("loglogistic", "Log-logistic")):
        tab = fits[dist].table.iloc[1:]
        expected = [estimate_interval(*r) for r in tab[["time_ratio", "lower", "upper"]].values]
        assert ratios[f"{name}: time ratio [95% CI]"].tolist() == expected
        assert ratios[f"{name}: p"].tolist() == [p_value(p) for p in tab["p"]]
        row = stats[stats["Distribution"] == name].iloc[0]
        assert row["Log-likelihood"] == f"{fits[dist].loglik:.2f}"
        assert row["AIC"] == f"{fits[dist].aic:.1f}"
        assert row["Shape (1 / scale)"] == f"{1 / fits[dist].scale:.3f}"
    assert "Exponential" not in set(stats["Distribution"])
    assert any("> 1 = longer survival" in c.value for c in at.caption)


def test_parametric_tab_says_why_without_the_papers_covariates():
    df = shipped_cohort()[["patient_id", "icu_reason", "ecog_ps", "os_days", "os_event"]]
    state = {USER_KEY: uploaded_cohort(df), TAB_KEY: TAB_PAR}
    at = run_page(PAGE, timeout=180, session_state=state)
    assert any("regression needs the paper's covariates" in i.value for i in at.info)


def test_only_the_selected_tab_computes():
    """The competing-risks and parametric tabs run when selected, not on every rerun of the
    curves: by default neither their tables nor their fits are there; selected, they are."""
    default = run_page(PAGE, timeout=180)
    assert not any("AIC" in d.value.columns for d in default.dataframe)
    assert not any("Progression" in d.value.columns for d in default.dataframe)
    par = run_page(PAGE, timeout=180, session_state={TAB_KEY: TAB_PAR})
    assert any("AIC" in d.value.columns for d in par.dataframe)
    assert frame_with(par, "Median", substring=True) is not None  # the curves still run
    cr = run_page(PAGE, timeout=180, session_state={TAB_KEY: TAB_CR})
    assert any("Progression" in d.value.columns for d in cr.dataframe)


def test_trend_test_states_its_scores_and_offers_equally_spaced_ones():
    """ECOG PS without the PS 2 patients: levels 0, 1, 3 are not equally spaced, so the scores
    0, 1, 3 and 1, 2, 3 give different tests; each shown as core.stats.logrank computes it
    (checked against R in tests/test_logrank.py), the choice kept in the URL."""
    from core.stats.logrank import logrank_trend
    from core.tables.survival import format_chi2_test

    df = shipped_cohort()
    df = df[df["ecog_ps"] != 2].reset_index(drop=True)
    state = {USER_KEY: uploaded_cohort(df)}

    def shown(at):
        return next(m.value for m in at.markdown if m.value.startswith("**Trend**"))

    at = run_page(PAGE, timeout=180, session_state=state, **SURVIVAL.link(trend="equal"))
    assert at.radio(key="km_trend").value == "equal"
    tr = logrank_trend(df, "os_days", "os_event", "ecog_ps", scores="equal")
    assert "scores: 1, 2, 3 (equally spaced)" in shown(at)
    assert format_chi2_test(tr.statistic, 1, tr.p_value) in shown(at)
    at.radio(key="km_trend").set_value("levels").run()
    assert not at.exception
    tr_lv = logrank_trend(df, "os_days", "os_event", "ecog_ps", scores="levels")
    assert "scores: 0, 1, 3 (the levels)" in shown(at)
    assert format_chi2_test(tr_lv.statistic, 1, tr_lv.p_value) in shown(at)
    assert format_chi2_test(tr.statistic, 1, tr.p_value) not in shown(at)
    at.radio(key="km_trend").set_value("equal").run()
    assert query_value(at, "km_trend") == SURVIVAL.link(trend="equal")["km_trend"]


def test_permutation_logrank_runs_once_per_set_of_rows(monkeypatch):
    """Small groups get a permutation p (2,000 log-rank statistics, ~2 s): it is computed once
    for the rows shown, not again on a rerun, and again when the rows change. So are the
    pairwise log-rank tests under the curves."""
    import streamlit as st

    from app_pages._ui import km_tests as ui
    from core.stats.logrank import logrank_permutation, pairwise_logrank

    calls, pairwise = [], []

    def counted(data, *args, **kwargs):
        calls.append(len(data))
        return logrank_permutation(data, *args, **kwargs)

    def counted_pairwise(data, *args, **kwargs):
        pairwise.append(len(data))
        return pairwise_logrank(data, *args, **kwargs)

    st.cache_data.clear()
    monkeypatch.setattr(ui, "logrank_permutation", counted)
    monkeypatch.setattr(ui, "pairwise_logrank", counted_pairwise)
    at = run_page(PAGE, timeout=120)
    at.selectbox(key="km_group").set_value("icu_reason").run()
    warned = [w.value for w in at.warning if "Permutation log-rank" in w.value]
    assert warned  # the reconstructed cohort has reasons with few patients
    assert len(calls) == 1
    n_pairwise = len(pairwise)  # once per grouping so far (the default one, then reasons)
    at.toggle(key="km_ci").set_value(not at.toggle(key="km_ci").value).run()
    at.run()
    assert len(calls) == 1  # the same rows: the cached p
    assert len(pairwise) == n_pairwise
    assert [w.value for w in at.warning if "Permutation log-rank" in w.value] == warned
    at.toggle(key="km_trunc").set_value(not at.toggle(key="km_trunc").value).run()
    assert len(calls) == 2  # follow-up censored at the horizon: other rows, a new p
    assert len(pairwise) == n_pairwise + 1
