"""Survival curves: Kaplan-Meier by group, log-rank / trend tests, medians, competing risks.

View state (SurvivalView) -> active cohort -> one core call per result -> chart / table.
"""

from __future__ import annotations

import streamlit as st

from app_pages._ui.active import groupable_columns
from app_pages._ui.cohort import cohort_sidebar, page_header, require_columns
from app_pages._ui.ensemble import across_note
from app_pages._ui.km_tests import km_tests
from app_pages._ui.parametric import parametric_tab
from app_pages._ui.render import chart_spec, md, post_admission_warning, show_chart
from app_pages._ui.survival import (
    competing_risks_tab,
    horizon_slider,
    km_captions,
    km_downloads,
    switch_unit,
    two_groups,
)
from app_pages._ui.views.common import NONE, group_label
from app_pages._ui.views.survival import ENDPOINTS, HORIZON, PRESET_GROUP, TAB_CR, TAB_KEY, TAB_PAR
from app_pages._ui.views.survival import SURVIVAL as VIEW
from app_pages._ui.views.survival import SURVIVAL_PRESETS as PRESETS
from core.charts import survival as ch
from core.cohort.schema import level_order
from core.cohort.variables import (
    has_values,
    is_post_admission,
    make_groups,
)
from core.stats.survival import DAYS_PER_MONTH, kaplan_meier, n_at_risk, survival_at, truncate_at
from core.tables.survival import format_landmarks, format_medians, format_n_at_risk

FIGURE_WIDTH, CHART_HEIGHT = 600, 340  # px: whole KM figure and plot; fits a 1024-px window


def _preset() -> None:
    """A preset sets the paper's grouping and its window (days)."""
    key = VIEW.value("preset")
    if key in PRESET_GROUP:
        VIEW.set("group", PRESET_GROUP[key])
        VIEW.set("h", HORIZON)
        VIEW.set("unit", "days")


def _custom() -> None:
    VIEW.set("preset", "custom")


def _new_group() -> None:
    for name in ("cut", "split", "merge"):  # the next column starts as one group per level
        st.session_state.pop(VIEW.key(name), None)
    _custom()


page_header("Survival curves")
view = cohort_sidebar()
df = view.df
if not require_columns(view, list(ENDPOINTS["os"][:2]), "Survival curves"):
    st.stop()
available = [k for k, (d, e, *_) in ENDPOINTS.items() if has_values(df, d, e)]
groups = [NONE, *groupable_columns(view, outcomes=False)]
last = max(df[ENDPOINTS[k][0]].max() for k in available)
max_t = max(int(last) if last == last else 0, HORIZON)  # slider range (days), both endpoints

c1, c2, c3 = st.columns([2, 1, 1])
c1.selectbox(
    "Preset",
    list(PRESETS),
    on_change=_preset,
    **VIEW.widget("preset", PRESETS),
)
c2.radio(
    "Endpoint", available, horizontal=True,
    **VIEW.widget("endpoint", available),
)  # fmt: skip
c3.radio(
    "Time axis", ["days", "months"], horizontal=True, on_change=switch_unit, args=(VIEW, max_t),
    **VIEW.widget("unit", ["days", "months"]),
)  # fmt: skip
g1, g2 = st.columns([2, 1])
g1.selectbox("Group by", groups, on_change=_new_group, **VIEW.widget("group", groups))
state = VIEW.current()
group_col = state.group if state.group in groups else NONE
if group_col != NONE and is_post_admission(group_col):
    post_admission_warning([group_label(group_col)], "comparing survival by it")
duration, event, endpoint_name, y_title = ENDPOINTS[state.endpoint]
threshold = merge = None
if group_col != NONE:
    threshold, merge = two_groups(VIEW, df[group_col], group_label(group_col), g2, _custom)
horizon = horizon_slider(VIEW, state.unit, max_t, on_change=_custom)
st.caption(f"Horizon: day {horizon:.0f} = {horizon / DAYS_PER_MONTH:.1f} months.")
t1, t2, t3, t4 = st.columns(4)
t1.toggle("95% CI bands", **VIEW.widget("ci"))
t2.toggle("Censor marks", **VIEW.widget("cens"))
t3.toggle("Landmarks", help="Dashed lines at 1/4, 1/2 and 3/4 of the horizon", **VIEW.widget("lm"))
t4.toggle(
    "Censor at horizon",
    help="Tests, medians and landmarks use follow-up administratively censored at the horizon",
    **VIEW.widget("trunc"),
)
state = VIEW.current()

if group_col == NONE:
    data, gcol, ordered, levels = df, None, False, ("All",)
else:
    short = group_label(group_col)  # "SOFA score < 4", never the raw "sofa < 4"
    order = level_order(group_col)
    grouping = make_groups(df, group_col, threshold, label=short, order=order, merge=merge)
    data, gcol, ordered, levels = grouping.df, grouping.column, grouping.ordered, grouping.levels
    if grouping.n_missing:
        st.caption(
            f"{grouping.n_missing} patient(s) without {md(group_label(group_col))} not shown."
        )
if len(data) == 0:
    st.warning(f"No patient has a value for {md(group_label(group_col))}.")
    st.stop()
grouped = data  # before any horizon censoring (the competing-risks tab)
if state.trunc:
    data = truncate_at(data, duration, event, horizon)
marks = ch.landmark_times(horizon, state.unit)  # 1/4, 1/2, 3/4 of the horizon, and the horizon
by = f" by {group_label(group_col)}" if gcol else ""

# Kaplan-Meier always runs (the page's main result); the other two tabs compute only when
# selected: a widget change on the curves no longer refits the parametric models.
tab_km, tab_cr, tab_par = st.tabs(
    [f"Kaplan-Meier: {endpoint_name}", TAB_CR, TAB_PAR], key=TAB_KEY, on_change="rerun"
)
with tab_km:
    km = kaplan_meier(data, duration, event, gcol)
    gtitle = group_label(group_col) if gcol else None
    fig_args = (km, state.unit, horizon, state.ci, state.cens, marks[:-1] if state.lm else [])
    fig_kw = dict(
        y_title=y_title, group_title=gtitle, height=CHART_HEIGHT,
        title=f"{endpoint_name}{by} ({view.name})",
    )  # fmt: skip
    curves, risk = chart_spec(ch.km_screen, *fig_args, **fig_kw)  # each fills the column
    alt_text = (
        f"Kaplan-Meier curves of {endpoint_name.lower()}{by}, with the number at risk "
        "under the plot; the values are in the tables below."
    )
    show_chart(curves, alt=alt_text)
    show_chart(risk, alt=f"Number at risk, cumulative events and censored{by}.")
    left, right = st.columns(2)
    left, right = st.columns(2)
    with left:
        st.markdown("**Median survival**")
        st.dataframe(format_medians(km, state.unit), hide_index=True, key="km_medians_df")
        km_tests(VIEW, data, duration, event, gcol, levels, ordered, group_label(group_col))
    with right:
        st.markdown("**Landmark survival**")
        at = survival_at(data, duration, event, marks, gcol)
        st.dataframe(format_landmarks(at, state.unit), hide_index=True, key="km_landmark_df")
    with st.expander("Number at risk / cumulative events / censored (table)"):
        nar = n_at_risk(km, ch.time_ticks(horizon, state.unit))
        st.dataframe(format_n_at_risk(nar, state.unit), hide_index=True, key="km_nar_df")
    stem = f"km_{state.endpoint}_{group_col if gcol else 'all'}"
    km_downloads(  # the stacked, fixed-width figure: made on click only
        lambda: ch.km_figure(
            *fig_args, **fig_kw, width=ch.plot_width(km, FIGURE_WIDTH, gtitle)
        ).to_dict(),
        km, stem,
    )  # fmt: skip
    km_captions(view, state.endpoint, grouped=gcol is not None)
    if gcol is None:
        across_note(view, [f"median_{state.endpoint}"], "Kaplan-Meier median")
    elif (
        state.endpoint == "os"
        and group_col in ("ecog_ps", "icu_reason")
        and not (threshold is not None or merge)
    ):
        across_note(view, [f"os1y_{group_col}_*"], "Kaplan-Meier at day 365")
with tab_cr:
    if tab_cr.open:
        competing_risks_tab(VIEW, grouped, gcol, group_label(group_col), horizon)
with tab_par:
    if tab_par.open:
        parametric_tab(VIEW, grouped, duration, event, state.unit, cohort=df)
