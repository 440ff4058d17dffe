"""Rendering pieces of the Survival page: the horizon and time axis, the downloads, the
captions, the competing-risks tab (the tests under the curves: :mod:`app_pages._ui.km_tests`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.render import chart_download, chart_spec, csv_download, show_chart
from app_pages._ui.state import PageState
from core.charts import survival as ch
from core.charts.competing import cif_chart
from core.cohort.schema import level_order
from core.cohort.variables import (
    default_threshold,
    has_values,
    is_continuous,
    order_levels,
)
from core.stats.competing import cumulative_incidence, cumulative_incidence_at, gray_tests
from core.stats.survival import DAYS_PER_MONTH, truncate_at
from core.study.published import load_published
from core.tables.survival import (
    format_chi2_test,
    format_cif_table,
)

CR_COLUMNS = ["os_days", "os_event", "pfs_days", "pfs_event"]
FIGURE_WIDTH = 600


def two_groups(view: PageState, s: pd.Series, label: str, where, on_change):
    """The cut of a numeric grouping or the levels of a categorical one put together.

    A continuous column is always cut (default: its median); an ordinal or categorical one
    becomes two groups when "Two groups" is on: ``PS ≥ 2`` vs ``< 2``, or chosen levels vs the
    others (disease progression vs the three other reasons, as in the paper's model).
    Returns ``(threshold, merge)``, at most one of them set.
    """
    numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
    if not is_continuous(s):
        split = where.toggle(
            "Two groups", on_change=on_change, help="Cut at a value, or put levels together "
            "against the others", **view.widget("split"),
        )  # fmt: skip
        if not split:
            return None, None
        if not numeric:
            order = level_order(str(s.name))
            levels = [str(v) for v in order_levels(s.dropna().unique().tolist(), order)]
            kw = {**view.widget("merge", levels), "default": levels[:1]}
            merge = where.multiselect(f"First group ({label})", levels, on_change=on_change, **kw)
            return None, (merge or None)
    kw = {**view.widget("cut"), "value": default_threshold(s)}
    cut = where.number_input(f"Cut {label} at (≥ goes up; default: median)", **kw)
    return cut, None


def horizon_step(max_t: int) -> int:
    """Days per step of the horizon slider: 30, or 10 for a follow-up shorter than 200 days."""
    return 30 if max_t > 200 else 10


def switch_unit(view: PageState, max_t: int) -> None:
    """Axis unit changed: carry the horizon over (360 days -> 12 months; 6 months -> 180 days)."""
    if view.value("unit") == "months":
        view.set("mo", max(1, round(view.value("h") / DAYS_PER_MONTH)))
    else:
        step = horizon_step(max_t)
        days = round(view.value("mo") * DAYS_PER_MONTH) // step * step
        view.set("h", min(max(days, step), max_t))


def horizon_slider(view: PageState, unit: str, max_t: int, on_change) -> float:
    """The horizon slider in days or in whole months; returns the horizon in days."""
    if unit == "days":
        step = horizon_step(max_t)
        days = st.slider(
            "Horizon (days from ICU admission)", min_value=step, max_value=max_t, step=step,
            on_change=on_change, **view.widget("h"),
        )  # fmt: skip
        return float(days)
    months = st.slider(
        "Horizon (months from ICU admission)", min_value=1,
        max_value=max(1, int(max_t / DAYS_PER_MONTH)), on_change=on_change, **view.widget("mo"),
    )  # fmt: skip
    return float(round(months * DAYS_PER_MONTH))


def km_downloads(spec, km, stem: str) -> None:
    """PNG / SVG of the figure (``spec``: a function, called on click) and the curve as CSV."""
    d1, d2, d3 = st.columns(3)
    chart_download("PNG", spec, f"{stem}.png", key="km_png", where=d1)
    chart_download("SVG", spec, f"{stem}.svg", key="km_svg", where=d2)
    csv_download("Curve CSV", km.table, f"{stem}.csv", key="km_csv", where=d3)


def km_captions(view, endpoint: str, *, grouped: bool) -> None:
    """The paper's median (whole reconstructed cohort only) and the methods in one line."""
    if not grouped and view.reconstructed:  # published figures describe the paper's cohort
        pub = load_published()["survival"][f"median_{endpoint}_months"]
        upper = "NA" if pub["upper"] is None else pub["upper"]
        scope = (
            f" — for all {view.n_total} patients of the paper, not the {view.n} in this "
            "filtered view"
            if view.n != view.n_total
            else ""
        )
        st.caption(
            f"Paper ({pub['source']}): median {pub['value']} months "
            f"[95% CI {pub['lower']}–{upper}]{scope}."
        )
    st.caption(
        f"Kaplan-Meier with Greenwood 95% CI (log scale, as R survfit); medians as R "
        f"print.survfit; log-rank as R survdiff. {view.n} of {view.n_total} patients in the "
        f"active cohort; time from ICU admission; months = days / {DAYS_PER_MONTH}."
    )


def competing_risks_tab(
    view: PageState, grouped: pd.DataFrame, gcol: str | None, label: str, horizon: float
) -> None:
    """Aalen-Johansen cumulative incidence of progression and of death without progression."""
    state = view.current()
    if not has_values(grouped, *CR_COLUMNS):
        st.info(
            "Competing risks need both endpoints: overall survival (time and death) and "
            "progression-free survival (time and event)."
        )
        return
    st.markdown(
        "Aalen-Johansen cumulative incidence of **progression** and of **death without "
        "progression** (first event of the PFS endpoint; as R `survfit(Surv(t, factor(status)))`)."
    )
    cr1, cr2 = st.columns(2)
    by_group = gcol is not None and cr1.toggle("Split by group", **view.widget("cr_by"))
    curves = cr2.toggle(
        "Curves with 95% CI",
        help="Off: stacked areas (progression at the bottom, death without progression on top). "
        "On: one step curve per event (progression solid, death without progression dashed) "
        "with its 95% pointwise confidence band.",
        **view.widget("cr_ci"),
    )
    cr_data = grouped.dropna(subset=CR_COLUMNS)
    if len(cr_data) < len(grouped):
        st.caption(f"{len(grouped) - len(cr_data)} patient(s) without PFS data left out.")
    if state.trunc:
        cr_data = truncate_at(cr_data, "pfs_days", "pfs_event", horizon)
    cif = cumulative_incidence(cr_data, group=gcol if by_group else None)
    # one panel fills the column (a phone's 360 px as a wide screen; at 600 px it was cut off
    # on a phone); Vega-Lite sizes facet panels only in pixels, so panels by group keep it
    width = FIGURE_WIDTH if by_group else "container"
    spec = chart_spec(
        cif_chart, cif, state.unit, horizon, group_title=label if by_group else None,
        width=width, stacked=not curves, show_ci=curves,
    )  # fmt: skip
    show_chart(
        spec,
        width="content" if by_group else "stretch",
        alt="Cumulative incidence of progression and of death without progression over time; "
        "the values are in the table below.",
    )
    at = cumulative_incidence_at(cif, ch.landmark_times(horizon, state.unit))
    st.dataframe(format_cif_table(at, state.unit), hide_index=True, key="km_cif_df")
    if by_group:
        tests = gray_tests(cr_data, gcol)
        st.caption(
            "Gray's test (as R cmprsk::cuminc): "
            + "; ".join(
                f"{t.cause}, {format_chi2_test(t.statistic, t.dof, t.p_value)}"
                if t.statistic == t.statistic
                else f"{t.cause}: not computable (a group has no such event and nobody left at "
                "risk for it)"
                for t in tests
            )
            + "."
        )
    st.caption(
        "95% pointwise CIs as R survfit for multi-state data: infinitesimal-jackknife standard "
        "error of the Aalen-Johansen estimate, log scale (exp(log F ± 1.96 se/F), capped at 1); "
        "– where the incidence is still 0 (R gives NA)."
    )
