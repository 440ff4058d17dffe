"""Layout as a person sees it: charts that fit a phone, fill a desktop column, and a
presentation step that fits a projector's screen (headless Chromium, Playwright).

Widths are read from the drawn elements (``getBoundingClientRect``), never from the specs.
"""

from __future__ import annotations

import pytest

from tests.helpers_browser import wait_for_app

pytestmark = pytest.mark.browser

CHARTS = """() => [...document.querySelectorAll(
    '[data-testid="stMain"] [data-testid="stVegaLiteChart"]')]
  .map(e => { const c = e.querySelector('canvas, svg') || e; const r = c.getBoundingClientRect();
              return {left: r.left, right: r.right, width: r.width, height: r.height}; })
  .filter(r => r.width > 0)"""

COLUMN = """() => { const b = document.querySelector('[data-testid="stMainBlockContainer"]');
  const s = getComputedStyle(b);
  return b.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight); }"""


def _open(browser, url: str, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(url)
    wait_for_app(page, settle_ms=1500)
    return context, page


@pytest.mark.parametrize("group", ["ecog_ps", "icu_reason"])
def test_km_figure_fits_a_phone_and_fills_a_desktop_column(app_url, browser, group):
    url = f"{app_url}/survival?km_group={group}"
    context, page = _open(browser, url, 390, 844)
    try:
        charts = page.evaluate(CHARTS)
        assert len(charts) >= 2  # the curves and their risk table
        for c in charts[:2]:  # inside the screen: nothing to scroll sideways to read
            assert c["left"] >= 0 and c["right"] <= 390, c
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
    context, page = _open(browser, url, 1280, 900)
    try:
        column = page.evaluate(COLUMN)
        for c in page.evaluate(CHARTS)[:2]:
            assert c["width"] >= 0.9 * column, (c, column)
    finally:
        context.close()


@pytest.mark.parametrize("step", range(1, 9))
def test_presentation_step_fits_a_1080p_projector(app_url, browser, step):
    context, page = _open(browser, f"{app_url}/story?present=1&step={step}", 1920, 1080)
    try:
        height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
        assert height <= 1080, f"step {step} is {height} px tall: the presenter must scroll"
        for c in page.evaluate(CHARTS):  # a chart is read from the back of the room
            assert c["width"] >= 700, c
    finally:
        context.close()
