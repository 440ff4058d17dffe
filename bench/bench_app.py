"""Benchmark the whole app against the speed issue's goals, each beside its floor.

Run from the repository root (Debian's chromium and playwright for the browser parts)::

    python -m bench.bench_app              # every part (~30 min here), then the goals table
    python -m bench.bench_app cold warm    # some parts: cold, clicks, warm, scale, memory
    python -m bench.bench_app ratio        # only the cold start against a one-line app
    python -m bench.bench_app scale --n=1000000   # the registry at a million patients

No timing is asserted anywhere. The parts, each printing its own tables (goals in brackets):

* **cold**: the cold start against a one-line Streamlit app, alternating fresh servers
  [ratio <= 1.3]; then ``streamlit run app.py`` until the overview has drawn in headless
  Chromium (health endpoint, title painted, fully drawn) and the server's peak RSS after
  every page on the 71-patient cohort (``VmHWM`` in ``/proc/<pid>/status``).
* **clicks**: :mod:`bench.bench_clicks`, click -> script finished and every chart drawn, in
  Chromium beside a bare two-page app [first visits <= 1 s, warm switch p50 <= 1.3 x the
  floor, widget p95 <= 0.6 s, worst <= 1.5 s].
* **warm**: every page in ``AppTest`` (the server's script runner without the browser):
  each widget of the main area changed, back and again (best of ``WARM_CYCLES``), and the
  shared sidebar filter [every warm run < 150 ms].
* **scale**: one grouped table of 100,000 x 15 against tableone, interleaved, best of 3
  [>= 10x]; core.stats.compare / survival / cox and the story on ``--n`` synthetic patients
  resampled from the reconstructed cohort, and the shared filter SQL of core.cohort.db in
  DuckDB over a Parquet file (timed).
* **memory**: :mod:`bench.bench_memory`: a 200,000-row upload then every page [peak <= 400
  MB], 30 uploads in one session and 30 fresh sessions [10th -> 30th <= 25 MB].

The run ends with one table: each goal's measured figure, its floor or reference, the target
and ✓/✗.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLD_RUNS = 3
REGISTRY_N = 100_000
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PAGES = sorted(p.stem for p in (ROOT / "app_pages").glob("*.py") if not p.stem.startswith("_"))


def table(title: str, header: list[str], rows: list[list]) -> None:
    """Print a plain-text table."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    line = "  ".join("-" * w for w in widths)
    print(f"\n{title}\n{line}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print(line)
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print(line)


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.0f} ms"


#: The speed goals measured in this run: [goal, this app, floor / reference, target, ✓/✗]
GOALS: list[list[str]] = []


def goal(what: str, figure: str, floor: str, target: str, ok: bool | None) -> None:
    """Record one goal's measured figure for the summary printed at the end (``ok`` None: a
    figure with no target, printed as timed)."""
    GOALS.append([what, figure, floor, target, "timed" if ok is None else "✓" if ok else "✗"])


# ---------------------------------------------------------------------------------------------
# 1 + 3: cold start and memory (real server, real browser)
# ---------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(port: int, app: str = "app.py") -> subprocess.Popen:
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    cmd = [sys.executable, "-m", "streamlit", "run", app, "--server.headless", "true"]
    cmd += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait_health(url: str, deadline: float) -> None:
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("the server did not start in time")


def _wait_drawn(page, text: str | None = None, timeout: float = 60_000) -> None:
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app && app.getAttribute('data-test-script-state') === 'notRunning'
                && document.querySelector('[data-testid="stMainBlockContainer"] h1')
                && !document.querySelector('[data-testid="stSkeleton"]');
        }""",
        timeout=timeout,
    )
    if text:
        page.get_by_text(text).first.wait_for(timeout=timeout)


def _peak_rss_mb(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of a process in MB, from /proc (Linux)."""
    values = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(("VmHWM", "VmRSS")):
                key, kb = line.split(":")
                values[key] = int(kb.split()[0]) / 1024
    return values["VmHWM"], values["VmRSS"]


def cold_start_and_memory() -> None:
    from playwright.sync_api import sync_playwright

    from core.study.published import load_published

    title = "CAR-T cell recipients in the ICU"  # the overview's st.title (app_pages/overview.py)
    health, titled, drawn, warm_server, peaks = [], [], [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for run in range(COLD_RUNS):
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            t0 = time.perf_counter()
            proc = _start_server(port)
            try:
                _wait_health(url, time.time() + 60)
                health.append(time.perf_counter() - t0)
                page.goto(url)
                page.get_by_role("heading", name=title).wait_for(timeout=60_000)
                titled.append(time.perf_counter() - t0)
                _wait_drawn(page, title)
                drawn.append(time.perf_counter() - t0)
                # the same page from a fresh browser context on the now warm server: what the
                # front-end alone costs (JS bundle, websocket, rendering), the floor of a cold start
                again = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                t1 = time.perf_counter()
                again.goto(url)
                _wait_drawn(again, title)
                warm_server.append(time.perf_counter() - t1)
                again.context.close()
                if run == COLD_RUNS - 1:  # memory: open every page of the navigation
                    opened = []
                    for stem in PAGES:
                        path = "" if stem == "overview" else stem
                        page.goto(f"{url}/{path}")
                        _wait_drawn(page)
                        opened.append(stem)
                    page.goto(f"{url}/story?present=1&step=6")
                    _wait_drawn(page)
                    peaks.append((len(opened) + 1, *_peak_rss_mb(proc.pid)))
            finally:
                context.close()
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        browser.close()
    table(
        f"1. Cold start: process start -> overview drawn in Chromium ({COLD_RUNS} fresh servers)",
        ["measure", "best", "median", "goal"],
        [
            ["server health endpoint up", ms(min(health)), ms(statistics.median(health)), ""],
            ["overview title painted", ms(min(titled)), ms(statistics.median(titled)), ""],
            [
                "overview fully drawn (script done, no skeleton)",
                ms(min(drawn)),
                ms(statistics.median(drawn)),
                "< 3000 ms",
            ],
            [
                "same page, warm server, new browser context",
                ms(min(warm_server)),
                ms(statistics.median(warm_server)),
                "",
            ],
        ],
    )
    n_pages, hwm, rss = peaks[-1]
    table(
        f"3. Server memory after opening {n_pages} pages "
        f"({load_published()['meta']['n']}-patient cohort)",
        ["measure", "MB", "goal"],
        [["peak RSS (VmHWM)", f"{hwm:.0f}", "< 400"], ["RSS at the end (VmRSS)", f"{rss:.0f}", ""]],
    )


BARE_APP = 'import streamlit as st\nst.title("CAR-T cell recipients in the ICU")\n'


def cold_start_ratio(runs: int = COLD_RUNS) -> None:
    """This app's cold start against a one-line Streamlit app (the floor), alternating fresh
    servers in one run: process start -> the title's heading drawn and the script finished."""
    from playwright.sync_api import sync_playwright

    title = "CAR-T cell recipients in the ICU"
    bare = Path(tempfile.mkdtemp()) / "bare_app.py"
    bare.write_text(BARE_APP)
    times: dict[str, list[float]] = {"app": [], "bare": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for _ in range(runs):
            for name, app in (("bare", str(bare)), ("app", "app.py")):
                port = _free_port()
                url = f"http://127.0.0.1:{port}"
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                t0 = time.perf_counter()
                proc = _start_server(port, app)
                try:
                    _wait_health(url, time.time() + 60)
                    page.goto(url)
                    _wait_drawn(page, title)
                    times[name].append(time.perf_counter() - t0)
                finally:
                    context.close()
                    proc.terminate()
                    proc.wait(timeout=10)
        browser.close()
    best = {k: min(v) for k, v in times.items()}
    table(
        f"Cold start, this app vs a one-line Streamlit app ({runs} alternating runs each)",
        ["measure", "best", "median", "goal"],
        [
            ["one-line app (st.title)", ms(best["bare"]), ms(statistics.median(times["bare"])), ""],
            ["this app (overview)", ms(best["app"]), ms(statistics.median(times["app"])), ""],
            ["ratio (best / best)", f"{best['app'] / best['bare']:.2f}", "", "<= 1.3"],
        ],
    )
    ratio = best["app"] / best["bare"]
    goal(
        f"1. cold start, process -> overview drawn (best of {runs}, alternating)",
        f"{best['app']:.2f} s",
        f"{best['bare']:.2f} s (one-line app)",
        "ratio <= 1.3",
        ratio <= 1.3,
    )
    GOALS[-1][1] += f" (ratio {ratio:.2f})"


# ---------------------------------------------------------------------------------------------
# 2: warm interactions (AppTest)
# ---------------------------------------------------------------------------------------------
WIDGET_TYPES = (
    "selectbox",
    "radio",
    "toggle",
    "checkbox",
    "multiselect",
    "slider",
    "number_input",
    "text_input",
)
SKIP_KEYS = ("_file", "dl_")  # file upload and downloads: nothing to time in AppTest
# Raw values for choice widgets whose labels differ from their values (format_func): AppTest
# sets choices by value. The generic pass below also finds values whose label is themselves.
CHOICES = {
    "km_preset": "fig3",
    "km_group": "icu_reason",
    "km_endpoint": "pfs",
    "km_unit": "months",
    "cmp_preset": "table4",
    "cmp_by": "sex",
    "cmp_adj": "holm",  # its labels ("None", "Holm", ...) are not its values
    "cox_mode": "pick",
    "cox_endpoint": "pfs",
    "cox_hz": "none",
    "calc_mode": "refit",
    "calc_reason0": "Sepsis",
}


def _choice(kind: str, w):
    """A raw value of a selectbox / radio other than the current one, or None."""
    if w.key in CHOICES:
        return CHOICES[w.key] if CHOICES[w.key] != w.value else None
    for label in w.options:  # labels that are their own values (no format_func)
        try:
            same = str(w.format_func(label)) == label
        except Exception:  # format_func may not accept a label (e.g. dict.get of ints)
            same = False
        if same and label != str(w.value):
            return label
    return None


def _alternative(kind: str, w):
    """Another valid value for a widget, or None."""
    value = w.value
    if kind in ("selectbox", "radio"):
        return _choice(kind, w)
    if kind in ("toggle", "checkbox"):
        return not value
    if kind == "multiselect":
        return list(value)[:-1] if len(value) > 1 else None
    if kind == "slider":
        step = w.step or 1
        if isinstance(value, tuple | list):
            return (value[0], value[1] - step) if value[1] - step > value[0] else None
        if value - step >= w.min:
            return value - step
        return value + step if value + step <= w.max else None
    if kind == "number_input":
        step = w.step or 1
        return value + step if (w.max is None or value + step <= w.max) else value - step
    if kind == "text_input":
        return "hazard" if value != "hazard" else "sofa"
    return None


def _find(at, kind: str, key: str):
    return next((x for x in at.main.get(kind) if x.key == key), None)


def _timed_run(at) -> float:
    t0 = time.perf_counter()
    at.run()
    return time.perf_counter() - t0


WARM_CYCLES = 3  # the machine is shared: a warm change is timed as the best of 3


def _time_widget(at, kind: str, key: str, original, new) -> tuple[float, float | None]:
    """Change, then back and change again ``WARM_CYCLES`` times: (first run, best warm run);
    warm is None if the widget vanished."""
    _find(at, kind, key).set_value(new)
    t1 = _timed_run(at)
    warm = []
    for _ in range(WARM_CYCLES):
        back = _find(at, kind, key)
        if back is None:  # the widget disappeared (layout changed): one timing only
            return t1, None
        back.set_value(original)
        _timed_run(at)
        _find(at, kind, key).set_value(new)
        warm.append(_timed_run(at))
    return t1, min(warm)


def _apptest(stem: str, query: dict[str, str]):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app_pages" / f"{stem}.py"), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    return at


def _page_rows(stem: str, query: dict[str, str]) -> list[list[str]]:
    label = stem + ("?present=1" if query else "")
    probe = _apptest(stem, query)
    t_first, t_rerun = _timed_run(probe), _timed_run(probe)
    rows = [[label, "(page run: first / again)", ms(t_first), ms(t_rerun), ""]]
    widgets = [
        (kind, w.key)
        for kind in WIDGET_TYPES
        for w in probe.main.get(kind)
        if w.key and not any(s in w.key for s in SKIP_KEYS) and not w.disabled
    ]
    for kind, key in widgets:
        at = _apptest(stem, query)  # fresh session: one interaction never spoils the next
        at.run()
        w = _find(at, kind, key)
        new = None if w is None else _alternative(kind, w)
        if new is None:
            continue
        try:
            t1, t2 = _time_widget(at, kind, key, w.value, new)
        except Exception as exc:  # a benchmark reports, never stops
            rows.append([label, f"{kind} {key}", "", "", type(exc).__name__])
            continue
        note = "exception shown" if at.exception else ""
        rows.append([label, f"{kind} {key}", ms(t1), ms(t2) if t2 else "", note])
    buttons = [b for b in probe.main.button if b.key and b.key.startswith("story_")]
    for button in buttons[:1]:
        if not button.disabled:
            button.click()
            rows.append([label, f"button {button.key}", ms(_timed_run(probe)), "", ""])
    at = _apptest(stem, query)
    at.run()
    try:  # the shared sidebar filter (the same widget on every page)
        everything = list(at.sidebar.multiselect(key="f_reason").value)
        at.sidebar.multiselect(key="f_reason").set_value(everything[:-1])
        t1 = _timed_run(at)
        warm = []
        for _ in range(WARM_CYCLES):
            at.sidebar.multiselect(key="f_reason").set_value(everything)
            _timed_run(at)
            at.sidebar.multiselect(key="f_reason").set_value(everything[:-1])
            warm.append(_timed_run(at))
        rows.append([label, "sidebar filter (reason)", ms(t1), ms(min(warm)), ""])
    except (KeyError, IndexError, ValueError):
        pass
    return rows


def warm_interactions() -> None:
    rows = []
    for stem in PAGES:
        for query in [{}] if stem != "story" else [{}, {"present": "1", "step": "5"}]:
            rows += _page_rows(stem, query)
    warm = [r for r in rows if r[3] and not r[1].startswith("(")]
    table(
        "2. Interactions in AppTest (server-side script time per widget change)",
        ["page", "interaction", "first run", "warm", "note"],
        rows,
    )
    if warm:
        values = [float(r[3].split()[0]) for r in warm]
        worst = max(warm, key=lambda r: float(r[3].split()[0]))
        slow = sum(v >= 150 for v in values)
        print(
            f"   warm interactions: {len(values)}, median {statistics.median(values):.0f} ms, "
            f"{slow} at or above 150 ms, worst {worst[3]} ({worst[0]}: {worst[1]})"
        )
        goal(
            f"3. server time per interaction, AppTest warm ({len(values)} interactions)",
            f"worst {worst[3]} ({worst[0]}: {worst[1]}), median {statistics.median(values):.0f} ms",
            "",
            "every one < 150 ms",
            slow == 0,
        )


# ---------------------------------------------------------------------------------------------
# 4: registry scale
# ---------------------------------------------------------------------------------------------
def registry_cohort(n: int, seed: int = 7) -> pd.DataFrame:
    """n synthetic patients: rows of the reconstructed cohort resampled, times jittered."""
    from core.cohort.db import connect, fetch_cohort

    con = connect()
    try:
        base = fetch_cohort(con)
    finally:
        con.close()
    rng = np.random.default_rng(seed)
    df = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
    df["patient_id"] = [f"S{i:06d}" for i in range(n)]
    for col in ("os_days", "pfs_days"):  # distinct times (fewer ties than 71 copies)
        df[col] = np.maximum(df[col] + rng.uniform(-0.5, 0.5, n), 0.0)
    df["pfs_days"] = np.minimum(df["pfs_days"], df["os_days"])
    for col in ("age", "sofa"):
        df[col] = np.clip(df[col] + rng.integers(-2, 3, n), 0, None).astype(int)
    return df


def best_of(fn: Callable[[], object], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def registry_scale(n: int) -> None:
    import duckdb

    from core.cohort import db
    from core.cohort.schema import CohortFilter
    from core.stats.compare import compare_groups
    from core.stats.cox.fit import fit_cox
    from core.stats.logrank import logrank
    from core.stats.survival import kaplan_meier
    from core.study.paper_tables import PRESETS
    from core.study.story import build_story

    df = registry_cohort(n)
    table3 = [v for v in PRESETS["table3"].variables if v.column in df.columns]
    rows = []

    def add(what: str, fn: Callable[[], object], repeats: int = 3) -> None:
        rows.append([what, f"{len(df):,}", ms(best_of(fn, repeats))])

    add(
        f"compare_groups by icu_reason (Table 3, {len(table3)} rows)",
        lambda: compare_groups(df, "icu_reason", table3),
        1,
    )
    add("kaplan_meier OS by ecog_ps", lambda: kaplan_meier(df, "os_days", "os_event", "ecog_ps"))
    add("logrank OS by icu_reason", lambda: logrank(df, "os_days", "os_event", "icu_reason"))

    def cox_full():  # the C-index and its SE are computed when read: read, as R computes them
        fit = fit_cox(df, "os_days", "os_event", ["reason_dp", "ecog_ps", "sofa"], horizon_days=365)
        return fit.concordance, fit.concordance_se

    add("fit_cox reason_dp + ecog_ps + sofa, 1 year (with the C-index and its SE)", cox_full)
    add("build_story (all 8 steps)", lambda: build_story(df), 1)
    with tempfile.TemporaryDirectory() as tmp:
        parquet = Path(tmp) / "registry.parquet"
        df.to_parquet(parquet, index=False)
        pq = duckdb.connect()
        pq.execute(f"CREATE VIEW patients AS SELECT * FROM read_parquet('{parquet}')")
        filt = CohortFilter(icu_reason=("Sepsis", "CRS"), ecog_ps=(0, 1, 2), age_min=18)
        add(
            "core.cohort.db.fetch_cohort over Parquet (filter: reason, PS, age)",
            lambda: db.fetch_cohort(pq, filt),
        )
        pq.close()
    table(
        f"4. Registry scale ({n:,} synthetic patients resampled from the cohort; best of 3, "
        "1 for the slow ones)",
        ["computation", "patients", "time"],
        rows,
    )
    short = ("Table 3", "KM", "log-rank", "Cox", "story", "filter over Parquet")
    goal(
        f"4b. {n:,} patients: each step of the table above",
        "; ".join(f"{name} {r[2]}" for name, r in zip(short, rows, strict=True)),
        "",
        "each timed (the DuckDB grouped table, slower than pandas, was removed)",
        None,
    )


def versus_tableone(n: int = REGISTRY_N) -> None:
    """Goal 4a: one grouped table of ``n`` x 15 against tableone, interleaved, best of 3."""
    from bench.bench_compare import versus_tableone as measure

    core, other, k = measure(n)
    if other is None:
        print("tableone is not installed (pip install -r requirements-dev.txt): no ratio")
        return
    table(
        f"4a. Grouped table with p-values, {n:,} synthetic patients x {k} variables, 4 groups "
        "(interleaved, best of 3 each)",
        ["implementation", "seconds"],
        [["core.stats.compare", f"{core:.2f}"], ["tableone", f"{other:.2f}"],
         ["tableone / core", f"{other / core:.1f}x"]],
    )  # fmt: skip
    goal(
        f"4a. grouped table {n:,} x {k} against tableone",
        f"{core:.2f} s ({other / core:.1f}x faster)",
        f"tableone {other:.2f} s",
        ">= 10x",
        other / core >= 10,
    )


def clicks(rounds: int = 3) -> None:
    """Goal 2: bench.bench_clicks (browser-measured clicks beside a bare app)."""
    from bench.bench_clicks import READ_S, run

    r = run(rounds)
    first = max(r["first_at_once"], r["first_read"])
    goal(
        f"2a. first visit of each page, worst (clicked at once / after reading {READ_S:.0f} s)",
        f"{r['first_at_once']:.2f} s {r['first_at_once_page']} / "
        f"{r['first_read']:.2f} s {r['first_read_page']}",
        "",
        "every one <= 1.0 s",
        first <= 1.0,
    )
    ratio = r["switch_p50"] / r["floor_switch_p50"]
    goal(
        f"2b. warm page switch p50 ({rounds} rounds)",
        f"{r['switch_p50']:.2f} s (ratio {ratio:.2f})",
        f"{r['floor_switch_p50']:.2f} s (bare two-page app)",
        "ratio <= 1.3",
        ratio <= 1.3,
    )
    goal(
        "2c. widget change p95 (selectboxes, filter, calculator, 5,000-row upload)",
        f"{r['widget_p95']:.2f} s",
        f"{r['floor_widget_p95']:.2f} s (slider)",
        "<= 0.6 s",
        r["widget_p95"] <= 0.6,
    )
    goal(
        "2d. widget change, worst",
        f"{r['widget_worst']:.2f} s",
        f"{r['floor_widget_worst']:.2f} s (slider)",
        "<= 1.5 s",
        r["widget_worst"] <= 1.5,
    )


def memory() -> None:
    """Goal 5: bench.bench_memory's 200,000-row upload, 30 uploads, 30 fresh sessions."""
    from bench.bench_memory import GROWTH_GOAL_MB, N_ROWS, PEAK_GOAL_MB, measure

    r = measure(["large", "repeat", "sessions"])
    large = r["large"]
    goal(
        f"5a. server peak RSS, {N_ROWS:,}-row upload then every page",
        f"{large['peak']:.0f} MB",
        f"{large['base']:.0f} MB (after the overview)",
        f"<= {PEAK_GOAL_MB} MB",
        large["peak"] <= PEAK_GOAL_MB,
    )
    for key, what in (("repeat", "30 uploads in one session"), ("sessions", "30 fresh sessions")):
        grew = r[key]["growth"]
        goal(
            f"5{'b' if key == 'repeat' else 'c'}. resident memory over {what}, 10th -> 30th",
            f"{grew:+.0f} MB",
            "",
            f"<= {GROWTH_GOAL_MB} MB",
            grew <= GROWTH_GOAL_MB,
        )


PARTS = ("cold", "clicks", "warm", "scale", "memory")


def main() -> None:
    """``python -m bench.bench_app [part ...] [--n=N] [--quick]``: every part by default,
    then the goals of the speed issue, each with its figure, floor and ✓/✗."""
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    parts = set(args) or set(PARTS)
    browser = Path(CHROMIUM).exists()
    if not browser and parts & {"cold", "ratio", "clicks", "memory"}:
        print("chromium not found: cold start, clicks and memory skipped")
    if browser and "cold" in parts:
        cold_start_ratio()
        cold_start_and_memory()
    if browser and "ratio" in parts and "cold" not in parts:
        cold_start_ratio()
    if browser and "clicks" in parts:
        clicks()
    if "warm" in parts:
        warm_interactions()
    if "scale" in parts:
        n = next((int(a[4:]) for a in sys.argv if a.startswith("--n=")), REGISTRY_N)
        versus_tableone(10_000 if "--quick" in sys.argv else REGISTRY_N)
        registry_scale(10_000 if "--quick" in sys.argv else n)
    if browser and "memory" in parts:
        memory()
    if GOALS:
        table(
            "Goals of the speed issue, measured in this run (2-core shared machine: compare "
            "the ratios, not the seconds)",
            ["goal", "this app", "floor / reference", "target", ""],
            GOALS,
        )


if __name__ == "__main__":
    main()
