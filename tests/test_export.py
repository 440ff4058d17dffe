"""core.export: files a user takes away run nothing (LaTeX commands, spreadsheet formulas).

The upload page's downloads (accepted and rejected rows, template, dictionary) are read back from
core.cohort.ingest reports; expected values are hand-written. The hostile corpus is built in
memory by tests/hostile/make_corpus.py; nothing is written to disk.
"""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from core.cohort.ingest import IngestReport, read_cohort
from core.cohort.mapping import COHORT_COLUMNS
from core.export import (
    accepted_csv,
    dictionary_csv,
    export_latex,
    latex_escape,
    neutralise_formulas,
    rejected_csv,
    template_csv,
)
from tests.hostile import make_corpus as M

HOSTILE = r"By \input{/etc/passwd}\immediate\write18{id} 50% a_b & c~^$#"


# a LaTeX command is a backslash followed by letters, other than the escapes' own text forms
COMMAND = re.compile(r"\\(?!textbackslash\{\}|textasciitilde\{\}|textasciicircum\{\})[A-Za-z]+")


def test_latex_escape_by_hand():
    assert latex_escape("a_b & 50%") == r"a\_b \& 50\%"
    assert latex_escape("\\input{x}") == r"\textbackslash{}input\{x\}"
    assert latex_escape("~^$#") == r"\textasciitilde{}\textasciicircum{}\$\#"


def test_caption_of_the_latex_table_holds_no_command():
    tex = export_latex(pd.DataFrame({"Characteristic": ["Age"], "Overall": ["60"]}), HOSTILE)
    caption = re.search(r"\\caption\{(.*)\}\n", tex).group(1)
    assert not COMMAND.search(caption), caption
    assert "\\input" not in tex and "\\write18" not in tex


def test_formulas_are_neutralised_in_cells_and_headers():
    out = neutralise_formulas(pd.DataFrame({"=cmd|'/c calc'!A1": ["+1+1", " @SUM(A1)", "ok"]}))
    assert list(out.columns) == ["'=cmd|'/c calc'!A1"]
    assert out.iloc[0, 0].startswith("'") and out.iloc[1, 0].lstrip().startswith("'")
    assert out.iloc[2, 0] == "ok"


# ------------------------------------------------------------------ uploads


@pytest.fixture(scope="module")
def corpus() -> dict[str, tuple[str, bytes]]:
    return M.build_corpus()


def _read(corpus, name: str, **kw) -> IngestReport:
    filename, data = corpus[name]
    return read_cohort(data, filename, **kw)


def test_formula_text_kept_then_neutralised_on_export(corpus):
    rep = _read(
        corpus,
        "formula_cells",
        mode="generic",
        mapping={"os_days": "os_days", "os_event": "os_event"},
    )
    ids = rep.accepted["patient_id"].tolist()
    assert ids == ['=HYPERLINK("http://evil.example","x")', "@SUM(A1)", "TAB"]  # stripped \t
    assert rep.accepted["note"].tolist() == ["+cmd|' /C calc'!A0", "-2+3", "safe"]
    safe = neutralise_formulas(rep.accepted)
    assert safe["patient_id"].tolist() == [
        '\'=HYPERLINK("http://evil.example","x")',
        "'@SUM(A1)",
        "TAB",
    ]
    assert safe["note"].tolist() == ["'+cmd|' /C calc'!A0", "'-2+3", "safe"]
    assert safe["os_days"].tolist() == [10.0, 20.0, 30.0]  # numbers untouched
    csv_text = accepted_csv(rep).decode("utf-8-sig")
    assert "\n=" not in csv_text and ",=" not in csv_text and ",+" not in csv_text


def test_neutralise_formulas_every_trigger_and_headers():
    df = pd.DataFrame({"=cmd": ["=1+1", "+1", "-1", "@x", "\tx", "\rx", "ok", None], "n": range(8)})
    out = neutralise_formulas(df)
    assert list(out.columns) == ["'=cmd", "n"]
    assert out["'=cmd"].tolist() == ["'=1+1", "'+1", "'-1", "'@x", "'\tx", "'\rx", "ok", None]
    assert out["n"].tolist() == list(range(8))


def test_neutralise_formulas_after_spaces_and_full_width_signs():
    df = pd.DataFrame({"v": ["  =HYPERLINK(1)", " +1", "\uff1d1", "a=1", "1-2"]})
    out = neutralise_formulas(df)["v"].tolist()
    assert out == ["'  =HYPERLINK(1)", "' +1", "'\uff1d1", "a=1", "1-2"]


def test_rejected_csv_is_neutralised():
    data = b"patient_id,os_days,os_event\nP1,=1+1,1\n=evil(),5,1\nP3,7,0\n"
    rep = read_cohort(data, "f.csv")
    out = pd.read_csv(io.BytesIO(rejected_csv(rep)), encoding="utf-8-sig", dtype=str)
    assert out.columns.tolist() == ["row", "column", "value", "reason"]
    assert out[["row", "column", "value"]].values.tolist() == [["2", "os_days", "'=1+1"]]
    # '=evil()' is a valid (text) patient id: accepted, neutralised on export
    assert rep.accepted["patient_id"].tolist() == ["=evil()", "P3"]
    assert "'=evil()" in accepted_csv(rep).decode("utf-8-sig")


def test_template_and_dictionary_downloads():
    t = pd.read_csv(io.BytesIO(template_csv()))
    assert list(t.columns) == list(COHORT_COLUMNS) and t.empty
    d = pd.read_csv(io.BytesIO(dictionary_csv()))
    assert "column" in d.columns and set(COHORT_COLUMNS) <= set(d["column"])


def test_csv_excel_and_latex_exports_carry_the_stamp_on_one_line():
    """The cohort/filter/date stamp heads every file; a line break in it (a cohort name from
    an upload) cannot end the comment early, and a formula in it is neutralised."""
    import io

    import openpyxl

    from core.export import export_csv, export_excel, export_latex

    frame = pd.DataFrame({"Characteristic": ["Age"], "Overall": ["60 [37-67]"]})
    stamp = "uploaded cohort\n=cmd|' /C calc'!A0 · n = 71 · exported 2026-12-01"
    csv = export_csv(frame, stamp).decode()
    assert (
        csv.splitlines()[0] == "# uploaded cohort =cmd|' /C calc'!A0 · n = 71 · exported 2026-12-01"
    )
    assert pd.read_csv(io.StringIO(csv), comment="#").equals(frame)
    tex = export_latex(frame, "By age", stamp)
    assert tex.splitlines()[0].startswith("% uploaded cohort =cmd")
    assert "\\begin{tabular}" in tex.splitlines()[1] or "\\begin{table}" in tex.splitlines()[1]
    wb = openpyxl.load_workbook(io.BytesIO(export_excel(frame, frame, "Title", stamp)))
    for sheet, row in (("table", 2), ("raw", 1)):
        value = wb[sheet].cell(row=row, column=1).value
        assert "n = 71" in value and "\n" not in value
    assert wb["table"].cell(row=3, column=1).value == "Characteristic"
    assert wb["raw"].cell(row=2, column=1).value == "Characteristic"
