"""View state in the URL: query-parameter helpers shared by the pages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import streamlit as st


def _from_query(key: str) -> list[str] | None:
    raw = st.query_params.get(key)
    if raw is None or raw == "":
        return None
    return [part for part in raw.split(",") if part != ""]


def _init_state(key: str, value) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def _sync_query(key: str, value: str | None) -> None:
    if value is None:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != value:
        st.query_params[key] = value


# ---------------------------------------------------------------------------------------------
# view state in the URL, downloads (shared by the analysis pages)
# ---------------------------------------------------------------------------------------------
def url_param(key: str, default: str) -> str:
    """The query parameter ``key`` (the page's prefix included), ``default`` when absent."""
    return st.query_params.get(key, default)


def url_choice(key: str, options: Iterable[str], default: str) -> str:
    """The query parameter ``key`` when it is one of ``options`` (a hand-edited link may hold
    anything), else ``default``."""
    value = url_param(key, default)
    return value if value in options else default


def sync_url(
    values: Mapping[str, str | None], *, prefix: str = "", drop_others: bool = False
) -> None:
    """Mirror a view's state in the URL: ``prefix + key`` set to each value, removed for None.

    Only changed parameters are written. With ``drop_others``, the other parameters starting
    with ``prefix`` are removed first (e.g. those of profiles no longer shown).
    """
    if drop_others:
        keep = {prefix + k for k in values}
        for k in list(st.query_params.keys()):
            if k.startswith(prefix) and k not in keep:
                del st.query_params[k]
    for k, v in values.items():
        _sync_query(prefix + k, v)
