"""AppTest of app_pages/calculator.py: profiles from the URL, published / refit predictions, SOFA.

Expected numbers come from core.study.calculator on the same active cohort (checked against R in
tests/test_calculator.py); none is typed here.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.study.calculator import build_model, make_profile, predict_profiles, relative_hazard
from tests.apptest import (
    USER_KEY,
    frame_with,
    query_value,
    run_page,
    shipped_cohort,
    uploaded_cohort,
)

PAGE = "app_pages/calculator.py"


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


@pytest.fixture(scope="module")
def at() -> AppTest:
    return run_page(PAGE)


def test_disclaimer_and_method_statement(at):
    warnings = " ".join(w.value for w in at.warning)
    assert "not for clinical decisions" in warnings and "reconstructed" in warnings
    infos = " ".join(i.value for i in at.info)
    assert "baseline hazard is estimated from the active cohort" in infos
    assert "published coefficients held fixed" in infos


def test_default_table_equals_core(at):
    model = build_model(shipped_cohort(), "published")
    profs = [
        make_profile(label="Profile 1", icu_reason="CRS", ecog_ps=1, sofa=4),
        make_profile(label="Profile 2", icu_reason="Disease progression", ecog_ps=2, sofa=5),
    ]
    pred = predict_profiles(model, profs)
    shown = frame_with(at, "Day 365")
    for lab in ("Profile 1", "Profile 2"):
        row = pred.table[(pred.table["profile"] == lab) & (pred.table["day"] == 365)].iloc[0]
        cell = shown.loc[lab, "Day 365"]
        assert cell.startswith(_pct(row["surv"]))
        assert f"[{_pct(row['lower'])} – {_pct(row['upper'])}]" in cell
    rh = frame_with(at, "Breakdown")
    expected = relative_hazard(profs[1], profs[0], model)
    assert rh["Breakdown"].iloc[0] == expected.formula
    assert query_value(at, "calc_reason1") == "Disease progression"


def test_profile_from_url():
    at = run_page(
        PAGE, calc_n="1", calc_reason0="Sepsis", calc_ps0="3", calc_sofa0="9", calc_label0="Mr X"
    )
    assert at.number_input(key="calc_ps0").value == 3
    assert at.number_input(key="calc_sofa0").value == 9
    shown = frame_with(at, "Day 30")
    assert list(shown.index) == ["Mr X"]
    model = build_model(shipped_cohort(), "published")
    p = make_profile(label="Mr X", icu_reason="Sepsis", ecog_ps=3, sofa=9)
    row = predict_profiles(model, [p]).table.iloc[0]
    assert shown.loc["Mr X", "Day 30"].startswith(_pct(row["surv"]))


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"calc_ps0": "7"}, "ECOG performance status"),
        ({"calc_sofa0": "-1"}, "SOFA score"),
        ({"calc_reason0": "Stroke"}, "Reason for ICU admission"),
    ],
)
def test_invalid_profile_in_url_refused(query, needle):
    at = run_page(PAGE, **query)
    errors = " ".join(e.value for e in at.error)
    assert "refused" in errors and needle in errors
    # the page still works with the default profile
    assert frame_with(at, "Day 365") is not None


def test_refit_mode_changes_prediction():
    at = run_page(PAGE)
    before = frame_with(at, "Day 365")
    at.radio(key="calc_mode").set_value("refit").run()
    assert not at.exception
    after = frame_with(at, "Day 365")
    model = build_model(shipped_cohort(), "refit")
    p = make_profile(label="Profile 1", icu_reason="CRS", ecog_ps=1, sofa=4)
    row = predict_profiles(model, [p]).table
    row = row[row["day"] == 365].iloc[0]
    assert after.loc["Profile 1", "Day 365"].startswith(_pct(row["surv"]))
    assert not before.equals(after)
    assert query_value(at, "calc_mode") == "refit"


def test_four_profiles_and_range_warning():
    at = run_page(PAGE, calc_n="4", calc_sofa3="24")
    shown = frame_with(at, "Day 90")
    assert len(shown) == 4
    cohort = shipped_cohort()
    if cohort["sofa"].max() < 24:
        assert any("outside the active cohort's observed range" in w.value for w in at.warning)


def test_sofa_calculator_fills_profile():
    at = run_page(PAGE)
    at.number_input(key="calc_s_plt").set_value(40.0)  # 3 points
    at.number_input(key="calc_s_gcs").set_value(12)  # 2 points
    at.number_input(key="calc_s_map").set_value(65.0)  # 1 point
    at.run()
    at.selectbox(key="calc_sofa_target").set_value(1).run()
    at.button(key="calc_sofa_use").click().run()
    assert not at.exception
    assert at.number_input(key="calc_sofa1").value == 6
    assert query_value(at, "calc_sofa1") == "6"


def _captured_downloads(monkeypatch) -> dict[str, bytes]:
    """Record the data of every download button (AppTest keeps it in a mock media store)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    seen: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        if filename is not None and not isinstance(path_or_data, str):
            seen[filename] = bytes(path_or_data)
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return seen


def test_table_csv_neutralises_formula_label(monkeypatch):
    seen = _captured_downloads(monkeypatch)
    formula = '=HYPERLINK("http://example.com","x")'
    at = run_page(PAGE, calc_label0=formula)
    assert at.session_state["calc_label0"] == formula  # the label itself is accepted
    for name in ("calculator_table.csv", "calculator_curves.csv"):
        frame = pd.read_csv(io.BytesIO(seen[name]), dtype=str)
        cells = frame.to_numpy().ravel().tolist() + list(frame.columns)
        assert not any(str(c).startswith(("=", "+", "@")) for c in cells), name
        assert "'" + formula in frame["profile"].tolist()


def test_download_buttons_ignore_clicks(at):
    buttons = at.get("download_button")
    assert len(buttons) == 4
    assert all(b.proto.ignore_rerun for b in buttons)


def test_disclaimer_for_uploaded_cohort():
    at = run_page(PAGE, session_state={USER_KEY: uploaded_cohort(shipped_cohort())})
    warnings = " ".join(w.value for w in at.warning)
    assert "Teaching and research tool, not for clinical decisions" in warnings
    assert "reconstructed" not in warnings and "not patient data" not in warnings
    assert "uploaded cohort 'upload'" in warnings
