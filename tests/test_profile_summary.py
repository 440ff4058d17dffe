"""The printable one-page summary per calculator profile (core.report.profile_summary).

Expected numbers come from the calculator's core (absolute_risks, factor_table, the model's
CoxResult), never from the summary itself; the page count comes from headless Chromium's PDF.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from core.report.profile_summary import profile_summary_html
from core.study.calculator import build_model, make_profile, predict_profiles
from core.study.risk import (
    ALIVE,
    ALIVE_UNSURE,
    DEAD,
    DEAD_UNSURE,
    absolute_risks,
    factor_table,
    support_warning,
)
from tests.apptest import shipped_cohort

HOSTILE = "<img src=x onerror=alert(1)>"
DAY = 365


class _Doc(HTMLParser):
    """Tags, attributes and the text of each profile's section."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.sections: list[dict] = []
        self._cls: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "section":
            self.sections.append({"sentence": "", "labels": [], "text": ""})
        if self.sections and a.get("aria-label"):
            self.sections[-1]["labels"].append(a["aria-label"])
        self._cls.append(a.get("class") or "")

    def handle_endtag(self, tag):
        if self._cls:
            self._cls.pop()

    def handle_data(self, data):
        if not self.sections:
            return
        self.sections[-1]["text"] += data
        if self._cls and self._cls[-1] == "sentence":
            self.sections[-1]["sentence"] += data


def _profiles():
    return [
        make_profile(label=HOSTILE, icu_reason="CRS", ecog_ps=1, sofa=4),
        make_profile(label="Profile 2", icu_reason="Disease progression", ecog_ps=3, sofa=10),
        make_profile(label="Profile 3", icu_reason="Sepsis", ecog_ps=2, sofa=6),
        make_profile(label="Forty characters of label, on purpose!!", icu_reason="CRS or sepsis",
                     ecog_ps=0, sofa=2),
    ]  # fmt: skip


@pytest.fixture(scope="module", params=["published", "refit"])
def case(request):
    cohort = shipped_cohort()
    model = build_model(cohort, request.param)
    profiles = _profiles()
    pred = predict_profiles(model, profiles, days=[30, DAY])
    text = profile_summary_html(
        pred, profiles, cohort, DAY, profiles[0], data_statement=f"{HOSTILE} cohort, n = 71"
    )
    return cohort, model, profiles, pred, text


def test_numbers_are_the_cores(case):
    cohort, model, profiles, pred, text = case
    doc = _Doc()
    doc.feed(text)
    assert len(doc.sections) == len(profiles)
    states = (ALIVE, ALIVE_UNSURE, DEAD_UNSURE, DEAD)
    for sec, risk, p in zip(doc.sections, absolute_risks(pred, DAY), profiles, strict=True):
        s = sec["sentence"]
        assert int(re.search(r"about (\d+) are alive", s).group(1)) == risk.alive
        lo, hi = map(int, re.search(r"plausible range (\d+)–(\d+)", s).group(1, 2))
        assert (lo, hi) == risk.alive_range
        assert ("extrapolated" in s) == (support_warning(p, cohort) is not None)
        # the icons drawn (each icon's accessible name in the SVG) are the core's icons
        drawn = [re.search(r"state: (.+)$", lab).group(1) for lab in sec["labels"] if
                 lab.startswith("col: ")]  # fmt: skip
        expected = risk.icons()["state"].value_counts()
        assert {st: drawn.count(st) for st in states} == {
            st: int(expected.get(st, 0)) for st in states
        }
        # the factors vs the reference, to two decimals
        for _, f in factor_table(p, profiles[0], model).iterrows():
            assert f"{f['factor']:.2f} [{f['lower']:.2f}–{f['upper']:.2f}]" in sec["text"]
        lo_c, hi_c = model.result.concordance_ci
        c = f"Harrell's C {model.result.concordance:.3f} (95% CI {lo_c:.3f}–{hi_c:.3f})"
        assert c in sec["text"]
        for item in ("Intended use", "Population", "Derivation", "not for clinical decisions"):
            assert item.lower() in sec["text"].lower()


def test_self_contained_and_escaped(case):
    *_, text = case
    doc = _Doc()
    doc.feed(text)
    assert "script" not in {t for t, _ in doc.tags}
    assert "img" not in {t for t, _ in doc.tags}
    assert not re.search(r"https?:", text)  # nothing fetched, no link out
    assert not any(k.startswith("on") for _, a in doc.tags for k in a)
    assert HOSTILE not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    svgs = [a for t, a in doc.tags if t == "svg"]
    assert svgs and all(a.get("role") == "img" and a.get("aria-label") for a in svgs)


@pytest.mark.browser
def test_prints_one_a4_page_per_profile(case, browser):
    *_, profiles, _pred, text = case
    page = browser.new_page()
    try:
        page.set_content(text)
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    finally:
        page.close()
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)) == len(profiles)
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert box and abs(float(box.group(1)) - 595.9) < 2 and abs(float(box.group(2)) - 842) < 2
