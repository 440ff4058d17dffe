"""Journeys a user walks in a real browser: settings kept across pages, reloads and Back.

Each test changes a page's setting, leaves through the sidebar, comes back, reloads the URL
and presses Back, as a person would (headless Chromium, Playwright).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import wait_for_app
from tests.helpers_browser import upload_cohort

pytestmark = pytest.mark.browser


def _nav(page, title: str) -> None:
    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name=title).click()
    wait_for_app(page)


def _choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label`` (a combobox in Streamlit 1.67)."""
    page.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app(page)


def _selected(page, label: str) -> str:
    return page.get_by_role("combobox", name=label, exact=True).input_value()


def _main_multiselect(page) -> str:
    """Text of the first multiselect of the page body (the sidebar holds the filter's)."""
    return page.get_by_test_id("stMain").locator('[data-testid="stMultiSelect"]').first.inner_text()


def _query(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_survival_preset_survives_pages_reload_and_back(app_url, page):
    page.goto(f"{app_url}/survival")
    wait_for_app(page)
    _choose(page, "Preset", "Figure 3 (by reason for ICU admission)")
    assert _selected(page, "Group by") == "Reason for ICU admission"
    assert "km_preset" in _query(page)  # the URL reproduces the view
    shared = page.url
    _nav(page, "Overview")
    _nav(page, "Survival curves")
    assert _selected(page, "Preset") == "Figure 3 (by reason for ICU admission)"
    assert _selected(page, "Group by") == "Reason for ICU admission"
    page.goto(shared)  # a reload, or the link sent to a colleague
    wait_for_app(page)
    assert _selected(page, "Preset") == "Figure 3 (by reason for ICU admission)"
    _nav(page, "Overview")
    page.go_back()  # one press: back to the survival view as it was
    wait_for_app(page)
    assert urlparse(page.url).path.endswith("/survival")
    assert _selected(page, "Group by") == "Reason for ICU admission"
    assert page.locator('[data-testid="stException"]').count() == 0


def test_hostile_url_values_are_ignored_not_crashing(app_url, page):
    for query in ("km_h=1e309", "km_h=nan", "km_cut=inf&km_group=Age", "km_mo=-5", "km_unit=<b>"):
        page.goto(f"{app_url}/survival?{query}")
        wait_for_app(page)
        assert page.locator('[data-testid="stException"]').count() == 0, query
        assert page.get_by_text("Median survival").count() >= 1, query


def test_compare_table4_survives_pages_reload_and_back(app_url, page):
    page.goto(f"{app_url}/compare")
    wait_for_app(page)
    _choose(page, "Table", "Table 4 — by 1-year outcome")
    shared = page.url
    _nav(page, "Survival curves")
    _nav(page, "Compare groups")
    assert _selected(page, "Table") == "Table 4 — by 1-year outcome"
    page.goto(shared)
    wait_for_app(page)
    assert _selected(page, "Table") == "Table 4 — by 1-year outcome"
    _nav(page, "Overview")
    page.go_back()
    wait_for_app(page)
    assert urlparse(page.url).path.endswith("/compare")
    assert _selected(page, "Table") == "Table 4 — by 1-year outcome"


def test_cox_custom_covariates_survive_pages_reload_and_back(app_url, page):
    page.goto(f"{app_url}/cox")
    wait_for_app(page)
    page.get_by_text("Choose covariates", exact=True).click()
    wait_for_app(page)
    page.get_by_role("combobox", name="Covariates in the model").click()
    page.get_by_role("option", name="Age (per year)", exact=True).click()
    page.keyboard.press("Escape")
    wait_for_app(page)
    shown = _main_multiselect(page)
    assert "Age (per year)" in shown
    shared = page.url
    _nav(page, "Overview")
    _nav(page, "Cox model")
    assert "Age (per year)" in _main_multiselect(page)
    page.goto(shared)
    wait_for_app(page)
    assert "Age (per year)" in _main_multiselect(page)
    _nav(page, "Overview")
    page.go_back()
    wait_for_app(page)
    assert urlparse(page.url).path.endswith("/cox")
    assert "Age (per year)" in _main_multiselect(page)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_presentation_mode_follows_page_down_and_page_up(app_url, page):
    page.goto(f"{app_url}/story?present=1&step=1")
    wait_for_app(page)
    page.get_by_text("step 1 of").first.wait_for(timeout=30_000)
    page.evaluate("document.activeElement && document.activeElement.blur()")  # no widget focus
    page.keyboard.press("PageDown")
    wait_for_app(page)
    page.get_by_text("step 2 of").first.wait_for(timeout=30_000)
    page.keyboard.press("PageUp")
    wait_for_app(page)
    page.get_by_text("step 1 of").first.wait_for(timeout=30_000)


def test_hostile_column_names_draw_no_image_or_link_on_compare_and_survival(app_url, page):
    """Real Chromium: a generic upload whose group column is named like a Markdown image and
    whose level is a Markdown link; Compare and Survival show them as text: no <img> or <a>
    to that address, and the browser never requests it."""
    img = "![x](http://127.0.0.1:9/x.png)"
    link = "[log in](http://127.0.0.1:9/login)"
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url) if "127.0.0.1:9/" in r.url else None)
    rows = "\n".join(f"{10 * (i + 1)},{i % 2},{'a' if i < 10 else link}" for i in range(12))
    data = f'futime,fustat,"{img}"\n{rows}\n'.encode()
    upload_cohort(page, app_url, "g.csv", data, mode="generic")
    for title, label in (("Compare groups", "Group by"), ("Survival curves", "Group by")):
        _nav(page, title)
        _choose(page, label, img)
        assert page.locator('[data-testid="stException"]').count() == 0, title
        assert page.locator("img[src*='127.0.0.1:9']").count() == 0, title
        assert page.locator("a[href*='127.0.0.1:9']").count() == 0, title
    assert requested == []
