"""Server memory for the largest files a user may upload (real server, real browser).

Run from the repository root (needs Debian's chromium and playwright)::

    python -m bench.bench_memory

Two fresh servers on 127.0.0.1, one per scenario; memory is read from ``/proc/<pid>/status``
(``VmRSS`` now, ``VmHWM`` the peak since the last reset through ``/proc/<pid>/clear_refs``):

1. **Largest accepted upload** [peak <= 400 MB]: a paper-format CSV of 200,000 rows (the row
   limit; the model's and survival views' ten columns, 6.6 MB, under the 10 MB upload limit)
   made by resampling the reconstructed cohort, uploaded and then every page of the sidebar
   opened in Chromium. Exceptions on any page are counted (there must be none).
2. **A 150 MB cell** [peak within 100 MB of the baseline]: a 150 KB workbook whose one cell
   holds 150,000,000 characters, uploaded on Your data; the server must refuse it with a
   message without loading the cell.
3. **Repeated uploads** (``python -m bench.bench_memory repeat``) [steady: at most 25 MB more
   after the 30th than after the 10th]: one session uploads 30 files of 20,000 rows in turn
   and opens Survival curves on each.

4. **Fresh sessions** (``python -m bench.bench_memory sessions``) [steady, as 3]: 30 users in
   turn, each in a new browser context (a new session), upload 20,000 rows, open Survival
   curves and close the tab.

``python -m bench.bench_memory large cell repeat sessions`` runs all four (default: the first
two).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_app import (  # noqa: E402  (after the path set-up, as a script)
    CHROMIUM,
    CHROMIUM_ARGS,
    _free_port,
    _peak_rss_mb,
    _start_server,
    _wait_health,
    table,
)
from core.paths import DATA_DIR  # noqa: E402
from tests.helpers_browser import (  # noqa: E402
    EXCEPTION,
    open_in_session,
    upload_cohort,
    wait_for_app,
    walk_every_page,
)
from tests.hostile.make_corpus import huge_cell_xlsx  # noqa: E402
from tests.test_browser_walk import PAPER_MINIMAL  # noqa: E402

N_ROWS = 200_000
PEAK_GOAL_MB = 400  # the speed issue's goal (an earlier round's was 600)
GROWTH_GOAL_MB = 25  # "steady": 10th -> 30th
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def large_paper_csv(n: int = N_ROWS, seed: int = 1) -> bytes:
    """``n`` patients resampled from the reconstructed cohort, times jittered by +-2 days."""
    rng = np.random.default_rng(seed)
    src = pd.read_csv(DATA_DIR / "cohort.csv", usecols=PAPER_MINIMAL)
    df = src.iloc[rng.integers(0, len(src), n)].reset_index(drop=True)
    df["patient_id"] = [f"S{i:06d}" for i in range(n)]
    jitter = rng.integers(-2, 3, n)
    df["os_days"] = (df["os_days"] + jitter).clip(lower=1)
    df["pfs_days"] = np.minimum((df["pfs_days"] + jitter).clip(lower=1), df["os_days"])
    return df.to_csv(index=False).encode()


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def _scenario(browser, work) -> dict[str, float | str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start_server(port)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _wait_health(url, time.time() + 60)
        page.goto(url)
        wait_for_app(page)
        _, base = _peak_rss_mb(proc.pid)
        _reset_peak(proc.pid)
        t0 = time.perf_counter()
        result = work(page, url, proc.pid)
        hwm, rss = _peak_rss_mb(proc.pid)
        # a scenario that resets the peak on the way returns its own overall "peak"
        return {"base": base, "peak": hwm, "end": rss, "s": time.perf_counter() - t0, **result}
    finally:
        context.close()
        proc.terminate()
        proc.wait(timeout=20)


def _large_upload(page, url: str, pid: int) -> dict[str, str]:
    data = large_paper_csv()
    upload_cohort(page, url, "large.csv", data, mode="paper")
    phases = [("upload", *_peak_rss_mb(pid))]
    _reset_peak(pid)  # from here each step's peak is its own

    def on_page(title: str) -> None:
        phases.append((title, *_peak_rss_mb(pid)))
        _reset_peak(pid)

    walk = walk_every_page(page, url, timeout=300_000, on_page=on_page)
    print("each step's peak / resident after it (MB): " + ", ".join(
        f"{t} {hwm:.0f}/{rss:.0f}" for t, hwm, rss in phases))  # fmt: skip
    return {
        "peak": max(hwm for _, hwm, _ in phases),
        "what": f"{N_ROWS:,}-row CSV ({len(data) / 2**20:.1f} MB), then {len(walk.pages)} pages",
        "errors": f"{sum(walk.exceptions.values())} exception(s) {walk.exceptions or ''}",
    }


def _huge_cell(page, url: str, pid: int) -> dict[str, str]:
    data = huge_cell_xlsx()
    page.goto(f"{url}/your_data")
    wait_for_app(page)
    page.set_input_files(
        'input[type="file"]', files=[{"name": "huge.xlsx", "mimeType": XLSX, "buffer": data}]
    )
    page.get_by_text("far over Excel's own limit").first.wait_for(timeout=120_000)
    wait_for_app(page)
    return {
        "what": f"{len(data) / 1024:.0f} KB workbook, one 150,000,000-character cell",
        "errors": f"{page.locator(EXCEPTION).count()} exception(s); refused with a message",
    }


REPEATS = 30
REPEAT_ROWS = 20_000


def _on_upload(page) -> None:
    """The page shows the session's upload (a page opened by its address would be a new
    session on the reconstructed cohort: earlier runs of this benchmark measured that)."""
    main = page.get_by_test_id("stMain").get_by_text("Active cohort:").first.inner_text()
    if "your uploaded data" not in main:
        raise RuntimeError(f"Survival is not on the upload: {main[:80]!r}")


def _repeated_uploads(page, url: str, pid: int) -> dict[str, str]:
    """One session uploads a file, opens Survival curves on it, and uploads again, 30 times
    (a new file each time: a different resampling seed)."""
    after = []
    for k in range(REPEATS):
        upload_cohort(
            page,
            url,
            f"repeat{k}.csv",
            large_paper_csv(REPEAT_ROWS, seed=k),
            mode="paper",
            same_session=k > 0,  # one session: the next upload replaces this one
        )
        open_in_session(page, "/survival")
        _on_upload(page)
        after.append(_peak_rss_mb(pid)[1])
    print("resident MB after each upload + survival: " + ", ".join(f"{v:.0f}" for v in after))
    return {
        "what": f"{REPEATS} uploads of {REPEAT_ROWS:,} rows in one session, Survival after each "
        f"(now after 1st {after[0]:.0f}, 10th {after[9]:.0f}, 30th {after[-1]:.0f})",
        "errors": f"{page.locator(EXCEPTION).count()} exception(s); growth 10th->30th "
        f"{after[-1] - after[9]:+.0f} MB",
        "growth": after[-1] - after[9],
    }


def _fresh_sessions(page, url: str, pid: int) -> dict[str, str]:
    """30 users in turn, each in a new browser context (a new Streamlit session): upload a
    file of 20,000 rows, open Survival curves, close the tab."""
    browser = page.context.browser
    after = []
    for k in range(REPEATS):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        user = context.new_page()
        upload_cohort(
            user, url, f"user{k}.csv", large_paper_csv(REPEAT_ROWS, seed=100 + k), mode="paper"
        )
        open_in_session(user, "/survival")
        _on_upload(user)
        errors = user.locator(EXCEPTION).count()
        context.close()
        after.append(_peak_rss_mb(pid)[1])
        if errors:
            return {"what": f"fresh session {k + 1}", "errors": f"{errors} exception(s)"}
    print("resident MB after each fresh session: " + ", ".join(f"{v:.0f}" for v in after))
    return {
        "what": f"{REPEATS} fresh sessions in turn, each {REPEAT_ROWS:,} rows + Survival "
        f"(now after 1st {after[0]:.0f}, 10th {after[9]:.0f}, 30th {after[-1]:.0f})",
        "errors": f"0 exception(s); growth 10th->30th {after[-1] - after[9]:+.0f} MB",
        "growth": after[-1] - after[9],
    }


SCENARIOS = {
    "large": (f"peak <= {PEAK_GOAL_MB} MB", _large_upload),
    "cell": ("peak - base <= 100", _huge_cell),
    "repeat": (f"growth 10th->30th <= {GROWTH_GOAL_MB} MB", _repeated_uploads),
    "sessions": (f"growth 10th->30th <= {GROWTH_GOAL_MB} MB", _fresh_sessions),
}


def measure(picked: list[str]) -> dict[str, dict]:
    """Run the scenarios ``picked`` (keys of :data:`SCENARIOS`), print their table; returns
    each scenario's figures (MB) by key."""
    from playwright.sync_api import sync_playwright

    rows, results = [], {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for key in picked:
            goal, work = SCENARIOS[key]
            r = results[key] = _scenario(browser, work)
            rows.append(
                [
                    r["what"],
                    f"{r['base']:.0f}",
                    f"{r['peak']:.0f}",
                    f"{r['peak'] - r['base']:+.0f}",
                    f"{r['end']:.0f}",
                    f"{r['s']:.0f} s",
                    r["errors"],
                    goal,
                ]
            )
        browser.close()
    table(
        "Server memory (MB) for the largest uploads (fresh server each; base = after the overview)",
        ["upload", "base", "peak", "peak-base", "end", "time", "errors", "goal"],
        rows,
    )
    return results


def main() -> None:
    measure([a for a in sys.argv[1:] if a in SCENARIOS] or ["large", "cell"])


if __name__ == "__main__":
    main()
