"""The server process's freed memory, handed back to the system.

Each session's script runs in a thread of one process. glibc keeps the memory a run frees in
its arenas, and pyarrow (which Streamlit uses to send every table and chart) in its own pool,
so a process that once drew a large cohort stays at the size of its largest page, and the
next page's work starts from there: with a 200,000-row upload walked through every page, the
resident size only grew. These hooks are the standard C calls for it (no library wraps them);
off glibc they do nothing.
"""

from __future__ import annotations

import ctypes
import functools
import gc


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018  (glibc only)
    except (OSError, AttributeError):
        return None
    return libc


M_ARENA_MAX = -8  # glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 * 1024


def tune_malloc() -> bool:
    """glibc's malloc set for a server whose runs make large short-lived arrays:

    * At most two arenas for the threads to come (by default glibc opens up to 8 per core,
      each keeping freed memory). The same as MALLOC_ARENA_MAX=2, which a host cannot always
      set. With the 200,000-row upload through every page: peak RSS ~115 MB lower.
    * Blocks of 256 KB and more always in their own mapping, handed back when freed. By
      default glibc raises this threshold to the size of every mapped block freed (up to
      32 MB), so after the first large array freed, a 200,000-row column (1.6 MB) lands in
      the heap, where the holes between the blocks still in use stay resident. Same as
      MALLOC_MMAP_THRESHOLD_=262144. Measured (``bench_memory``): resident after the
      200,000-row walk 523-526 MB instead of 576-681, its peak 587-591 MB instead of 635-746.

    True when both settings were taken.
    """
    libc = _libc()
    if libc is None:
        return False
    arenas = libc.mallopt(M_ARENA_MAX, 2) == 1
    return libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and arenas


def release_freed_memory() -> None:
    """Return the memory freed by the run that just ended to the system (glibc's arenas and
    pyarrow's pool); a few milliseconds."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except ImportError:
        pass


DROPPED_KEY = "_cohort_dropped"  # session_state: this session let an uploaded cohort go


def note_cohort_dropped(state) -> None:
    """Ask for :func:`collect_dropped` at the end of the next finished run of this session."""
    state[DROPPED_KEY] = True


def collect_dropped(state) -> bool:
    """A full collection of reference cycles once a session has let a cohort go.

    The server runs no ``gc.collect()`` after each run (``runner.postScriptGC = false``, the
    cost of one per run under load), and an uploaded cohort's frames and results sit in
    reference cycles that CPython's generational thresholds reach rarely: 30 uploads of 20,000
    rows in one session (AppTest, Survival after each) grew by 78 MB from the 10th to the
    30th without a collection, by 6 MB with one after each. Called at the end of each run;
    collects only after a run that dropped a cohort (a new upload or Clear), a few tens of ms.
    """
    if not state.pop(DROPPED_KEY, False):
        return False
    gc.collect()
    return True
