"""The server hands back the memory a run freed (glibc's arenas and pyarrow's pool), so a large
cohort's page does not leave the process at its largest size for the next page to start from.
The figures (peak and resident size over every page of a 200,000-row upload) come from
``python -m bench.bench_memory``; this test checks the mechanism in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

HEAD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from app_pages._ui.memory import _libc, release_freed_memory, tune_malloc

    def rss():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024

    if _libc() is None:
        print("no-glibc")
        raise SystemExit
    """
)


def _probe(body: str) -> list[str]:
    """What ``body`` prints, run after HEAD in a fresh interpreter (skipped off glibc)."""
    code = HEAD.format(root=str(ROOT)) + textwrap.dedent(body)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    if out == ["no-glibc"]:
        pytest.skip("not glibc: the hooks do nothing by design")
    return out


def test_freed_heap_memory_goes_back_to_the_system():
    # ~300 MB of small blocks (below glibc's mmap threshold, so they live in the heap), every
    # tenth kept: freeing the others leaves holes that glibc keeps unless trimmed
    before, after, _ = map(int, _probe(
        """
        blocks = [bytearray(4000) for _ in range(75_000)]
        keep = blocks[::10]
        del blocks
        before = rss()
        release_freed_memory()
        print(before, rss(), len(keep))
        """
    ))  # fmt: skip
    assert before - after >= 150, (before, after)  # ~270 MB were freed inside the heap


def _mapped(tuned: bool) -> tuple[str, int]:
    """RSS growth (MB) left by 150 freed blocks of 1 MB (a 130,000-row column each) between
    small blocks that stay, after one 16 MB block was freed (which raises glibc's own mmap
    threshold to 16 MB)."""
    taken, grown, _ = _probe(
        f"""
        tuned = {tuned!r} and tune_malloc()
        big = bytearray(16 << 20)
        del big
        base = rss()
        blocks = []
        for _ in range(150):
            blocks += [bytearray(1 << 20), bytearray(2000)]
        keep = blocks[1::2]
        del blocks
        print(tuned, rss() - base, len(keep))
        """
    )
    return taken, int(grown)


def test_large_blocks_go_back_to_the_system_when_freed():
    """With tune_malloc, 150 MB of freed 1 MB blocks leave no resident memory behind, even
    between blocks still in use and with no trim; glibc's defaults keep all of it."""
    taken, grown = _mapped(tuned=True)
    assert taken == "True"  # both settings accepted by glibc
    assert grown <= 10
    assert _mapped(tuned=False)[1] >= 120  # the defaults: the holes stay resident


def test_app_releases_after_every_page(monkeypatch):
    """app.py calls the hook once the page has run."""
    from streamlit.testing.v1 import AppTest

    from app_pages._ui import memory

    calls = []
    monkeypatch.setattr(memory, "release_freed_memory", lambda: calls.append(1))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert calls == [1]
    at.run()
    assert calls == [1, 1]


def test_a_dropped_cohort_is_collected_at_the_end_of_the_run():
    """A cohort let go in reference cycles (as an upload's frames and results are) is freed by
    the end-of-run hook once the session has said so, and only then (no full collection on
    every run: the server turns Streamlit's off)."""
    import gc
    import weakref

    from app_pages._ui.memory import DROPPED_KEY, collect_dropped, note_cohort_dropped

    class Cohort:  # a frame and a result pointing at each other
        pass

    def dropped_cohort() -> weakref.ref:
        a, b = Cohort(), Cohort()
        a.other, b.other = b, a
        return weakref.ref(a)

    state: dict = {}
    gc.disable()  # no automatic collection may free it meanwhile
    try:
        ref = dropped_cohort()
        assert collect_dropped(state) is False and ref() is not None  # nothing dropped yet
        note_cohort_dropped(state)
        assert state[DROPPED_KEY] is True
        assert collect_dropped(state) is True and ref() is None
        assert DROPPED_KEY not in state  # once per drop
    finally:
        gc.enable()
