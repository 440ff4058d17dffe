"""Real-browser tests: every page of the running app in headless Chromium (Playwright).

Screenshots are saved in tests/screenshots/ (looked at by a person after changes).
"""

from __future__ import annotations

import re

import pytest

from core.study.published import load_published
from tests.conftest import SCREENSHOTS, wait_for_app

pytestmark = pytest.mark.browser

# url path -> a text that proves the page rendered its content
PAGES = {
    "": "CAR-T cell recipients in the ICU",
    "reproduction": "Reproduction of the published figures",
}


def _nav_paths(page) -> list[str]:
    links = page.locator('[data-testid="stSidebarNav"] a').evaluate_all(
        "els => els.map(e => new URL(e.href).pathname)"
    )
    return [p.strip("/") for p in links]


@pytest.mark.parametrize("path,title", PAGES.items())
def test_page_renders_without_exception(app_url, page, path, title):
    page.goto(f"{app_url}/{path}")
    wait_for_app(page)
    page.get_by_text(title).first.wait_for(timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text(re.compile("not patient data")).count() >= 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{path or 'overview'}.png"), full_page=True)


def test_every_navigation_entry_opens_without_exception(app_url, page):
    page.goto(app_url)
    wait_for_app(page)
    paths = _nav_paths(page)
    assert len(paths) >= 2, paths
    for path in paths:
        page.goto(f"{app_url}/{path}")
        wait_for_app(page, timeout=60_000)
        assert page.locator('[data-testid="stException"]').count() == 0, path
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"nav_{path or 'overview'}.png"), full_page=True)


def test_filter_in_url_is_applied(app_url, page):
    page.goto(f"{app_url}/?f_reason=Sepsis")
    wait_for_app(page)
    # Table 3 header: size of the Sepsis group
    groups = load_published()["groupings"]["icu_reason"]["levels"]
    total = load_published()["meta"]["n"]
    expect_text = page.get_by_text(re.compile(rf"n = {groups['Sepsis']} of {total}"))
    expect_text.first.wait_for(timeout=30_000)
    assert expect_text.count() >= 1
