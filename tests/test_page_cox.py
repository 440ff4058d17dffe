"""AppTest of app_pages/cox.py: the page shows what core.stats.cox.fit computes on the active
cohort.

No number is typed here: the page must agree with core.stats.cox.fit on the same cohort
(core.stats.cox.fit itself
is checked against R in tests/test_cox.py) and with the published HRs in data/published.yaml.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.cohort.variables import add_derived
from core.stats.cox.diagnostics import bootstrap_cindex, ph_test
from core.stats.cox.fit import fit_cox
from core.stats.cox.selection import stepwise
from core.study.model import paper_model
from tests.apptest import (
    ROOT,
    USER_KEY,
    frame_with,
    query_value,
    run_page,
    shipped_cohort,
    uploaded_cohort,
)

PAGE = "app_pages/cox.py"  # relative to the repository root
PAPER = list(paper_model().covariates)


@pytest.fixture(scope="module")
def at() -> AppTest:
    return run_page(PAGE)


def test_default_is_the_papers_model(at):
    res = fit_cox(shipped_cohort(), "os_days", "os_event", PAPER, horizon_days=365)
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
    assert query_value(at, "cox_mode") == "paper" and query_value(at, "cox_hz") == "365"


def test_ph_table_matches_core(at):
    res = fit_cox(shipped_cohort(), "os_days", "os_event", PAPER, horizon_days=365)
    ph = ph_test(res)
    shown = frame_with(at, "chisq")
    assert shown["chisq"].tolist() == ph.table["chisq"].round(3).tolist()
    assert shown["df"].tolist() == ph.table["df"].tolist()


def test_downloads_present(at):
    labels = [b.label for b in at.get("download_button")]
    assert {"Forest PNG", "Forest SVG"} <= set(labels)
    assert any(lab.startswith("Table CSV") for lab in labels)


def test_pick_covariates_from_url():
    at = run_page(PAGE, cox_mode="pick", cox_covs="age,sofa", cox_hz="none")
    res = fit_cox(shipped_cohort(), "os_days", "os_event", ["age", "sofa"])
    table = frame_with(at, "HR")
    assert len(table) == 2
    assert table["HR"].tolist() == res.summary["hr"].round(2).tolist()
    assert query_value(at, "cox_covs") == "age,sofa"


def test_stepwise_trace_matches_core():
    at = run_page(PAGE, cox_mode="stepwise")
    cohort = add_derived(shipped_cohort())
    cands = [c for c in cox_page_defaults() if c in cohort.columns]
    sw = stepwise(shipped_cohort(), "os_days", "os_event", cands, horizon_days=365)
    trace = frame_with(at, "action")
    assert trace["variable"].tolist() == sw.trace["variable"].tolist()
    assert trace["action"].tolist() == sw.trace["action"].tolist()
    if sw.selected:
        table = frame_with(at, "HR")
        assert len(table) == len(sw.final.summary)


def cox_page_defaults() -> list[str]:
    import ast

    src = (ROOT / PAGE).read_text()
    tree = ast.parse(src)
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == (
            "DEFAULT_CANDIDATES"
        ):
            return ast.literal_eval(node.value)
    raise AssertionError("DEFAULT_CANDIDATES not found")


def test_endpoint_switch_changes_model():
    at = run_page(PAGE)
    before = frame_with(at, "HR")
    at.radio(key="cox_ep").set_value("pfs").run()
    assert not at.exception
    after = frame_with(at, "HR")
    res = fit_cox(shipped_cohort(), "pfs_days", "pfs_event", PAPER, horizon_days=365)
    assert after["HR"].tolist() == res.summary["hr"].round(2).tolist()
    assert not before.equals(after) or res.events == 0
    assert query_value(at, "cox_ep") == "pfs"


def test_bootstrap_runs_with_progress():
    at = run_page(PAGE)
    at.number_input(key="cox_nboot").set_value(20).run()
    at.button(key="cox_boot_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert "Corrected C" in metrics
    res = fit_cox(shipped_cohort(), "os_days", "os_event", PAPER, horizon_days=365)
    bc = bootstrap_cindex(
        shipped_cohort(), "os_days", "os_event", PAPER, n_boot=20, seed=2024, horizon_days=365
    )
    assert metrics["Apparent C"] == f"{res.concordance:.3f}"
    assert metrics["Corrected C"] == f"{bc.corrected:.3f}"


def test_bad_query_values_fall_back():
    at = run_page(PAGE, cox_mode="nonsense", cox_ep="xyz", cox_hz="??", cox_covs="not_a_column")
    assert query_value(at, "cox_mode") == "paper"
    assert query_value(at, "cox_ep") == "os"
    assert len(frame_with(at, "HR")) == 3


def test_unfittable_choice_gives_clear_error():
    # with the shared filter on CRS only, reason_dp is constant: a clear message, no traceback
    at = run_page(PAGE, f_reason="CRS", cox_mode="pick", cox_covs="reason_dp,sofa")
    errors = " ".join(e.value for e in at.error)
    assert "cannot be fitted" in errors and "constant" in errors and "reason_dp" in errors


def test_reconstruction_note_on_reconstructed_cohort(at):
    infos = " ".join(i.value for i in at.info)
    assert "not the paper's p-values or its variable selection" in infos
    assert "artefacts of the reconstruction" in infos
    res = fit_cox(shipped_cohort(), "os_days", "os_event", PAPER, horizon_days=365)
    s = res.summary.set_index("covariate")
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
    at = run_page(PAGE, cox_mode="stepwise")
    cands = [c for c in cox_page_defaults() if c in add_derived(shipped_cohort()).columns]
    sw = stepwise(shipped_cohort(), "os_days", "os_event", cands, horizon_days=365)
    infos = " ".join(i.value for i in at.info)
    extra = [c for c in sw.selected if c not in PAPER]
    assert ("also selects" in infos) == bool(extra)


def test_labels_from_dictionary_and_downloads_ignore_clicks():
    from core.cohort.schema import load_dictionary

    at = run_page(PAGE, cox_mode="pick", cox_covs="hypertension,prior_lines,sofa", cox_hz="365")
    shown = frame_with(at, "HR")["Covariate"].tolist()
    spec = load_dictionary()
    assert spec["hypertension"].display in shown and spec["prior_lines"].display in shown
    assert "SOFA (per point)" in shown
    assert all(b.proto.ignore_rerun for b in at.get("download_button"))


def test_filter_that_makes_a_covariate_constant_is_explained_in_words():
    from core.tables.cox import covariate_label

    page = run_page(PAGE, cox_mode="paper", f_reason="Sepsis")  # every patient: not DP
    (error,) = page.error
    assert covariate_label("reason_dp") in error.value
    assert "widen the filter" in error.value


def test_post_admission_covariate_is_warned_about():
    page = run_page(PAGE, cox_mode="pick", cox_covs="ecog_ps,steroids")
    assert any("immortal-time bias" in w.value for w in page.warning)
    paper = run_page(PAGE, cox_mode="paper")  # reason, PS, SOFA: all known at admission
    assert not any("immortal-time bias" in w.value for w in paper.warning)
