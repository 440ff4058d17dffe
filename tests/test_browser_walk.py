"""Every page, in a real browser, on the three kinds of cohort a user brings.

The reconstructed cohort, a paper-format upload holding only the columns the published model
and the survival views need (every optional column missing), and a generic survival file
(time, status, one group, an identifier). On each, every sidebar entry is opened: no
Streamlit exception element, no traceback, no request to a host the app did not choose and
no failed request to the app itself (headless Chromium, Playwright).
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from core.paths import DATA_DIR
from tests.helpers_browser import EXCEPTION, upload_cohort, wait_for_app, walk_every_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# what the published model and the survival pages need; nothing else of the 60 columns
PAPER_MINIMAL = [
    "patient_id",
    "age",
    "sex",
    "ecog_ps",
    "icu_reason",
    "sofa",
    "os_days",
    "os_event",
    "pfs_days",
    "pfs_event",
]


def _paper_minimal() -> bytes:
    df = pd.read_csv(DATA_DIR / "cohort.csv", usecols=PAPER_MINIMAL)
    return df.to_csv(index=False).encode()


def _generic() -> bytes:
    rows = [f"P{i:02d},{15 * (i + 1)},{i % 3 == 0:d},{'AB'[i % 2]}" for i in range(24)]
    return ("id,futime,fustat,arm\n" + "\n".join(rows) + "\n").encode()


@pytest.mark.parametrize("kind", ["reconstructed", "paper_minimal", "generic"])
def test_every_page_on_every_kind_of_cohort(app_url, page, kind):
    page.goto(app_url)
    if kind == "paper_minimal":
        upload_cohort(page, app_url, "minimal.csv", _paper_minimal(), mode="paper")
    elif kind == "generic":
        upload_cohort(page, app_url, "generic.csv", _generic(), mode="generic")
    walk = walk_every_page(page, app_url)
    assert len(walk.pages) >= 9, walk.pages
    assert walk.exceptions == {}, (kind, walk.exceptions)
    assert walk.tracebacks == [], (kind, walk.tracebacks)
    assert walk.foreign_requests == [], (kind, walk.foreign_requests[:5])
    assert walk.failed_requests == [], (kind, walk.failed_requests[:5])


# Streamlit's front-end, opened on a deep link, first probes /<page>/_stcore/health and
# /<page>/_stcore/host-config, gets 404 and falls back to the root (streamlit/streamlit#7074,
# open upstream; harmless: the app loads from the root). Only those probes may fail.
UPSTREAM_PROBE = re.compile(r"^404 http://[^/]+/[a-z_]+/_stcore/(health|host-config)$")


def test_deep_links_fail_no_request_but_streamlits_own_probe(app_url, page):
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    for path in ("survival", "compare", "cox", "calculator", "story?present=1", "glossary"):
        page.goto(f"{app_url}/{path}")
        wait_for_app(page)
        assert page.locator(EXCEPTION).count() == 0, path
    unexpected = [f for f in failed if not UPSTREAM_PROBE.match(f)]
    assert unexpected == []


def _metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_validation_page_reads_an_uploaded_csv(app_url, page):
    """Upload a paper-format CSV, open the validation page and read the slope and C that
    core.study.validation computes on the same file."""
    from core.cohort.ingest import read_cohort
    from core.study.validation import validate
    from tests.test_validation import simulate

    df = simulate(400, seed=31)
    df.insert(0, "patient_id", [f"V{i:03d}" for i in range(len(df))])
    data = df.to_csv(index=False).encode()
    upload_cohort(page, app_url, "icu_validation.csv", data, mode="paper")
    page.get_by_test_id("stSidebarNavItems").get_by_role(
        "link", name="Validate on your cohort"
    ).click()
    wait_for_app(page)
    assert page.locator(EXCEPTION).count() == 0
    expected = validate(read_cohort(data, "icu_validation.csv").accepted)
    assert _metric(page, "Calibration slope") == expected.slope.text()
    assert _metric(page, "Harrell's C") == expected.c_harrell.text()
    assert page.get_by_text("apparent performance").count() == 0


def test_the_report_dialog_builds_a_word_file(app_url, page):
    """Sidebar 'Report…' on an analysis page -> build -> download: a .docx whose first table
    is the comparison (python-docx reads it back)."""
    import io

    from docx import Document

    page.goto(f"{app_url}/compare")
    wait_for_app(page)
    page.get_by_role("button", name="Report…").click()
    page.get_by_role("dialog").wait_for(timeout=30_000)
    page.get_by_role("button", name="Build the report").click()
    button = page.get_by_role("button", name="Download the report (Word (.docx))")
    button.wait_for(timeout=120_000)
    with page.expect_download() as info:
        button.click()
    data = open(info.value.path(), "rb").read()
    doc = Document(io.BytesIO(data))
    assert doc.tables[0].rows[0].cells[0].text == "Characteristic"
    assert any("Methods" == p.text for p in doc.paragraphs)
    assert page.locator(EXCEPTION).count() == 0


IMG = "![x](http://127.0.0.1:9/x.png)"  # rendered as Markdown, the browser would fetch it
LINK = "[Session expired, log in](http://127.0.0.1:9/login)"
TAG = '<img src="http://127.0.0.1:9/t.png" onerror="alert(1)">'


def _hostile(kind: str) -> bytes:
    """A cohort whose user text (names, levels, identifiers) is Markdown and HTML."""
    if kind == "hostile_generic":
        rows = [
            f'"{TAG}{i}",{15 * (i + 1)},{i % 3 == 0:d},"{LINK if i % 2 else IMG}"'
            for i in range(24)
        ]
        return (f'id,futime,fustat,"{IMG}"\n' + "\n".join(rows) + "\n").encode()
    df = pd.read_csv(DATA_DIR / "cohort.csv", usecols=[*PAPER_MINIMAL, "bacterium"])
    df["patient_id"] = [f"{TAG}{i}" for i in range(len(df))]
    df["bacterium"] = df["bacterium"].where(df["bacterium"].isna(), LINK)
    return df.to_csv(index=False).encode()


@pytest.mark.parametrize("kind", ["hostile_generic", "hostile_paper"])
def test_every_page_shows_hostile_user_text_as_text(app_url, page, kind):
    """Every page, not only Compare and Survival: user text that is a Markdown image or
    link, or an HTML tag, draws no <img>/<a> to its address and is never requested."""
    planted: dict[str, int] = {}

    def _look(title: str) -> None:
        n = page.locator("img[src*='127.0.0.1:9'], a[href*='127.0.0.1:9']").count()
        if n:
            planted[title] = n

    page.goto(app_url)
    mode = "generic" if kind == "hostile_generic" else "paper"
    upload_cohort(page, app_url, f"{kind}.csv", _hostile(kind), mode=mode)
    walk = walk_every_page(page, app_url, on_page=_look)
    assert len(walk.pages) >= 9, walk.pages
    assert walk.exceptions == {} and walk.tracebacks == [], (walk.exceptions, walk.tracebacks)
    assert planted == {}, planted
    assert walk.foreign_requests == [], walk.foreign_requests[:5]
