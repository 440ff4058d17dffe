"""Browser steps shared by the real-browser tests and the memory benchmark (Playwright).

``upload_cohort`` walks the Your data page as a person does (file, event coding, "Use this
cohort"); ``walk_every_page`` opens each entry of the sidebar navigation and reports what a
user must never see: a Streamlit exception element, a Python traceback, a request to a host
the app did not choose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode, urlparse

from app_pages._ui.views.pages import YOUR_DATA

EXCEPTION = '[data-testid="stException"]'


def wait_for_app(page, timeout: float = 60_000, settle_ms: int = 800) -> None:
    """Wait until Streamlit has finished running the script and drawn every element."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            const state = app && app.getAttribute('data-test-script-state');
            return state === 'notRunning'
                && !document.querySelector('[data-testid="stSkeleton"]');
        }""",
        timeout=timeout,
    )
    page.wait_for_timeout(settle_ms)


def open_in_session(page, href_end: str) -> None:
    """Open a page through its sidebar link, in this session (``page.goto`` loads the app
    anew: a new Streamlit session, without this one's uploaded cohort)."""
    page.locator(f'[data-testid="stSidebarNavItems"] a[href$="{href_end}"]').first.click()
    wait_for_app(page)


def upload_cohort(
    page,
    app_url: str,
    name: str,
    data: bytes,
    *,
    mode: str = "paper",
    mime: str = "text/csv",
    same_session: bool = False,
) -> None:
    """Upload ``data`` on Your data in ``mode`` and make it the session's cohort.

    By default Your data is opened by its address (a new session); ``same_session``: through
    the sidebar link, in the page's current session (which keeps its mode choice).
    """
    if same_session:
        open_in_session(page, "/your_data")
    else:
        page.goto(f"{app_url}/your_data?{urlencode(YOUR_DATA.link(mode=mode))}")
        wait_for_app(page)
    page.set_input_files(
        'input[type="file"]', files=[{"name": name, "mimeType": mime, "buffer": data}]
    )
    page.get_by_text("3. Confirm the event coding", exact=True).wait_for(timeout=120_000)
    wait_for_app(page)
    page.get_by_text("I confirm:").click()
    wait_for_app(page)
    page.get_by_role("button", name="Use this cohort").click()
    wait_for_app(page)
    # the walk that follows must be on this file, not on the shipped cohort
    page.get_by_text("Your own cohort is active on every page").wait_for(timeout=60_000)


@dataclass
class Walk:
    """What a walk through every page found."""

    pages: list[str] = field(default_factory=list)
    exceptions: dict[str, int] = field(default_factory=dict)
    tracebacks: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)


def walk_every_page(page, app_url: str, *, on_page=None, timeout: float = 120_000) -> Walk:
    """Open every sidebar entry in order through its link, as a user clicks them.

    Requests are watched for the whole walk: anything not on the app's own origin (fonts,
    images, beacons from user text) and any request the server answers with >= 400 (e.g. a
    health check under a deep link) is recorded.
    """
    origin = urlparse(app_url).netloc
    walk = Walk()

    def _request(r) -> None:
        host = urlparse(r.url).netloc
        if r.url.startswith(("data:", "blob:", "about:")):
            return
        if host != origin:
            walk.foreign_requests.append(r.url)

    def _response(r) -> None:
        if r.status >= 400 and urlparse(r.url).netloc == origin:
            walk.failed_requests.append(f"{r.status} {r.url}")

    page.on("request", _request)
    page.on("response", _response)
    try:
        page.get_by_test_id("stSidebarNavItems").wait_for(timeout=timeout)
        nav = page.get_by_test_id("stSidebarNavItems").get_by_role("link")
        n_links = nav.count()
        for i in range(n_links):
            link = page.get_by_test_id("stSidebarNavItems").get_by_role("link").nth(i)
            title = urlparse(link.get_attribute("href") or "").path.strip("/") or "overview"
            link.click()
            wait_for_app(page, timeout=timeout)
            walk.pages.append(title)
            n = page.locator(EXCEPTION).count()
            if n:
                walk.exceptions[title] = n
            if "Traceback (most recent call last)" in page.content():
                walk.tracebacks.append(title)
            if on_page is not None:
                on_page(title)
    finally:
        page.remove_listener("request", _request)
        page.remove_listener("response", _response)
    return walk
