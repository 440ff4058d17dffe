"""The Survival page's parametric tab: lifelines fits (as R survreg) over the Kaplan-Meier."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.render import chart_spec, md, show_chart
from app_pages._ui.state import PageState
from core.charts.parametric import parametric_chart
from core.cohort.variables import add_derived
from core.stats.parametric import (
    AFT_DISTRIBUTIONS,
    DISTRIBUTIONS,
    LABELS,
    fit_aft,
    fit_parametric,
)
from core.stats.survival import kaplan_meier
from core.study.model import paper_model
from core.tables.cox import covariate_label
from core.tables.format import estimate_interval, p_value, percent


@st.cache_data(show_spinner=False, max_entries=32)
def _fits(d: pd.DataFrame, duration: str, event: str, chosen: tuple, until: float):
    """The fits, cached on the rows and settings (each lifelines fit is ~0.4 s)."""
    fits, failed = [], []
    for dist in chosen:
        try:
            fits.append(fit_parametric(d, duration, event, dist, until=until))
        except (ValueError, ArithmeticError) as exc:
            failed.append(f"{LABELS[dist]}: {exc}")
    return fits, failed


@st.cache_data(show_spinner=False, max_entries=16)
def _aft_fits(d: pd.DataFrame, chosen: tuple):
    """AFT regressions on the paper's covariates and endpoint, cached on the rows."""
    model = paper_model()
    fits, failed = [], []
    for dist in chosen:
        try:
            fits.append(
                fit_aft(d, model.duration, model.event, model.covariates, dist,
                        horizon_days=model.horizon_days)
            )  # fmt: skip
        except (ValueError, ArithmeticError, KeyError) as exc:
            failed.append(f"{LABELS[dist]}: {exc}")
    return fits, failed


def aft_section(data: pd.DataFrame, chosen: list[str]) -> None:
    """Weibull / log-normal / log-logistic regression on the paper's model covariates."""
    model = paper_model()
    st.markdown("**Regression on the paper's covariates: 1-year overall survival**")
    dists = tuple(d for d in chosen if d in AFT_DISTRIBUTIONS)
    if not dists:
        st.info("Choose the Weibull, log-normal or log-logistic distribution above for the "
                "regression (there is no exponential regression here).")  # fmt: skip
        return
    d = add_derived(data, model.covariates)
    needed = [*model.covariates, model.duration, model.event]
    absent = [c for c in needed if c not in d.columns or d[c].isna().all()]
    if absent:
        names = ", ".join(md(covariate_label(c)) for c in absent)
        st.info(f"The regression needs the paper's covariates and overall survival; this "
                f"cohort has no values for {names}.")  # fmt: skip
        return
    fits, failed = _aft_fits(d[needed], dists)
    for f in failed:
        st.info(f"Regression not fitted — {md(f)}")
    if not fits:
        return
    labels = {t.name: t.label for t in model.terms}
    rows = []
    for i, term in enumerate(fits[0].covariates, start=1):
        row = {"Covariate": labels.get(term, term)}
        for f in fits:
            r = f.table.iloc[i]
            name = LABELS[f.distribution]
            row[f"{name}: time ratio [95% CI]"] = estimate_interval(
                r["time_ratio"], r["lower"], r["upper"]
            )
            row[f"{name}: p"] = p_value(r["p"])
        rows.append(row)
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="km_aft_df")
    fit_rows = []
    for f in sorted(fits, key=lambda f: f.aic):
        shape = "–" if f.distribution == "lognormal" else f"{1 / f.scale:.3f}"
        fit_rows.append(
            {
                "Distribution": LABELS[f.distribution],
                "Scale (survreg)": f"{f.scale:.3f}",
                "Shape (1 / scale)": shape,
                "Log-likelihood": f"{f.loglik:.2f}",
                "AIC": f"{f.aic:.1f}",
            }
        )
    st.dataframe(pd.DataFrame(fit_rows), hide_index=True, key="km_aft_fit_df")
    st.caption(
        f"A time ratio multiplies the expected survival time: > 1 = longer survival, < 1 = "
        f"shorter (0.5 = half as long), per unit of the covariate as labelled (per point, or "
        f"vs the other reasons), the other covariates held fixed. Endpoint: overall survival "
        f"censored at day {model.horizon_days:g}; {fits[0].n} patients with every covariate "
        f"({fits[0].events} deaths within the year). Maximum likelihood with lifelines' AFT "
        "fitters, equal to R survreg(Surv(t, e) ~ reason_dp + ecog_ps + sofa, dist = ...) to "
        "1e-4; Wald 95% CIs and p; lower AIC fits better."
    )


def parametric_tab(
    view: PageState, data: pd.DataFrame, duration: str, event: str, unit: str,
    cohort: pd.DataFrame | None = None,
) -> None:  # fmt: skip
    """Fits on every patient of the view (ungrouped, whole follow-up); the regression on the
    paper's covariates uses ``cohort`` (the active cohort, whatever the grouping)."""
    c1, c2 = st.columns([2, 1])
    chosen = c1.multiselect(
        "Distributions", list(DISTRIBUTIONS), **view.widget("par", DISTRIBUTIONS)
    )
    until = c2.number_input("Draw up to (days)", step=30, **view.bounds("ext"),
                            **view.widget("ext"))  # fmt: skip
    d = data[[duration, event]].dropna()
    last = float(d[duration].max()) if len(d) else 0.0
    if until > last:
        st.warning(
            f"Beyond day {last:g}, the last follow-up, the curves are extrapolated (dashed): "
            "they show the distribution's shape, not data."
        )
    fits, failed = _fits(d, duration, event, tuple(chosen), float(until))
    for f in failed:
        st.info(f"Not fitted — {f}")
    km = kaplan_meier(d, duration, event)
    show_chart(
        chart_spec(parametric_chart, km, fits, last, unit, width="container"),
        width="stretch",
        alt="The Kaplan-Meier curve of all patients with the fitted parametric survival curves; "
        "the values are in the table below.",
    )
    if fits:
        _fits_table(fits)
    aft_section(data if cohort is None else cohort, chosen)


def _fits_table(fits) -> None:
    """AIC, median and survival at the chosen days of each univariate fit, best first."""
    rows = []
    for f in sorted(fits, key=lambda f: f.aic):
        at = f.at.set_index("day")
        row = {"Distribution": LABELS[f.distribution], "AIC": f"{f.aic:.1f}",
               "Median (days)": f"{f.median:.0f}"}  # fmt: skip
        for day in at.index:
            r = at.loc[day]
            row[f"S({day:g} d) [95% CI]"] = (
                f"{percent(r['surv'])} [{percent(r['lower'])} – {percent(r['upper'])}]"
            )
        row["survreg mu / scale"] = f"{f.mu:.3f} / {f.scale:.3f}"
        rows.append(row)
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="km_par_df")
    st.caption(
        f"Maximum likelihood with lifelines on {fits[0].n} patients ({fits[0].events} events), "
        "equal to R survreg(Surv(t, e) ~ 1, dist = ...) to 1e-4; lower AIC fits better. "
        "Intervals: lifelines' delta method."
    )
