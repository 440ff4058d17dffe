"""Cox model: multivariable Cox regression on the active cohort, beside the paper's model.

View state (CoxView) -> active cohort -> core.stats.cox (fit_cox / stepwise; the diagnostics in
app_pages._ui.cox) -> core.charts.cox charts and core.tables.cox tables.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.cohort import cohort_sidebar, page_header, require_columns
from app_pages._ui.cox import (
    HELP,
    TEST_HELP,
    fit_error,
    model_tab,
    ph_section,
    reconstruction_note,
    stepwise_tab,
)
from app_pages._ui.cox_checks import bootstrap_section, calibration_section, epv_section
from app_pages._ui.ensemble import across_note
from app_pages._ui.render import post_admission_warning
from app_pages._ui.views.cox import COX as VIEW
from app_pages._ui.views.cox import (
    ENDPOINTS,
    HORIZONS,
    MODES,
    PAPER,
    TESTS,
    bounds,
    horizon_days,
)
from core.cohort.variables import DERIVED_INDICATORS, NOT_PREDICTORS, add_derived, is_post_admission
from core.stats.cox.fit import fit_cox
from core.stats.cox.selection import stepwise
from core.study.published import load_published
from core.tables.cox import covariate_label

# columns of the active cohort the paper's model needs (a derived indicator: its source column)
PAPER_COLUMNS = [DERIVED_INDICATORS.get(c, (c,))[0] for c in PAPER.covariates]


# Cached on the identity of the rows (ActiveCohort.key: cohort + filter), not on the frame:
# ``df`` is always add_derived(view.df), so the key names it; hashing it on every call
# cost more than the cached fit.
@st.cache_data(show_spinner=False, max_entries=64)
def _fit(cohort_key: str, duration, event, covs, horizon, _df: pd.DataFrame):
    return fit_cox(_df, duration, event, list(covs), horizon_days=horizon)


@st.cache_data(show_spinner="Stepwise selection...", max_entries=32)
def _stepwise(cohort_key: str, duration, event, cands, horizon, test, _df: pd.DataFrame):
    rule = {"entry": PAPER.entry_p, "removal": PAPER.removal_p}  # the paper's selection rule
    return stepwise(_df, duration, event, list(cands), horizon_days=horizon, test=test, **rule)


def _paper_refit(cohort_key: str, df: pd.DataFrame) -> pd.DataFrame | None:
    """The paper's model refitted on the active cohort (its endpoint and horizon)."""
    try:
        args = (PAPER.duration, PAPER.event, PAPER.covariates, PAPER.horizon_days)
        return _fit(cohort_key, *args, df).summary
    except ValueError:
        return None


page_header(
    "Cox model",
    "Multivariable Cox regression on the active cohort, beside the paper's model "
    "(reason for ICU admission, ECOG PS and SOFA; 1-year mortality).",
)
view = cohort_sidebar()
if not require_columns(view, list(ENDPOINTS["os"][:2]), "The Cox model"):
    st.stop()
df = add_derived(view.df)
options = [c for c in df.columns if c not in NOT_PREDICTORS]
pub = load_published()

c1, c2, c3 = st.columns([1.2, 1.2, 1])
c1.radio("Endpoint", list(ENDPOINTS), **VIEW.widget("endpoint", ENDPOINTS))
c2.radio("Horizon", list(HORIZONS), **VIEW.widget("hz", HORIZONS))
if VIEW.value("hz") == "custom":
    c3.number_input("Censor at day", step=30, **bounds("hd"), **VIEW.widget("hd"))
state = VIEW.current()
duration, event, ep_name = ENDPOINTS[state.endpoint]
if not require_columns(view, [duration, event], ep_name):
    st.stop()
horizon = horizon_days(state)

st.radio("Covariates", list(MODES), horizontal=True, **VIEW.widget("mode", MODES))
if VIEW.value("mode") == "pick":
    st.multiselect("Covariates in the model", options, **VIEW.widget("covs", options))
elif VIEW.value("mode") == "stepwise":
    s1, s2 = st.columns([3, 1])
    s1.multiselect("Candidate covariates", options, **VIEW.widget("cands", options))
    s2.radio("p-values", list(TESTS), help=TEST_HELP, **VIEW.widget("test", TESTS))
state = VIEW.current()

hz_text = f"censored at day {horizon:g}" if horizon else "all follow-up"
st.caption(
    f"{ep_name}, {hz_text}; Efron ties (R coxph); {view.n} of {view.n_total} patients "
    f"({view.name}). The paper: {pub['cox']['source']}.",
    help=HELP["efron"],
)

# ---- the model: the paper's, the chosen covariates or the stepwise selection ---------------
sw = None
covs: list[str] = []
try:
    if state.mode == "paper":
        covs = list(PAPER.covariates)
        if not require_columns(view, PAPER_COLUMNS, "The paper's model"):
            st.stop()
    elif state.mode == "pick":
        covs = list(state.covs)
    else:
        if not state.cands:
            st.info("Choose at least one candidate covariate.")
            st.stop()
        sw = _stepwise(view.key, duration, event, state.cands, horizon, state.test, df)
        covs = list(sw.selected)
    if not covs:
        st.info(
            "No covariate selected." + (f" Stepwise: {sw.stop_reason}." if sw is not None else "")
        )
        if sw is not None and len(sw.trace):
            st.dataframe(sw.trace, hide_index=True)
        st.stop()
    res = _fit(view.key, duration, event, tuple(covs), horizon, df)
except ValueError as exc:  # CoxFitError included: a plain-language reason
    fit_error(exc, covs)
    st.stop()

for w in res.warnings:
    st.warning(w)
# baseline Cox from ICU admission: a later-measured covariate borrows immortal time
late = [covariate_label(c) for c in covs if is_post_admission(c)]
post_admission_warning(late, "a Cox model from admission")
if view.reconstructed:
    st.info(reconstruction_note(pub["cox"], _paper_refit(view.key, df), sw))
if state.mode == "paper" and state.endpoint == "os" and horizon == PAPER.horizon_days:
    across_note(view, [f"hr_{c}" for c in PAPER.covariates], "the paper's model refitted")

tab_model, tab_diag, tab_step = st.tabs(["Model", "Diagnostics", "Stepwise trace"])
with tab_model:
    title = f"Hazard ratios, {ep_name.split(' (')[0].lower()} ({hz_text})"
    model_tab(res, state, title, f"cox_{state.endpoint}_{state.hz}")
with tab_diag:
    ph_section(res)
    epv_section(res)
    calibration_section(df, res, horizon, f"{view.key}|{duration}|{event}|{covs}|{horizon}")
    bootstrap_section(state, view.key, df, covs, duration, event, horizon)
with tab_step:
    stepwise_tab(sw)
