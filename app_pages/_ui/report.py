"""The sidebar's Report button: a dialog to choose the views (prefilled from each page's current
settings) and download the report as Word or HTML (core.report)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

# Every page draws the button; what the dialog needs (each view's state, the report builder and
# so the statistics stack) is imported only when it opens, so a first page loads none of it.

TABLES = {"table1": "Table 1 (overall)", "table3": "Table 3 (by reason)",
          "table4": "Table 4 (by 1-year outcome)",
          "custom": "Custom (the Compare page's variables and grouping)"}  # fmt: skip
FEW_VALUES = 6  # as app_pages/compare.py: a numeric grouping with more values is always cut
FORMATS = {"docx": "Word (.docx)", "html": "HTML (one file, print to PDF)"}
MIME = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html",
}


def report_button(view) -> None:
    """In the sidebar of every analysis page."""
    if st.sidebar.button("Report…", key="rep_open", help="A Word or HTML report of the views"):
        _dialog(view)


def _compare_spec(df, preset: str, adj: str):
    """The Compare page's table as a CompareSpec: a custom one takes its variables, grouping
    and cut as the page does (a numeric grouping is cut unless it has few values and "Cut" is
    off; a kept cut outside (min, max] falls back to the median, or the maximum)."""
    from app_pages._ui.views.common import NONE
    from app_pages._ui.views.compare import COMPARE
    from core.report import CompareSpec

    adjust = None if adj == "none" else adj
    if preset != "custom":
        return CompareSpec(preset, adjust)
    by = COMPARE.value("by")
    by = None if by == NONE or by not in df.columns else by
    cut = None
    x = None if by is None else df[by]
    if x is not None and pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
        if x.nunique() > FEW_VALUES or COMPARE.value("as_cut"):
            x = x.dropna()
            median = float(x.median())
            cut = COMPARE.value("cut")
            if cut is None or not x.min() < cut <= x.max():
                cut = median if x.min() < median else float(x.max())
    variables = COMPARE.value("vars")
    return CompareSpec("custom", adjust, by, None if variables is None else tuple(variables), cut)


def _survival_groups(df, group: str) -> tuple[float | None, tuple[str, ...]]:
    """The Survival page's cut or merged levels when the report groups by the page's column
    (``two_groups``: a continuous column is cut, at its median by default; an ordinal or
    categorical one only with "Two groups" on)."""
    from app_pages._ui.views.survival import SURVIVAL
    from core.cohort.schema import level_order
    from core.cohort.variables import default_threshold, is_continuous, order_levels

    if group != SURVIVAL.value("group"):
        return None, ()
    s = df[group]
    cut = SURVIVAL.value("cut")
    if is_continuous(s):
        return (default_threshold(s) if cut is None else cut), ()
    if not SURVIVAL.value("split"):
        return None, ()
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return (default_threshold(s) if cut is None else cut), ()
    levels = [str(v) for v in order_levels(s.dropna().unique().tolist(), level_order(group))]
    merge = [m for m in SURVIVAL.value("merge") if m in levels] or levels[:1]
    return None, tuple(merge)


@st.dialog("Report of this analysis", width="large")
def _dialog(view) -> None:
    from app_pages._ui.active import groupable_columns
    from app_pages._ui.views.calculator import CALCULATOR
    from app_pages._ui.views.compare import COMPARE
    from app_pages._ui.views.cox import COX, MODES, horizon_days
    from app_pages._ui.views.survival import SURVIVAL
    from app_pages._ui.views.validation import VALIDATION
    from core.cohort.schema import column_label
    from core.report import CoxSpec, ReportRequest, SurvivalSpec, build_report
    from core.study.calculator import ProfileError, make_profile

    st.caption(
        "Each view is computed on the active cohort with the settings below (taken from the "
        "pages); the methods and results paragraphs are written from what was run."
    )
    compare = survival = None
    cmp_default = COMPARE.value("preset") if COMPARE.value("preset") in TABLES else "table1"
    if st.checkbox("Group comparison", value=True, key="rep_cmp"):
        preset = st.selectbox("Table", list(TABLES), format_func=TABLES.get,
                              index=list(TABLES).index(cmp_default), key="rep_cmp_t")  # fmt: skip
        compare = _compare_spec(view.df, preset, COMPARE.value("adj"))
        if preset == "custom":
            n_vars = "every variable" if compare.variables is None else (
                f"{len(compare.variables)} variable(s)")  # fmt: skip
            by = "for the whole cohort" if compare.by is None else f"by {column_label(compare.by)}"
            cut = "" if compare.cut is None else f" cut at {compare.cut:g}"
            st.caption(f"Custom table: {n_vars} {by}{cut} (set on the Compare page).")
    groups = groupable_columns(view, outcomes=False)  # as the Survival page offers them
    if st.checkbox("Survival curves", value=True, key="rep_km") and groups:
        current = SURVIVAL.value("group")
        group = st.selectbox("By", groups, format_func=column_label, key="rep_km_g",
                             index=groups.index(current) if current in groups else 0)  # fmt: skip
        cut, merge = _survival_groups(view.df, group)
        if cut is not None or merge:
            two = f"cut at {cut:g}" if cut is not None else f"{' or '.join(merge)} vs the others"
            st.caption(f"Two groups: {two} (as on the Survival page).")
        competing = st.checkbox("With competing risks (progression / death)", value=False,
                                key="rep_km_cr")  # fmt: skip
        survival = SurvivalSpec(
            group, SURVIVAL.value("endpoint"), SURVIVAL.value("unit"), cut, merge,
            competing, competing and bool(SURVIVAL.value("cr_by")),
        )  # fmt: skip
    cs = COX.current()
    cox = None
    if st.checkbox(f"Cox model: {MODES[cs.mode]}", value=True, key="rep_cox"):
        cox = CoxSpec(cs.mode, tuple(cs.covs), tuple(cs.cands), cs.test, cs.endpoint,
                      horizon_days(cs))  # fmt: skip
    profiles: tuple = ()
    if st.checkbox("Calculator profiles", value=True, key="rep_calc"):
        state = CALCULATOR.current()
        try:
            profiles = tuple(make_profile(**state.profile(i)) for i in range(state.n))
        except ProfileError as exc:
            st.caption(f"Profiles left out: {exc}")
    horizon = None
    if st.checkbox("Validation of the published model", value=False, key="rep_val"):
        horizon = float(VALIDATION.value("horizon"))
    fmt = st.radio("Format", list(FORMATS), format_func=FORMATS.get, horizontal=True,
                   key="rep_fmt")  # fmt: skip
    request = ReportRequest(
        cohort_name=view.name,
        reconstructed=view.reconstructed,
        filter_text=view.cohort_filter.describe(),
        compare=compare,
        survival=survival,
        cox=cox or False,
        calculator=profiles,
        validation_horizon=horizon,
    )
    if st.button("Build the report", type="primary", key="rep_build"):
        with st.spinner("Building…"):
            st.session_state["rep_bytes"] = (fmt, build_report(view.df, request, fmt))
    built = st.session_state.get("rep_bytes")
    if built is not None and built[0] == fmt:
        st.download_button(
            f"Download the report ({FORMATS[fmt]})",
            built[1],
            file_name=f"cart_icu_report.{fmt}",
            mime=MIME[fmt],
            key="rep_dl",
            on_click="ignore",
        )
