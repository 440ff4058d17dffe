"""The shared cohort filter in the sidebar and the badge under each page title.

Every page starts with::

    from app_pages._ui.cohort import cohort_sidebar, page_header
    page_header("Survival curves")
    view = cohort_sidebar()   # view.df is the active, filtered cohort

The rows themselves (the shipped cohort or this session's upload) come from
:mod:`app_pages._ui.active`.
"""

from __future__ import annotations

import duckdb
import streamlit as st
from pydantic import ValidationError

from app_pages._ui.active import (
    RECONSTRUCTED_LABEL,
    RESET_KEY,
    STAMP_KEY,
    ActiveCohort,
    badge_text,
    cohort_facts,
    export_stamp,
    reset_filter,
    shipped_connection,
    shipped_rows,
    user_cohort,
    user_rows,
    view_key,
)
from app_pages._ui.state import BIND
from core.cohort.schema import CohortFilter, column_label
from core.cohort.variables import has_values

# query-parameter keys of the shared filter
_Q = {
    "icu_reason": "f_reason",
    "ecog_ps": "f_ps",
    "malignancy": "f_malignancy",
    "sex": "f_sex",
    "age": "f_age",
    "sofa": "f_sofa",
}


def cohort_sidebar() -> ActiveCohort:
    """Draw the shared cohort filter in the sidebar and return the active cohort."""
    from app_pages._ui.report import report_button  # local: the report imports every view

    user = user_cohort()
    con = user["con"].cursor() if user else shipped_connection().cursor()
    try:
        view = _sidebar(con, user)
    finally:
        con.close()
    if view.n:
        report_button(view)
    return view


def _multiselect(facts: dict, field: str, label: str, fmt=str) -> tuple | None:
    """A level filter: every level chosen means no filter (``None``)."""
    options = facts["levels"].get(field)
    if not options:
        return None
    key = _Q[field]
    if st.session_state.get(RESET_KEY):
        st.session_state[key] = list(options)
    elif key in st.session_state:  # keep only still-valid choices (the cohort may have changed)
        st.session_state[key] = [v for v in st.session_state[key] if v in options]
    chosen = st.sidebar.multiselect(
        label, options, default=list(options), key=key, format_func=fmt, **BIND
    )
    return None if len(chosen) == len(options) else tuple(chosen)


def _slider(facts: dict, field: str, label: str, step: float) -> tuple[float | None, float | None]:
    """A range filter: the full range means no bound (``None``)."""
    bounds = facts["ranges"].get(field)
    if bounds is None or bounds[0] == bounds[1]:
        return None, None
    lo, hi = bounds
    key = _Q[field]
    if st.session_state.get(RESET_KEY):
        st.session_state[key] = (lo, hi)
    elif key in st.session_state:  # clip a kept range to this cohort's
        cur = st.session_state[key]
        st.session_state[key] = (max(lo, float(cur[0])), min(hi, float(cur[1])))
    whole = float(step).is_integer() and float(lo).is_integer() and float(hi).is_integer()
    chosen = st.sidebar.slider(
        label,
        min_value=lo,
        max_value=hi,
        value=(lo, hi),
        step=step,
        key=key,
        format="%d" if whole else None,  # "18 – 80", not "18.00 – 80.00"
        **BIND,
    )
    return (None if chosen[0] <= lo else chosen[0]), (None if chosen[1] >= hi else chosen[1])


def _sidebar(con: duckdb.DuckDBPyConnection, user: dict | None) -> ActiveCohort:
    facts = cohort_facts(con, user)
    n_total = facts["n_total"]
    sb = st.sidebar
    if user:
        sb.markdown("**Active cohort: your data** (this session only)")
        sb.text(user["name"])  # user text shown as plain text, never as HTML
    else:
        sb.markdown("**Active cohort: reconstructed**")
        sb.caption(RECONSTRUCTED_LABEL)
    sb.subheader("Filter the cohort")
    reasons = _multiselect(facts, "icu_reason", "Reason for ICU admission")
    ps = _multiselect(facts, "ecog_ps", "ECOG performance status", lambda v: f"PS {v}")
    malignancy = _multiselect(facts, "malignancy", "Malignancy")
    sex = _multiselect(facts, "sex", "Sex", {"M": "Male", "F": "Female"}.get)
    age_min, age_max = _slider(facts, "age", "Age (years)", 1.0)
    sofa_min, sofa_max = _slider(facts, "sofa", "SOFA at admission (points)", 1.0)
    st.session_state.pop(RESET_KEY, None)  # every filter now shows its full choice
    try:
        cohort_filter = CohortFilter(
            icu_reason=reasons,
            ecog_ps=tuple(int(v) for v in ps) if ps is not None else None,
            malignancy=malignancy,
            sex=sex,
            age_min=age_min,
            age_max=age_max,
            sofa_min=int(sofa_min) if sofa_min is not None else None,
            sofa_max=int(sofa_max) if sofa_max is not None else None,
        )
    except ValidationError as exc:
        sb.error(f"Filter ignored: {exc.errors()[0]['msg']}")
        cohort_filter = CohortFilter()
    if user:
        df = user_rows(con, user, cohort_filter)
    else:
        df = shipped_rows(cohort_filter.model_dump_json())
    sb.metric("Patients in view", f"n = {len(df)} of {n_total}")
    slot = st.session_state.pop(HEADER_SLOT, None)
    if slot is not None:
        slot.caption(badge_text(user, len(df), n_total))
    if not cohort_filter.is_empty and sb.button("Reset filter"):
        reset_filter()
        st.rerun()
    st.session_state[STAMP_KEY] = export_stamp(user, cohort_filter, len(df))
    return ActiveCohort(
        df=df,
        name=user["name"] if user else "Reconstructed cohort",
        reconstructed=user is None,
        n=len(df),
        n_total=n_total,
        cohort_filter=cohort_filter,
        mode=user.get("mode", "paper") if user else "paper",
        key=view_key(user, cohort_filter),
    )


HEADER_SLOT = "_header_slot"


def page_header(title: str, intro: str | None = None) -> None:
    """Page title, the cohort badge and an optional one-line introduction.

    The badge names the active cohort; :func:`cohort_sidebar` completes it with the number
    of patients in view once the filter is known.
    """
    st.title(title)
    user = user_cohort()
    slot = st.empty()
    if user:
        slot.caption("Active cohort: your uploaded data (kept in this browser session only).")
    else:
        slot.caption(f"Active cohort: reconstructed — {RECONSTRUCTED_LABEL}.")
    st.session_state[HEADER_SLOT] = slot
    if intro:
        st.markdown(intro)


def require_columns(view: ActiveCohort, needed: list[str], what: str) -> bool:
    """Show a clear message and return False when the active cohort lacks columns."""
    if view.n == 0:
        st.warning("No patient passes the current filter: widen it in the sidebar.")
        return False
    missing = [c for c in needed if not has_values(view.df, c)]
    if missing:
        names = ", ".join(column_label(c) for c in missing)  # in words, not internal names
        st.info(
            f"{what} needs {names}, not in the active cohort. On *Your data*, map the file's "
            "columns to them."
        )
        return False
    return True
