"""Hazard calculator: predicted survival for up to four patient profiles.

View state (CalculatorView: model, profiles, reference; URL keys ``calc_*``, kept across page
switches) -> active cohort -> core.study.calculator (make_profile / build_model /
predict_profiles) -> chart and core.tables.calculator tables.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from app_pages._ui.calculator import (
    EXPORT_WIDTH,
    calculator_model,
    disclaimer,
    downloads,
    profile_inputs,
    reference_choice,
    sofa_expander,
    survival_table,
    url_refusals,
)
from app_pages._ui.cohort import cohort_sidebar, page_header, require_columns
from app_pages._ui.ensemble import across_note
from app_pages._ui.render import chart_spec, md, show_chart
from app_pages._ui.risk import relative_hazards, risk_section, scope_expander, summary_download
from app_pages._ui.views.calculator import CALCULATOR as VIEW
from app_pages._ui.views.calculator import MODES, UNCERTAINTY
from core.charts import cox as ch
from core.study.calculator import (
    MAX_PROFILES,
    TABLE_DAYS,
    ProfileError,
    extra_candidates,
    make_profile,
    parse_times,
    predict_profiles,
    range_warnings,
)
from core.study.risk import discrimination

page_header(
    "Hazard calculator",
    "Predicted survival over the first year after ICU admission for up to four patient "
    "profiles, from the paper's Cox model or a model refitted on the active cohort.",
)
view = cohort_sidebar()
st.warning(disclaimer(view))
for msg in url_refusals(VIEW):  # before the inputs, which drop such values from the link
    st.error(msg)
if not require_columns(
    view, ["icu_reason", "ecog_ps", "sofa", "os_days", "os_event"], "The hazard calculator"
):
    st.stop()
df = view.df

# ---- view state: model, profiles --------------------------------------------------------------
m1, m2, m3 = st.columns([2, 1, 1])
mode = m1.radio("Model", list(MODES), horizontal=True, **VIEW.widget("mode", MODES))
n = int(m2.number_input("Profiles", 1, MAX_PROFILES, **VIEW.widget("n")))
m3.toggle("95% band", **VIEW.widget("band"))
extra_cols: list[str] = []
if mode == "refit":
    options = extra_candidates(df)
    extra_cols = st.multiselect(
        "Extra covariates (refit mode)",
        options,
        help="Added to reason + ECOG PS + SOFA; each profile then needs a value.",
        **VIEW.widget("extra", options),
    )
    st.caption(
        "Refit: a Cox model (Efron ties) fitted on the active cohort; the band is R's "
        "survfit(coxph, newdata) 95% log CI."
    )
else:
    st.info(
        "Published mode: the paper's hazard ratios are used as fixed coefficients "
        "(log HR); **the baseline hazard is estimated from the active cohort with the "
        "published coefficients held fixed** (R: coxph(..., init = log(HR), iter.max = 0) then "
        "survfit)."
    )
    st.radio(
        "The 95% band includes",
        list(UNCERTAINTY),
        horizontal=True,
        help="The paper gives each HR's 95% CI but no covariances: the band uses standard "
        "errors from those CIs with zero covariances (an approximation). 'Baseline hazard "
        "only' treats the published HRs as exactly known and is much narrower.",
        **VIEW.widget("unc", UNCERTAINTY),
    )
extras = profile_inputs(VIEW, df, n, extra_cols)
sofa_expander(VIEW, n)
state = VIEW.current()  # (the SOFA button's callback ran before this run)

# ---- profiles -> model -> prediction ----------------------------------------------------------
profiles, errors = [], []
for i in range(n):
    try:
        profiles.append(make_profile(**state.profile(i), extra=extras[i]))
    except ProfileError as exc:
        errors.append(f"Profile {i + 1}: {exc}")
for e in errors:
    st.error(md(e))
if errors:
    st.stop()
for p in profiles:
    for w in range_warnings(p, df):
        st.warning(md(f"{p.label}: {w}"))
typed = st.text_input(
    "Survival also at (days, months or years)", placeholder="e.g. 28, 6 months, 1 year",
    max_chars=80, **VIEW.widget("times"),
)  # fmt: skip
try:
    model = dataclasses.replace(calculator_model(view, mode, extra_cols), uncertainty=state.unc)
    try:
        extra_days = parse_times(typed, model.horizon_days)
    except ValueError as exc:
        st.warning(md(f"Time points not added: {exc}."))
        extra_days = ()
    pred = predict_profiles(model, profiles, days=sorted({*TABLE_DAYS, *extra_days}))
except ValueError as exc:
    st.error(md(f"No prediction: {exc}"))
    st.stop()
for w in model.result.warnings:
    st.warning(md(w))

# ---- results ----------------------------------------------------------------------------------
fig = chart_spec(
    ch.profile_curves_chart,
    pred.curves,
    horizon=model.horizon_days,
    band=state.band,
    width=EXPORT_WIDTH,
)
show_chart(
    {**fig, "width": "container"},
    width="stretch",
    alt="Predicted survival curves of each profile with 95% bands; the values are in the "
    "table below.",
)
st.caption(f"{model.method} {discrimination(model)}.")
survival_table(pred, model)
if not extra_cols:  # the three reference profiles under the same model, over the ensemble
    across_note(view, [f"calc_{mode}_*"], f"{mode} model, 1-year survival of reference profiles")

st.markdown("**Risk in words: of 100 patients like this one**")
days = sorted({int(d) for d in pred.table["day"]})
day = st.selectbox("At day", days, **VIEW.widget("day", days))
risk_section(pred, profiles, df, day)
scope_expander(df, model)

st.markdown("**Relative hazard**")
reference = reference_choice(VIEW, profiles)
relative_hazards(profiles, reference, model)
summary_download(pred, profiles, df, day, reference)

downloads(pred, fig)
st.caption(
    f"{model.n} patients, {model.events} deaths within {model.horizon_days:g} days in the active "
    f"cohort ({md(view.name)}). Profiles are shared through the page link."
)
