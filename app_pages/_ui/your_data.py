"""Rendering pieces of the Your data page: reading the file, the column mapping, the event coding
and the validation report."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from app_pages._ui.views.pages import UPLOAD_MODES, YOUR_DATA
from core.cohort.ingest import IngestReport
from core.cohort.mapping import (
    COHORT_COLUMNS,
    DAYS_PER_UNIT,
    EVENT_CODINGS,
    MODEL_COLUMNS,
    as_event_coding,
    detect_event_coding,
    suggest_mapping,
    suggest_units,
)
from core.cohort.read import IngestError, RawTable, read_table
from core.export import rejected_csv

NONE = "— not in file —"
PREFIX = "ud_"


def _plain(lines, *, title: str | None = None) -> None:
    """Show user-influenced text as plain text (no Markdown)."""
    lines = list(lines)
    if not lines:
        return
    if title:
        st.caption(title)
    st.text("\n".join(f"• {line}" for line in lines))


def _fail(what: str, exc: Exception) -> None:
    st.error(what)
    st.code(str(exc), language=None, wrap_lines=True)


def _mode() -> str:
    return st.radio("Kind of file", list(UPLOAD_MODES), **YOUR_DATA.widget("mode", UPLOAD_MODES))


def _read(upload) -> tuple[str, RawTable] | None:
    data = upload.getvalue()
    fid = hashlib.sha256(data + upload.name.encode("utf-8", "replace")).hexdigest()[:16]
    cached = st.session_state.get(f"{PREFIX}raw")
    if cached and cached[0] == fid:
        return cached
    try:
        table = read_table(data, upload.name)
    except IngestError as exc:
        _fail("This file cannot be used.", exc)
        return None
    st.session_state[f"{PREFIX}raw"] = (fid, table)
    return fid, table


def _label(target: str) -> str:
    """Dictionary label of a cohort column, e.g. 'Age (years) · age' (our text only)."""
    try:
        from core.cohort.schema import load_dictionary

        spec = load_dictionary().get(target)
    except (ImportError, OSError, ValueError):
        spec = None
    return f"{spec.display} · {target}" if spec else target


def _picked(fid: str) -> dict:
    """This file's column choices, kept while their selectboxes are not drawn (a closed
    expander's widgets are not run, and Streamlit forgets the state of a widget not run)."""
    return st.session_state.setdefault(f"{PREFIX}picked_{fid}", {})


def _kept(target: str, columns: list[str], suggested: dict, fid: str) -> str | None:
    """The column chosen for ``target`` (or suggested), without drawing its selectbox."""
    guess = _picked(fid).get(target, suggested.get(target))
    return guess if guess in columns else None


def _pick(label: str, target: str, columns: list[str], suggested: dict, fid: str) -> str | None:
    options = [NONE, *columns]
    guess = _kept(target, columns, suggested, fid)
    choice = st.selectbox(
        label,
        options,
        index=options.index(guess) if guess is not None else 0,
        key=f"{PREFIX}map_{fid}_{target}",
    )
    _picked(fid)[target] = None if choice == NONE else choice
    return _picked(fid)[target]


def _mapping_editor(table: RawTable, mode: str, fid: str) -> tuple[dict, dict, bool | None]:
    columns = list(table.df.columns)
    suggested = suggest_mapping(columns, mode)
    mapping: dict = {}
    st.subheader("2. Match your columns")
    st.caption("Prefilled from column names; change any that are wrong.")
    c1, c2 = st.columns(2)
    with c1:
        mapping["os_days"] = _pick("Survival time (os_days)", "os_days", columns, suggested, fid)
        mapping["os_event"] = _pick(
            "Status / event (os_event)", "os_event", columns, suggested, fid
        )
    with c2:
        mapping["os_start_date"] = _pick(
            "…or admission date (start)", "os_start_date", columns, suggested, fid
        )
        mapping["os_end_date"] = _pick(
            "…and death / last-seen date (end)", "os_end_date", columns, suggested, fid
        )
    units: dict = {}
    if mapping["os_days"]:
        unit_guess = suggest_units({"os_days": mapping["os_days"]})["os_days"]
        unit_opts = list(DAYS_PER_UNIT)
        units["os_days"] = st.selectbox(
            "Unit of the survival time",
            unit_opts,
            index=unit_opts.index(unit_guess),
            key=f"{PREFIX}unit_{fid}",
            help="Months are converted with 30.4375 days per month.",
        )
    dayfirst = None
    if mapping["os_start_date"] and mapping["os_end_date"] and not mapping["os_days"]:
        order = st.selectbox(
            "Date order (for dates like 03/04/2021)",
            ["auto", "day first (DD/MM)", "month first (MM/DD)"],
            key=f"{PREFIX}dayfirst_{fid}",
        )
        dayfirst = {"auto": None, "day first (DD/MM)": True, "month first (MM/DD)": False}[order]
    if mode == "generic":
        used = {v for v in mapping.values() if v}
        mapping["groups"] = st.multiselect(
            "Grouping variables (for comparisons and Cox)",
            [c for c in columns if c not in used],
            key=f"{PREFIX}groups_{fid}",
        )
    else:
        st.caption("Used by the published model (required when present)")
        m1, m2, m3 = st.columns(3)
        for box, target in zip((m1, m2, m3), MODEL_COLUMNS, strict=True):
            with box:
                mapping[target] = _pick(_label(target), target, columns, suggested, fid)
        rest = [c for c in COHORT_COLUMNS if c not in mapping]
        found = sum(1 for c in rest if c in suggested)
        # lazy: its ~55 selectboxes are drawn only while it is open (a 5,000-row file's
        # step 1 drew in 1.7 s in Chromium with them, 0.6 s without); closed, the choices
        # made in it or the suggestions stand
        other = st.expander(
            f"Other cohort columns ({found} of {len(rest)} matched)",
            key=f"{PREFIX}other_{fid}",
            on_change="rerun",
        )
        if other.open:
            with other:
                cols = st.columns(3)
                for i, target in enumerate(rest):
                    with cols[i % 3]:
                        mapping[target] = _pick(_label(target), target, columns, suggested, fid)
        else:
            for target in rest:
                mapping[target] = _kept(target, columns, suggested, fid)
    return {k: v for k, v in mapping.items() if v}, units, dayfirst


def _event_coding(table: RawTable, mapping: dict, fid: str):
    src = mapping.get("os_event")
    if not src:  # never a silent stop: say what the next step needs
        st.info(
            "To go on, choose the column that says whether each patient died (the event: "
            "1 / 0, yes / no, dead / alive ...) in step 2."
        )
        return None, False
    st.subheader("3. Confirm the event coding")
    detected = None
    try:
        detected = detect_event_coding(table.df[src])
    except IngestError as exc:
        _fail("The event coding could not be detected; choose it below.", exc)
    values = table.df[src].map(lambda v: "" if v is None else str(v)).value_counts().head(10)
    st.caption("Values found in the event column")
    st.dataframe(values.rename("rows").rename_axis("value").reset_index(), hide_index=True)
    names = list(EVENT_CODINGS)
    if detected is not None and detected.name not in names:
        names.insert(0, detected.name)
    name = st.selectbox(
        "Coding",
        names,
        index=names.index(detected.name) if detected is not None else None,
        format_func=lambda n: f"{n}: {as_event_coding(n).description}",
        key=f"{PREFIX}coding_{fid}",
        placeholder="Choose the coding",
    )
    if name is None:
        st.info("To go on, choose how the event column is coded above.")
        return None, False
    ok = st.checkbox(
        f"I confirm: {as_event_coding(name).description}",
        key=f"{PREFIX}confirm_{fid}_{name}",
    )
    return name, ok


def _validation(report: IngestReport, table: RawTable) -> None:
    st.subheader("4. Validation report")
    c1, c2, c3 = st.columns(3)
    c1.metric("Rows read", report.n_rows)
    c2.metric("Rows accepted", report.n_accepted)
    c3.metric("Rows rejected", report.n_rejected_rows)
    _plain([w for w in report.warnings if w not in table.warnings], title="Notes")
    if len(report.rejected):
        st.caption("Rejected rows (row numbers as in your file: header = row 1)")
        st.dataframe(report.rejected, hide_index=True)
        st.download_button(
            "Download rejected rows (CSV)",
            rejected_csv(report),
            file_name="rejected_rows.csv",
            mime="text/csv",
            key=f"{PREFIX}dl_rejected",
        )
    accepted = st.expander("Accepted rows (preview)", key=f"{PREFIX}accepted", on_change="rerun")
    if accepted.open:  # lazy, as the other cohort columns
        with accepted:
            st.dataframe(report.full_table(rows=200))


PREVIEW_ROWS, PREVIEW_CHARS = 200, 200


def preview(df: pd.DataFrame) -> pd.DataFrame:
    """The first rows of the file, each text cell cut to 200 characters for the screen."""
    head = df.head(PREVIEW_ROWS)
    return head.map(
        lambda v: v[:PREVIEW_CHARS] + "…" if isinstance(v, str) and len(v) > PREVIEW_CHARS else v
    )
