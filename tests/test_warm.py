"""Background imports after the first page (app_pages/_ui/warm.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from app_pages._ui.warm import page_modules
from tests.apptest import ROOT


def test_page_modules_are_read_from_every_page_with_their_submodules():
    names = page_modules()
    # the Cox page imports core.stats.cox.fit; Survival `from core.charts import survival`
    assert "core.stats.cox.fit" in names
    assert "core.charts.survival" in names  # a submodule named in a from-import
    assert "app_pages._ui.parametric" in names
    assert "core.charts.survival.km_screen" not in names  # a function, not a module


def test_the_thread_imports_every_page_module_in_a_fresh_interpreter():
    """In a fresh interpreter nothing heavy is loaded until the thread runs; then every page's
    modules and the on-use libraries are."""
    code = (
        "import sys\n"
        "from app_pages._ui import warm\n"
        "before = 'lifelines' in sys.modules or 'core.stats.cox.fit' in sys.modules\n"
        "warm.warm_imports().join(300)\n"
        "missing = [m for m in [*warm.page_modules(), *warm.ON_USE] if m not in sys.modules]\n"
        "print(before, missing)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=400
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False []"


def test_freezing_keeps_the_imported_objects_out_of_a_full_collection():
    """In a fresh interpreter: after freeze_imported_objects, a full collection walks none of
    the objects alive at that moment (gc.get_freeze_count), and garbage made later is still
    collected."""
    code = (
        "import gc, json\n"
        "from app_pages._ui.warm import freeze_imported_objects\n"
        "import pandas\n"
        "before = len(gc.get_objects())\n"
        "freeze_imported_objects()\n"
        "frozen, tracked = gc.get_freeze_count(), len(gc.get_objects())\n"
        "class Cycle: pass\n"
        "a = Cycle(); a.me = a; del a\n"
        "print(json.dumps([before, frozen, tracked, gc.collect()]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    before, frozen, tracked, collected = json.loads(out.stdout.strip().splitlines()[-1])
    assert frozen > 0.8 * before  # the imported world is frozen
    assert tracked < 0.05 * before  # and no longer tracked by the collector
    assert collected >= 1  # a cycle made afterwards is still collected


def _computations(monkeypatch) -> dict[str, int]:
    """Count the story's and the reproduction's computations (the functions their cached
    entries call on a miss)."""
    from app_pages._ui import reproduction, story

    calls = {"story": 0, "reproduction": 0, "chart": 0}

    def counted(name, func):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return func(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(story, "build_story", counted("story", story.build_story))
    monkeypatch.setattr(story, "kaplan_meier", counted("chart", story.kaplan_meier))
    monkeypatch.setattr(reproduction, "reproduce", counted("reproduction", reproduction.reproduce))
    return calls


def test_priming_fills_the_entries_the_story_and_reproduction_pages_read(monkeypatch):
    """After prime_shipped, a first visit of either page (shipped cohort, no filter) computes
    nothing; with the caches cleared the same visits compute (the counters can count)."""
    import streamlit as st

    from app_pages._ui.warm import prime_shipped
    from tests.apptest import run_page

    calls = _computations(monkeypatch)
    st.cache_data.clear()
    run_page("app_pages/story.py")
    run_page("app_pages/reproduction.py")
    assert calls["story"] == 1 and calls["reproduction"] == 1 and calls["chart"] >= 2

    st.cache_data.clear()
    prime_shipped()
    primed = dict(calls)
    assert primed["story"] == 2 and primed["reproduction"] == 2
    run_page("app_pages/story.py")
    run_page("app_pages/reproduction.py")
    assert calls == primed  # the pages found every entry filled


def test_pages_named_first_have_their_modules_first():
    """In navigation order the story's modules come before the about page's (alphabetically
    first); every module is still listed once."""
    by_name = page_modules()
    story_first = page_modules(first=("app_pages/overview.py", "app_pages/story.py"))
    assert sorted(story_first) == sorted(by_name)
    assert by_name.index("app_pages._ui.story") > by_name.index("app_pages._ui.calculator")
    assert story_first.index("app_pages._ui.story") < story_first.index("app_pages._ui.calculator")
