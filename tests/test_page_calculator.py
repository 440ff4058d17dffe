"""AppTest of app_pages/calculator.py: profiles from the URL, published / refit predictions, SOFA,
the view kept across a page switch.

Expected numbers come from core.study.calculator on the same active cohort (checked against R in
tests/test_calculator.py); none is typed here. The profile examples are CalculatorView's defaults.
AppTest does not see the URL follow a widget, so the tests read widgets and shown tables.
"""

from __future__ import annotations

import datetime
import io

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app_pages._ui.views.calculator import CALCULATOR, PROFILE_FIELDS, CalculatorView
from core.study.calculator import (
    ICU_REASONS,
    MAX_PROFILES,
    baseline_profile,
    build_model,
    describe_profile,
    input_bounds,
    make_profile,
    predict_profiles,
    relative_hazard,
)
from core.study.model import paper_model
from tests.apptest import (
    ROOT,
    USER_KEY,
    frame_with,
    query_value,
    run_page,
    shipped_cohort,
    uploaded_cohort,
)

PAGE = "app_pages/calculator.py"


DEFAULTS = CalculatorView()


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def _examples(n: int = DEFAULTS.n) -> list:
    """The first ``n`` profile examples of the view, as the calculator's profiles."""
    return [make_profile(**DEFAULTS.profile(i)) for i in range(n)]


def _inputs(at: AppTest) -> dict:
    """Every calculator input on screen (``calc_*`` keys) and its value."""
    kinds = ("number_input", "text_input", "selectbox", "radio", "toggle", "multiselect")
    return {
        w.key: w.value
        for kind in (*kinds, "checkbox")
        for w in at.get(kind)
        if w.key and w.key.startswith("calc_")
    }


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
    profs = _examples()
    pred = predict_profiles(model, profs)
    shown = frame_with(at, "Day 365")
    assert list(shown.index) == [p.label for p in profs]
    for lab in (p.label for p in profs):
        row = pred.table[(pred.table["profile"] == lab) & (pred.table["day"] == 365)].iloc[0]
        cell = shown.loc[lab, "Day 365"]
        assert cell.startswith(_pct(row["surv"]))
        assert f"[{_pct(row['lower'])} – {_pct(row['upper'])}]" in cell
    rh = frame_with(at, "Breakdown")
    expected = relative_hazard(profs[1], profs[0], model)
    assert rh["Breakdown"].iloc[0] == expected.formula
    assert at.selectbox(key="calc_reason1").value == DEFAULTS.reason1
    assert at.selectbox(key="calc_reason1").value == "Disease progression"  # the paper's DP
    assert query_value(at, "calc_reason1") is None  # a default value stays out of the link


def test_profile_from_url():
    at = run_page(
        PAGE, calc_n="1", calc_reason0="Sepsis", calc_ps0="3", calc_sofa0="9", calc_label0="Mr X"
    )
    assert at.number_input(key="calc_ps0").value == 3
    assert at.number_input(key="calc_sofa0").value == 9
    assert at.selectbox(key="calc_reason0").value == "Sepsis"
    assert at.text_input(key="calc_label0").value == "Mr X"
    assert not at.error
    shown = frame_with(at, "Day 30")
    assert list(shown.index) == ["Mr X"]
    model = build_model(shipped_cohort(), "published")
    p = make_profile(label="Mr X", icu_reason="Sepsis", ecog_ps=3, sofa=9)
    row = predict_profiles(model, [p]).table.iloc[0]
    assert shown.loc["Mr X", "Day 30"].startswith(_pct(row["surv"]))


@pytest.mark.parametrize(
    ("query", "needle", "field"),
    [
        ({"calc_ps0": "7"}, "ECOG performance status", "ps0"),
        ({"calc_sofa0": "-1"}, "SOFA score", "sofa0"),
        ({"calc_reason0": "Stroke"}, "Reason for ICU admission", "reason0"),
        ({"calc_ps1": "2.5"}, "ECOG performance status", "ps1"),
    ],
)
def test_invalid_profile_in_url_refused(query, needle, field):
    at = run_page(PAGE, **query, calc_label0="Kept", calc_sofa1="11")
    errors = " ".join(e.value for e in at.error)
    assert "refused" in errors and needle in errors
    # the refused value shows the example's; the link's other values are kept
    widget = at.selectbox if field.startswith("reason") else at.number_input
    assert widget(key=CALCULATOR.key(field)).value == CALCULATOR.default(field)
    assert at.text_input(key="calc_label0").value == "Kept"
    assert at.number_input(key="calc_sofa1").value == 11
    assert "Kept" in frame_with(at, "Day 365").index


def test_refused_link_value_is_shown_as_text():
    at = run_page(PAGE, calc_reason0="[click](http://example.com) **x**")
    error = next(e.value for e in at.error if "refused" in e.value)
    assert "](http" not in error and "**x**" not in error  # escaped: not a link, not bold
    assert r"\[click\]" in error


def test_refit_mode_changes_prediction():
    at = run_page(PAGE)
    before = frame_with(at, "Day 365")
    at.radio(key="calc_mode").set_value("refit").run()
    assert not at.exception
    after = frame_with(at, "Day 365")
    model = build_model(shipped_cohort(), "refit")
    p = _examples(1)[0]
    row = predict_profiles(model, [p]).table
    row = row[row["day"] == 365].iloc[0]
    assert after.loc[p.label, "Day 365"].startswith(_pct(row["surv"]))
    assert not before.equals(after)
    assert at.radio(key="calc_mode").value == "refit"
    # the same view from a link (the URL holds the shown option text)
    link = CALCULATOR.link(mode="refit")
    assert link == {"calc_mode": "Refit on the active cohort"}
    linked = run_page(PAGE, **link)
    assert linked.radio(key="calc_mode").value == "refit"
    assert frame_with(linked, "Day 365").equals(after)


def test_refit_extra_covariate_from_url():
    at = run_page(PAGE, **CALCULATOR.link(mode="refit"), calc_extra="age")
    assert at.multiselect(key="calc_extra").value == ["age"]
    cohort = shipped_cohort()
    median = float(cohort["age"].median())
    assert at.number_input(key="calc_x0_age").value == median
    at.number_input(key="calc_x0_age").set_value(median + 10).run()
    assert not at.exception
    model = build_model(cohort, "refit", covariates=(*paper_model().covariates, "age"))
    profs = [
        make_profile(**DEFAULTS.profile(0), extra={"age": median + 10}),
        make_profile(**DEFAULTS.profile(1), extra={"age": median}),
    ]
    table = predict_profiles(model, profs).table
    shown = frame_with(at, "Day 365")
    for p in profs:
        row = table[(table["profile"] == p.label) & (table["day"] == 365)].iloc[0]
        assert shown.loc[p.label, "Day 365"].startswith(_pct(row["surv"]))


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
    model = build_model(shipped_cohort(), "published")
    filled = make_profile(**{**DEFAULTS.profile(1), "sofa": 6})
    row = predict_profiles(model, [*_examples(1), filled]).table
    row = row[(row["profile"] == filled.label) & (row["day"] == 365)].iloc[0]
    assert frame_with(at, "Day 365").loc[filled.label, "Day 365"].startswith(_pct(row["surv"]))


def _captured_downloads(monkeypatch) -> dict[str, bytes]:
    """Record the data of every download button: the bytes of a direct one (AppTest keeps
    them in a mock media store) and what a deferred one's callable returns on click."""
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    seen: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id
    original_deferred = MediaFileManager.add_deferred

    def spy(self, path_or_data, mimetype, kind, filename=None):
        if filename is not None and not isinstance(path_or_data, str):
            seen[filename] = bytes(path_or_data)
        return original(self, path_or_data, mimetype, kind, filename)

    def spy_deferred(self, data_callable, *args, file_name=None, **kwargs):
        data = data_callable()
        seen[file_name] = data.encode() if isinstance(data, str) else bytes(data)
        return original_deferred(self, data_callable, *args, file_name=file_name, **kwargs)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    monkeypatch.setattr(MediaFileManager, "add_deferred", spy_deferred)
    return seen


def test_table_csv_neutralises_formula_label(monkeypatch):
    seen = _captured_downloads(monkeypatch)
    formula = '=HYPERLINK("http://example.com","x")'
    at = run_page(PAGE, calc_label0=formula)
    assert at.session_state["calc_label0"] == formula  # the label itself is accepted
    for name in ("calculator_table.csv", "calculator_curves.csv"):
        stamp, _, body = seen[name].decode().partition("\n")
        assert stamp.startswith("# CAR-T ICU prognosis explorer · reconstructed cohort")
        assert "filter: no filter" in stamp and f"exported {datetime.date.today()}" in stamp
        frame = pd.read_csv(io.StringIO(body), dtype=str)
        cells = frame.to_numpy().ravel().tolist() + list(frame.columns)
        assert not any(str(c).startswith(("=", "+", "@")) for c in cells), name
        assert "'" + formula in frame["profile"].tolist()


def test_download_buttons_ignore_clicks(at):
    buttons = at.get("download_button")
    assert {b.key for b in buttons} == {f"calc_dl{i}" for i in range(1, 5)} | {"calc_dl_summary"}
    assert all(b.proto.ignore_rerun for b in buttons)


def test_disclaimer_for_uploaded_cohort():
    at = run_page(PAGE, session_state={USER_KEY: uploaded_cohort(shipped_cohort())})
    warnings = " ".join(w.value for w in at.warning)
    assert "Teaching and research tool, not for clinical decisions" in warnings
    assert "reconstructed" not in warnings and "not patient data" not in warnings
    assert "uploaded cohort 'upload'" in warnings


def test_view_model_matches_the_calculator_core():
    """Four slots of bounded fields with today's URL keys; the examples are valid profiles."""
    fields = CalculatorView.model_fields
    for i in range(MAX_PROFILES):
        for name in PROFILE_FIELDS:
            assert f"{name}{i}" in fields and CALCULATOR.key(f"{name}{i}") == f"calc_{name}{i}"
        make_profile(**DEFAULTS.profile(i))  # raises on an invalid example
    assert f"label{MAX_PROFILES}" not in fields
    for key in ("mode", "n", "band", "ref", "extra"):
        assert CALCULATOR.key(key) == f"calc_{key}"
    with pytest.raises(ValueError):
        CalculatorView(ps0=input_bounds("ecog_ps")[1] + 1)
    with pytest.raises(ValueError):
        CalculatorView(sofa3=input_bounds("sofa")[0] - 1)
    with pytest.raises(ValueError):
        CalculatorView(label2="x" * (input_bounds("label")[1] + 1))
    with pytest.raises(ValueError):
        CalculatorView(reason1="Stroke")


def test_page_switch_and_back_keeps_every_input():
    """Calculator -> Overview -> Calculator: no exception, inputs and results as left."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    at.number_input(key="calc_n").set_value(3).run()
    at.text_input(key="calc_label0").set_value("Mr X").run()
    at.selectbox(key="calc_reason0").set_value(ICU_REASONS[2]).run()
    at.number_input(key="calc_ps0").set_value(3).run()
    at.number_input(key="calc_sofa2").set_value(9).run()
    at.toggle(key="calc_band").set_value(False).run()
    at.radio(key="calc_mode").set_value("refit").run()
    at.multiselect(key="calc_extra").set_value(["age"]).run()
    at.number_input(key="calc_x1_age").set_value(70.0).run()
    at.selectbox(key="calc_ref").set_value("baseline").run()
    at.number_input(key="calc_s_gcs").set_value(12).run()
    assert not at.exception, [e.value for e in at.exception]
    before = _inputs(at)
    table, rh = frame_with(at, "Day 365"), frame_with(at, "Breakdown")
    assert before["calc_label0"] == "Mr X" and before["calc_ref"] == "baseline"
    assert list(table.index) == ["Mr X", "Profile 2", "Profile 3"]

    at.switch_page("app_pages/overview.py").run()
    assert not at.exception, [e.value for e in at.exception]
    for key in list(at.query_params):  # a sidebar link drops the query string
        del at.query_params[key]
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert _inputs(at) == before
    assert frame_with(at, "Day 365").equals(table)
    assert frame_with(at, "Breakdown").equals(rh)
    assert (frame_with(at, "Breakdown")["vs"] == "Reference").all()


def test_reference_from_url_and_when_its_profile_goes():
    at = run_page(PAGE, **CALCULATOR.link(n=3, ref="2"))
    assert at.selectbox(key="calc_ref").value == "2"
    profs = _examples(3)
    rh = frame_with(at, "Breakdown")
    assert (rh["vs"] == profs[2].label).all()
    assert list(rh["Profile"]) == [profs[0].label, profs[1].label]
    model = build_model(shipped_cohort(), "published")
    assert rh["Breakdown"].iloc[0] == relative_hazard(profs[0], profs[2], model).formula
    at.number_input(key="calc_n").set_value(1).run()
    assert not at.exception
    assert at.selectbox(key="calc_ref").value == "0"  # profile 3 is no longer shown
    zero = describe_profile(baseline_profile())
    assert zero in at.selectbox(key="calc_ref").options
    assert any("Add a second profile" in c.value for c in at.caption)
    at.selectbox(key="calc_ref").set_value("baseline").run()
    rh = frame_with(at, "Breakdown")
    assert rh["Breakdown"].iloc[0] == relative_hazard(profs[0], baseline_profile(), model).formula


def test_duplicate_labels_keep_distinct_references():
    at = run_page(PAGE, calc_label0="Same", calc_label1="Same")
    options = at.selectbox(key="calc_ref").options
    assert len(set(options)) == len(options)
    at.selectbox(key="calc_ref").set_value("1").run()
    assert at.selectbox(key="calc_ref").value == "1"
    rh = frame_with(at, "Breakdown")
    model = build_model(shipped_cohort(), "published")
    first, second = (make_profile(**{**DEFAULTS.profile(i), "label": "Same"}) for i in (0, 1))
    assert rh["Breakdown"].iloc[0] == relative_hazard(first, second, model).formula


def test_profile_labels_are_plain_text():
    label = "**b** [x](http://e.com) <i>"
    sofa = int(shipped_cohort()["sofa"].max()) + 1  # outside the cohort: a warning names it
    assert sofa <= input_bounds("sofa")[1]
    at = run_page(PAGE, calc_label0=label, calc_sofa0=str(sofa))
    assert label in frame_with(at, "Day 365").index  # shown, as data
    assert any("outside the active cohort" in w.value for w in at.warning)
    texts = [
        str(e.value)
        for k in ("markdown", "caption", "error", "warning", "info")
        for e in getattr(at, k)
    ]
    texts += [
        str(w.label)
        for k in ("selectbox", "checkbox", "button", "number_input")
        for w in getattr(at, k)
    ]
    for text in texts:
        assert "**b**" not in text and "](http" not in text and "<i>" not in text, text


def test_band_toggle_from_url_changes_the_chart():
    with_band = run_page(PAGE).get("vega_lite_chart")[0].proto.spec
    at = run_page(PAGE, **CALCULATOR.link(band=False))
    assert at.toggle(key="calc_band").value is False
    assert at.get("vega_lite_chart")[0].proto.spec != with_band


IMG = "![x](http://127.0.0.1:9/x.png)"
LINK = "[Session expired, log in](http://127.0.0.1:9/login)"
HOSTILE = [
    {"calc_ps0": "1e309"},
    {"calc_sofa0": "inf"},
    {"calc_n": "nan"},
    {"calc_band": "yes"},
    {"calc_ref": IMG},
    {"calc_mode": LINK},
    {"calc_reason0": IMG},
    {"calc_label0": IMG},
    {"calc_n": "4", "calc_label3": LINK},
    {**CALCULATOR.link(mode="refit"), "calc_extra": [IMG, "age"]},
]


@pytest.mark.parametrize("query", HOSTILE, ids=[str(q) for q in HOSTILE])
def test_hostile_link_values_are_ignored_without_a_crash(query):
    at = run_page(PAGE, check=False, **query)
    assert not at.exception, [e.value for e in at.exception]
    kinds = ("markdown", "caption", "warning", "info", "error", "success", "toast")
    for text in (str(e.value) for kind in kinds for e in at.get(kind)):
        assert "](http://127.0.0.1:9" not in text, text  # URL text is never a link or image
    assert frame_with(at, "Day 365") is not None  # the page still predicts


def test_survival_at_typed_time_points():
    at = run_page(PAGE, calc_times="28, 6 months")
    table = frame_with(at, "Day 28", substring=True)
    assert "Day 28" in table.columns and "Day 183" in table.columns  # 6 x 30.4375 days
    late = run_page(PAGE, calc_times="2 years")
    assert any("Time points not added" in w.value for w in late.warning)


def test_published_band_holds_the_published_cis_unless_baseline_only_is_chosen():
    """Default: the band includes the HRs' published uncertainty (core's coef_var); the
    'baseline hazard only' choice narrows it to what the cohort's baseline alone gives."""
    import dataclasses

    at = run_page(PAGE)
    model = build_model(shipped_cohort(), "published")
    profs = _examples()
    lab = profs[1].label
    for unc in ("published_ci", "baseline"):
        if unc == "baseline":
            at.radio(key="calc_unc").set_value("baseline").run()
            assert not at.exception
        pred = predict_profiles(dataclasses.replace(model, uncertainty=unc), profs)
        row = pred.table[(pred.table["profile"] == lab) & (pred.table["day"] == 365)].iloc[0]
        cell = frame_with(at, "Day 365").loc[lab, "Day 365"]
        assert f"[{_pct(row['lower'])} – {_pct(row['upper'])}]" in cell, (unc, cell)
        assert ("published HRs' uncertainty" in " ".join(c.value for c in at.caption)) == (
            unc == "published_ci"
        )
    wide = predict_profiles(model, profs).table
    narrow = predict_profiles(dataclasses.replace(model, uncertainty="baseline"), profs).table
    assert ((wide["upper"] - wide["lower"]) >= (narrow["upper"] - narrow["lower"]) - 1e-12).all()
