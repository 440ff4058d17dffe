"""Shared helpers for the AppTest page tests (tests/test_page_*.py).

Run a page with query parameters (and optionally an uploaded cohort in the session), find a
shown dataframe by column, read a query parameter back, and load the shipped cohort the pages
use by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
USER_KEY = "user_cohort"  # app_pages/_ui/active.py session_state key of an uploaded cohort


def run_page(
    page_path: str | Path,
    *,
    timeout: float = 180,
    check: bool = True,
    session_state: Mapping[str, Any] | None = None,
    **query: str,
) -> AppTest:
    """Run a Streamlit script once and return its AppTest.

    ``page_path`` is absolute or relative to the repository root (e.g. ``"app_pages/cox.py"``).
    ``session_state`` entries are set before the run, then every ``query`` item becomes a query
    parameter. With ``check`` (the default) the run must raise no exception.
    """
    path = Path(page_path)
    if not path.is_absolute():
        path = ROOT / path
    at = AppTest.from_file(str(path), default_timeout=timeout)
    for key, value in (session_state or {}).items():
        at.session_state[key] = value
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if check:
        assert not at.exception, [e.value for e in at.exception]
    return at


def uploaded_cohort(df: pd.DataFrame, *, name: str = "upload", mode: str = "paper") -> dict:
    """The session_state value (under ``USER_KEY``) of a cohort uploaded as ``df``."""
    from core.cohort import db

    return {"con": db.session_connection(df), "name": name, "mode": mode}


def frame_with(at: AppTest, column: str, *, substring: bool = False) -> pd.DataFrame:
    """The first dataframe shown whose columns include ``column``.

    With ``substring`` a column matches when ``column`` is part of its name; otherwise the name
    must be equal. Fails the test when no dataframe matches.
    """
    for df in at.dataframe:
        value = df.value
        names = [str(c) for c in value.columns]
        if any((column in n) if substring else (column == n) for n in names):
            return value
    raise AssertionError(f"no dataframe with column {column!r}")


def query_value(at: AppTest, key: str) -> str | None:
    """The query parameter ``key`` after the run (first value if repeated, None if absent)."""
    v = at.query_params.get(key)
    return v[0] if isinstance(v, list) else v


def shipped_cohort() -> pd.DataFrame:
    """The active cohort by default: the shipped cohort (core.cohort.db), empty filter."""
    from core.cohort import db

    con = db.connect()
    try:
        return db.fetch_cohort(con)
    finally:
        con.close()
