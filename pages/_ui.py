"""Shared Streamlit pieces: the active cohort, the cohort filter sidebar and the badge.

Every page starts with::

    from pages._ui import cohort_sidebar, page_header
    page_header("Survival curves")
    view = cohort_sidebar()   # view.df is the active, filtered cohort

The shipped reconstructed cohort is one read-only DuckDB connection per process
(``st.cache_resource``) with a cursor per run. An uploaded cohort lives in this browser
session only (``st.session_state``), in its own in-memory DuckDB.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import duckdb
import pandas as pd
import streamlit as st
from pydantic import ValidationError

from core import db
from core.ingest import neutralise_formulas
from core.schema import CohortFilter


def _leave_pages_directory_mode() -> None:
    """Make a deep link on a freshly started server go through app.py's navigation.

    Streamlit (1.67) treats a ``pages/`` folder next to the main script as a v1 multipage
    app until ``st.navigation`` has run once in the process; a first request to e.g.
    ``/survival`` then runs the page alone, without app.py (raw file names in the sidebar,
    no page config). Clearing the flag and rerunning hands the request to app.py, which
    resolves the same URL through ``st.navigation``. Private API, hence the guard.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - Streamlit internals moved
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_pages_directory_mode()

RECONSTRUCTED_LABEL = "Reconstructed from published aggregates — not patient data"
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


def _reset_filter() -> None:
    """Forget the shared filter (widgets, saved copy, URL): a new cohort starts unfiltered."""
    for field in _Q:
        st.session_state.pop(f"_f_{field}", None)
        _sync_query(_Q[field], None)
    st.session_state.pop(SAVED_KEY, None)


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
        user["facts"] = _read_facts(con)
    return user["facts"]


def cohort_sidebar() -> ActiveCohort:
    """Draw the shared cohort filter in the sidebar and return the active cohort."""
    user = user_cohort()
    con = user["con"].cursor() if user else shipped_connection().cursor()
    try:
        return _sidebar(con, user)
    finally:
        con.close()


SAVED_KEY = "_filter_saved"  # plain (non-widget) copy of the filter: survives pages without it


def _saved() -> dict:
    return st.session_state.setdefault(SAVED_KEY, {})


def _multiselect(facts: dict, field: str, label: str, fmt=str) -> tuple[str, ...] | None:
    options = facts["levels"].get(field)
    if not options:
        return None
    key = f"_f_{field}"
    from_url = _from_query(_Q[field])
    if from_url is not None:
        by_text = {str(o): o for o in options}
        from_url = [by_text[v] for v in from_url if v in by_text]
    saved = _saved().get(field)
    if from_url:
        initial = from_url
    elif saved is not None:
        initial = [v for v in saved if v in options]
    else:
        initial = list(options)
    _init_state(key, initial)
    # keep only still-valid choices (the cohort may have changed)
    st.session_state[key] = [v for v in st.session_state[key] if v in options]
    chosen = st.sidebar.multiselect(label, options, key=key, format_func=fmt)
    _saved()[field] = list(chosen)
    all_chosen = len(chosen) == len(options)
    _sync_query(_Q[field], None if all_chosen else ",".join(str(v) for v in chosen))
    return None if all_chosen else tuple(chosen)


def _slider(facts: dict, field: str, label: str, step: float) -> tuple[float | None, float | None]:
    bounds = facts["ranges"].get(field)
    if bounds is None or bounds[0] == bounds[1]:
        return None, None
    lo, hi = bounds
    key = f"_f_{field}"
    default = (lo, hi)
    url = _from_query(_Q[field])
    saved = _saved().get(field)
    if url and len(url) == 2:
        try:
            default = (max(lo, float(url[0])), min(hi, float(url[1])))
        except ValueError:
            pass
    elif saved is not None:
        default = (max(lo, saved[0]), min(hi, saved[1]))
    _init_state(key, default)
    # re-set each run (as the multiselects are): a value left by the widget of another page
    # is otherwise dropped by Streamlit on the next page change and the filter silently resets
    cur = st.session_state[key]
    st.session_state[key] = (max(lo, float(cur[0])), min(hi, float(cur[1])))
    whole = float(step).is_integer() and float(lo).is_integer() and float(hi).is_integer()
    chosen = st.sidebar.slider(
        label,
        min_value=lo,
        max_value=hi,
        step=step,
        key=key,
        format="%d" if whole else None,  # "18 – 80", not "18.00 – 80.00"
    )
    _saved()[field] = tuple(chosen)
    full = chosen[0] <= lo and chosen[1] >= hi
    _sync_query(_Q[field], None if full else f"{chosen[0]:g},{chosen[1]:g}")
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
        df = db.fetch_cohort(con, cohort_filter)
    else:
        df = _shipped_rows(cohort_filter.model_dump_json())
    sb.metric("Patients in view", f"n = {len(df)} of {n_total}")
    slot = st.session_state.pop(HEADER_SLOT, None)
    if slot is not None:
        slot.caption(_badge_text(user, len(df), n_total))
    if not cohort_filter.is_empty and sb.button("Reset filter"):
        _reset_filter()
        st.rerun()
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
    missing = [c for c in needed if c not in view.columns]
    if missing:
        st.info(f"{what} needs the column(s) {', '.join(missing)}, absent from the active cohort.")
        return False
    if view.n == 0:
        st.warning("No patient passes the current filter: widen it in the sidebar.")
        return False
    return True


# ---------------------------------------------------------------------------------------------
# charts
# ---------------------------------------------------------------------------------------------
def chart_spec(build, *args, **kwargs) -> dict | list[dict]:
    """Vega-Lite dict of ``build(*args, **kwargs)``: built and validated by Altair once, cached.

    ``st.altair_chart`` rebuilds the Altair objects and re-validates the whole spec against the
    Vega-Lite JSON schema on every rerun (0.3-1 s for the Kaplan-Meier figure with its
    at-risk table). Here the finished dict is cached on its inputs, so a rerun that does not
    change the chart (another widget, the same value again) costs only the argument hash.
    ``build`` is a function of ``core.charts``: its qualified name and the arguments (data
    frames, result objects, options) form the cache key. A builder that returns a list of
    charts (small multiples) gives a list of dicts. What is cached is the plain JSON-like
    dict, never the Altair chart object (mutable, and rebuilt by Streamlit on every call).
    """
    return _cached_spec(f"{build.__module__}.{build.__qualname__}", build, args, kwargs)


@st.cache_data(show_spinner=False, max_entries=128)
def _cached_spec(name: str, _build, args: tuple, kwargs: dict) -> dict | list[dict]:
    built = _build(*args, **kwargs)
    return [c.to_dict() for c in built] if isinstance(built, list) else built.to_dict()


_ARROW: dict[str, bytes] = {}  # Altair dataset name (a hash of its values) -> Arrow IPC bytes


def _arrow_datasets(spec: dict) -> dict:
    """The spec with its named datasets already in Arrow bytes, converted once per dataset.

    Streamlit converts every dataset of a Vega-Lite spec to Arrow on every call (~20 ms per
    Kaplan-Meier figure) unless it is bytes already. Altair names a dataset by the SHA-256 of
    its values, so the bytes can be kept by name. The spec itself stays plain JSON for the
    PNG/SVG exports (vl-convert cannot read Arrow).
    """
    datasets = spec.get("datasets")
    if not isinstance(datasets, dict):
        return spec
    try:
        from streamlit.dataframe_util import convert_anything_to_arrow_bytes
    except ImportError:  # pragma: no cover - Streamlit internals moved: let it convert
        return spec
    if len(_ARROW) > 512:
        _ARROW.clear()
    converted = {}
    for name, values in datasets.items():
        if isinstance(values, list) and str(name).startswith("data-"):
            data = _ARROW.get(name)  # (sessions share the dict: no check-then-read)
            if data is None:
                data = _ARROW[name] = convert_anything_to_arrow_bytes(values)
            converted[name] = data
        else:
            converted[name] = values
    return {**spec, "datasets": converted}


def show_chart(spec: dict, *, width: str | int = "stretch", alt: str | None = None) -> None:
    """Draw a cached Vega-Lite spec (Altair's theme is in the spec already: theme=None)."""
    st.vega_lite_chart(spec=_arrow_datasets(spec), width=width, theme=None, alt=alt)


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


def csv_download(
    label: str, frame: pd.DataFrame, file_name: str, *, key: str | None = None, where=st
) -> None:
    """Download button of ``frame`` as CSV, spreadsheet formulas neutralised (core.ingest).

    ``where`` is the container (a column) that holds the button; no rerun on click.
    """
    where.download_button(
        label,
        neutralise_formulas(frame).to_csv(index=False),
        file_name,
        "text/csv",
        key=key,
        on_click="ignore",
    )


_IMAGE_MIME = {"png": "image/png", "svg": "image/svg+xml"}


def chart_download(
    label: str, spec: dict, file_name: str, *, key: str | None = None, where=st
) -> None:
    """Download button of a Vega-Lite spec as a PNG (scale 2) or SVG, after ``file_name``.

    The image is made only when the button is clicked (vl-convert, no browser); no rerun on
    click, so the deferred file is served at once.
    """
    fmt = file_name.rsplit(".", 1)[-1].lower()
    if fmt not in _IMAGE_MIME:
        raise ValueError(f"chart downloads are .png or .svg, not {file_name!r}")
    from core.charts.cox import chart_png, chart_svg  # Altair loaded only by chart pages

    render = chart_png if fmt == "png" else chart_svg
    where.download_button(
        label,
        lambda: render(spec),
        file_name,
        _IMAGE_MIME[fmt],
        key=key,
        on_click="ignore",
    )
