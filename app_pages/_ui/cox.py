"""Rendering pieces of the Cox model page: model tab, diagnostics, bootstrap, stepwise trace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app_pages._ui.render import chart_download, chart_spec, csv_download, show_chart
from app_pages._ui.views.cox import COX, PAPER, ZPH_X, CoxView, bounds
from core.charts import cox as ch
from core.stats.cox.diagnostics import bootstrap_cindex, calibration, ph_test
from core.stats.cox.fit import EPV_MIN
from core.study.glossary import help_text
from core.study.validation import apparent_calibration
from core.tables.cox import (
    covariate_label,
    format_calibration,
    format_ph_table,
    format_stepwise,
    format_summary,
    published_comparison,
)
from core.tables.format import estimate_interval, p_value

P = COX.prefix  # keys of the page's other elements (tables, downloads, the bootstrap result)
EXPORT_WIDTH = 700  # plot width of the static PNG / SVG exports (px); on the page: container
# tooltips of terms core.study.glossary does not define (c_index is taken from it)
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
HELP["slope"] = (
    "Calibration slope: the coefficient of a Cox regression of the outcome on the model's "
    "linear predictor. 1 = the predicted risks spread as the outcomes do; below 1 they are too "
    "extreme (over-fitting), above 1 too modest."
)
HELP["citl"] = (
    "Calibration-in-the-large: the observed (Kaplan-Meier) outcome at the horizon against "
    "the mean predicted one; O/E = observed / expected deaths, 1 = right on average."
)
TEST_HELP = "Wald p from coxph, as R's summary(coxph); a factor is tested jointly. " + HELP["lrt"]


def fit_error(exc: Exception, covs: list[str]) -> None:
    """Why the model cannot be fitted, with the covariates in the clinician's words first."""
    msg = str(exc)
    for c in sorted(set(covs), key=len, reverse=True):
        msg = msg.replace(c, f"{covariate_label(c)} ({c})")
    st.error(f"The Cox model cannot be fitted: {msg}")


def reconstruction_note(cox_pub: dict, ref: pd.DataFrame | None, sw) -> str:
    """What the reconstructed cohort reproduces; ``ref``: the paper's model refitted here."""
    tol = float(cox_pub["hr_tolerance_relative"])
    text = (
        "**The reconstructed cohort was built to reproduce the published aggregates and the "
        f"paper's three hazard ratios (within ±{tol:.0%} and inside the published 95% CIs), not "
        "the paper's p-values or its variable selection.**"
    )
    parts = published_comparison(ref, cox_pub["terms"]) if ref is not None else []
    if parts:
        text += " The paper's model refitted here (1-year mortality): " + "; ".join(parts) + "."
    text += (
        " Associations the paper does not report (for example hypertension entering the "
        "stepwise model) are artefacts of the reconstruction, not findings."
    )
    extra = [c for c in sw.selected if c not in PAPER.covariates] if sw is not None else []
    if extra:
        text += f" Here the stepwise rule also selects: {', '.join(map(covariate_label, extra))}."
    return text


def model_tab(res, view: CoxView, title: str, stem: str) -> None:
    """Forest plot beside the paper's HRs, the coefficient table, fit statistics, downloads."""
    pub_table = PAPER.table()
    show_pub = pub_table[pub_table["covariate"].isin(res.summary["covariate"])]
    fig = chart_spec(
        ch.forest_chart, res.summary, show_pub if len(show_pub) else None,
        {c: covariate_label(c) for c in res.summary["covariate"]}, width="container", title=title,
    )  # fmt: skip
    show_chart(
        fig,
        width="stretch",
        alt="Forest plot of the hazard ratios with 95% confidence intervals on a log scale, "
        "refitted beside published; the values are in the table below.",
    )
    st.dataframe(format_summary(res.summary, pub_table), hide_index=True, key=P + "table")
    if not set(res.summary["covariate"]) <= set(pub_table["covariate"]) or view.mode != "paper":
        st.caption(
            "Published HRs are shown only for the paper's three terms (reason = disease "
            "progression vs other reasons, ECOG PS, SOFA)."
        )
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Patients / events", f"{res.n} / {res.events}")
    m2.metric("Concordance (C)", f"{res.concordance:.3f}", help=help_text("c_index"))
    m3.metric("Events / variable", f"{res.epv:.1f}", help=HELP["epv"])
    m4.metric("LR test p", p_value(res.lrt[2]), help=HELP["lrt"])
    c_lo, c_hi = res.concordance_ci
    st.caption(
        f"C-index {res.concordance:.3f}, 95% CI {c_lo:.3f}–{c_hi:.3f} (R's standard error "
        f"{res.concordance_se:.3f}, concordance(fit)$var); "
        f"likelihood ratio χ² = {res.lrt[0]:.2f} (df {res.lrt[1]}), Wald χ² = {res.wald[0]:.2f}, "
        f"score χ² = {res.score[0]:.2f}; log partial likelihood {res.loglik:.3f}. "
        "Equal to R coxph(Surv(time, status) ~ ...) with Efron ties.",
        help=" ".join(HELP[k] for k in ("lrt", "wald", "score", "loglik", "efron")),
    )
    export = {**fig, "width": EXPORT_WIDTH}
    d1, d2, d3 = st.columns(3)
    csv_download("Table CSV (coef, se, z)", res.summary, f"{stem}.csv", key=P + "dl_csv", where=d1)
    chart_download("Forest PNG", export, f"{stem}.png", key=P + "png", where=d2)
    chart_download("Forest SVG", export, f"{stem}.svg", key=P + "svg", where=d3)


def ph_section(res) -> None:
    """R cox.zph: the test table, a warning for p < 0.05, the Schoenfeld residual panels."""
    st.subheader("Proportional hazards (R cox.zph, transform = 'km')", help=HELP["km"])
    try:
        ph = ph_test(res)
    except (ValueError, np.linalg.LinAlgError) as exc:
        st.error(f"The proportional-hazards test cannot be computed: {exc}")
        return
    st.dataframe(format_ph_table(ph.table), hide_index=True, key=P + "zph")
    bad = ph.table[ph.table["p"] < 0.05]
    if len(bad):
        st.warning(
            "Proportional hazards doubtful (p < 0.05) for: "
            + ", ".join(covariate_label(t) for t in bad["term"])
        )
    xs = st.radio(
        "Residual x-axis", list(ZPH_X), horizontal=True, help=HELP["km"],
        **COX.widget("zph_x", ZPH_X),
    )  # fmt: skip
    coefs = {}
    for term in dict.fromkeys(res.summary["term"]):
        rows = res.summary[res.summary["term"] == term]
        coefs[term] = float(rows["coef"].iloc[0]) if len(rows) == 1 else 1.0
    labels = {t: covariate_label(t) for t in ph.residuals.columns}
    panels = chart_spec(ch.schoenfeld_panels, ph.residuals, coefs, x=xs, labels=labels)
    for i in range(0, len(panels), 3):  # at most three panels a row, each fits its column
        for column, panel in zip(st.columns(3), panels[i : i + 3], strict=False):
            with column:
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


def epv_section(res) -> None:
    st.subheader("Events per variable", help=HELP["epv"])
    if res.epv < EPV_MIN:  # the model tab already warns: state the numbers, once
        st.markdown(
            f"**{res.epv:.1f}** events per variable ({res.events} events for "
            f"{len(res.summary)} coefficient(s)), below the usual minimum of 10."
        )
    else:
        st.success(f"{res.epv:.1f} events per variable (>= 10).")


@st.cache_data(show_spinner=False, max_entries=64)
def _calibration(fit_key: str, horizon: float, _df: pd.DataFrame, _res):
    """Tertile calibration and apparent calibration (slope, O/E) of one cached fit, each a
    result or the reason it is not available; ``fit_key`` names the fit (cohort, filter,
    endpoint, covariates, window), so a rerun with the same model does not refit them."""
    out = []
    for compute in (
        lambda: calibration(_df, _res, horizon=horizon, groups=3),
        lambda: apparent_calibration(_res, horizon),
    ):
        try:
            out.append(compute())
        except ValueError as exc:
            out.append(str(exc))
    return tuple(out)


def calibration_section(df: pd.DataFrame, res, horizon: float | None, fit_key: str) -> None:
    """Apparent calibration in risk tertiles at the horizon (the paper's without one)."""
    st.subheader("Calibration", help=HELP["calibration"])
    cal_h = horizon if horizon else PAPER.horizon_days
    cal, ac = _calibration(fit_key, float(cal_h), df, res)
    if isinstance(cal, str):
        st.info(f"Calibration not available: {cal}")
        return
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
    calibration_summary(ac, cal_h)


def calibration_summary(ac, horizon: float) -> None:
    """Calibration slope and calibration-in-the-large at the horizon, under the tertiles
    (``ac``: :func:`apparent_calibration`'s result, or why it is not available)."""
    if isinstance(ac, str):
        st.info(f"Calibration slope not available: {ac}")
        return
    s1, s2 = st.columns(2)
    s1.markdown(
        f"**Calibration slope** {estimate_interval(ac.slope.est, ac.slope.lower, ac.slope.upper)}",
        help=HELP["slope"],
    )
    if ac.by_construction:
        s1.caption(
            "The model is fitted on these patients and this outcome, so its slope is 1 by "
            "construction (shown as computed); it says something only on other patients "
            "(the Validation page)."
        )
    else:
        s1.caption(
            f"Cox regression of deaths by day {horizon:g} on the model's linear predictor; "
            "the model itself was fitted to another follow-up window, so the slope need not "
            "be 1."
        )
    obs = ac.observed_risk
    s2.markdown(
        f"**Calibration-in-the-large** (day {horizon:g}): observed survival "
        f"{estimate_interval(1 - obs.est, 1 - obs.upper, 1 - obs.lower, '.1%')} (Kaplan-Meier), "
        f"mean predicted {1 - ac.expected_risk:.1%}; observed / expected deaths "
        f"{estimate_interval(ac.oe.est, ac.oe.lower, ac.oe.upper)}",
        help=HELP["citl"],
    )
    s2.caption(
        "95% CIs: Wald for the slope; log scale from Greenwood's variance for the Kaplan-Meier "
        "survival and O/E (the mean prediction taken as fixed)."
    )


def bootstrap_section(
    view: CoxView, cohort_key: str, df: pd.DataFrame, covs: list[str], duration: str, event: str,
    horizon: float | None,
) -> None:  # fmt: skip
    """Harrell's optimism-corrected C-index, run on demand and kept for the same settings."""
    st.subheader("Optimism-corrected C-index (bootstrap)", help=help_text("c_index"))
    b1, b2, b3 = st.columns([1, 1, 2])
    n_boot = b1.number_input("Replicates", step=20, **bounds("nboot"), **COX.widget("nboot"))
    seed = b2.number_input("Seed", **bounds("seed"), **COX.widget("seed"))
    redo_sel = view.mode == "stepwise" and b3.checkbox(
        "Repeat the stepwise selection in each replicate",
        help="The honest correction for a selected model (Harrell): each replicate reruns the "
        "whole selection. Much slower than refitting the selected model (minutes for 200 "
        "replicates); untick for a quick, optimistic look.",
        **COX.widget("boot_sel"),
    )
    boot_key = (cohort_key, tuple(covs), duration, horizon, int(n_boot), int(seed), redo_sel)
    if st.button("Run bootstrap", key=P + "boot_run"):
        bar = st.progress(0.0, text="Bootstrap...")

        def _progress(i: int, n: int) -> None:
            bar.progress(i / n, text=f"Bootstrap replicate {i} / {n}")

        rule = {"entry": PAPER.entry_p, "removal": PAPER.removal_p, "test": view.test}
        selection = {"candidates": list(view.cands), **rule} if redo_sel else None
        st.session_state[P + "boot"] = (
            boot_key,
            bootstrap_cindex(
                df, duration, event, covs, n_boot=int(n_boot), seed=int(seed),
                horizon_days=horizon, selection=selection, progress=_progress,
            ),
        )  # fmt: skip
        bar.empty()
    stored = st.session_state.get(P + "boot")
    if stored is None or stored[0] != boot_key:
        st.caption("Press 'Run bootstrap' to estimate the optimism of the apparent C-index.")
        return
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


def stepwise_tab(sw) -> None:
    """The selection's trace and the last p-value of every candidate."""
    if sw is None:
        st.info("Choose 'Stepwise selection' above to run the paper's selection rule.")
        return
    st.markdown(
        f"Bidirectional stepwise selection, entry p < {sw.entry}, removal p > {sw.removal} "
        f"({'Wald' if sw.test == 'wald' else 'likelihood-ratio'} p-values). "
        f"Stopped: {sw.stop_reason}."
    )
    st.dataframe(format_stepwise(sw.trace), hide_index=True, key=P + "trace")
    st.markdown("**Last p-value of every candidate**")
    st.dataframe(format_stepwise(sw.candidates_table), hide_index=True, key=P + "cands_tbl")
    csv_download("Trace CSV", sw.trace, "stepwise_trace.csv", key=P + "dl_trace")
