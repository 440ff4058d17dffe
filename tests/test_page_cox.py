"""AppTest of app_pages/cox.py: the page shows what core.stats.cox.fit computes on the active
cohort.

No number is typed here: the page must agree with core.stats.cox.fit on the same cohort
(core.stats.cox.fit itself is checked against R in tests/test_cox_*.py) and with the paper's model
(core.study.model.paper_model: terms, HRs, endpoint, horizon). URLs are built by the page's view
state (``COX.link``), as the story builds its links.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app_pages._ui.views.cox import COX, DEFAULT_CANDIDATES
from core.cohort.variables import add_derived
from core.stats.cox.diagnostics import bootstrap_cindex, ph_test
from core.stats.cox.fit import fit_cox
from core.stats.cox.selection import stepwise
from core.study.model import paper_model
from tests.apptest import (
    USER_KEY,
    frame_with,
    run_page,
    shipped_cohort,
    uploaded_cohort,
)

PAGE = "app_pages/cox.py"  # relative to the repository root
MODEL = paper_model()
PAPER = list(MODEL.covariates)
OS, EVENT, HORIZON = MODEL.duration, MODEL.event, MODEL.horizon_days


def paper_fit(**kw):
    """The paper's model fitted by core on the shipped cohort (its endpoint and horizon)."""
    return fit_cox(shipped_cohort(), OS, EVENT, PAPER, horizon_days=HORIZON, **kw)


@pytest.fixture(scope="module")
def at() -> AppTest:
    return run_page(PAGE)


def test_default_is_the_papers_model(at):
    res = paper_fit()
    table = frame_with(at, "HR")
    assert table["HR"].tolist() == res.summary["hr"].round(2).tolist()
    assert table["p (Wald)"].tolist()[0] in {"< 0.001", f"{res.summary['p'].iloc[0]:.3f}"}
    pub = paper_model().hrs
    shown = table["Published HR [95% CI]"].tolist()
    for text, key in zip(shown, PAPER, strict=True):
        hr, lo, hi = pub[key]
        assert text == f"{hr:.2f} [{lo:.2f} – {hi:.2f}]"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Concordance (C)"] == f"{res.concordance:.3f}"
    assert metrics["Patients / events"] == f"{res.n} / {res.events}"
    assert at.radio(key="cox_mode").value == "paper"
    assert at.radio(key="cox_endpoint").value == "os"
    assert at.radio(key="cox_hz").value == f"{HORIZON:g}"
    assert any(f"censored at day {HORIZON:g}" in c.value for c in at.caption)


def test_ph_table_matches_core(at):
    ph = ph_test(paper_fit())
    shown = frame_with(at, "chisq")
    assert shown["chisq"].tolist() == ph.table["chisq"].round(3).tolist()
    assert shown["df"].tolist() == ph.table["df"].tolist()


def test_downloads_present(at):
    labels = [b.label for b in at.get("download_button")]
    assert {"Forest PNG", "Forest SVG"} <= set(labels)
    assert any(lab.startswith("Table CSV") for lab in labels)


def test_pick_covariates_from_url():
    at = run_page(PAGE, **COX.link(mode="pick", covs=("age", "sofa"), hz="none"))
    res = fit_cox(shipped_cohort(), OS, EVENT, ["age", "sofa"])
    table = frame_with(at, "HR")
    assert len(table) == 2
    assert table["HR"].tolist() == res.summary["hr"].round(2).tolist()
    assert at.multiselect(key="cox_covs").value == ["age", "sofa"]
    assert at.radio(key="cox_hz").value == "none"


def test_url_holds_the_shown_text_and_covariates_as_repeated_keys():
    from core.tables.cox import covariate_label

    params = COX.link(mode="pick", covs=("age", "sofa"), endpoint="pfs")
    assert params["cox_covs"] == [covariate_label("age"), covariate_label("sofa")]
    assert params["cox_mode"] == "Choose covariates"
    assert params["cox_endpoint"].startswith("Progression-free survival")
    # a link writes what it names, defaults too: it sets them over values the session kept
    paper = COX.link(mode="paper", covs=PAPER)
    assert paper["cox_mode"] == COX.formats["mode"]("paper")
    assert paper["cox_covs"] == [covariate_label(c) for c in PAPER]


def test_every_setting_restored_from_the_url():
    cands = ("ecog_ps", "sofa", "age")
    at = run_page(
        PAGE,
        **COX.link(
            endpoint="pfs", hz="custom", hd=200, mode="stepwise", cands=cands, test="lrt",
            zph_x="x", nboot=40, seed=7, boot_sel=False,
        ),
    )  # fmt: skip
    assert at.radio(key="cox_endpoint").value == "pfs"
    assert at.radio(key="cox_hz").value == "custom"
    assert at.number_input(key="cox_hd").value == 200
    assert any("censored at day 200" in c.value for c in at.caption)
    assert at.radio(key="cox_mode").value == "stepwise"
    assert at.multiselect(key="cox_cands").value == list(cands)
    assert at.radio(key="cox_test").value == "lrt"
    assert at.radio(key="cox_zph_x").value == "x"
    assert at.number_input(key="cox_nboot").value == 40
    assert at.number_input(key="cox_seed").value == 7
    assert at.checkbox(key="cox_boot_sel").value is False
    sw = stepwise(shipped_cohort(), "pfs_days", "pfs_event", list(cands), horizon_days=200,
                  test="lrt")  # fmt: skip
    assert sw.selected  # the settings below are shown with a model
    trace = frame_with(at, "action")
    assert trace["variable"].tolist() == sw.trace["variable"].tolist()
    assert len(frame_with(at, "HR")) == len(sw.final.summary)


def test_settings_survive_a_page_switch():
    at = run_page("app.py", timeout=120, check=False)
    at.switch_page(PAGE).run()
    at.radio(key="cox_mode").set_value("pick").run()
    at.multiselect(key="cox_covs").set_value(["age", "sofa"]).run()
    at.radio(key="cox_hz").set_value("none").run()
    at.radio(key="cox_endpoint").set_value("pfs").run()
    assert not at.exception
    at.switch_page("app_pages/survival.py").run()
    assert not at.exception
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.radio(key="cox_mode").value == "pick"
    assert at.multiselect(key="cox_covs").value == ["age", "sofa"]
    assert at.radio(key="cox_hz").value == "none"
    assert at.radio(key="cox_endpoint").value == "pfs"
    res = fit_cox(shipped_cohort(), "pfs_days", "pfs_event", ["age", "sofa"])
    assert frame_with(at, "HR")["HR"].tolist() == res.summary["hr"].round(2).tolist()


def test_stepwise_trace_matches_core():
    at = run_page(PAGE, **COX.link(mode="stepwise"))
    cohort = add_derived(shipped_cohort())
    cands = [c for c in DEFAULT_CANDIDATES if c in cohort.columns]
    assert at.multiselect(key="cox_cands").value == cands
    sw = stepwise(
        shipped_cohort(), OS, EVENT, cands, horizon_days=HORIZON, entry=MODEL.entry_p,
        removal=MODEL.removal_p,
    )  # fmt: skip
    trace = frame_with(at, "action")
    assert trace["variable"].tolist() == sw.trace["variable"].tolist()
    assert trace["action"].tolist() == sw.trace["action"].tolist()
    if sw.selected:
        table = frame_with(at, "HR")
        assert len(table) == len(sw.final.summary)


def test_endpoint_switch_changes_model():
    at = run_page(PAGE)
    before = frame_with(at, "HR")
    at.radio(key="cox_endpoint").set_value("pfs").run()
    assert not at.exception
    after = frame_with(at, "HR")
    res = fit_cox(shipped_cohort(), "pfs_days", "pfs_event", PAPER, horizon_days=HORIZON)
    assert after["HR"].tolist() == res.summary["hr"].round(2).tolist()
    assert not before.equals(after) or res.events == 0
    assert at.radio(key="cox_endpoint").value == "pfs"


def test_bootstrap_runs_with_progress():
    at = run_page(PAGE)
    at.number_input(key="cox_nboot").set_value(20).run()
    at.button(key="cox_boot_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert "Corrected C" in metrics
    res = paper_fit()
    seed = COX.default("seed")
    bc = bootstrap_cindex(
        shipped_cohort(), OS, EVENT, PAPER, n_boot=20, seed=seed, horizon_days=HORIZON
    )
    assert metrics["Apparent C"] == f"{res.concordance:.3f}"
    assert metrics["Corrected C"] == f"{bc.corrected:.3f}"


@pytest.mark.parametrize(
    "query",
    [
        {"cox_mode": "nonsense", "cox_endpoint": "xyz", "cox_hz": "??", "cox_covs": "not_a_column"},
        # the former URL format (option keys, comma-separated covariates) is ignored, no crash
        {"cox_mode": "pick", "cox_endpoint": "pfs", "cox_hz": "none", "cox_covs": "age,sofa"},
        {"cox_hd": "abc", "cox_nboot": "many", "cox_seed": "-", "cox_boot_sel": "maybe"},
    ],
)
def test_bad_query_values_fall_back(query):
    at = run_page(PAGE, **query)
    assert at.radio(key="cox_mode").value == "paper"
    assert at.radio(key="cox_endpoint").value == "os"
    assert at.radio(key="cox_hz").value == f"{HORIZON:g}"
    assert at.number_input(key="cox_nboot").value == COX.default("nboot")
    assert at.number_input(key="cox_seed").value == COX.default("seed")
    table = frame_with(at, "HR")
    assert len(table) == len(PAPER)
    assert table["HR"].tolist() == paper_fit().summary["hr"].round(2).tolist()


def test_unfittable_choice_gives_clear_error():
    # with the shared filter on CRS only, reason_dp is constant: a clear message, no traceback
    at = run_page(PAGE, f_reason="CRS", **COX.link(mode="pick", covs=("reason_dp", "sofa")))
    errors = " ".join(e.value for e in at.error)
    assert "cannot be fitted" in errors and "constant" in errors and "reason_dp" in errors


def test_reconstruction_note_on_reconstructed_cohort(at):
    infos = " ".join(i.value for i in at.info)
    assert "not the paper's p-values or its variable selection" in infos
    assert "artefacts of the reconstruction" in infos
    s = paper_fit().summary.set_index("covariate")
    pub = paper_model().hrs
    for key in PAPER:
        hr, lo, hi = pub[key]
        r = s.loc[key]
        assert f"HR {r['hr']:.2f} [{r['lower']:.2f}–{r['upper']:.2f}]" in infos
        assert f"(paper {hr:.2f} [{lo:.2f}–{hi:.2f}])" in infos


def test_no_reconstruction_note_on_upload():
    at = run_page(PAGE, session_state={USER_KEY: uploaded_cohort(shipped_cohort())})
    infos = " ".join(i.value for i in at.info)
    assert "artefacts of the reconstruction" not in infos
    assert len(frame_with(at, "HR")) == 3


def test_stepwise_note_names_extra_covariates():
    at = run_page(PAGE, **COX.link(mode="stepwise"))
    cands = [c for c in DEFAULT_CANDIDATES if c in add_derived(shipped_cohort()).columns]
    sw = stepwise(shipped_cohort(), OS, EVENT, cands, horizon_days=HORIZON)
    infos = " ".join(i.value for i in at.info)
    extra = [c for c in sw.selected if c not in PAPER]
    assert ("also selects" in infos) == bool(extra)


def test_labels_from_dictionary_and_downloads_ignore_clicks():
    from core.cohort.schema import load_dictionary

    covs = ("hypertension", "prior_lines", "sofa")
    at = run_page(PAGE, **COX.link(mode="pick", covs=covs, hz=f"{HORIZON:g}"))
    shown = frame_with(at, "HR")["Covariate"].tolist()
    spec = load_dictionary()
    assert spec["hypertension"].display in shown and spec["prior_lines"].display in shown
    assert "SOFA (per point)" in shown
    assert all(b.proto.ignore_rerun for b in at.get("download_button"))


def test_filter_that_makes_a_covariate_constant_is_explained_in_words():
    from core.tables.cox import covariate_label

    page = run_page(PAGE, **COX.link(mode="paper"), f_reason="Sepsis")  # every patient: not DP
    (error,) = page.error
    assert covariate_label("reason_dp") in error.value
    assert "widen the filter" in error.value


def test_post_admission_covariate_is_warned_about():
    page = run_page(PAGE, **COX.link(mode="pick", covs=("ecog_ps", "steroids")))
    assert any("immortal-time bias" in w.value for w in page.warning)
    paper = run_page(PAGE, **COX.link(mode="paper"))  # reason, PS, SOFA: all known at admission
    assert not any("immortal-time bias" in w.value for w in paper.warning)


def _shown(at) -> str:
    return " ".join(m.value for m in at.markdown).replace("\\", "")


def test_calibration_slope_and_citl_beside_the_tertiles(at):
    """The paper's model refitted on its own cohort and 1-year outcome: the page shows the slope
    core.study.validation computes (= 1 by construction, checked against R's coxph(Surv ~ lp)
    in tests/test_cox_diagnostics.py) with the sentence saying why, and the O/E."""
    from core.study.validation import apparent_calibration
    from core.tables.format import estimate_interval

    ac = apparent_calibration(paper_fit(), HORIZON)
    shown = _shown(at)
    slope = estimate_interval(ac.slope.est, ac.slope.lower, ac.slope.upper)
    assert f"**Calibration slope** {slope}" in shown
    assert ac.by_construction and slope.startswith("1.00")
    assert any("1 by construction" in c.value for c in at.caption)
    obs = ac.observed_risk
    surv = estimate_interval(1 - obs.est, 1 - obs.upper, 1 - obs.lower, ".1%")
    assert f"observed survival {surv}" in shown
    assert f"mean predicted {1 - ac.expected_risk:.1%}" in shown
    assert estimate_interval(ac.oe.est, ac.oe.lower, ac.oe.upper) in shown


def test_calibration_slope_of_a_whole_follow_up_model_is_not_said_to_be_one():
    from core.study.validation import apparent_calibration
    from core.tables.format import estimate_interval

    at = run_page(PAGE, **COX.link(hz="none"))
    res = fit_cox(shipped_cohort(), OS, EVENT, PAPER)
    ac = apparent_calibration(res, HORIZON)
    assert not ac.by_construction
    slope = estimate_interval(ac.slope.est, ac.slope.lower, ac.slope.upper)
    assert f"**Calibration slope** {slope}" in _shown(at)
    assert not any("1 by construction" in c.value for c in at.caption)


def test_paper_model_notes_the_spread_across_reconstructions_on_the_whole_cohort_only():
    from core.study.ensemble import robustness

    spread = robustness().set_index("key")  # the stored per-member table (tests/test_ensemble.py)
    at = run_page(PAGE, timeout=240)
    note = next(c.value for c in at.caption if c.value.startswith("Across "))
    for term in ("reason_dp", "ecog_ps", "sofa"):
        r = spread.loc[f"hr_{term}"]
        assert f"{r['2.5%']:.3g}–{r['97.5%']:.3g}" in note, (term, note)
    filtered = run_page(PAGE, timeout=240, f_ps=["PS 1", "PS 2"])
    assert not any(c.value.startswith("Across ") for c in filtered.caption)
