"""Rendering pieces of the Cox model page: model tab, diagnostics, bootstrap, stepwise trace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app_pages._ui.render import chart_download, chart_spec, csv_download, show_chart
from app_pages._ui.views.cox import COX, PAPER, ZPH_X, CoxView
from core.charts import cox as ch
from core.stats.cox.diagnostics import ph_test
from core.study.glossary import help_text
from core.tables.cox import (
    covariate_label,
    format_ph_table,
    format_stepwise,
    format_summary,
    published_comparison,
)
from core.tables.format import p_value

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
