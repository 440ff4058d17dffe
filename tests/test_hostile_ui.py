"""Hostile links: every page meets odd or malicious URL values without a crash, says what it
ignored, and never turns URL text into Markdown (image, link)."""

from __future__ import annotations

import pytest

from tests.apptest import run_page

IMG = "![x](http://127.0.0.1:9/x.png)"
LINK = "[Session expired, log in](http://127.0.0.1:9/login)"

CASES = [
    ("app_pages/survival.py", {"km_h": "1e309"}),
    ("app_pages/survival.py", {"km_h": "nan"}),
    ("app_pages/survival.py", {"km_cut": "1e309", "km_group": "Age"}),
    ("app_pages/survival.py", {"km_group": IMG}),
    ("app_pages/survival.py", {"km_unit": LINK}),
    ("app_pages/cox.py", {"cox_hd": "inf", "cox_hz": "Custom"}),
    ("app_pages/cox.py", {"cox_hd": "99999", "cox_hz": "Custom"}),
    ("app_pages/cox.py", {"cox_nboot": "1e309"}),
    ("app_pages/cox.py", {"cox_covs": [IMG, LINK]}),
    ("app_pages/compare.py", {"cmp_cut": "inf", "cmp_by": "Age (years)"}),
    ("app_pages/compare.py", {"cmp_by": LINK}),
    ("app_pages/overview.py", {"f_age": ["1e309", "5"]}),
    ("app_pages/overview.py", {"f_reason": [IMG, "CRS"]}),
    ("app_pages/glossary.py", {"gl_q": IMG}),
]


def _shown_text(at) -> list[str]:
    kinds = ("markdown", "caption", "warning", "info", "error", "success", "subheader", "title")
    return [e.value for kind in kinds for e in at.get(kind)]


@pytest.mark.parametrize("page,query", CASES, ids=[f"{p}-{q}" for p, q in CASES])
def test_hostile_url_value_is_ignored_without_a_crash(page, query):
    at = run_page(page, timeout=120, check=False, **query)
    assert not at.exception, [e.value for e in at.exception]
    for text in _shown_text(at):  # URL text is escaped wherever it is shown as Markdown
        assert "](http://127.0.0.1:9" not in text, text


@pytest.mark.parametrize(
    "page,query",
    [
        ("app_pages/survival.py", {"km_h": "1e309"}),
        ("app_pages/cox.py", {"cox_hd": "inf", "cox_hz": "Custom"}),
        ("app_pages/survival.py", {"km_group": IMG}),
    ],
)
def test_what_was_ignored_is_said(page, query):
    at = run_page(page, timeout=120, check=False, **query)
    assert any("Ignored from the link" in t.value for t in at.toast)


def test_glossary_search_from_a_link_is_plain_text():
    at = run_page("app_pages/glossary.py", timeout=60, check=False, gl_q=IMG)
    assert not at.exception
    assert at.text_input(key="gl_q").value == IMG  # kept as typed, shown in an input box


def test_generic_upload_with_hostile_group_names_is_shown_as_text():
    """Column names and levels from a file: Compare's header, small-group warning and tests
    caption, and Survival's warnings, never render them as an image or a link."""
    import pandas as pd

    from tests.apptest import USER_KEY, uploaded_cohort

    n = 12
    df = pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(n)],
            "os_days": [10.0 * (i + 1) for i in range(n)],
            "os_event": [i % 2 for i in range(n)],
            IMG: ["a"] * (n - 1) + [LINK],  # a group of one patient: the small-group warning
        }
    )
    state = {USER_KEY: uploaded_cohort(df, mode="generic")}
    for page in ("app_pages/compare.py", "app_pages/survival.py"):
        at = run_page(page, timeout=120, check=False, session_state=state)
        if page.endswith("compare.py"):
            at.selectbox(key="cmp_by").set_value(IMG).run()
        else:
            at.selectbox(key="km_group").set_value(IMG).run()
        assert not at.exception, page
        for text in _shown_text(at):
            assert "](http://127.0.0.1:9" not in text, (page, text)
