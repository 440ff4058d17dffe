"""The calculator's icon arrays as a person sees them (headless Chromium, Playwright): inside
the screen on a phone and a desktop, stacked in the profiles' order on a phone, each with an
accessible name that says the numbers, axe-clean with four profiles on a phone.

Screenshots of the icon arrays go to tests/screenshots/ (git-ignored, as tests/test_browser.py).
"""

from __future__ import annotations

import itertools

import pytest

from app_pages._ui.views.calculator import CALCULATOR
from core.study.calculator import build_model, make_profile, predict_profiles
from core.study.risk import absolute_risks, support_warning
from tests.apptest import shipped_cohort
from tests.conftest import SCREENSHOTS
from tests.helpers_browser import wait_for_app

pytestmark = pytest.mark.browser

LONG = "A very long profile label of forty chars"  # 40 characters: the input's maximum
ICONS = '[data-testid="stMain"] [data-testid="stVegaLiteChart"][aria-label^="Icon array"]'
BOXES = """(sel) => [...document.querySelectorAll(sel)].map(e => {
  const c = e.querySelector('canvas, svg') || e; const r = c.getBoundingClientRect();
  return {aria: e.getAttribute('aria-label'), role: e.getAttribute('role'),
          left: r.left, right: r.right, top: r.top + window.scrollY,
          bottom: r.bottom + window.scrollY, width: r.width, height: r.height}; })"""


def _link() -> dict:
    return CALCULATOR.link(n=4, label3=LONG, sofa1=12)


def _expected_names() -> list[str]:
    """The accessible name of each profile's icon array, from the calculator's core."""
    view = CALCULATOR.model(**{"n": 4, "label3": LONG, "sofa1": 12})
    cohort = shipped_cohort()
    profiles = [make_profile(**view.profile(i)) for i in range(4)]
    pred = predict_profiles(build_model(cohort, "published"), profiles)
    risks = absolute_risks(pred, view.day)
    return [
        f"Icon array: {r.sentence(support_warning(p, cohort) is not None)}"
        for r, p in zip(risks, profiles, strict=True)
    ]


def _open(browser, app_url: str, width: int, height: int):
    from urllib.parse import urlencode

    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{app_url}/calculator?{urlencode(_link())}")
    wait_for_app(page, settle_ms=1500)
    return context, page


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 900)])
def test_icon_arrays_fit_the_screen_and_say_their_numbers(app_url, browser, width, height):
    context, page = _open(browser, app_url, width, height)
    try:
        assert page.locator('[data-testid="stException"]').count() == 0
        charts = page.evaluate(BOXES, ICONS)
        assert [c["aria"] for c in charts] == _expected_names()  # DOM order = profile order
        for c in charts:
            assert c["left"] >= 0 and c["right"] <= width, c
            assert c["width"] > 150 and c["height"] > 250, c  # 10 x 10 icons and the legend
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if width < 640:  # a phone stacks them, in reading order, without overlap
            tops = [c["top"] for c in charts]
            assert tops == sorted(tops)
            for a, b in itertools.pairwise(charts):
                assert b["top"] >= a["bottom"], (a, b)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        icons = page.locator(ICONS)
        for i in range(icons.count()):
            icons.nth(i).scroll_into_view_if_needed()
            page.wait_for_timeout(200)
            page.screenshot(path=str(SCREENSHOTS / f"calculator_icons_{width}_{i + 1}.png"))
    finally:
        context.close()


def test_axe_clean_with_four_profiles_on_a_phone(app_url, browser):
    from tests.test_accessibility import _axe, _classify, _summary

    context, page = _open(browser, app_url, 390, 844)
    try:
        found = _classify(_axe(page))
        assert not found["blocking"], _summary(found)
    finally:
        context.close()
