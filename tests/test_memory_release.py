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

PROBE = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from app_pages._ui.memory import _libc, release_freed_memory

    def rss():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024

    if _libc() is None:
        print("no-glibc")
        raise SystemExit
    # ~300 MB of small blocks (below glibc's mmap threshold, so they live in the heap), every
    # tenth kept: freeing the others leaves holes that glibc keeps unless trimmed
    blocks = [bytearray(4000) for _ in range(75_000)]
    keep = blocks[::10]
    del blocks
    before = rss()
    release_freed_memory()
    print(before, rss(), len(keep))
    """
)


def test_freed_heap_memory_goes_back_to_the_system():
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(root=str(ROOT))],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    if out == ["no-glibc"]:
        pytest.skip("not glibc: the hook does nothing by design")
    before, after, _ = map(int, out)
    assert before - after >= 150, (before, after)  # ~270 MB were freed inside the heap


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
