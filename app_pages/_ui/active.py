"""The active cohort's rows: the shipped reconstructed cohort or this session's upload.

The shipped reconstructed cohort is one read-only DuckDB connection per process
(``st.cache_resource``) with a cursor per run. An uploaded cohort lives in this browser
session only (``st.session_state``), in its own in-memory DuckDB. What the filter widgets
need of a cohort (levels, ranges, size) is read once per cohort; the rows once per filter.
The sidebar that draws the filter is :mod:`app_pages._ui.cohort`.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

import duckdb
import pandas as pd
import streamlit as st

from app_pages._ui.memory import note_cohort_dropped
from core.cohort import db
from core.cohort.schema import CohortFilter
from core.cohort.variables import grouping_columns

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
def shipped_rows(filter_json: str) -> pd.DataFrame:
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


def reset_filter() -> None:
    """A new cohort starts unfiltered: the next sidebar sets each filter to its full choice.

    The widgets are bound to the URL, so forgetting their state is not enough (the address
    would set them again): they are set to the new cohort's full levels and ranges, which
    Streamlit then drops from the address bar.
    """
    st.session_state[RESET_KEY] = True


def clear_user_cohort() -> None:
    """Drop this session's uploaded cohort (closes its in-memory database)."""
    reset_filter()  # the upload's ranges and levels mean nothing on the next cohort
    user = st.session_state.pop(USER_KEY, None)
    if user is not None:
        try:
            user["con"].close()
        except duckdb.Error:
            pass
        note_cohort_dropped(st.session_state)  # its frames and results go at the run's end


def cohort_token(user: dict | None) -> str:
    """Name of the active cohort's rows in cache keys: one per upload, never shared."""
    if user is None:
        return "shipped"
    return user.setdefault("token", f"upload-{uuid.uuid4().hex}")


def view_key(user: dict | None, cohort_filter: CohortFilter) -> str:
    """The active rows' identity (cohort and filter): the cache key of a page's results."""
    return f"{cohort_token(user)}|{cohort_filter.model_dump_json()}"


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


def cohort_facts(con: duckdb.DuckDBPyConnection, user: dict | None) -> dict:
    """Cohort facts read once: per process for the shipped cohort, per upload for the user's."""
    if user is None:
        return _shipped_facts()
    if "facts" not in user:  # a new upload is a new dict (set_user_cohort)
        user["facts"] = {**_read_facts(con), "filled": db.filled_columns(con)}
    return user["facts"]


def user_rows(con: duckdb.DuckDBPyConnection, user: dict, cohort_filter: CohortFilter):
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


def badge_text(user: dict | None, n: int | None, n_total: int | None) -> str:
    """The line under each page title naming the active cohort and its size."""
    size = ""
    if n is not None and n_total is not None:
        size = f"{n} of {n_total} patients" if n != n_total else f"{n_total} patients"
        if n != n_total:
            size += " (filtered in the sidebar)"
    if user:
        return f"Active cohort: your uploaded data, {size} — kept in this browser session only."
    return f"Active cohort: reconstructed, {size} — {RECONSTRUCTED_LABEL}."


@st.cache_data(show_spinner=False, max_entries=64)
def _groupable(key: str, outcomes: bool, _df: pd.DataFrame) -> list[str]:
    return grouping_columns(_df, outcomes=outcomes)


def groupable_columns(view: ActiveCohort, *, outcomes: bool = True) -> list[str]:
    """:func:`core.cohort.variables.grouping_columns` of the view's rows, once per cohort and
    filter (``view.key``): it counts the distinct values of every column, ~10 ms a rerun on
    the Survival and Compare pages before."""
    if not view.key:
        return grouping_columns(view.df, outcomes=outcomes)
    return _groupable(view.key, outcomes, view.df)
