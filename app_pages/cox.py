"""Cox model: multivariable Cox regression on the active cohort, beside the paper's model.

Thin page: widgets -> core.stats.cox.fit (fit_cox / stepwise / ph_test / calibration /
bootstrap_cindex)
-> core.charts.cox charts and tables.  View state is mirrored in st.query_params (``cox_``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app_pages._ui.cohort import cohort_sidebar, page_header, require_columns
from app_pages._ui.render import (
    chart_download,
    chart_spec,
    csv_download,
    post_admission_warning,
    show_chart,
)
from app_pages._ui.state import sync_url, url_choice, url_param
from core.charts import cox as ch
from core.cohort.variables import NOT_PREDICTORS, add_derived, is_post_admission
from core.stats.cox.diagnostics import bootstrap_cindex, calibration, ph_test
from core.stats.cox.fit import EPV_MIN, fit_cox
from core.stats.cox.selection import stepwise
from core.study.glossary import help_text
from core.study.model import paper_model
from core.study.published import load_published
from core.tables.cox import (
    covariate_label,
    format_calibration,
    format_ph_table,
    format_stepwise,
    format_summary,
    published_comparison,
)
from core.tables.format import p_value

P = "cox_"
ENDPOINTS = {
    "os": ("os_days", "os_event", "Overall survival (death)"),
    "pfs": ("pfs_days", "pfs_event", "Progression-free survival (progression or death)"),
}
HORIZONS = {"365": "1 year (365 days, the paper)", "none": "All follow-up", "custom": "Custom"}
MODES = {
    "paper": "The paper's model (reason + ECOG PS + SOFA)",
    "pick": "Choose covariates",
    "stepwise": "Stepwise selection (entry p < 0.2, removal p > 0.1)",
}
PAPER = paper_model()
PAPER_COVS = list(PAPER.covariates)
# baseline (admission) characteristics offered as candidates; outcomes and ICU treatments are not
DEFAULT_CANDIDATES = [
    "age",
    "sex",
    "hypertension",
    "ecog_ps",
    "prior_lines",
    "days_infusion_to_icu",
    "reason_dp",
    "map_mmhg",
    "temperature_c",
    "neutropenia",
    "sofa",
    "vasopressors_day1",
]
NOT_COVARIATES = NOT_PREDICTORS
EXPORT_WIDTH = 700  # plot width of the static PNG / SVG exports (px); on the page: container
HELP = {
    "efron": "Efron's approximation for tied event times (R coxph's default): tied deaths share "
    "the risk set in fractions instead of all counting the full risk set (Breslow).",
    "wald": "Wald χ²: the squared coefficient divided by its variance (a joint quadratic form for "
    "several terms); compared with a χ² distribution on the model's degrees of freedom.",
    "score": "Score (log-rank) χ²: the slope of the log partial likelihood at β = 0, tested "
    "without fitting the model.",
    "lrt": "Likelihood-ratio χ²: twice the gain in log partial likelihood of the fitted model over "
    "the empty model; the most reliable of the three tests in small samples.",
    "loglik": "Log partial likelihood: Cox's likelihood of the order in which the deaths happen, "
    "given who was still at risk; higher (closer to 0) means a better fit.",
    "km": "cox.zph's default time transform: residuals are plotted and tested against 1 − KM(t), "
    "so that a few late events do not dominate the test.",
    "schoenfeld": "beta(t): scaled Schoenfeld residuals, one point per death, whose mean is the "
    "coefficient; a trend over time means the effect changes (non-proportional hazards).",
    "epv": "Events per variable: events divided by the number of coefficients; below about 10 "
    "the estimates are unstable and over-optimistic.",
    "calibration": "Calibration: agreement between predicted and observed (Kaplan-Meier) "
    "survival in risk groups; points on the diagonal mean the predictions are right on average.",
}


# ---------------------------------------------------------------------------------------------
# state <-> query params
# ---------------------------------------------------------------------------------------------
def _init_state(options: list[str]) -> None:
    if st.session_state.get(P + "seeded"):
        return
    ss = st.session_state
    ss[P + "seeded"] = True
    ss[P + "ep"] = url_choice(P + "ep", ENDPOINTS, "os")
    ss[P + "hz"] = url_choice(P + "hz", HORIZONS, "365")
    try:
        ss[P + "hd"] = max(1, int(float(url_param(P + "hd", "365"))))
    except ValueError:
        ss[P + "hd"] = 365
    ss[P + "mode"] = url_choice(P + "mode", MODES, "paper")
    covs = [c for c in url_param(P + "covs", ",".join(PAPER_COVS)).split(",") if c in options]
    ss[P + "covs"] = covs or [c for c in PAPER_COVS if c in options]
    raw = url_param(P + "cands", ",".join(DEFAULT_CANDIDATES))
    cands = [c for c in raw.split(",") if c in options]
    ss[P + "cands"] = cands or [c for c in DEFAULT_CANDIDATES if c in options]
    ss[P + "test"] = url_choice(P + "test", ("wald", "lrt"), "wald")


def _sync_url() -> None:
    ss = st.session_state
    values = {
        "ep": ss[P + "ep"],
        "hz": ss[P + "hz"],
        "hd": str(ss[P + "hd"]),
        "mode": ss[P + "mode"],
        "covs": ",".join(ss[P + "covs"]),
        "cands": ",".join(ss[P + "cands"]),
        "test": ss[P + "test"],
    }
    sync_url(values, prefix=P)


# ---------------------------------------------------------------------------------------------
# cached computations (the data frame is part of the cache key)
# ---------------------------------------------------------------------------------------------
# Cached on the identity of the rows (ActiveCohort.key: cohort + filter), not on the frame:
# ``df`` is always cox.add_derived(view.df), so the key names it; hashing it on every call
# cost more than the cached fit.
@st.cache_data(show_spinner=False, max_entries=64)
def _fit(cohort_key: str, duration, event, covs, horizon, _df: pd.DataFrame):
    return fit_cox(_df, duration, event, list(covs), horizon_days=horizon)


@st.cache_data(show_spinner="Stepwise selection...", max_entries=32)
def _stepwise(cohort_key: str, duration, event, cands, horizon, test, _df: pd.DataFrame):
    return stepwise(_df, duration, event, list(cands), horizon_days=horizon, test=test)


def _reconstruction_note(data: pd.DataFrame, sw) -> str:
    """What the reconstructed cohort reproduces, with the paper model refitted on ``data``."""
    tol = float(pub["cox"]["hr_tolerance_relative"])
    text = (
        "**The reconstructed cohort was built to reproduce the published aggregates and the "
        f"paper's three hazard ratios (within ±{tol:.0%} and inside the published 95% CIs), not "
        "the paper's p-values or its variable selection.**"
    )
    try:
        ref = _fit(
            view.key, PAPER.duration, PAPER.event, tuple(PAPER_COVS), PAPER.horizon_days, data
        ).summary
    except ValueError:
        ref = None
    if ref is not None:
        parts = published_comparison(ref, pub["cox"]["terms"])
        if parts:
            text += " The paper's model refitted here (1-year mortality): " + "; ".join(parts) + "."
    text += (
        " Associations the paper does not report (for example hypertension entering the "
        "stepwise model) are artefacts of the reconstruction, not findings."
    )
    if sw is not None:
        extra = [c for c in sw.selected if c not in PAPER_COVS]
        if extra:
            labels = ", ".join(map(covariate_label, extra))
            text += f" Here the stepwise rule also selects: {labels}."
    return text


# ---------------------------------------------------------------------------------------------
# page
# ---------------------------------------------------------------------------------------------
page_header(
    "Cox model",
    "Multivariable Cox regression on the active cohort, beside the paper's model "
    "(reason for ICU admission, ECOG PS and SOFA; 1-year mortality).",
)
view = cohort_sidebar()
if not require_columns(view, ["os_days", "os_event"], "The Cox model"):
    st.stop()
df = add_derived(view.df)

options = [c for c in df.columns if c not in NOT_COVARIATES]
_init_state(options)
pub = load_published()
pub_model = PAPER
pub_table = pub_model.table()

c1, c2, c3 = st.columns([1.2, 1.2, 1])
c1.radio("Endpoint", list(ENDPOINTS), format_func=lambda k: ENDPOINTS[k][2], key=P + "ep")
c2.radio("Horizon", list(HORIZONS), format_func=HORIZONS.get, key=P + "hz")
if st.session_state[P + "hz"] == "custom":
    c3.number_input("Censor at day", min_value=1, max_value=5000, step=30, key=P + "hd")
duration, event, ep_name = ENDPOINTS[st.session_state[P + "ep"]]
if not require_columns(view, [duration, event], ep_name):
    st.stop()
hz = st.session_state[P + "hz"]
horizon = 365.0 if hz == "365" else None if hz == "none" else float(st.session_state[P + "hd"])

st.radio("Covariates", list(MODES), format_func=MODES.get, key=P + "mode", horizontal=True)
mode = st.session_state[P + "mode"]
if mode == "pick":
    st.multiselect("Covariates in the model", options, key=P + "covs", format_func=covariate_label)
elif mode == "stepwise":
    s1, s2 = st.columns([3, 1])
    s1.multiselect("Candidate covariates", options, key=P + "cands", format_func=covariate_label)
    s2.radio(
        "p-values",
        ["wald", "lrt"],
        format_func={"wald": "Wald (coxph)", "lrt": "Likelihood ratio"}.get,
        key=P + "test",
        help="Wald p from coxph, as R's summary(coxph); a factor is tested jointly. " + HELP["lrt"],
    )
_sync_url()

hz_text = f"censored at day {horizon:g}" if horizon else "all follow-up"
st.caption(
    f"{ep_name}, {hz_text}; Efron ties (R coxph); {view.n} of {view.n_total} patients "
    f"({view.name}). The paper: {pub['cox']['source']}.",
    help=HELP["efron"],
)

# ---- the model --------------------------------------------------------------------------------
sw = None
covs: list[str] = []
try:
    if mode == "paper":
        covs = PAPER_COVS
        if not require_columns(view, ["icu_reason", "ecog_ps", "sofa"], "The paper's model"):
            st.stop()
    elif mode == "pick":
        covs = list(st.session_state[P + "covs"])
    else:
        cands = tuple(st.session_state[P + "cands"])
        if not cands:
            st.info("Choose at least one candidate covariate.")
            st.stop()
        sw = _stepwise(view.key, duration, event, cands, horizon, st.session_state[P + "test"], df)
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
    msg = str(exc)
    for c in sorted(set(covs), key=len, reverse=True):
        msg = msg.replace(c, f"{covariate_label(c)} ({c})")  # the clinician's words first
    st.error(f"The Cox model cannot be fitted: {msg}")
    st.stop()

for w in res.warnings:
    st.warning(w)
late = [c for c in covs if is_post_admission(c)]
# baseline Cox from ICU admission: a later-measured covariate borrows immortal time
post_admission_warning([covariate_label(c) for c in late], "a Cox model from admission")

if view.reconstructed:
    st.info(_reconstruction_note(df, sw))

tab_model, tab_diag, tab_step = st.tabs(["Model", "Diagnostics", "Stepwise trace"])

with tab_model:
    show_pub = pub_table[pub_table["covariate"].isin(res.summary["covariate"])]
    fig = chart_spec(
        ch.forest_chart,
        res.summary,
        show_pub if len(show_pub) else None,
        {c: covariate_label(c) for c in res.summary["covariate"]},
        width="container",
        title=f"Hazard ratios, {ep_name.split(' (')[0].lower()} ({hz_text})",
    )
    show_chart(
        fig,
        width="stretch",
        alt="Forest plot of the hazard ratios with 95% confidence intervals on a log scale, "
        "refitted beside published; the values are in the table below.",
    )
    fig_export = {**fig, "width": EXPORT_WIDTH}
    table = format_summary(res.summary, pub_table)
    st.dataframe(table, hide_index=True, key=P + "table")
    if not set(res.summary["covariate"]) <= set(pub_table["covariate"]) or mode != "paper":
        st.caption(
            "Published HRs are shown only for the paper's three terms (reason = disease "
            "progression vs other reasons, ECOG PS, SOFA)."
        )
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Patients / events", f"{res.n} / {res.events}")
    m2.metric("Concordance (C)", f"{res.concordance:.3f}", help=help_text("c_index"))
    m3.metric("Events / variable", f"{res.epv:.1f}", help=HELP["epv"])
    m4.metric("LR test p", p_value(res.lrt[2]), help=HELP["lrt"])
    st.caption(
        f"Likelihood ratio χ² = {res.lrt[0]:.2f} (df {res.lrt[1]}), Wald χ² = {res.wald[0]:.2f}, "
        f"score χ² = {res.score[0]:.2f}; log partial likelihood {res.loglik:.3f}. "
        "Equal to R coxph(Surv(time, status) ~ ...) with Efron ties.",
        help=" ".join(HELP[k] for k in ("lrt", "wald", "score", "loglik", "efron")),
    )
    d1, d2, d3 = st.columns(3)
    stem = f"cox_{st.session_state[P + 'ep']}_{hz}"
    csv_download("Table CSV (coef, se, z)", res.summary, f"{stem}.csv", key=P + "dl_csv", where=d1)
    chart_download("Forest PNG", fig_export, f"{stem}.png", key=P + "png", where=d2)
    chart_download("Forest SVG", fig_export, f"{stem}.svg", key=P + "svg", where=d3)

with tab_diag:
    st.subheader("Proportional hazards (R cox.zph, transform = 'km')", help=HELP["km"])
    try:
        ph = ph_test(res)
        st.dataframe(format_ph_table(ph.table), hide_index=True, key=P + "zph")
        bad = ph.table[(ph.table["p"] < 0.05)]
        if len(bad):
            st.warning(
                "Proportional hazards doubtful (p < 0.05) for: "
                + ", ".join(covariate_label(t) for t in bad["term"])
            )
        xs = st.radio(
            "Residual x-axis",
            ["time", "x"],
            format_func={"time": "Days", "x": "KM scale (as cox.zph's test)"}.get,
            horizontal=True,
            key=P + "zph_x",
            help=HELP["km"],
        )
        coefs = {}
        for term in dict.fromkeys(res.summary["term"]):
            rows = res.summary[res.summary["term"] == term]
            coefs[term] = float(rows["coef"].iloc[0]) if len(rows) == 1 else 1.0
        zlabels = {t: covariate_label(t) for t in ph.residuals.columns}
        panels = chart_spec(ch.schoenfeld_panels, ph.residuals, coefs, x=xs, labels=zlabels)
        for i in range(0, len(panels), 3):  # at most three panels a row, each fits its column
            zcols = st.columns(3)
            for zc, panel in zip(zcols, panels[i : i + 3], strict=False):
                with zc:
                    show_chart(
                        panel,
                        width="stretch",
                        alt="Scaled Schoenfeld residuals over time with a smooth; the test "
                        "is in the table above.",
                    )
        st.caption(
            "Scaled Schoenfeld residuals (R cox.zph(fit)$y) with a LOESS smooth; a flat smooth "
            "around the dashed coefficient line supports proportional hazards.",
            help=HELP["schoenfeld"],
        )
    except (ValueError, np.linalg.LinAlgError) as exc:
        st.error(f"The proportional-hazards test cannot be computed: {exc}")

    st.subheader("Events per variable", help=HELP["epv"])
    if res.epv < EPV_MIN:
        st.warning(
            f"{res.events} events for {len(res.summary)} coefficient(s): {res.epv:.1f} events per "
            "variable (< 10). Estimates are unstable and optimistic."
        )
    else:
        st.success(f"{res.epv:.1f} events per variable (>= 10).")

    st.subheader("Calibration", help=HELP["calibration"])
    cal_h = horizon if horizon else 365.0
    try:
        cal = calibration(df, res, horizon=cal_h, groups=3)
        cc1, cc2 = st.columns([1, 1])
        with cc1:
            show_chart(
                chart_spec(ch.calibration_chart, cal.table, cal_h, width="container"),
                width="stretch",
                alt="Predicted against observed survival by risk group; the values are in "
                "the table beside.",
            )
        cc2.dataframe(format_calibration(cal.table), hide_index=True, key=P + "cal")
        if cal.note:
            cc2.caption(cal.note)
        cc2.caption(
            f"Risk tertiles of the linear predictor; predicted = mean model S({cal_h:g} d | x); "
            "observed = Kaplan-Meier with 95% log CI. Apparent (in-sample) calibration."
        )
    except ValueError as exc:
        st.info(f"Calibration not available: {exc}")

    st.subheader("Optimism-corrected C-index (bootstrap)", help=help_text("c_index"))
    b1, b2, b3 = st.columns([1, 1, 2])
    n_boot = b1.number_input("Replicates", 20, 1000, 200, step=20, key=P + "nboot")
    seed = b2.number_input("Seed", 0, 10**6, 2024, key=P + "seed")
    redo_sel = mode == "stepwise" and b3.checkbox(
        "Repeat the stepwise selection in each replicate",
        value=True,
        key=P + "boot_sel",
        help="The honest correction for a selected model (Harrell): each replicate reruns the "
        "whole selection. Much slower than refitting the selected model (minutes for 200 "
        "replicates); untick for a quick, optimistic look.",
    )
    boot_key = (
        view.key,
        tuple(covs),
        duration,
        horizon,
        int(n_boot),
        int(seed),
        bool(redo_sel),
    )
    if st.button("Run bootstrap", key=P + "boot_run"):
        bar = st.progress(0.0, text="Bootstrap...")

        def _progress(i: int, n: int) -> None:
            bar.progress(i / n, text=f"Bootstrap replicate {i} / {n}")

        selection = None
        if redo_sel:
            selection = {
                "candidates": list(st.session_state[P + "cands"]),
                "test": st.session_state[P + "test"],
            }
        st.session_state[P + "boot"] = (
            boot_key,
            bootstrap_cindex(
                df,
                duration,
                event,
                covs,
                n_boot=int(n_boot),
                seed=int(seed),
                horizon_days=horizon,
                selection=selection,
                progress=_progress,
            ),
        )
        bar.empty()
    stored = st.session_state.get(P + "boot")
    if stored is not None and stored[0] == boot_key:
        bc = stored[1]
        k1, k2, k3 = st.columns(3)
        k1.metric("Apparent C", f"{bc.apparent:.3f}", help=help_text("c_index"))
        k2.metric("Optimism", f"{bc.optimism:.3f}")
        k3.metric("Corrected C", f"{bc.corrected:.3f}")
        st.caption(
            f"Harrell's bootstrap: {len(bc.replicates)} replicates (seed {bc.seed}"
            + (f", {bc.n_failed} could not be fitted" if bc.n_failed else "")
            + "); corrected = apparent - mean(C on the bootstrap sample - C of that model on the "
            "original sample)."
        )
    else:
        st.caption("Press 'Run bootstrap' to estimate the optimism of the apparent C-index.")

with tab_step:
    if sw is None:
        st.info("Choose 'Stepwise selection' above to run the paper's selection rule.")
    else:
        st.markdown(
            f"Bidirectional stepwise selection, entry p < {sw.entry}, removal p > {sw.removal} "
            f"({'Wald' if sw.test == 'wald' else 'likelihood-ratio'} p-values). "
            f"Stopped: {sw.stop_reason}."
        )
        st.dataframe(format_stepwise(sw.trace), hide_index=True, key=P + "trace")
        st.markdown("**Last p-value of every candidate**")
        st.dataframe(format_stepwise(sw.candidates_table), hide_index=True, key=P + "cands_tbl")
        csv_download("Trace CSV", sw.trace, "stepwise_trace.csv", key=P + "dl_trace")
