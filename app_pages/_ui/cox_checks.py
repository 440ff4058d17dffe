"""How far to trust the Cox page's model: events per variable, apparent calibration (risk
tertiles, slope, calibration-in-the-large) and the bootstrap optimism of its C-index."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.cox import HELP, P
from app_pages._ui.render import chart_spec, show_chart
from app_pages._ui.views.cox import COX, PAPER, CoxView, bounds
from core.charts import cox as ch
from core.stats.cox.diagnostics import bootstrap_cindex, calibration
from core.stats.cox.fit import EPV_MIN
from core.study.glossary import help_text
from core.study.validation import apparent_calibration
from core.tables.cox import format_calibration
from core.tables.format import estimate_interval


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
