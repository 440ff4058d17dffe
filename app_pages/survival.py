"""Survival curves: Kaplan-Meier by group, log-rank / trend tests, medians, competing risks.

Thin page: widgets -> one core.stats.survival call per result -> core.charts.survival chart / table.
View state is mirrored in st.query_params (keys prefixed ``km_``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.cohort import cohort_sidebar, page_header, require_columns
from app_pages._ui.render import chart_download, chart_spec, csv_download, show_chart
from app_pages._ui.state import sync_url, url_choice, url_param
from core.charts import survival as ch
from core.cohort.schema import column_label, level_order
from core.cohort.variables import (
    MAX_LEVELS,
    default_threshold,
    is_continuous,
    is_outcome_column,
    is_post_admission,
    make_groups,
)
from core.stats.competing import cumulative_incidence, cumulative_incidence_at
from core.stats.logrank import logrank, logrank_trend, pairwise_logrank, univariable_hr
from core.stats.survival import (
    DAYS_PER_MONTH,
    kaplan_meier,
    n_at_risk,
    survival_at,
    to_months,
    truncate_at,
)
from core.study.glossary import glossary_url
from core.study.published import load_published
from core.tables.survival import (
    format_chi2_test,
    format_cif_table,
    format_hazard_ratios,
    format_landmarks,
    format_medians,
    format_n_at_risk,
    format_pairwise,
)

P = "km_"
ENDPOINTS = {
    "os": ("os_days", "os_event", "Overall survival", "Survival probability"),
    "pfs": ("pfs_days", "pfs_event", "Progression-free survival", "Progression-free probability"),
}
UNITS = ("days", "months")
NONE = "(none: whole cohort)"
PRESETS = {
    "custom": "Custom",
    "fig2": "Figure 2 (by ECOG PS)",
    "fig3": "Figure 3 (by reason for ICU admission)",
}
PRESET_GROUP = {"fig2": "ecog_ps", "fig3": "icu_reason"}
HORIZON_DEFAULT = 360  # days: the paper's Kaplan-Meier window (data/published.yaml horizon_days)
# px: whole KM figure (labels included) and plot height; fits the main column of a 1024-px window
FIGURE_WIDTH, CHART_HEIGHT = 600, 340
EXCLUDE = {"patient_id"}  # besides outcomes (sv.is_outcome_column)
H = P + "days"  # the horizon in days (not a widget: both sliders write to it)
H_DAYS, H_MONTHS = P + "h", P + "h_mo"  # slider widgets in days / in months
POST_ADMISSION_WARNING = (
    "measured after ICU admission: comparing survival by it is subject to immortal-time bias; "
    "interpret with care"
)


def _short_label(col: str) -> str:
    """Dictionary label when short (cut-group names, table rows), else the column name."""
    lab = _label(col)
    return lab if len(lab) <= 16 else col


def _label(col: str) -> str:
    return col if col == NONE else column_label(col, unit=False)


# ---------------------------------------------------------------------------------------------
# state <-> query params
# ---------------------------------------------------------------------------------------------
def _init_state(group_options: list[str], df: pd.DataFrame) -> None:
    """Seed each widget's state from the URL when the widget has no state yet."""
    ss = st.session_state

    def seed(name: str, value) -> None:
        if P + name not in ss:
            ss[P + name] = value

    seed("preset", url_choice(P + "preset", PRESETS, "custom"))
    seed("endpoint", url_choice(P + "endpoint", available, "os"))
    grp = url_param(P + "group", PRESET_GROUP.get(ss[P + "preset"], PRESET_GROUP["fig2"]))
    seed("group", grp if grp in group_options else NONE)
    seed("unit", url_choice(P + "unit", UNITS, "days"))
    try:
        seed("days", int(float(url_param(P + "h", str(HORIZON_DEFAULT)))))
    except ValueError:
        seed("days", HORIZON_DEFAULT)
    for flag, default in (("ci", "1"), ("cens", "1"), ("lm", "1"), ("trunc", "0")):
        seed(flag, url_param(P + flag, default) == "1")
    group = ss[P + "group"]
    fresh = P + "cut" not in ss or ss.get(P + "cut_for") != group
    if group != NONE and fresh and is_continuous(df[group]):
        try:
            cut = float(url_param(P + "cut", ""))
        except ValueError:
            cut = default_threshold(df[group])
        if ss.get(P + "cut_for") not in (None, group):  # user switched column: the median
            cut = default_threshold(df[group])
        ss[P + "cut"] = cut
        ss[P + "cut_for"] = group


def _apply_preset() -> None:
    key = st.session_state[P + "preset"]
    if key in PRESET_GROUP and PRESET_GROUP[key] in group_options:
        st.session_state[P + "group"] = PRESET_GROUP[key]
        st.session_state[H] = HORIZON_DEFAULT
        st.session_state[P + "unit"] = "days"


def _to_custom() -> None:
    st.session_state[P + "preset"] = "custom"


def _horizon_from_days() -> None:
    st.session_state[H] = int(st.session_state[H_DAYS])
    _to_custom()


def _horizon_from_months() -> None:
    st.session_state[H] = _months_to_days(st.session_state[H_MONTHS])
    _to_custom()


def _months_to_days(months: float) -> int:
    return round(months * DAYS_PER_MONTH)


def _days_to_months(days: float) -> int:
    return max(1, round(days / DAYS_PER_MONTH))


def _sync_url(threshold: float | None) -> None:
    ss = st.session_state
    values = {
        "preset": ss[P + "preset"],
        "endpoint": ss[P + "endpoint"],
        "group": ss[P + "group"],
        "unit": ss[P + "unit"],
        "h": str(ss[H]),  # days, whatever the display unit
        **{f: "1" if ss[P + f] else "0" for f in ("ci", "cens", "lm", "trunc")},
    }
    # no cut shown: km_cut leaves the URL (it would otherwise apply to the next cut column)
    values["cut"] = None if threshold is None else f"{threshold:g}"
    sync_url(values, prefix=P)


# ---------------------------------------------------------------------------------------------
# page
# ---------------------------------------------------------------------------------------------
page_header("Survival curves")
view = cohort_sidebar()
df = view.df


def _has(columns: tuple[str, ...]) -> bool:
    """Columns present and holding at least one value (an upload may leave them empty)."""
    return set(columns) <= set(df.columns) and all(df[c].notna().any() for c in columns)


available = [k for k, (dur, ev, *_) in ENDPOINTS.items() if _has((dur, ev))]
if not require_columns(view, list(ENDPOINTS["os"][:2]), "Survival curves"):
    st.stop()
has_cr = _has(ENDPOINTS["os"][:2] + ENDPOINTS["pfs"][:2])

group_options = [NONE] + [
    c
    for c in df.columns
    if c not in EXCLUDE
    and not is_outcome_column(c)  # grouping by the outcome is circular
    and df[c].notna().any()
    and (is_continuous(df[c]) or df[c].nunique() <= MAX_LEVELS)
]
_init_state(group_options, df)
# the cohort may have changed since the state was set (filter, upload): keep valid choices only
if st.session_state[P + "group"] not in group_options:
    st.session_state[P + "group"] = NONE
if st.session_state[P + "endpoint"] not in available:
    st.session_state[P + "endpoint"] = available[0]

c1, c2, c3 = st.columns([2, 1, 1])
c1.selectbox(
    "Preset",
    list(PRESETS),
    format_func=PRESETS.get,
    key=P + "preset",
    on_change=_apply_preset,
    help="The paper's Kaplan-Meier figures: groups and the 360-day window of Figures 2 and 3.",
)
c2.radio(
    "Endpoint",
    available,
    format_func=lambda k: ENDPOINTS[k][2],
    key=P + "endpoint",
    horizontal=True,
)
c3.radio("Time axis", UNITS, key=P + "unit", horizontal=True)

g1, g2 = st.columns([2, 1])
g1.selectbox("Group by", group_options, key=P + "group", on_change=_to_custom, format_func=_label)
group_col = st.session_state[P + "group"]
if group_col != NONE and is_post_admission(group_col):
    st.warning(
        f"**{_label(group_col)}** is {POST_ADMISSION_WARNING}. "
        f"[What is immortal-time bias?]({glossary_url('immortal_time')})",
        icon=":material/warning:",
    )
duration, event, endpoint_name, y_title = ENDPOINTS[st.session_state[P + "endpoint"]]
unit = st.session_state[P + "unit"]
last = df[duration].max()
max_t = max(int(last) if pd.notna(last) else 0, HORIZON_DEFAULT)  # slider range (days)
step = 30 if max_t > 200 else 10
if unit == "days":
    days = min(max(int(st.session_state[H]) // step * step, step), max_t)
    st.session_state[H_DAYS] = days
else:  # whole months; the horizon (days) snaps to the month shown
    max_mo = max(1, int(max_t / DAYS_PER_MONTH))
    months = min(_days_to_months(st.session_state[H]), max_mo)
    st.session_state[H_MONTHS] = months
    days = _months_to_days(months)
st.session_state[H] = days

threshold = None
if group_col != NONE and is_continuous(df[group_col]):
    _init_state(group_options, df)  # default cut (median) for a newly chosen column
    threshold = g2.number_input(
        f"Cut {_label(group_col)} at (default: median)", key=P + "cut", on_change=_to_custom
    )

if unit == "days":
    st.slider(
        "Horizon (days from ICU admission)",
        min_value=step,
        max_value=max_t,
        step=step,
        key=H_DAYS,
        on_change=_horizon_from_days,
    )
else:
    st.slider(
        "Horizon (months from ICU admission)",
        min_value=1,
        max_value=max_mo,
        step=1,
        key=H_MONTHS,
        on_change=_horizon_from_months,
    )
horizon = float(st.session_state[H])
st.caption(f"Horizon: day {horizon:.0f} = {float(to_months(horizon)):.1f} months.")
t1, t2, t3, t4 = st.columns(4)
t1.toggle("95% CI bands", key=P + "ci")
t2.toggle("Censor marks", key=P + "cens")
t3.toggle("Landmarks", key=P + "lm", help="Dashed lines at 1/4, 1/2 and 3/4 of the horizon")
t4.toggle(
    "Censor at horizon",
    key=P + "trunc",
    help="Tests, medians and landmarks use follow-up administratively censored at the horizon",
)
_sync_url(threshold)

# ---- data for the analysis --------------------------------------------------------------------
if group_col == NONE:
    data, gcol, ordered, levels = df, None, False, ("All",)
else:
    grouping = make_groups(
        df, group_col, threshold, label=_short_label(group_col), order=level_order(group_col)
    )
    data, gcol, ordered, levels = grouping.df, grouping.column, grouping.ordered, grouping.levels
    if grouping.n_missing:
        st.caption(f"{grouping.n_missing} patient(s) with missing {group_col} are not shown.")
if len(data) == 0:
    st.warning(f"No patient has a value for {group_col}.")
    st.stop()
grouped = data  # before any horizon censoring (used by the competing-risks tab)
if st.session_state[P + "trunc"]:
    data = truncate_at(data, duration, event, horizon)
marks = ch.landmark_times(horizon, unit)  # 1/4, 1/2, 3/4 of the horizon, and the horizon
landmarks = marks[:-1] if st.session_state[P + "lm"] else []

tab_km, tab_cr = st.tabs(
    [f"Kaplan-Meier: {endpoint_name}", "Competing risks (progression / death)"]
)

with tab_km:
    km = kaplan_meier(data, duration, event, gcol)
    spec = chart_spec(
        ch.km_figure,
        km,
        unit,
        horizon,
        st.session_state[P + "ci"],
        st.session_state[P + "cens"],
        landmarks,
        y_title=y_title,
        group_title=_label(group_col) if gcol else None,
        width=ch.plot_width(km, FIGURE_WIDTH, _label(group_col) if gcol else None),
        height=CHART_HEIGHT,
        title=f"{endpoint_name}" + (f" by {_label(group_col)}" if gcol else "") + f" ({view.name})",
    )
    show_chart(  # sized to fit (FIGURE_WIDTH)
        spec,
        width="content",
        alt=f"Kaplan-Meier curves of {endpoint_name.lower()}"
        + (f" by {_label(group_col)}" if gcol else "")
        + ", with the number at risk under the plot; the values are in the tables below.",
    )
    left, right = st.columns(2)
    with left:
        st.markdown("**Median survival**")
        st.dataframe(format_medians(km, unit), hide_index=True, key=P + "medians_df")
        if gcol is not None and len(levels) >= 2:
            lr = logrank(data, duration, event, gcol)
            if lr.warning:
                st.warning(f"No test shown: {lr.warning}.")
            else:
                st.markdown(f"**Log-rank** {format_chi2_test(lr.statistic, lr.dof, lr.p_value)}")
                if ordered:
                    tr = logrank_trend(data, duration, event, gcol)
                    st.markdown(
                        f"**Trend** (ordered {_label(group_col)}) "
                        f"{format_chi2_test(tr.statistic, 1, tr.p_value)}"
                    )
                if len(levels) > 2:
                    with st.expander("Pairwise log-rank (Holm-adjusted)"):
                        pw = pairwise_logrank(data, duration, event, gcol, adjust="holm")
                        st.dataframe(format_pairwise(pw), hide_index=True)
                with st.expander("Hazard ratios (univariable Cox, Efron)"):
                    hr = univariable_hr(data, duration, event, gcol, reference=levels[0])
                    st.dataframe(format_hazard_ratios(hr), hide_index=True)
        elif gcol is not None:
            st.info("Only one group is present: no comparison.")
    with right:
        st.markdown("**Landmark survival**")
        at = survival_at(data, duration, event, marks, gcol)
        st.dataframe(format_landmarks(at, unit), hide_index=True, key=P + "landmark_df")
    with st.expander("Number at risk / cumulative events / censored (table)"):
        nar = n_at_risk(km, ch.time_ticks(horizon, unit))
        st.dataframe(format_n_at_risk(nar, unit), hide_index=True, key=P + "nar_df")
    d1, d2, d3 = st.columns(3)
    stem = f"km_{st.session_state[P + 'endpoint']}_{group_col if gcol else 'all'}"
    chart_download("PNG", spec, f"{stem}.png", key=P + "png", where=d1)  # made on click only
    chart_download("SVG", spec, f"{stem}.svg", key=P + "svg", where=d2)
    csv_download("Curve CSV", km.table, f"{stem}.csv", key=P + "csv", where=d3)
    if gcol is None and view.reconstructed:  # published figures describe the paper's cohort only
        pub = load_published()["survival"][f"median_{st.session_state[P + 'endpoint']}_months"]
        upper = "NA" if pub["upper"] is None else pub["upper"]
        st.caption(
            f"Paper ({pub['source']}): median {pub['value']} months "
            f"[95% CI {pub['lower']}–{upper}]."
        )
    st.caption(
        f"Kaplan-Meier with Greenwood 95% CI (log scale, as R survfit); medians as R "
        f"print.survfit; log-rank as R survdiff. {view.n} of {view.n_total} patients in the "
        f"active cohort; time from ICU admission; months = days / {DAYS_PER_MONTH}."
    )

with tab_cr:
    if not has_cr:
        st.info("Competing risks need os_days, os_event, pfs_days and pfs_event.")
        st.stop()
    st.markdown(
        "Aalen-Johansen cumulative incidence of **progression** and of **death without "
        "progression** (first event of the PFS endpoint; as R `survfit(Surv(t, factor(status)))`)."
    )
    CR_CI = P + "cr_ci"  # curves with 95% CI (on) or stacked areas (off); mirrored in the URL
    if CR_CI not in st.session_state:
        st.session_state[CR_CI] = url_param(CR_CI, "0") == "1"
    cr1, cr2 = st.columns(2)
    by_group = gcol is not None and cr1.toggle("Split by group", key=P + "cr_by")
    cr2.toggle(
        "Curves with 95% CI",
        key=CR_CI,
        help="Off: stacked areas (progression at the bottom, death without progression on top). "
        "On: one step curve per event (progression solid, death without progression dashed) "
        "with its 95% pointwise confidence band.",
    )
    curves = st.session_state[CR_CI]
    sync_url({CR_CI: "1" if curves else None})  # absent when off
    cr_columns = list(ENDPOINTS["os"][:2] + ENDPOINTS["pfs"][:2])
    cr_data = grouped.dropna(subset=cr_columns)
    if len(cr_data) < len(grouped):
        st.caption(f"{len(grouped) - len(cr_data)} patient(s) without PFS data left out.")
    if st.session_state[P + "trunc"]:
        cr_data = truncate_at(cr_data, "pfs_days", "pfs_event", horizon)
    cif = cumulative_incidence(cr_data, group=gcol if by_group else None)
    show_chart(
        chart_spec(
            ch.cif_chart,
            cif,
            unit,
            horizon,
            group_title=_label(group_col) if by_group else None,
            width=FIGURE_WIDTH,
            stacked=not curves,
            show_ci=curves,
        ),
        width="content",
        alt="Cumulative incidence of progression and of death without progression over time; "
        "the values are in the table below.",
    )
    at = cumulative_incidence_at(cif, marks)
    st.dataframe(format_cif_table(at, unit), hide_index=True, key=P + "cif_df")
    st.caption(
        "95% pointwise CIs as R survfit for multi-state data: infinitesimal-jackknife standard "
        "error of the Aalen-Johansen estimate, log scale (exp(log F ± 1.96 se/F), capped at 1); "
        "– where the incidence is still 0 (R gives NA)."
    )
