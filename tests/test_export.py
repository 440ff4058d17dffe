"""core.export: files a user takes away run nothing (LaTeX commands, spreadsheet formulas)."""

from __future__ import annotations

import re

import pandas as pd

from core.export import export_latex, latex_escape, neutralise_formulas

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
