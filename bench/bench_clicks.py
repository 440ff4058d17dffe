"""What the user waits for after a click, in a real browser, beside Streamlit's own floor.

Run from the repository root (needs Debian's chromium and playwright)::

    python -m bench.bench_clicks [--rounds N]

Fresh servers on 127.0.0.1, measured in the same run, alternating round by round:

* **this app** on the reconstructed cohort: every sidebar page opened in turn (first visits,
  then ``N`` warm rounds), and on each page its first selectbox of the main column set to
  another option (a widget change: on Survival and Compare that is the preset), one sidebar
  filter change (a PS level removed), and the calculator taken from one profile to four and
  each profile's SOFA changed; after the rounds, a new session uploads a 5,000-row
  paper-format CSV on Your data (file chosen, coding confirmed, cohort used); then, on a third
  fresh server, every page's first visit again after the new user has read the overview for
  ``READ_S`` seconds (the background warm-up's time);
* **the floor**: a bare two-page Streamlit app (``st.navigation``), each page a slider and an
  Altair chart, with the same kinds of clicks (page switch; slider moved by the keyboard).

Each time runs from the click (``performance.now()`` in the page) until Streamlit reports the
script finished *after* having run (a ``MutationObserver`` on ``data-test-script-state``, or
the server's websocket quiet again after a message) and
every Vega chart on screen has drawn its canvas or SVG. Printed: first visit per page, warm
switches p50 / p95 against the floor's p50 (ratio), widget changes p50 / p95 / worst; goals
from the speed issue beside them. The machine is shared: compare the ratio, not the seconds.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_app import (  # noqa: E402  (after the path set-up, as a script)
    CHROMIUM,
    CHROMIUM_ARGS,
    _free_port,
    _start_server,
    _wait_health,
    table,
)
from bench.bench_memory import large_paper_csv  # noqa: E402

FLOOR_APP = """import altair as alt
import pandas as pd
import streamlit as st


def page(name):
    def run():
        st.title(name)
        n = st.slider("Points", 10, 200, 50, key=f"s_{name}")
        df = pd.DataFrame({"x": range(n), "y": [(i * 7) % 13 for i in range(n)]})
        st.altair_chart(alt.Chart(df).mark_line().encode(x="x", y="y"))
    run.__name__ = f"page_{name}"
    return st.Page(run, title=name, url_path=name)


st.navigation([page("one"), page("two")]).run()
"""

OBSERVE = """() => {
  window.__runs = [];
  const state = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app && app.getAttribute('data-test-script-state');
  };
  let last = state();
  new MutationObserver(() => {
      const now = state();
      if (now !== last) { window.__runs.push([now, performance.now()]); last = now; }
    }).observe(document.documentElement,
               {attributes: true, childList: true, subtree: true});
}"""

# A page switch whose run is quick can go from "running" to "notRunning" within one React
# commit, so the attribute never shows "running": a new page title (h1) counts as a run too,
# and so does any websocket message after the click once the socket has been quiet for
# QUIET ms (the run's last message is its "script finished"; the time then errs long, by
# up to QUIET ms, never short).
QUIET = 50
# every message the server sends, timed in the page (the app's own WebSocket, wrapped)
SOCKET_TIMES = """(() => {
  const Native = window.WebSocket;
  window.__msgs = [];
  function Timed(...args) {
    const ws = new Native(...args);
    ws.addEventListener('message', () => window.__msgs.push(performance.now()));
    return ws;
  }
  Timed.prototype = Native.prototype;
  Object.assign(Timed, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  window.WebSocket = Timed;
})();"""
H1 = '[data-testid="stMainBlockContainer"] h1'
DONE = """(arg) => {
  const t0 = arg.t0;
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  const h1 = document.querySelector('H1');
  const ran = (window.__runs || []).some(r => r[0] === 'running' && r[1] >= t0)
    || (arg.h1 !== null && h1 !== null && h1.textContent !== arg.h1)
    || (() => {
      const after = (window.__msgs || []).filter(m => m >= t0);
      return after.length > 0 && performance.now() - after[after.length - 1] > QUIET;
    })();
""".replace("H1", H1).replace("QUIET", str(QUIET))
DONE += """  if (!ran || document.querySelector('[data-testid="stSkeleton"]')) return false;
  const sel = '[data-testid="stMain"] [data-testid="stVegaLiteChart"]';
  const shown = [...document.querySelectorAll(sel)].filter(c => c.offsetWidth > 0);
  return shown.every(c => c.querySelector('canvas, svg'));  // (a closed tab draws nothing)
}"""


READY = DONE.replace("if (!ran ||", "if (")  # the first draw: no click to have run after


def _timed(page, action, *, new_page: bool = False, shows=None) -> float:
    """Seconds from ``action()`` (a click) until the rerun has finished and charts are drawn;
    ``new_page``: the click opens another page (its title then tells that it has run);
    ``shows``: a locator the run draws, waited for first (a file upload asks the server for
    an upload address, sends the file, then reruns: the socket is quiet in between)."""
    page.evaluate("window.__runs = window.__runs || []")
    h1 = page.evaluate(f"() => document.querySelector('{H1}')?.textContent ?? null")
    t0 = page.evaluate("performance.now()")
    action()
    if shows is not None:
        shows.wait_for(timeout=120_000)
    arg = {"t0": t0, "h1": h1 if new_page else None}
    page.wait_for_function(DONE, arg=arg, timeout=120_000, polling="raf")
    return (page.evaluate("performance.now()") - t0) / 1000


def _open(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(SOCKET_TIMES)
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(READY, arg={"t0": 0, "h1": None}, timeout=120_000)
    page.evaluate(OBSERVE)
    return context, page


def _nav_links(page) -> dict[str, str]:
    """Sidebar entries: their title (the icon's ligature text left out) -> href."""
    nav = page.get_by_test_id("stSidebarNavItems").get_by_role("link")
    out = {}
    for i in range(nav.count()):
        title = [t for t in nav.nth(i).inner_text().splitlines() if t.strip()][-1]
        out[title] = nav.nth(i).get_attribute("href")
    return out


def _switch(page, href: str) -> float:
    link = page.locator(f'[data-testid="stSidebarNavItems"] a[href="{href}"]')
    return _timed(page, link.click, new_page=True)


def _change_selectbox(page) -> float | None:
    """The main column's first selectbox set to its next option; None if the page has none."""
    box = page.get_by_test_id("stMain").get_by_role("combobox")
    if box.count() == 0:
        return None
    box.first.click()
    options = page.get_by_role("option")
    if options.count() < 2:
        page.keyboard.press("Escape")
        return None
    current = box.first.input_value()
    choice = next(
        (options.nth(i) for i in range(options.count()) if options.nth(i).inner_text() != current),
        None,
    )
    if choice is None:
        page.keyboard.press("Escape")
        return None
    return _timed(page, choice.click)


def _calculator_profiles(page, calc_href: str) -> list[float]:
    """The calculator from one profile to four (the Profiles input stepped up three times),
    then each of the four profiles' SOFA stepped up once: seven timed changes."""
    _switch(page, calc_href)
    main = page.get_by_test_id("stMain")
    profiles = main.get_by_label("Profiles", exact=True)
    while profiles.input_value() != "1":  # a previous round left four
        profiles.fill("1")
        _timed(page, lambda: profiles.press("Enter"))
    times = []
    for _ in range(3):
        up = main.get_by_test_id("stNumberInput").first.get_by_test_id("stNumberInputStepUp")
        times.append(_timed(page, up.click))
    sofa = main.get_by_label("SOFA", exact=True)
    for i in range(min(4, sofa.count())):
        up = sofa.nth(i).locator("xpath=ancestor::*[@data-testid='stNumberInput'][1]")
        times.append(_timed(page, up.get_by_test_id("stNumberInputStepUp").click))
    return times


def _upload(page, url: str, data: bytes) -> dict[str, float]:
    """A paper-format CSV uploaded on Your data, confirmed and made the active cohort: each
    of the three steps timed as a click (file chosen, coding confirmed, cohort used)."""
    from app_pages._ui.views.pages import YOUR_DATA

    page.goto(f"{url}/your_data?{urlencode(YOUR_DATA.link(mode='paper'))}")
    page.wait_for_function(READY, arg={"t0": 0, "h1": None}, timeout=120_000)
    page.evaluate(OBSERVE)
    file = {"name": "cohort5000.csv", "mimeType": "text/csv", "buffer": data}
    chosen = _timed(
        page,
        lambda: page.set_input_files('input[type="file"]', files=[file]),
        shows=page.get_by_text("I confirm:"),
    )
    confirmed = _timed(page, page.get_by_text("I confirm:").click)
    used = _timed(
        page,
        page.get_by_role("button", name="Use this cohort").click,
        shows=page.get_by_text("Your own cohort is active on every page"),
    )
    return {"file chosen (5,000 rows read and checked)": chosen,
            "event coding confirmed": confirmed, "cohort used": used}  # fmt: skip


def _remove_filter_level(page) -> float:
    chip = page.get_by_test_id("stSidebar").get_by_role("button", name="Remove PS 3")
    return _timed(page, chip.first.click)


def _move_slider(page) -> float:
    thumb = page.get_by_role("slider").first
    thumb.focus()
    return _timed(page, lambda: page.keyboard.press("ArrowRight"))


def _median(by_page: dict[str, list[float]], title: str) -> float:
    return statistics.median(by_page[title])


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


# A new user reads the overview before clicking: meanwhile the server imports the other pages'
# modules and computes the shipped cohort's story and reproduction (app_pages/_ui/warm.py,
# 3.5 s here). The at-once column is the worst case: a click the moment the overview drew.
READ_S = 6.0
CALCULATOR = "Hazard calculator"  # its sidebar title (app.py)
UPLOAD_ROWS = 5_000


def run(rounds: int = 3) -> dict[str, float]:
    """Run the clicks, print the tables; returns the figures the speed goals are judged on."""
    from playwright.sync_api import sync_playwright

    floor_file = Path(tempfile.mkdtemp()) / "floor_app.py"
    floor_file.write_text(FLOOR_APP)
    servers = {}
    for name, app in (("app", "app.py"), ("floor", str(floor_file)), ("read", "app.py")):
        port = _free_port()
        servers[name] = (f"http://127.0.0.1:{port}", _start_server(port, app))
    first: dict[str, float] = {}
    first_read: dict[str, float] = {}  # each page's first visit after reading the overview
    warm: dict[str, list[float]] = {"app": [], "floor": []}
    widget: dict[str, list[float]] = {"app": [], "floor": []}
    widget_by_page: dict[str, list[float]] = {}
    warm_by_page: dict[str, list[float]] = {}
    try:
        for url, _ in servers.values():
            _wait_health(url, time.time() + 90)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            app_ctx, app = _open(browser, servers["app"][0])
            floor_ctx, floor = _open(browser, servers["floor"][0])
            links = _nav_links(app)
            titles = list(links)
            for title in titles[1:] + titles[:1]:  # first visits (the overview is open)
                first[title] = _switch(app, links[title])
            floor_links = _nav_links(floor)
            for _ in range(rounds):  # alternating: app round, floor round
                for title in titles[1:] + titles[:1]:  # from the overview: never to itself
                    warm["app"].append(_switch(app, links[title]))
                    warm_by_page.setdefault(title, []).append(warm["app"][-1])
                    t = _change_selectbox(app)
                    if t is not None:
                        widget["app"].append(t)
                        widget_by_page.setdefault(title, []).append(t)
                widget["app"].append(_remove_filter_level(app))
                app.goto(servers["app"][0])  # the filter back to the whole cohort
                app.wait_for_function(READY, arg={"t0": 0, "h1": None})
                app.evaluate(OBSERVE)
                calc = _calculator_profiles(app, links[CALCULATOR])
                widget["app"] += calc
                widget_by_page.setdefault(f"{CALCULATOR}: 1 -> 4 profiles, 4 SOFA", []).extend(calc)
                for title in ("two", "one"):
                    warm["floor"].append(_switch(floor, floor_links[title]))
                    widget["floor"].append(_move_slider(floor))
            upload_ctx, uploader = _open(browser, servers["app"][0])  # a new session
            upload = _upload(uploader, servers["app"][0], large_paper_csv(UPLOAD_ROWS))
            widget["app"] += list(upload.values())
            upload_ctx.close()
            read_ctx, reader = _open(browser, servers["read"][0])  # a third fresh server
            time.sleep(READ_S)  # the new user reads the overview before the first click
            read_links = _nav_links(reader)
            for title in titles[1:] + titles[:1]:
                first_read[title] = _switch(reader, read_links[title])
            read_ctx.close()
            app_ctx.close()
            floor_ctx.close()
            browser.close()
    finally:
        for _, proc in servers.values():
            proc.terminate()
            proc.wait(timeout=10)
    floor_p50 = statistics.median(warm["floor"])
    table(
        "First visit of each page (click -> script finished and charts drawn), in a fresh "
        f"server: clicked as soon as the overview drew / after reading it for {READ_S:.0f} s",
        ["page", "at once", f"after {READ_S:.0f} s", "warm (median)", "goal"],
        [
            [t, f"{s:.2f}", f"{first_read[t]:.2f}", f"{_median(warm_by_page, t):.2f}", "<= 1.0"]
            for t, s in first.items()
        ],
    )
    w = warm["app"]
    table(
        f"Page switches and widget changes, {rounds} warm rounds, floor in the same run",
        ["measure", "this app", "floor", "ratio", "goal"],
        [
            ["switch p50", f"{statistics.median(w):.2f}", f"{floor_p50:.2f}",
             f"{statistics.median(w) / floor_p50:.2f}", "ratio <= 1.3"],
            ["switch p95", f"{_pct(w, 0.95):.2f}", f"{_pct(warm['floor'], 0.95):.2f}", "", ""],
            ["widget p50", f"{statistics.median(widget['app']):.2f}",
             f"{statistics.median(widget['floor']):.2f}", "", ""],
            ["widget p95", f"{_pct(widget['app'], 0.95):.2f}",
             f"{_pct(widget['floor'], 0.95):.2f}", "", "<= 0.6"],
            ["widget worst", f"{max(widget['app']):.2f}", f"{max(widget['floor']):.2f}", "",
             "<= 1.5"],
        ],
    )  # fmt: skip
    table(
        "Widget change per page (first selectbox of the main column, the calculator's "
        "profiles; median)",
        ["page", "seconds"],
        [[t, f"{statistics.median(v):.2f}"] for t, v in widget_by_page.items()],
    )
    table(
        f"Upload of a {UPLOAD_ROWS:,}-row paper-format CSV on Your data (a new session; in the "
        "widget figures above)",
        ["step", "seconds"],
        [[k, f"{v:.2f}"] for k, v in upload.items()],
    )
    slowest = max(first, key=first.get)
    slowest_read = max(first_read, key=first_read.get)
    return {
        "first_at_once": first[slowest],
        "first_at_once_page": slowest,
        "first_read": first_read[slowest_read],
        "first_read_page": slowest_read,
        "switch_p50": statistics.median(w),
        "floor_switch_p50": floor_p50,
        "widget_p95": _pct(widget["app"], 0.95),
        "widget_worst": max(widget["app"]),
        "floor_widget_p95": _pct(widget["floor"], 0.95),
        "floor_widget_worst": max(widget["floor"]),
    }


if __name__ == "__main__":
    n = 3
    if "--rounds" in sys.argv:
        n = int(sys.argv[sys.argv.index("--rounds") + 1])
    run(n)
