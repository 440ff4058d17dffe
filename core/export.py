"""Files a user takes away, all through one formula neutraliser (:func:`neutralise_formulas`,
spreadsheet formula injection): CSV, Excel and LaTeX of a comparison, the rejected and accepted
rows of an upload, the upload template and the data dictionary.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from core.cohort.ingest import REJECTED_COLUMNS, IngestReport
from core.cohort.mapping import _SPEC, COHORT_COLUMNS
from core.paths import DATA_DIR as _DATA_DIR
from core.tables.styler import styler


# ---------------------------------------------------------------------------------------
# exports
# ---------------------------------------------------------------------------------------
def one_line(text: str) -> str:
    """``text`` on one line (a stamp in a CSV or LaTeX comment must not break out of it)."""
    return re.sub(r"[\r\n\x00-\x1f\x7f]+", " ", str(text)).strip()


def export_csv(result: pd.DataFrame, stamp: str = "") -> bytes:
    """Raw result as UTF-8 CSV (formula-like text neutralised), after a ``# stamp`` line
    (R ``read.csv(comment.char = "#")``, pandas ``comment="#"``)."""
    head = f"# {one_line(stamp)}\n" if stamp else ""
    return (head + neutralise_formulas(result).to_csv(index=False)).encode("utf-8")


def export_excel(
    result: pd.DataFrame, formatted: pd.DataFrame, title: str = "", stamp: str = ""
) -> bytes:
    """Excel workbook (openpyxl): sheet ``table`` (title, stamp, then the formatted table) and
    ``raw`` (the stamp, then the numbers)."""
    import io

    def text(v: str) -> str:
        return neutralise_formulas(pd.DataFrame({"t": [one_line(v)]}))["t"][0]

    buf = io.BytesIO()
    table = formatted.drop(columns=["_kind"], errors="ignore")
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        neutralise_formulas(table).to_excel(xw, sheet_name="table", index=False, startrow=2)
        neutralise_formulas(result).to_excel(xw, sheet_name="raw", index=False, startrow=1)
        ws = xw.sheets["table"]
        ws.cell(row=1, column=1, value=text(title))
        ws.cell(row=2, column=1, value=text(stamp))
        ws.column_dimensions["A"].width = 55
        xw.sheets["raw"].cell(row=1, column=1, value=text(stamp))
    return buf.getvalue()


def export_latex(formatted: pd.DataFrame, caption: str = "", stamp: str = "") -> str:
    """LaTeX ``tabular`` of the formatted table (pandas ``Styler.to_latex``, text escaped),
    after a ``% stamp`` comment line."""
    table = formatted.drop(columns=["_kind"], errors="ignore")
    table = table.rename(columns=lambda c: str(c))
    styled = (
        styler(table).hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    )
    kwargs: dict[str, Any] = {"hrules": True, "column_format": "l" + "r" * (table.shape[1] - 1)}
    if caption:
        kwargs["caption"] = latex_escape(caption)
    head = f"% {one_line(stamp)}\n" if stamp else ""
    return head + styled.to_latex(**kwargs)


# LaTeX's ten special characters and their text form; the same table as pandas' escape="latex"
# for cells (its function is private, hence this copy for the caption).
_LATEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX))


def latex_escape(text: str) -> str:
    """``text`` as LaTeX prints it, with no command run (``\\input{...}`` shows as typed)."""
    return _LATEX_RE.sub(lambda m: _LATEX[m.group(0)], str(text))


# --------------------------------------------------------------------------------------------
# Safe exports
# --------------------------------------------------------------------------------------------

_FORMULA_START = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
)


def _neutral(v: Any) -> Any:
    # leading spaces do not stop a spreadsheet from reading " =cmd()" as a formula
    if not isinstance(v, str):
        return v
    if v.startswith(_FORMULA_START) or v.lstrip().startswith(_FORMULA_START):
        return "'" + v
    return v


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix ``'`` to text cells (and headers) starting with = + - @ TAB CR (CSV injection).

    Also their full-width forms, and the same signs after leading spaces. The one
    implementation for every export of the app (CSV, Excel, LaTeX tables, downloads).

    Numbers are left alone; only text that a spreadsheet could interpret as a formula changes.
    """
    out = df.copy()
    out.columns = [_neutral(str(c)) for c in out.columns]
    for c in out.columns:
        col = out[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            out[c] = col.map(_neutral)
    return out


def rejected_csv(report: IngestReport) -> bytes:
    """The rejected rows as a UTF-8 (BOM) CSV, formulas neutralised."""
    rej = report.rejected
    if len(rej) == 0:
        rej = pd.DataFrame(columns=list(REJECTED_COLUMNS))
    return neutralise_formulas(rej).to_csv(index=False).encode("utf-8-sig")


def accepted_csv(report: IngestReport) -> bytes:
    """The accepted rows, every contract column, as a UTF-8 (BOM) CSV, formulas neutralised."""
    table = report.full_table().reset_index()
    return neutralise_formulas(table).to_csv(index=False).encode("utf-8-sig")


def template_csv() -> bytes:
    """An empty cohort CSV (header only) with the contract's columns."""
    return (",".join(COHORT_COLUMNS) + "\n").encode("utf-8")


def dictionary_csv() -> bytes:
    """data/dictionary.csv when it exists, else the built-in column list."""
    path = _DATA_DIR / "dictionary.csv"
    if path.exists():
        return path.read_bytes()
    rows = [
        {
            "column": c.name,
            "type": c.kind,
            "allowed": " | ".join(dict.fromkeys(c.allowed.values())),
            "range": "" if c.lo is None and c.hi is None else f"{c.lo or ''}..{c.hi or ''}",
            "synonyms": " | ".join(c.synonyms),
        }
        for c in _SPEC
    ]
    return pd.DataFrame(rows).to_csv(index=False).encode("utf-8")
