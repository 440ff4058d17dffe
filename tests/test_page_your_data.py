"""AppTest of app_pages/your_data.py: upload end to end, hostile files, session isolation.

st.file_uploader is driven with AppTest's FileUploader.set_value (streamlit >= 1.5x). Expected
cohorts are what core.cohort.ingest returns for the same bytes (core.cohort.ingest is tested in
tests/test_ingest.py); here we check that the page wires it up and never renders user text
as Markdown.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from streamlit.testing.v1 import AppTest

from app_pages._ui.views.pages import YOUR_DATA
from core.cohort.ingest import load_into_session, read_cohort
from tests.apptest import USER_KEY, frame_with, run_page
from tests.hostile import make_corpus as M

PAGE = "app_pages/your_data.py"


def _upload(at: AppTest, filename: str, data: bytes) -> AppTest:
    at.file_uploader(key="ud_file").set_value((filename, data, "application/octet-stream"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _selectbox(at: AppTest, label: str):
    return next(s for s in at.selectbox if s.label == label)


def _confirm_and_use(at: AppTest) -> AppTest:
    at.checkbox[0].check()
    at.run()
    use = at.button(key="ud_use")
    assert not use.disabled
    use.click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _markdown_texts(at: AppTest) -> list[str]:
    """Every element whose body Streamlit renders as Markdown, plus widget labels."""
    out: list[str] = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "title",
                 "subheader", "header"):  # fmt: skip
        out += [str(e.value) for e in getattr(at, kind)]
    for kind in ("selectbox", "checkbox", "button", "multiselect", "radio"):
        out += [str(w.label) for w in getattr(at, kind)]
    out += [str(o) for r in at.radio for o in r.options]  # radio options render Markdown
    return out


def test_page_renders_without_upload():
    at = run_page(PAGE, timeout=120)
    assert [t.value for t in at.title] == ["Your data"]
    assert USER_KEY not in at.session_state
    assert len(at.get("download_button")) == 2  # template CSV + data dictionary
    assert at.file_uploader(key="ud_file").allowed_type == [
        ".csv",
        ".tsv",
        ".txt",
        ".xlsx",
        ".parquet",
    ]


def test_upload_end_to_end_then_clear():
    data = M.csv_text(";", ",").encode()
    at = _upload(run_page(PAGE, timeout=120), "cohort.csv", data)
    # mapping prefilled from the column names
    assert _selectbox(at, "Survival time (os_days)").value == "os_days"
    assert _selectbox(at, "Status / event (os_event)").value == "os_event"
    assert _selectbox(at, "ECOG performance status (points) · ecog_ps").value == "ecog_ps"
    # event coding detected and shown, not applied until confirmed
    assert _selectbox(at, "Coding").value == "0/1"
    assert at.checkbox[0].label == "I confirm: 0 = censored (alive), 1 = died"
    assert at.button(key="ud_use").disabled
    assert [m.value for m in at.metric] == ["3", "3", "0"]
    _confirm_and_use(at)
    user = at.session_state[USER_KEY]
    assert user["mode"] == "paper" and user["name"] == "Your data, 3 patients"
    expected = read_cohort(data, "cohort.csv").accepted
    got = user["con"].execute("SELECT patient_id, os_days, os_event FROM patients").df()
    assert got["patient_id"].tolist() == expected["patient_id"].tolist()
    assert got["os_days"].tolist() == expected["os_days"].tolist() == [30.5, 400.0, 12.0]
    assert got["os_event"].tolist() == [1, 0, 1]
    assert any("Your own cohort is active" in s.value for s in at.success)
    # the rows live in the session's DuckDB only: the text table, the validated copy and the
    # file (a fresh, empty uploader replaces the used one) are no longer held
    assert "ud_raw" not in at.session_state and "ud_report" not in at.session_state
    assert [u.key for u in at.get("file_uploader")] == ["ud_file_1"]
    assert not at.selectbox or "Survival time (os_days)" not in [s.label for s in at.selectbox]
    assert "_cohort_dropped" not in at.session_state  # nothing let go yet
    at.button(key="ud_clear").click()
    at.run()
    assert USER_KEY not in at.session_state
    assert at.session_state["_cohort_dropped"]  # app.py collects its cycles after the run
    assert "Reconstructed" in at.caption[0].value


def test_months_unit_and_rejected_rows_download():
    data = b"id,Survival (months),status,age\na,2,dead,60\nb,x,alive,61\nc,1,alive,300\n"
    at = _upload(run_page(PAGE, timeout=120), "m.csv", data)
    assert _selectbox(at, "Unit of the survival time").value == "months"
    assert [m.value for m in at.metric] == ["3", "1", "2"]
    rejected = frame_with(at, "reason")
    assert rejected[["row", "column", "value"]].values.tolist() == [
        [3, "Survival (months)", "x"],
        [4, "age", "300"],
    ]
    assert len(at.get("download_button")) == 3  # + rejected rows
    _confirm_and_use(at)
    con = at.session_state[USER_KEY]["con"]
    assert con.execute("SELECT os_days FROM patients").fetchall() == [(2 * 30.4375,)]


def test_ambiguous_event_coding_must_be_chosen():
    at = _upload(run_page(PAGE, timeout=120), "a.csv", b"time,status\n10,1\n20,1\n")
    assert any("could not be detected" in e.value for e in at.error)
    assert any("every value is 1" in c.value for c in at.code)
    coding = _selectbox(at, "Coding")
    assert coding.value is None
    assert "ud_use" not in [b.key for b in at.button if b.key]
    coding.set_value("1/2")
    at.run()
    _confirm_and_use(at)
    con = at.session_state[USER_KEY]["con"]
    assert con.execute("SELECT sum(os_event) FROM patients").fetchone() == (0,)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("text_as_xlsx", "extension .xlsx but its content is plain text"),
        ("text_as_parquet", "extension .parquet but its content is plain text"),
        ("binary_junk", "binary data"),
        ("header_only", "no data rows"),
        ("empty", "file is empty"),
    ],
)
def test_refused_files_show_a_plain_message(name, message):
    filename, data = M.build_corpus()[name]
    at = _upload(run_page(PAGE, timeout=120), filename, data)
    assert [e.value for e in at.error] == ["This file cannot be used."]
    assert any(message in c.value for c in at.code)
    assert not at.selectbox and not at.button


def test_hostile_headers_and_values_are_never_markdown():
    filename, data = M.build_corpus()["html_sql_injection"]
    at = run_page(PAGE, timeout=120)
    at.radio(key="ud_mode").set_value("generic")
    at.run()
    _upload(at, filename, data)
    hostile = ("<script", "<img", "DROP TABLE", "](http", "**bold**")
    for text in _markdown_texts(at):
        assert not any(h in text for h in hostile), text
    # ...but they are shown, as data, in the preview
    preview = at.dataframe[0].value
    assert "<script>alert('h')</script>" in preview.columns
    assert "<img src=x onerror=alert(1)>" in preview.iloc[:, 0].tolist()
    _confirm_and_use(at)
    user = at.session_state[USER_KEY]
    assert user["mode"] == "generic"
    assert user["con"].execute("SELECT count(*) FROM patients").fetchone() == (2,)
    assert at.radio(key="ud_mode").value == "generic"


def test_generic_mode_groups():
    data = b"futime,fustat,rx\n59,1,1\n115,1,2\n156,0,1\n"
    at = run_page(PAGE, timeout=120)
    at.radio(key="ud_mode").set_value("generic")
    at.run()
    _upload(at, "ov.csv", data)
    assert _selectbox(at, "Survival time (os_days)").value == "futime"
    assert _selectbox(at, "Status / event (os_event)").value == "fustat"
    groups = next(m for m in at.multiselect if m.label.startswith("Grouping"))
    groups.set_value(["rx"])
    at.run()
    _confirm_and_use(at)
    con = at.session_state[USER_KEY]["con"]
    assert con.execute("SELECT rx, os_days FROM patients ORDER BY os_days").fetchall() == [
        (1, 59.0),
        (2, 115.0),
        (1, 156.0),
    ]


SIDEBAR_SCRIPT = """
import streamlit as st
from app_pages._ui.cohort import cohort_sidebar
view = cohort_sidebar()
st.text(f"n={view.n} reconstructed={view.reconstructed}")
"""


def test_two_sessions_are_isolated():
    """One session loads data; another (a new AppTest) still has the reconstructed cohort."""
    a = _upload(run_page(PAGE, timeout=120), "cohort.csv", M.csv_text().encode())
    _confirm_and_use(a)
    b = run_page(PAGE, timeout=120)
    assert USER_KEY in a.session_state
    assert USER_KEY not in b.session_state
    assert "Reconstructed from published aggregates" in b.caption[0].value
    assert "your uploaded data" in a.caption[0].value
    # the shared sidebar of session b still serves the shipped reconstructed cohort (n = 71)
    side = AppTest.from_string(SIDEBAR_SCRIPT, default_timeout=60)
    side.run()
    assert not side.exception, [e.value for e in side.exception]
    assert [t.value for t in side.main.text] == ["n=71 reconstructed=True"]
    # the first session's database is its own: clearing it does not touch the second
    a.button(key="ud_clear").click()
    a.run()
    assert USER_KEY not in a.session_state and USER_KEY not in b.session_state


def test_uploaded_cohort_feeds_the_shared_sidebar():
    rep = read_cohort(M.csv_text().encode(), "cohort.csv")
    at = AppTest.from_string(SIDEBAR_SCRIPT, default_timeout=60)
    at.session_state[USER_KEY] = {
        "con": load_into_session(rep),
        "name": "Your data, 3 patients",
        "mode": "paper",
    }
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.main.text] == ["n=3 reconstructed=False"]
    assert [t.value for t in at.sidebar.text] == ["Your data, 3 patients"]
    assert at.sidebar.metric[0].value == "n = 3 of 3"


@pytest.mark.browser
def test_browser_upload_hostile_file_runs_no_script(app_url, page):
    """Real Chromium: upload the HTML/JS/SQL file; no dialog fires, no tag is injected."""
    from tests.conftest import SCREENSHOTS, wait_for_app

    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{app_url}/your_data?{urlencode(YOUR_DATA.link(mode='generic'))}")
    wait_for_app(page)
    filename, data = M.build_corpus()["html_sql_injection"]
    page.set_input_files(
        'input[type="file"]', files=[{"name": filename, "mimeType": "text/csv", "buffer": data}]
    )
    page.get_by_text("3. Confirm the event coding", exact=True).wait_for(timeout=60_000)
    wait_for_app(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("a[href='http://evil.example']").count() == 0
    page.get_by_text("I confirm:").click()
    wait_for_app(page)
    page.get_by_role("button", name="Use this cohort").click()
    page.get_by_text("Your own cohort is active").wait_for(timeout=60_000)
    assert dialogs == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "your_data_upload.png"), full_page=True)


def test_no_event_column_mapped_says_what_to_do():
    """A file without a recognisable event column: the page says what step 2 needs."""
    at = run_page(PAGE, timeout=120)
    _upload(at, "noevent.csv", b"futime,grp\n59,a\n115,b\n156,a\n")
    assert any("whether each patient died" in i.value for i in at.info)


def _expander_key(at: AppTest, prefix: str) -> str:
    return f"{prefix}{at.session_state['ud_raw'][0]}"  # one expander per file (its id)


def _age_box(at: AppTest):
    return next((s for s in at.selectbox if s.label.endswith(" · age")), None)


def test_other_columns_are_drawn_only_when_open_and_keep_their_choice():
    """The ~55 other cohort columns are drawn only while their expander is open (lazy: the
    browser drew a 5,000-row file's step 1 in 1.7 s with them, 0.6 s without); a choice made
    there stands once it is closed again."""
    data = M.csv_text().encode()
    at = _upload(run_page(PAGE, timeout=120), "cohort.csv", data)
    assert _age_box(at) is None  # closed: not drawn, the suggestion stands
    report = at.session_state["ud_report"][1]
    assert report.mapping["age"] == "age" and report.accepted["age"].tolist() == [60, 45, 71]
    at.session_state[_expander_key(at, "ud_other_")] = True  # the user opens it
    at.run()
    box = _age_box(at)
    assert box is not None and box.value == "age"
    box.set_value("— not in file —")  # age is not this file's age after all
    at.run()
    at.session_state[_expander_key(at, "ud_other_")] = False  # and closes it again
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _age_box(at) is None
    report = at.session_state["ud_report"][1]
    assert "age" not in report.mapping and "age" not in report.accepted.columns
    at.session_state[_expander_key(at, "ud_other_")] = True  # reopened: the choice shown
    at.run()
    assert _age_box(at).value == "— not in file —"
