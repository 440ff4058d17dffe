"""Steps 1-4: who was admitted, why, how they were treated, who died within a year."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.cohort.db import ONE_YEAR_DAYS
from core.stats.survival import kaplan_meier
from core.study.published import DAYS_PER_MONTH
from core.study.story.common import (
    EMPTY,
    MISSING,
    REASON_PREFIX,
    StoryFigure,
    StoryStep,
    _cat_figure,
    _cont_figure,
    _deaths_within,
    _describe,
    _has,
    _isnan,
    _link,
    _missing_note,
    _months,
    _num,
    _pub,
    _sentence,
    _text_count,
    format_median_iqr,
    format_n_pct,
)


# --------------------------------------------------------------------------------------
# steps
# --------------------------------------------------------------------------------------
def step_admission(df: pd.DataFrame) -> StoryStep:
    """Step 1 — who was admitted (Table 1): size, age, sex, malignancy, PS, timing."""
    cols = ["age", "sex", "malignancy", "ecog_ps", "days_infusion_to_icu"]
    res = _describe(df, cols)
    n_pub = _pub()["meta"]["n"]
    figures = (
        StoryFigure("Patients", str(len(df)), str(n_pub), "Abstract and Table 1", len(df), n_pub),
        _cont_figure(res, "age", "Age (years)", "median_iqr"),
        _cat_figure(res, "male", "M", "Men"),
        _cat_figure(res, "malignancy", "DLBCL", "Diffuse large B-cell lymphoma"),
        _cat_figure(res, "malignancy", "ALL", "Acute lymphoblastic leukaemia"),
        _cont_figure(res, "ecog_ps", "ECOG performance status", "ecog_ps"),
        _cont_figure(
            res, "days_infusion_to_icu", "Days from CAR-T infusion to ICU admission", "car_t"
        ),
    )
    age = figures[1].live
    days = figures[6].live
    live = (
        f"The active cohort has **{len(df)} patients**: "
        + _sentence(
            ("age", "median age {} years", age),
            (
                "days from infusion to ICU",
                "ICU admission a median of {} days after the CAR-T cell infusion",
                days,
            ),
        )
        if len(df)
        else "No patient in the active cohort."
    )
    return StoryStep(
        key="admission",
        title="Who was admitted to the ICU",
        finding=(
            "Consecutive CAR-T cell recipients admitted to the ICU within 30 days of infusion "
            f"({_pub()['meta']['setting'].split(';')[0]}): mostly adults with diffuse large "
            "B-cell lymphoma, in fairly good general condition, admitted about a week after "
            "the infusion."
        ),
        live_text=live,
        figures=figures,
        link=_link("compare", "Open Table 1 (compare groups)", preset="table1"),
        terms=("ecog_ps", "car_t", "median_iqr", "reconstructed_cohort"),
        notes=_missing_note(df, cols),
    )


def step_reason(df: pd.DataFrame) -> StoryStep:
    """Step 2 — why they were admitted: the four reasons, SOFA, CRS, ICANS, infection."""
    cols = ["icu_reason", "sofa", "icans", "bacterial_infection"]
    res = _describe(df, cols)
    reasons = list(_pub()["groupings"]["icu_reason"]["levels"])
    figures = [
        _cat_figure(res, "icu_reason", r, f"{REASON_PREFIX}{r}", "crs" if "CRS" in r else None)
        for r in reasons
    ]
    figures += [
        _cont_figure(res, "sofa", "SOFA score at admission", "sofa"),
        _cat_figure(res, "icans", True, "Neurotoxicity (ICANS)", "icans"),
        _cat_figure(res, "bacterial_infection", True, "Documented bacterial infection", "sepsis"),
    ]
    top = max(figures[: len(reasons)], key=lambda f: -1 if _isnan(f.live_value) else f.live_value)
    top_reason = top.label.removeprefix(REASON_PREFIX)
    live = (
        f"In the active cohort the most frequent reason is **{top_reason}** ({top.live}); "
        f"median SOFA {figures[len(reasons)].live}."
        if len(df) and not _isnan(top.live_value)
        else "The reason for ICU admission is not available in the active cohort."
    )
    return StoryStep(
        key="reason",
        title="Why they came to the ICU",
        finding=(
            "Isolated cytokine release syndrome was the commonest reason, then documented "
            "bacterial sepsis (mostly catheter-related) and CRS that could not be told apart "
            "from sepsis; a few patients came for progression of their lymphoma. Organ "
            "failure was moderate (SOFA)."
        ),
        live_text=live,
        figures=tuple(figures),
        link=_link(
            "compare",
            "Open Table 3 (by reason for ICU admission)",
            preset="table3",
        ),
        terms=("crs", "sepsis", "icans", "sofa"),
        notes=_missing_note(df, cols),
    )


def step_treatment(df: pd.DataFrame) -> StoryStep:
    """Step 3 — how they were treated: tocilizumab, steroids, organ support, ICU stay."""
    cols = [
        "tocilizumab",
        "steroids",
        "vasopressors_day1",
        "mech_vent_icu",
        "icu_los_days",
    ]
    res = _describe(df, cols)
    both = _text_count("both_tocilizumab_steroids")
    if _has(df, "tocilizumab", "steroids") and len(df):
        known = df[["tocilizumab", "steroids"]].notna().all(axis=1)  # both recorded
        both_given = df["tocilizumab"].fillna(False).astype(bool) & df["steroids"].fillna(
            False
        ).astype(bool)
        n_both = int((both_given & known).sum())
        live_both = format_n_pct(n_both, 100 * n_both / int(known.sum()))
    else:
        n_both, live_both = math.nan, MISSING
    figures = (
        _cat_figure(res, "tocilizumab", True, "Tocilizumab", "tocilizumab"),
        _cat_figure(res, "steroids", True, "Steroids", "steroids"),
        StoryFigure(
            "Both tocilizumab and steroids",
            live_both,
            format_n_pct(both["value"]),
            both["source"],
            n_both,
            both["value"],
        ),
        _cat_figure(res, "vasopressors_day1", True, "Vasopressors at day 1"),
        _cat_figure(res, "mech_vent_icu", True, "Mechanical ventilation during the ICU stay"),
        _cont_figure(res, "icu_los_days", "ICU length of stay (days)", "median_iqr"),
    )
    live = (
        "In the active cohort: "
        + _sentence(
            ("tocilizumab", "tocilizumab {}", figures[0].live),
            ("steroids", "steroids {}", figures[1].live),
            ("ICU length of stay", "ICU stay {} days", figures[5].live),
        )
        if len(df)
        else "No patient in the active cohort."
    )
    return StoryStep(
        key="treatment",
        title="How they were treated",
        finding=(
            "Most patients received the specific CRS treatments (tocilizumab, then steroids) "
            "and broad-spectrum antibiotics; about a quarter needed vasopressors on the first "
            "day, invasive ventilation was rare and ICU stays were short."
        ),
        live_text=live,
        figures=figures,
        link=_link(
            "compare",
            "Compare treatments by reason for ICU admission",
            preset="custom",
            by="icu_reason",
            vars=[*cols, "antibiotics", "siltuximab", "anakinra"],
        ),
        terms=("tocilizumab", "steroids", "siltuximab", "anakinra"),
        notes=_missing_note(df, cols),
    )


def step_one_year(df: pd.DataFrame) -> StoryStep:
    """Step 4 — who died: 1-year deaths, ICU/hospital deaths, median OS and follow-up."""
    sv = _pub()["survival"]
    cols = ["os_days", "os_event", "icu_death", "hospital_death"]
    res = _describe(df, ["icu_death", "hospital_death"])
    ok = _has(df, "os_days", "os_event") and len(df) > 0
    n = len(df)
    if ok:
        d1y = _deaths_within(df, ONE_YEAR_DAYS)
        deaths = int((df["os_event"] == 1).sum())
        med = kaplan_meier(df, "os_days", "os_event").medians.iloc[0]
        fu = np.quantile(df["os_days"].to_numpy(dtype=float) / DAYS_PER_MONTH, [0.5, 0.25, 0.75])
        live_d1y = format_n_pct(d1y, 100 * d1y / n)
        live_deaths = format_n_pct(deaths, 100 * deaths / n)
        med_m, lo_m, hi_m = (_months(med[k]) for k in ("median", "lower", "upper"))
        live_med = (
            "not reached"
            if _isnan(med_m)
            else f"{med_m:.1f} [95% CI {_num(round(lo_m, 1))}–{_num(round(hi_m, 1))}]"
        )
        live_fu = format_median_iqr(*(round(float(x), 1) for x in fu))
    else:
        d1y = deaths = med_m = math.nan
        fu = [math.nan] * 3
        live_d1y = live_deaths = live_med = live_fu = MISSING if len(df) else EMPTY
    pub_d1y = sv["deaths_within_1y"]["value"]
    n_pub = _pub()["meta"]["n"]
    os_pub = sv["median_os_months"]
    fu_pub = sv["median_followup_months"]
    upper = "NA" if os_pub["upper"] is None else _num(os_pub["upper"])
    figures = (
        StoryFigure(
            "Died within one year of ICU admission",
            live_d1y,
            format_n_pct(pub_d1y, 100 * pub_d1y / n_pub),
            sv["deaths_within_1y"]["source"],
            d1y,
            pub_d1y,
            "os_pfs",
        ),
        _cat_figure(res, "icu_death", True, "Died in the ICU"),
        _cat_figure(res, "hospital_death", True, "Died in the hospital"),
        StoryFigure(
            "Deaths at last follow-up",
            live_deaths,
            format_n_pct(sv["deaths_at_last_followup"]["value"]),
            sv["deaths_at_last_followup"]["source"],
            deaths,
            sv["deaths_at_last_followup"]["value"],
        ),
        StoryFigure(
            "Median overall survival (months)",
            live_med,
            f"{_num(os_pub['value'])} [95% CI {_num(os_pub['lower'])}–{upper}]",
            os_pub["source"],
            med_m,
            os_pub["value"],
            "kaplan_meier",
        ),
        StoryFigure(
            "Follow-up (months)",
            live_fu,
            format_median_iqr(fu_pub["value"], fu_pub["q1"], fu_pub["q3"]),
            fu_pub["source"],
            float(fu[0]),
            fu_pub["value"],
            "follow_up",
        ),
    )
    notes = list(_missing_note(df, cols))
    conflict = next((c for c in _pub()["conflicts"] if c["id"] == "a"), None)
    if conflict is not None:
        notes.append(f"Paper conflict (a): {conflict['resolution']}")
    live = (
        f"In the active cohort **{live_d1y}** died within a year: "
        + _sentence(
            ("ICU deaths", "{} in the ICU", figures[1].live),
            ("hospital deaths", "{} in the hospital", figures[2].live),
        )
        if ok
        else "Survival times are not available in the active cohort."
    )
    return StoryStep(
        key="one_year",
        title="Who died within a year",
        finding=(
            "Very few patients died in the ICU, but about a third died within a year, mostly "
            "of their haematological disease; median overall survival was about a year and a "
            "half (“meaningful survival could be achieved in up to half” of the patients)."
        ),
        live_text=live,
        figures=figures,
        link=_link(
            "compare",
            "Open Table 4 (1-year survivors vs decedents)",
            preset="table4",
        ),
        terms=("os_pfs", "censoring", "kaplan_meier", "follow_up"),
        notes=tuple(notes),
    )
