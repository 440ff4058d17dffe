"""Your data: upload a cohort file, map its columns, confirm the event coding, validate, use it.

Everything stays in this browser session: the file is parsed in memory by core.cohort.ingest and the
accepted rows go to a private in-memory DuckDB connection. User text (headers, cells, file
names, messages that quote them) is only shown through st.dataframe / st.text / st.code, never
through Markdown or HTML.
"""

from __future__ import annotations

import streamlit as st

from app_pages._ui import active
from app_pages._ui.cohort import page_header
from app_pages._ui.your_data import (
    PREFIX,
    _event_coding,
    _fail,
    _mapping_editor,
    _mode,
    _plain,
    _read,
    _validation,
    preview,
)
from core.cohort.ingest import build_cohort, load_into_session
from core.cohort.read import IngestError
from core.export import dictionary_csv, template_csv


def main() -> None:
    page_header("Your data")
    st.caption(
        "Analyse your own cohort with the same views. The file stays in this browser session: "
        "it is read in memory, never saved, and disappears when you clear it or close the tab."
    )
    d1, d2 = st.columns(2)
    d1.download_button(
        "Template CSV",
        template_csv(),
        file_name="cohort_template.csv",
        mime="text/csv",
        key=f"{PREFIX}dl_template",
    )
    d2.download_button(
        "Data dictionary",
        dictionary_csv(),
        file_name="data_dictionary.csv",
        mime="text/csv",
        key=f"{PREFIX}dl_dictionary",
    )
    if active.user_cohort() is not None:
        st.success("Your own cohort is active on every page (this browser session only).")
        if st.button("Clear my data", key=f"{PREFIX}clear"):
            active.clear_user_cohort()
            st.session_state.pop(f"{PREFIX}raw", None)
            st.session_state.pop(f"{PREFIX}report", None)
            st.rerun()

    st.subheader("1. Upload")
    mode = _mode()
    gen = st.session_state.get(f"{PREFIX}gen", 0)  # a new uploader once a cohort is in use
    upload = st.file_uploader(
        "Cohort file: CSV, TSV, XLSX or Parquet (max 10 MB)",
        type=["csv", "tsv", "txt", "xlsx", "parquet"],
        key=f"{PREFIX}file" if gen == 0 else f"{PREFIX}file_{gen}",
    )
    if upload is None:
        st.session_state.pop(f"{PREFIX}raw", None)
        st.session_state.pop(f"{PREFIX}report", None)
        return
    got = _read(upload)
    if got is None:
        return
    fid, table = got
    st.caption(f"Preview ({len(table.df)} rows, {table.df.shape[1]} columns)")
    st.dataframe(preview(table.df))
    _plain(table.warnings, title="How the file was read")

    mapping, units, dayfirst = _mapping_editor(table, mode, fid)
    coding, confirmed = _event_coding(table, mapping, fid)
    if coding is None:
        return
    key = (fid, mode, repr(sorted(mapping.items())), repr(units), coding, dayfirst)
    cached = st.session_state.get(f"{PREFIX}report")
    if cached and cached[0] == key:
        report = cached[1]
    else:
        try:
            report = build_cohort(
                table, mapping, mode=mode, units=units, event_coding=coding, dayfirst=dayfirst
            )
        except IngestError as exc:
            _fail("The mapping cannot be applied yet.", exc)
            return
        st.session_state[f"{PREFIX}report"] = (key, report)
    _validation(report, table)

    st.subheader("5. Use it")
    disabled = not confirmed or report.n_accepted == 0
    if not confirmed:
        st.caption("Confirm the event coding above first.")
    if st.button("Use this cohort", type="primary", disabled=disabled, key=f"{PREFIX}use"):
        # The rows go to the session's DuckDB: the file's text table, the validated copy and
        # the uploaded bytes are let go (for a 200,000-row file, ~240 MB per session), the
        # text table before the rows are copied, so the two never coexist. A fresh uploader
        # replaces the used one, whose file Streamlit then drops.
        st.session_state.pop(f"{PREFIX}raw", None)
        del table, got
        con = load_into_session(report)
        st.session_state.pop(f"{PREFIX}report", None)
        # the name is our own text (never the file name): pages show it in captions
        active.set_user_cohort(con, name=f"Your data, {report.n_accepted} patients", mode=mode)
        st.session_state[f"{PREFIX}gen"] = gen + 1
        st.rerun()


main()
