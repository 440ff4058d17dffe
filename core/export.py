"""Files a user takes away: CSV, Excel and LaTeX of a comparison; every export goes through
:func:`core.cohort.ingest.neutralise_formulas` (spreadsheet formula injection).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from core.cohort.ingest import neutralise_formulas

if TYPE_CHECKING:
    pass


# ---------------------------------------------------------------------------------------
# exports
# ---------------------------------------------------------------------------------------
def export_csv(result: pd.DataFrame) -> bytes:
    """Raw result as UTF-8 CSV (formula-like text neutralised)."""
    return neutralise_formulas(result).to_csv(index=False).encode("utf-8")


def export_excel(result: pd.DataFrame, formatted: pd.DataFrame, title: str = "") -> bytes:
    """Excel workbook (openpyxl): sheet ``table`` (formatted) and ``raw`` (numbers)."""
    import io

    buf = io.BytesIO()
    table = formatted.drop(columns=["_kind"], errors="ignore")
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        neutralise_formulas(table).to_excel(xw, sheet_name="table", index=False, startrow=1)
        neutralise_formulas(result).to_excel(xw, sheet_name="raw", index=False)
        ws = xw.sheets["table"]
        ws.cell(row=1, column=1, value=neutralise_formulas(pd.DataFrame({"t": [title]}))["t"][0])
        ws.column_dimensions["A"].width = 55
    return buf.getvalue()


def export_latex(formatted: pd.DataFrame, caption: str = "") -> str:
    """LaTeX ``tabular`` of the formatted table (pandas ``Styler.to_latex``, text escaped)."""
    table = formatted.drop(columns=["_kind"], errors="ignore")
    table = table.rename(columns=lambda c: str(c))
    styler = (
        table.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    )
    kwargs: dict[str, Any] = {"hrules": True, "column_format": "l" + "r" * (table.shape[1] - 1)}
    if caption:
        kwargs["caption"] = caption.replace("&", r"\&").replace("%", r"\%").replace("_", r"\_")
    return styler.to_latex(**kwargs)
