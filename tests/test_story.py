"""Tests of core/study/story.py (the guided story) and core/study/glossary.py (its terms and
tooltips).

Expected values come from the paper (``data/published.yaml``, read through core.study.published),
from R (``tests.r_oracle.run_r``, the R calls are in the scripts below) or from hand
calculation — never from the story's own output.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from core.cohort.db import connect, fetch_cohort
from core.study import glossary
from core.study import story as st_
from core.study.model import paper_model
from core.study.published import DAYS_PER_MONTH, load_published
from core.study.story import common as story_common
from core.study.story import model as story_model
from core.study.story.common import (
    DP,
    MISSING,
    REASON_PREFIX,
    StoryFigure,
    StoryStep,
    format_median_iqr,
    format_n_pct,
)
from core.study.story.model import cox_step_fit
from core.study.story.survival import one_year_by_group
from tests.r_oracle import run_r

TOL = 1e-6
PUB = load_published()


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    con = connect()
    try:
        return fetch_cohort(con)
    finally:
        con.close()


@pytest.fixture(scope="module")
def story(cohort) -> dict[str, StoryStep]:
    return {s.key: s for s in st_.build_story(cohort)}


def _fig(step: StoryStep, label_start: str) -> StoryFigure:
    return next(f for f in step.figures if f.label.startswith(label_start))


# ---------------------------------------------------------------------------------------
# structure
# ---------------------------------------------------------------------------------------
def test_story_has_five_to_eight_steps_in_order(story):
    keys = list(story)
    assert 5 <= len(keys) <= 8
    assert keys == [
        "admission",
        "reason",
        "treatment",
        "one_year",
        "cox",
        "survival_ps",
        "survival_reason",
        "takeaways",
    ]
    for step in story.values():
        assert step.figures, step.key
        assert step.finding and step.live_text
        for term in step.terms:  # every term links to a glossary entry
            glossary.term(term)
        for f in step.figures:
            if f.term:
                glossary.term(f.term)


def test_links_name_a_page_and_settings_of_its_view(story):
    pages = {"compare", "survival", "cox", "reproduction", "validation"}
    for step in story.values():
        assert step.link.page in pages, step.link
        assert all(isinstance(k, str) and not k.endswith("_") for k in step.link.settings)
    assert story["survival_ps"].link.settings["group"] == "ecog_ps"
    assert story["survival_ps"].link.settings["preset"] == "fig2"
    assert story["survival_reason"].link.settings["group"] == "icu_reason"
    assert story["admission"].link.settings == {"preset": "table1"}
    assert story["takeaways"].link.page == "validation"  # the last step: the user's own cohort
    # the survival views open on the paper's Kaplan-Meier window
    assert story["survival_ps"].link.settings["h"] == PUB["survival"]["horizon_days"]["value"]


# ---------------------------------------------------------------------------------------
# published figures: read from data/published.yaml, never typed
# ---------------------------------------------------------------------------------------
def test_published_side_equals_the_paper(story):
    adm = story["admission"]
    assert _fig(adm, "Patients").published_value == PUB["meta"]["n"]
    assert _fig(adm, "Age").published == "60 [37–67.5]"  # Table 1, Age 60 [37–67.5]
    assert _fig(adm, "Men").published == "42 (59%)"  # Table 1, Male gender 42 (59%)
    cox = story["cox"]
    model = paper_model()
    assert [f.published_value for f in cox.figures] == [t.hr for t in model.terms]
    assert _fig(cox, "Hazard ratio: ECOG").published == "1.97 [1.14–3.41]"  # abstract
    one = story["one_year"]
    assert _fig(one, "Median overall survival").published == "17.8 [95% CI 17.1–NA]"
    assert _fig(one, "Died within one year").published_value == 26  # Table 4 header


def test_published_numbers_follow_the_yaml_not_the_code(monkeypatch, cohort):
    """Change the published figures: the story's published side must change with them."""
    altered = copy.deepcopy(load_published())
    altered["meta"]["n"] = 999
    altered["survival"]["median_os_months"]["value"] = 42.4
    monkeypatch.setattr(story_common, "load_published", lambda: altered)
    model = paper_model()
    terms = tuple(dataclasses.replace(t, hr=9.99, lower=1.0, upper=20.0) for t in model.terms)
    monkeypatch.setattr(story_model, "paper_model", lambda: dataclasses.replace(model, terms=terms))
    steps = {s.key: s for s in st_.build_story(cohort)}
    assert _fig(steps["admission"], "Patients").published == "999"
    assert _fig(steps["one_year"], "Median overall survival").published.startswith("42.4 ")
    assert all(f.published_value == 9.99 for f in steps["cox"].figures)


# ---------------------------------------------------------------------------------------
# live figures on the full reconstructed cohort: the paper's counts (exact by construction)
# ---------------------------------------------------------------------------------------
def test_live_counts_match_the_published_tables(story):
    adm = story["admission"]
    assert _fig(adm, "Patients").live_value == PUB["meta"]["n"]
    assert _fig(adm, "Men").live_value == 42  # Table 1
    assert _fig(adm, "Diffuse large").live_value == 53  # Table 1
    reasons = story["reason"]
    for reason, n in PUB["groupings"]["icu_reason"]["levels"].items():
        assert _fig(reasons, f"{REASON_PREFIX}{reason}").live_value == n
    by_reason = story["survival_reason"]
    # Table 4: 1-year decedents per reason (CRS 11, CRS or sepsis 3, Sepsis 8, DP 4)
    for f in by_reason.figures[:4]:
        assert f.live_value == f.published_value, f.label
    early = _fig(by_reason, "Disease progression: died within 3 months")
    assert early.live_value == PUB["survival"]["dp_deaths_within_90d"]["value"]
    treat = story["treatment"]
    both = _fig(treat, "Both tocilizumab")
    assert both.live_value == 30  # Results text: thirty patients received both


def test_known_conflict_is_explained(story):
    one = story["one_year"]
    deaths = _fig(one, "Deaths at last follow-up")
    # conflict (a): two deaths after one year are needed for the median OS of 17.8 months
    assert deaths.published_value == 26
    assert deaths.live_value == 28
    assert any("conflict (a)" in n for n in one.notes)


# ---------------------------------------------------------------------------------------
# live statistics = R
# ---------------------------------------------------------------------------------------
R_SCRIPT = """
d <- read.csv(Sys.getenv("ORACLE_IN"))
d$reason_dp <- as.integer(d$icu_reason == "Disease progression")
t1 <- pmin(d$os_days, 365); e1 <- as.integer(d$os_event == 1 & d$os_days <= 365)
fit <- coxph(Surv(t1, e1) ~ reason_dp + ecog_ps + sofa, data = d, ties = "efron")
ci <- exp(confint(fit))
res <- data.frame(kind = "cox", name = names(coef(fit)), value = exp(coef(fit)),
                  lower = ci[, 1], upper = ci[, 2])
km <- survfit(Surv(os_days, os_event) ~ 1, data = d)
tab <- summary(km)$table
res <- rbind(res, data.frame(kind = "median_os", name = "all", value = tab[["median"]],
                             lower = tab[["0.95LCL"]], upper = tab[["0.95UCL"]]))
for (g in c("ecog_ps", "icu_reason")) {
  f <- survfit(as.formula(paste("Surv(os_days, os_event) ~", g)), data = d)
  s <- summary(f, times = 365, extend = TRUE)
  res <- rbind(res, data.frame(kind = paste0("s1y_", g),
                               name = sub(paste0(g, "="), "", as.character(s$strata)),
                               value = s$surv, lower = s$lower, upper = s$upper))
}
sd <- survdiff(Surv(os_days, os_event) ~ ecog_ps, data = d)
res <- rbind(res, data.frame(kind = "logrank_ps", name = "chisq", value = sd$chisq,
                             lower = NA, upper = NA))
w <- suppressWarnings(wilcox.test(ecog_ps ~ outcome_1y, data = d))
res <- rbind(res, data.frame(kind = "wilcox_ps", name = "p", value = w$p.value,
                             lower = NA, upper = NA))
write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


@pytest.fixture(scope="module")
def r_results(cohort) -> pd.DataFrame:
    cols = ["os_days", "os_event", "icu_reason", "ecog_ps", "sofa", "outcome_1y"]
    return run_r(R_SCRIPT, cohort[cols])


def _r(r_results: pd.DataFrame, kind: str) -> pd.DataFrame:
    return r_results[r_results["kind"] == kind].set_index("name")


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= TOL


def test_cox_step_equals_r_coxph(story, cohort, r_results):
    r = _r(r_results, "cox")
    for name, f in zip(paper_model().covariates, story["cox"].figures, strict=True):
        assert abs(f.live_value - r.loc[name, "value"]) <= TOL, name
    fit = cox_step_fit(cohort)
    summary = fit.summary.set_index("covariate")
    for name in paper_model().covariates:
        assert abs(summary.loc[name, "lower"] - r.loc[name, "lower"]) <= TOL
        assert abs(summary.loc[name, "upper"] - r.loc[name, "upper"]) <= TOL


def test_median_os_equals_r_survfit(story, r_results):
    r = _r(r_results, "median_os").loc["all"]
    live = _fig(story["one_year"], "Median overall survival").live_value
    assert abs(live - r["value"] / DAYS_PER_MONTH) <= TOL


@pytest.mark.parametrize("group", ["ecog_ps", "icu_reason"])
def test_one_year_survival_by_group_equals_r_summary_survfit(cohort, r_results, group):
    r = _r(r_results, f"s1y_{group}")
    got = one_year_by_group(cohort, group).set_index("group")
    assert len(got) == len(r)
    for level, row in got.iterrows():
        ref = r.loc[str(level)]
        assert _close(row["surv_1y"], ref["value"]), level
        assert _close(row["lower"], ref["lower"]), level
        assert _close(row["upper"], ref["upper"]), level


def test_ps_step_tests_equal_r(story, r_results):
    step = story["survival_ps"]
    chisq = _r(r_results, "logrank_ps").loc["chisq", "value"]
    assert f"χ² = {chisq:.1f}" in _fig(step, "Survival curves by PS").live
    p = _r(r_results, "wilcox_ps").loc["p", "value"]
    assert abs(_fig(step, "p (survivors").live_value - p) <= TOL
    # Table 4 prints p = 0.023: the reconstruction keeps it on the same side of 0.05
    assert (p < 0.05) == (PUB_P_PS < 0.05)


PUB_P_PS = next(v for v in PUB["variables"] if v["name"] == "ecog_ps")["p"]["outcome_1y"]


# ---------------------------------------------------------------------------------------
# hand-calculated Kaplan-Meier at one year
# ---------------------------------------------------------------------------------------
def test_one_year_by_group_by_hand():
    df = pd.DataFrame(
        {
            "os_days": [100, 200, 300, 400, 50, 60, 10],
            "os_event": [1, 0, 1, 0, 1, 1, 0],
            "g": ["A", "A", "A", "A", "B", "B", "C"],
        }
    )
    got = one_year_by_group(df, "g").set_index("group")
    # A: S = 3/4 after day 100, then x 1/2 (2 at risk, 1 death) at day 300 -> 0.375
    assert got.loc["A", "surv_1y"] == pytest.approx(0.375, abs=TOL)
    assert got.loc["A", "deaths_1y"] == 2
    # B: both die before one year -> 0
    assert got.loc["B", "surv_1y"] == 0.0
    assert got.loc["B", "deaths_1y"] == 2
    # C: censored at day 10, nothing known at one year
    assert math.isnan(got.loc["C", "surv_1y"])
    assert got["n"].tolist() == [4, 2, 1]


def test_one_year_by_group_rejects_missing_columns():
    with pytest.raises(ValueError, match="'g'"):
        one_year_by_group(pd.DataFrame({"os_days": [1.0], "os_event": [1]}), "g")


# ---------------------------------------------------------------------------------------
# formatting (hand)
# ---------------------------------------------------------------------------------------
def test_formatting():
    assert format_median_iqr(60, 37, 67.5) == "60 [37–67.5]"
    assert format_median_iqr(0.66, 0.2, 1.07) == "0.66 [0.2–1.07]"
    assert format_median_iqr(np.nan, 1, 2) == "NA"
    assert format_n_pct(42, 100 * 42 / 71) == "42 (59%)"
    assert format_n_pct(4, 100 * 4 / 71) == "4 (5.6%)"
    assert format_n_pct(3, of=4) == "3 of 4"
    assert format_n_pct(30) == "30"


# ---------------------------------------------------------------------------------------
# filtered, empty and uploaded cohorts: messages, never exceptions
# ---------------------------------------------------------------------------------------
def test_empty_cohort(cohort):
    steps = st_.build_story(cohort.iloc[0:0])
    assert len(steps) == len(st_.STEPS)
    assert all(any("No patient" in n for n in s.notes) or s.key == "cox" for s in steps)
    cox = next(s for s in steps if s.key == "cox")
    assert any("cannot be fitted" in n for n in cox.notes)
    assert cox.chart is None


def test_cohort_without_disease_progression(cohort):
    steps = {s.key: s for s in st_.build_story(cohort[cohort["icu_reason"] != DP])}
    # reason_dp is constant: the paper's model cannot be refitted, the story says why
    assert any("cannot be fitted" in n for n in steps["cox"].notes)
    assert all(f.live == "not estimable" for f in steps["cox"].figures)
    assert "No patient admitted for disease progression" in steps["survival_reason"].live_text


def test_cohort_with_few_columns():
    df = pd.DataFrame({"os_days": [10.0, 20, 400, 500], "os_event": [1, 0, 1, 0]})
    steps = {s.key: s for s in st_.build_story(df)}
    assert _fig(steps["admission"], "Age").live == MISSING
    assert any("no column" in n for n in steps["admission"].notes)
    assert _fig(steps["one_year"], "Died within one year").live_value == 1
    assert steps["survival_ps"].chart is None


def test_build_story_rejects_non_frames():
    with pytest.raises(ValueError, match="DataFrame"):
        st_.build_story([1, 2, 3])


# ---------------------------------------------------------------------------------------
# core.study.glossary
# ---------------------------------------------------------------------------------------
REQUIRED = [
    "SOFA",
    "ECOG PS",
    "CRS",
    "ICANS",
    "axi-cel",
    "tisa-cel",
    "brexu-cel",
    "bb2121",
    "ide-cel",
    "UCART19",
    "censoring",
    "Kaplan–Meier",
    "Kaplan-Meier",
    "log-rank",
    "hazard ratio",
    "C-index",
    "Fisher",
    "Wilcoxon",
    "Kruskal–Wallis",
    "Cox model",
]


@pytest.mark.parametrize("name", REQUIRED)
def test_required_terms_have_a_tooltip(name):
    text = glossary.help_text(name)
    assert 20 <= len(text) <= 220, text
    assert glossary.term(name).definition


def test_aliases_resolve_to_the_same_term():
    assert glossary.term("bb2121") is glossary.term("ide-cel") is glossary.term("Abecma")
    assert glossary.term("kaplan meier") is glossary.term("Kaplan–Meier estimator")
    assert glossary.term("  sofa ") is glossary.term("SOFA score")


def test_unknown_term_is_a_clear_error():
    with pytest.raises(ValueError, match="not a glossary term"):
        glossary.help_text("APACHE II")
    with pytest.raises(ValueError, match="non-empty"):
        glossary.term("")


def test_terms_are_unique_and_linkable():
    keys = [t.key for t in glossary.TERMS]
    assert len(keys) == len(set(keys))
    for t in glossary.TERMS:
        assert t.anchor.replace("_", "").isalnum() and t.anchor.islower()
        assert t.section in glossary.SECTIONS
    assert glossary.glossary_url("hazard ratio") == "glossary#hazard_ratio"
    assert glossary.markdown_link("sofa") == "[SOFA score](glossary#sofa)"
    assert glossary.help_text("sofa", link=True).endswith("(glossary#sofa)")
    sections = glossary.terms_by_section()
    assert sum(len(v) for v in sections.values()) == len(glossary.TERMS)


def test_glossary_types_no_published_figure():
    """Published numbers live in data/published.yaml only (core/study/published.py)."""
    hrs = [f"{t.hr:.2f}" for t in paper_model().terms]
    text = " ".join(t.definition + t.short + t.in_this_study for t in glossary.TERMS)
    assert not any(h in text for h in hrs)


@pytest.mark.parametrize("dropped", [["tocilizumab", "steroids"], ["age", "icu_los_days"]])
def test_upload_missing_optional_columns_tells_what_is_not_recorded(dropped):
    """A paper-format upload without optional columns: no crash (the session database holds
    them as empty columns), and the story names what is missing instead of inlining it."""
    from core.cohort import db, ingest

    raw = db.read_cohort_csv().drop(columns=dropped).to_csv(index=False).encode()
    cohort = db.fetch_cohort(ingest.load_into_session(ingest.read_cohort(raw, "upload.csv")))
    assert cohort[dropped].isna().all().all()  # present, empty
    steps = {s.key: s for s in st_.build_story(cohort)}
    for step in steps.values():
        assert "not in this cohort years" not in step.live_text
        assert "not in this cohort days" not in step.live_text
    text = steps["treatment"].live_text + steps["admission"].live_text
    assert "not recorded in this cohort" in text


def test_story_on_generic_survival_data():
    from core.cohort import db

    cohort = db.read_cohort_csv()[["patient_id", "os_days", "os_event", "ecog_ps"]]
    steps = st_.build_story(cohort)
    assert len(steps) == len(st_.STEPS)
    assert all(" not in this cohort " not in s.live_text for s in steps)


@pytest.mark.parametrize(
    "label,live,pub,mark",
    [
        ("Patients", 71, 71, "✓"),
        ("Age", 60.4, 60, "✓"),  # within half a unit of the printed 60
        ("Deaths", 28, 26, "≈"),  # within 10%
        ("Deaths", 40, 26, "✗"),
        ("p (survivors vs decedents)", 0.0012, 0.023, "≈"),  # same side of 0.05, factor 19
        ("p (survivors vs decedents)", 0.01, 0.023, "✓"),  # within a factor of 3
        ("p (survivors vs decedents)", 0.2, 0.023, "✗"),  # the other side of 0.05
        ("Patients", None, 71, ""),
    ],
)
def test_live_vs_published_mark(label, live, pub, mark):
    assert StoryFigure(label, "", "", "", live, pub).agreement == mark
