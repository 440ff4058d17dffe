"""The "across reconstructions" notes of the analysis pages: each shows the 2.5-97.5% ranges of
core.study.ensemble.robustness (the stored headlines) for the page's main number, on the whole
reconstructed cohort only."""

from __future__ import annotations

import pandas as pd
import pytest

from app_pages._ui.ensemble import across_text
from app_pages._ui.views.compare import COMPARE
from app_pages._ui.views.survival import SURVIVAL
from core.study import ensemble as ens
from tests.apptest import run_page


@pytest.fixture(scope="module")
def spread() -> pd.DataFrame:
    return ens.robustness().set_index("key")


def _note(at) -> str:
    notes = [c.value for c in at.caption if c.value.startswith("Across ")]
    assert len(notes) == 1, notes
    return notes[0]


def _ranges(spread: pd.DataFrame, prefix: str) -> list[str]:
    rows = spread[[str(k).startswith(prefix) for k in spread.index]]
    assert len(rows) >= 3
    return [f"{r['2.5%']:.3g}–{r['97.5%']:.3g}" for _, r in rows.iterrows()]


def test_across_text_expands_prefixes_and_shortens_labels(spread):
    text = across_text(spread, ["os1y_ecog_ps_*"], "KM")
    for key in [k for k in spread.index if str(k).startswith("os1y_ecog_ps_")]:
        assert spread.loc[key, "Figure"] in text
    short = across_text(spread, [ens.table_p_key("sofa", "outcome_1y")], "p", short=True)
    assert "Table 4" not in short and "SOFA score" in short
    assert across_text(spread, ["no_such_key"], "x") == ""
    assert f"Across {int(spread['Members'].max())} reconstructions" in text


def test_survival_by_ps_notes_one_year_os(spread):
    at = run_page("app_pages/survival.py", timeout=180, **SURVIVAL.link(group="ecog_ps"))
    note = _note(at)
    for r in _ranges(spread, "os1y_ecog_ps_"):
        assert r in note
    link = SURVIVAL.link(group="ecog_ps")
    filtered = run_page("app_pages/survival.py", timeout=180, f_ps=["PS 1", "PS 2"], **link)
    assert not any(c.value.startswith("Across ") for c in filtered.caption)


def test_calculator_notes_the_reference_profiles(spread):
    at = run_page("app_pages/calculator.py", timeout=180)
    note = _note(at)
    for r in _ranges(spread, "calc_published_"):
        assert r in note


def test_compare_table4_notes_the_chosen_variables_p(spread):
    link = COMPARE.link(preset="table4", var="ecog_ps")
    at = run_page("app_pages/compare.py", timeout=240, **link)
    r = spread.loc[ens.table_p_key("ecog_ps", "outcome_1y")]
    assert f"{r['2.5%']:.3g}–{r['97.5%']:.3g}" in _note(at)
