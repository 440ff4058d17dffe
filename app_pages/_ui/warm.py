"""Import every page's modules in the background once the first page has been drawn, then
compute the shipped cohort's slowest first visits.

A page's first visit in a fresh server pays for its imports (lifelines, scipy.stats, Altair,
statsmodels and the app's own modules: seconds on a small machine), after the cold start the
user already waited through. The first page imports only what it needs; then one daemon
thread per server process imports the rest while the user reads it, so the next page finds
its modules loaded. Python's import locks make a page that asks for a module mid-import wait
for it rather than import it twice.

Once the pages' modules are in (in navigation order), the same thread computes, for the
shipped cohort unfiltered (what every new user sees first), the two results that took most
of a first visit: the story's steps and charts and the reproduction table (0.3-0.4 s of
their first visits on this machine). They go into the pages' own ``st.cache_data`` entries
under the keys the pages ask for, shared by every session; a page asking mid-computation
waits on Streamlit's per-entry lock instead of computing it twice. The libraries imported
on use come last.
"""

from __future__ import annotations

import ast
import gc
import importlib
import importlib.util
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from core.tables.styler import load_styler

PAGES_DIR = Path(__file__).resolve().parent.parent
# imported inside functions (on use) by the modules the pages import
# (pandas' Styler: Compare's table, see core.tables.styler; patsy: validation's spline; the
# calculator's summary download)
ON_USE = ("lifelines", "scipy.stats", "statsmodels.stats.multitest", "docx", "fisher",
          "app_pages._ui.report", "core.report.build", "core.report.profile_summary",
          "patsy")  # fmt: skip


def page_modules(pages_dir: Path = PAGES_DIR, first: Sequence[str] = ()) -> list[str]:
    """Every module the page scripts import at their top (read from their source); the pages
    named in ``first`` (file names, e.g. the navigation's order) before the others."""
    rank = {Path(f).name: i for i, f in enumerate(first)}
    names: list[str] = []
    pages = sorted(pages_dir.glob("*.py"), key=lambda p: (rank.get(p.name, len(rank)), p.name))
    for page in pages:
        tree = ast.parse(page.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.append(node.module)  # and each name, when it is a submodule
                names.extend(f"{node.module}.{a.name}" for a in node.names if _is_module(
                    f"{node.module}.{a.name}"))  # fmt: skip
            elif isinstance(node, ast.Import):
                names.extend(a.name for a in node.names)
    return list(dict.fromkeys(n for n in names if n != "__future__"))


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _import_all(delay: float = 0.0, order: Sequence[str] = ()) -> None:
    time.sleep(delay)  # the first page's last messages and the browser's drawing go first
    # page_modules() itself imports (finding a submodule imports its package): in the thread;
    # the pages in navigation order (the next entry is the likeliest first click), the story
    # and reproduction computed once their modules are in, the libraries used on use last
    _import(page_modules(first=order))
    try:
        prime_shipped()
    except Exception:  # the page computes it on its visit instead (and shows any error there)
        logging.getLogger("cart_icu").warning("warm-up of the shipped cohort failed", exc_info=True)
    _import(ON_USE)
    load_styler()
    freeze_imported_objects()


def _import(names: Sequence[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # a missing optional module is the page's business, not ours
            logging.getLogger("cart_icu").debug("warm import of %s failed", name, exc_info=True)


class _NoContextWarning(logging.Filter):
    """Streamlit warns "missing ScriptRunContext" when a cached function's spinner is asked
    for outside a page run: expected in this thread, so not logged from it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != WARM_THREAD


WARM_THREAD = "warm-imports"
# Started at once, the imports held the GIL while the first page's run finished and sent its
# last messages: the cold start (overview drawn in Chromium) took 0.5 s longer than without
# them (bench_app ratio: 2.46 vs 1.97 of a one-line app). A user reads the overview for
# seconds before a first click.
START_DELAY_S = 1.0


def prime_shipped() -> None:
    """The story's steps and charts and the reproduction table of the unfiltered shipped
    cohort, into the caches the pages read (same functions, same keys)."""
    from app_pages._ui.active import shipped_rows, view_key
    from app_pages._ui.reproduction import reproduced
    from app_pages._ui.story import CHART_HEIGHT, chart_spec, story_steps
    from core.cohort.schema import CohortFilter

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        _NoContextWarning()
    )
    everyone = CohortFilter()
    df = shipped_rows(everyone.model_dump_json())
    key = view_key(None, everyone)
    for step in story_steps(key, df):
        if step.chart is not None:
            chart_spec(key, step.chart, CHART_HEIGHT, df)
    reproduced(key, df)


def freeze_imported_objects() -> None:
    """Move every object alive now (the imported modules', ~200,000) out of the garbage
    collector's sight, after collecting what is already garbage.

    Streamlit runs a full ``gc.collect()`` after every script run (``runner.postScriptGC``),
    and with every page's modules loaded a full collection walks them all: ~200 ms a run
    here. Under 30 scripted sessions that was half the server's time (py-spy). Module objects
    live as long as the process, so freezing them (``gc.freeze``, CPython's own remedy for
    this) loses nothing; objects made later are collected as before.
    """
    gc.collect()
    gc.freeze()


@st.cache_resource(show_spinner=False)
def warm_imports(order: tuple[str, ...] = ()) -> threading.Thread:
    """Start the background imports (once per server process); ``order``: the page files in
    the navigation's order."""
    thread = threading.Thread(
        target=_import_all, args=(START_DELAY_S, order), name=WARM_THREAD, daemon=True
    )
    thread.start()
    return thread
