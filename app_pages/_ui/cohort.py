"""The active cohort: the shipped reconstructed cohort or this session's upload, the shared
cohort filter in the sidebar and the badge under each page title.

Every page starts with::

    from app_pages._ui.cohort import cohort_sidebar, page_header
    page_header("Survival curves")
    view = cohort_sidebar()   # view.df is the active, filtered cohort

The shipped reconstructed cohort is one read-only DuckDB connection per process
(``st.cache_resource``) with a cursor per run. An uploaded cohort lives in this browser
session only (``st.session_state``), in its own in-memory DuckDB.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

import duckdb
import pandas as pd
import streamlit as st
from pydantic import ValidationError

from app_pages._ui.state import BIND
from core.cohort import db
from core.cohort.schema import CohortFilter, column_label
from core.cohort.variables import has_values

RECONSTRUCTED_LABEL = "Reconstructed from published aggregates — not patient data"
STAMP_KEY = "_export_stamp"  # what every file taken away says about its data (render.py)


def export_stamp(user: dict | None, cohort_filter: CohortFilter, n: int) -> str:
    """One line for every export: the cohort, the filter in words, the size and the date."""
    cohort = (
        "uploaded cohort (this session)"
        if user
        else f"reconstructed cohort ({RECONSTRUCTED_LABEL})"
    )
    today = datetime.date.today().isoformat()
    return (
        f"CAR-T ICU prognosis explorer · {cohort} · filter: {cohort_filter.describe()} · "
        f"n = {n} · exported {today}"
    )


USER_KEY = "user_cohort"  # session_state: {"con": DuckDB connection, "name": str, "mode": str}


# query-parameter keys of the shared filter
_Q = {
    "icu_reason": "f_reason",
    "ecog_ps": "f_ps",
    "malignancy": "f_malignancy",
    "sex": "f_sex",
    "age": "f_age",
    "sofa": "f_sofa",
}


@dataclass(frozen=True)
class ActiveCohort:
    df: pd.DataFrame
    name: str
    reconstructed: bool
    n: int
    n_total: int
    cohort_filter: CohortFilter
    mode: str = "paper"  # "paper" or "generic" (uploaded with other columns)
    # identity of these rows: the cohort (shipped, or this session's upload) and the filter;
    # a cheap cache key, so cached results need not hash the data frame on every rerun
    key: str = ""

    @property
    def columns(self) -> list[str]:
        return list(self.df.columns)


@st.cache_resource(show_spinner=False)
def shipped_connection() -> duckdb.DuckDBPyConnection:
    """One read-only connection to the shipped cohort per server process."""
    return db.connect()


@st.cache_data(show_spinner=False)
def _shipped_rows(filter_json: str) -> pd.DataFrame:
    cur = shipped_connection().cursor()
    try:
        return db.fetch_cohort(cur, CohortFilter.model_validate_json(filter_json))
    finally:
        cur.close()


def set_user_cohort(con: duckdb.DuckDBPyConnection, name: str, mode: str = "paper") -> None:
    """Make an uploaded cohort (in its own in-memory DuckDB) the active one for this session."""
    clear_user_cohort()
    st.session_state[USER_KEY] = {"con": con, "name": name, "mode": mode}


RESET_KEY = "_filter_reset"  # set: the next sidebar sets every filter to its full range


def _reset_filter() -> None:
    """A new cohort starts unfiltered: the next sidebar sets each filter to its full choice.

    The widgets are bound to the URL, so forgetting their state is not enough (the address
    would set them again): they are set to the new cohort's full levels and ranges, which
    Streamlit then drops from the address bar.
    """
    st.session_state[RESET_KEY] = True


def clear_user_cohort() -> None:
    """Drop this session's uploaded cohort (closes its in-memory database)."""
    _reset_filter()  # the upload's ranges and levels mean nothing on the next cohort
    user = st.session_state.pop(USER_KEY, None)
    if user is not None:
        try:
            user["con"].close()
        except duckdb.Error:
            pass


def _token(user: dict | None) -> str:
    """Name of the active cohort's rows in cache keys: one per upload, never shared."""
    if user is None:
        return "shipped"
    return user.setdefault("token", f"upload-{uuid.uuid4().hex}")


def user_cohort() -> dict | None:
    return st.session_state.get(USER_KEY)


_LEVEL_FIELDS = ("icu_reason", "ecog_ps", "malignancy", "sex")


_RANGE_FIELDS = ("age", "sofa")


def _read_facts(con: duckdb.DuckDBPyConnection) -> dict:
    """What the filter widgets need of a cohort: columns, size, levels and ranges."""
    columns = db.table_columns(con)
    return {
        "columns": columns,
        "n_total": db.cohort_size(con),
        "levels": {f: db.distinct_values(con, f) for f in _LEVEL_FIELDS if f in columns},
        "ranges": {f: db.value_range(con, f) for f in _RANGE_FIELDS if f in columns},
    }


@st.cache_data(show_spinner=False)
def _shipped_facts() -> dict:
    cur = shipped_connection().cursor()
    try:
        return _read_facts(cur)
    finally:
        cur.close()


def _facts(con: duckdb.DuckDBPyConnection, user: dict | None) -> dict:
    """Cohort facts read once: per process for the shipped cohort, per upload for the user's."""
    if user is None:
        return _shipped_facts()
    if "facts" not in user:  # a new upload is a new dict (set_user_cohort)
        user["facts"] = {**_read_facts(con), "filled": db.filled_columns(con)}
    return user["facts"]


def _user_rows(con: duckdb.DuckDBPyConnection, user: dict, cohort_filter: CohortFilter):
    """The upload's rows passing the filter, kept in the session until the filter changes.

    Only the columns holding a value are fetched: a paper-format file fills the schema's 64
    columns, those it lacks stay empty, and every page treats an empty column as absent
    (``has_values``). A 200,000-row minimal file is 12 columns, ~60 MB instead of ~130 MB,
    fetched once per filter rather than on every rerun. Pages never write into the frame
    (tests/test_memory.py runs each page twice on one and compares it).
    """
    key = cohort_filter.model_dump_json()
    memo = user.get("rows")
    if memo is None or memo[0] != key:
        user.pop("rows", None)  # the previous filter's rows go before the next are fetched
        memo = (key, db.fetch_cohort(con, cohort_filter, columns=user["facts"]["filled"]))
        user["rows"] = memo
    return memo[1]


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
    facts = _facts(con, user)
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
        df = _user_rows(con, user, cohort_filter)
    else:
        df = _shipped_rows(cohort_filter.model_dump_json())
    sb.metric("Patients in view", f"n = {len(df)} of {n_total}")
    slot = st.session_state.pop(HEADER_SLOT, None)
    if slot is not None:
        slot.caption(_badge_text(user, len(df), n_total))
    if not cohort_filter.is_empty and sb.button("Reset filter"):
        _reset_filter()
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
        key=f"{_token(user)}|{cohort_filter.model_dump_json()}",
    )


HEADER_SLOT = "_header_slot"


def _badge_text(user: dict | None, n: int | None, n_total: int | None) -> str:
    size = ""
    if n is not None and n_total is not None:
        size = f"{n} of {n_total} patients" if n != n_total else f"{n_total} patients"
        if n != n_total:
            size += " (filtered in the sidebar)"
    if user:
        return f"Active cohort: your uploaded data, {size} — kept in this browser session only."
    return f"Active cohort: reconstructed, {size} — {RECONSTRUCTED_LABEL}."


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
