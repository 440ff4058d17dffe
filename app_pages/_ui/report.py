"""The sidebar's Report button: a dialog to choose the views (prefilled from each page's current
settings) and download the report as Word or HTML (core.report)."""

from __future__ import annotations

import streamlit as st

# Every page draws the button; what the dialog needs (each view's state, the report builder and
# so the statistics stack) is imported only when it opens, so a first page loads none of it.

TABLES = {"table1": "Table 1 (overall)", "table3": "Table 3 (by reason)",
          "table4": "Table 4 (by 1-year outcome)"}  # fmt: skip
FORMATS = {"docx": "Word (.docx)", "html": "HTML (one file, print to PDF)"}
MIME = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html",
}


def report_button(view) -> None:
    """In the sidebar of every analysis page."""
    if st.sidebar.button("Report…", key="rep_open", help="A Word or HTML report of the views"):
        _dialog(view)


@st.dialog("Report of this analysis", width="large")
def _dialog(view) -> None:
    from app_pages._ui.views.calculator import CALCULATOR
    from app_pages._ui.views.compare import COMPARE
    from app_pages._ui.views.survival import SURVIVAL
    from app_pages._ui.views.validation import VALIDATION
    from core.cohort.schema import column_label
    from core.cohort.variables import grouping_columns
    from core.report import CompareSpec, ReportRequest, SurvivalSpec, build_report
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
        adj = COMPARE.value("adj")
        compare = CompareSpec(preset, None if adj == "none" else adj)
    groups = [g for g in grouping_columns(view.df, outcomes=False) if view.df[g].nunique() <= 8]
    if st.checkbox("Survival curves", value=True, key="rep_km") and groups:
        current = SURVIVAL.value("group")
        group = st.selectbox("By", groups, format_func=column_label, key="rep_km_g",
                             index=groups.index(current) if current in groups else 0)  # fmt: skip
        survival = SurvivalSpec(group, SURVIVAL.value("endpoint"), "months")
    cox = st.checkbox("Cox model (the paper's covariates)", value=True, key="rep_cox")
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
        cox=cox,
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
