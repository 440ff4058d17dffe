"""The Survival page's parametric tab: lifelines fits (as R survreg) over the Kaplan-Meier."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.render import chart_spec, show_chart
from app_pages._ui.state import PageState
from core.charts.parametric import parametric_chart
from core.stats.parametric import DISTRIBUTIONS, LABELS, fit_parametric
from core.stats.survival import kaplan_meier
from core.tables.format import percent


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


def parametric_tab(view: PageState, data: pd.DataFrame, duration: str, event: str, unit: str):
    """Fits on every patient of the view (ungrouped, whole follow-up)."""
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
    if not fits:
        return
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
