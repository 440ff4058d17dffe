"""AppTest of the overview and reproduction pages (and the shared sidebar)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.study.published import load_published
from tests.apptest import run_page

PUB = load_published()


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_overview_shows_badge_and_live_numbers():
    at = run_page("app_pages/overview.py", timeout=60, check=False)
    assert not at.exception
    assert any("not patient data" in c.value for c in at.caption)
    assert _metric(at, "Patients") == str(PUB["meta"]["n"])
    # Table 4: 26 one-year decedents of 71
    d = PUB["groupings"]["outcome_1y"]["levels"]["1-year decedent"]
    assert _metric(at, "Died within 1 year").startswith(f"{d} (")


def test_sidebar_filter_changes_the_cohort():
    at = run_page("app_pages/overview.py", timeout=60, check=False)
    at.sidebar.multiselect(key="f_reason").set_value(["Sepsis"]).run()
    assert not at.exception
    n_sepsis = PUB["groupings"]["icu_reason"]["levels"]["Sepsis"]
    assert _metric(at, "Patients") == str(n_sepsis)


def test_filter_from_url_is_applied():
    at = run_page(
        "app_pages/overview.py", timeout=60, check=False, f_reason=["CRS", "Disease progression"]
    )
    levels = PUB["groupings"]["icu_reason"]["levels"]
    assert _metric(at, "Patients") == str(levels["CRS"] + levels["Disease progression"])


def test_empty_filter_gives_a_message_not_a_traceback():
    at = run_page("app_pages/overview.py", timeout=60, check=False)
    at.sidebar.multiselect(key="f_reason").set_value([]).run()
    assert not at.exception
    assert any("No patient passes" in w.value for w in at.warning)


def test_reproduction_page_lists_every_figure_with_status():
    at = run_page("app_pages/reproduction.py", timeout=60, check=False)
    assert not at.exception
    n_checked = int(_metric(at, "Figures checked"))
    assert n_checked > 500
    assert not at.warning  # full reconstructed cohort: no "filtered" warning
    table = at.dataframe[0].value
    assert set(table["status"]) <= {"✓", "≈", "✗"}
    # every ✗ is explained by a documented conflict of the paper
    assert (table.loc[table["status"] == "✗", "conflict"] != "").all()


def test_reproduction_warns_when_filtered():
    at = run_page("app_pages/reproduction.py", timeout=60, check=False, f_ps=["PS 0", "PS 1"])
    assert not at.exception
    assert any("filtered" in w.value for w in at.warning)


def test_reproduction_on_a_single_ps_level_does_not_fail():
    at = run_page("app_pages/reproduction.py", timeout=60, check=False, f_ps="PS 1")
    assert not at.exception
    assert int(_metric(at, "Figures checked")) > 0


def test_header_badge_shows_the_filtered_size():
    at = run_page("app_pages/overview.py", timeout=60, check=False, f_reason="Sepsis")
    n_sepsis = PUB["groupings"]["icu_reason"]["levels"]["Sepsis"]
    badge = next(c.value for c in at.caption if c.value.startswith("Active cohort"))
    assert f"{n_sepsis} of {PUB['meta']['n']} patients" in badge
    assert "not patient data" in badge


def test_filter_survives_a_page_without_the_sidebar():
    at = run_page("app.py", timeout=60, check=False)
    at.sidebar.multiselect(key="f_ps").set_value([2, 3]).run()
    n_ps23 = _metric(at, "Patients")
    at.switch_page("app_pages/your_data.py").run()
    assert not at.exception
    for key in list(at.query_params):  # a sidebar link drops the query string
        del at.query_params[key]
    at.switch_page("app_pages/overview.py").run()
    assert not at.exception
    assert _metric(at, "Patients") == n_ps23
    assert at.sidebar.multiselect(key="f_ps").value == [2, 3]


def _patients_in_view(at: AppTest) -> str:
    return next(m.value for m in at.sidebar.metric if m.label == "Patients in view")


def test_range_filter_survives_page_changes():
    """The age range set on one page is still applied two and three pages later."""
    from tests.apptest import ROOT, shipped_cohort

    cohort = shipped_cohort()
    expected = int(((cohort["age"] >= 44) & (cohort["age"] <= 80)).sum())
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    next(s for s in at.sidebar.slider if s.key == "f_age").set_value((44.0, 80.0)).run()
    assert _patients_in_view(at) == f"n = {expected} of {len(cohort)}"
    for page in ("app_pages/story.py", "app_pages/compare.py", "app_pages/overview.py"):
        at.switch_page(page).run()
        assert not at.exception
        assert _patients_in_view(at) == f"n = {expected} of {len(cohort)}", page


def test_clearing_an_upload_clears_its_filter():
    from tests.apptest import ROOT, USER_KEY, shipped_cohort, uploaded_cohort

    upload = shipped_cohort().head(40)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[USER_KEY] = uploaded_cohort(upload)
    at.run()
    next(s for s in at.sidebar.slider if s.key == "f_age").set_value((30, 60)).run()
    in_range = int(upload["age"].between(30, 60).sum())
    assert _patients_in_view(at) == f"n = {in_range} of {len(upload)}"
    at.switch_page("app_pages/your_data.py").run()
    at.button(key="ud_clear").click().run()
    assert USER_KEY not in at.session_state
    at.switch_page("app_pages/overview.py").run()
    assert not at.exception
    n = len(shipped_cohort())
    assert _patients_in_view(at) == f"n = {n} of {n}"  # the next cohort starts unfiltered
