"""Fisher's exact test for r x c contingency tables, matching R's ``fisher.test``.

R (``stats::fisher.test``, two-sided, ``simulate.p.value = FALSE``) sums the null
probabilities of every table with the observed margins whose probability is at most the
observed one times ``1 + 1e-7``.  For 2 x 2 tables R uses the hypergeometric distribution;
:func:`scipy.stats.fisher_exact` implements the same definition.  For larger tables R calls
FEXACT, the network algorithm of Mehta & Patel (ACM algorithm 643); so does this module,
through ``fisher-rxc`` (MIT licence, compiled wheels for Linux, macOS and Windows; its
``exact`` is the same FEXACT code and returns R's p-values to ~1e-13).  ``fexact`` wraps the
same algorithm but is GPL-3.0, which the app's MIT licence cannot take in.

fisher-rxc crashes (a segmentation fault) on some tables where R reports "FEXACT error 30", so
it runs in a worker process (:mod:`core.stats.fexact_worker`): a crash there costs that process
only, and the table gets the Monte Carlo estimate with the reason said.

FEXACT works in a fixed workspace and stops with an error code (and a line on stdout) when a
table needs more, or when its hash keys overflow (large n), exactly as R's ``fisher.test``
stops with "FEXACT error 7 ... LDSTP is too small" / "error 40 ... hash key".  R's users then
raise ``workspace`` or switch to ``simulate.p.value = TRUE``; this module does the same in
that order: workspaces of 2e5 words (R's default) and 2e6 (8 MB; a table then takes at most
~1.5 s here), then a seeded Monte Carlo estimate (R's ``simulate.p.value = TRUE``), which
:attr:`FisherResult.method` and :attr:`FisherResult.note` name with the reason in words.
"""

from __future__ import annotations

import json
import math
import select
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.stats as st
from scipy.special import gammaln

__all__ = ["METHOD_EXACT", "R_RELATIVE_TOLERANCE", "WORKSPACES", "FisherResult", "fisher_test"]

#: R's ``fisher.test`` counts tables with probability <= observed * (1 + 1e-7).
R_RELATIVE_TOLERANCE = 1e-7
METHOD_EXACT = "Fisher exact"
#: FEXACT workspaces tried in turn (R's default is 200,000 words). Not 2e7: at 500 patients
#: it made 12 more of 574 tables exact but took 136 s instead of 16 s for all of them (some
#: 20 s each), too slow for a page; which tables are exact depends on the table only.
WORKSPACES = (200_000, 2_000_000)

# FEXACT's error codes (R's fexact.c prterr) in words; the number is what fisher-rxc returns
_FEXACT_ERRORS = {
    5: "its hash keys overflow: the table total is too large for the exact algorithm",
    6: "its key table (LDKEY) is too small for this table",
    7: "its stack (LDSTP) is too small for this table",
    30: "its stack length is too small for this table",
    40: "its hash keys overflow: the table total is too large for the exact algorithm",
    501: "its hash keys overflow: the table total is too large for the exact algorithm",
    502: "its hash keys overflow: the table total is too large for the exact algorithm",
}
ROOT = Path(__file__).resolve().parents[2]  # the worker runs as ``-m core.stats...``


def _method_mc(n_resamples: int) -> str:
    return f"Fisher exact (Monte Carlo, {n_resamples} tables)"


@dataclass(frozen=True)
class FisherResult:
    """Result of :func:`fisher_test`.

    Attributes
    ----------
    p_value : float
        Two-sided p-value (NaN when the test is undefined, see ``note``).
    method : str
        ``'Fisher exact'`` or ``'Fisher exact (Monte Carlo, N tables)'``.
    note : str
        Why the p-value is NaN, or why Monte Carlo was used; empty otherwise.
    shape : tuple[int, int]
        Shape of the table actually tested (after dropping all-zero rows/columns).
    """

    p_value: float
    method: str
    note: str = ""
    shape: tuple[int, int] = (0, 0)


def fisher_test(
    table: object,
    *,
    n_resamples: int = 100_000,
    seed: int = 20240101,
    workspaces: tuple[int, ...] = WORKSPACES,
) -> FisherResult:
    """Two-sided Fisher exact test on an r x c table, equal to R's ``fisher.test(x)``.

    Parameters
    ----------
    table : array_like of non-negative integers, 2-D
        Contingency table (rows x columns).  All-zero rows and columns are dropped (they
        do not change the p-value; R's ``fisher.test(x, y)`` on factors drops them too).
    n_resamples : int, default 100000
        Random tables of the Monte Carlo estimate, used only when FEXACT cannot finish in
        the largest workspace.
    seed : int
        Seed of that estimate, so results are reproducible.
    workspaces : tuple of int
        FEXACT workspaces (in 4-byte words) tried in turn; an empty tuple goes straight to
        Monte Carlo (used by the tests).

    Returns
    -------
    FisherResult
        When fewer than two non-empty rows or columns remain, R stops with "'x' must have at
        least 2 rows and columns"; this returns NaN with that note.

    Raises
    ------
    ValueError
        If the table is not 2-D, has negative, non-integer or non-finite entries.
    """
    x = np.asarray(table, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"table must be 2-dimensional, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("table entries must be finite (no NaN/inf)")
    if np.any(x < 0):
        raise ValueError("table entries must be non-negative")
    if np.any(x != np.round(x)):
        raise ValueError("table entries must be integers (counts)")
    if n_resamples < 1:
        raise ValueError("n_resamples must be positive")
    xi = x.astype(np.int64)
    xi = xi[xi.sum(axis=1) > 0][:, xi.sum(axis=0) > 0]
    shape = (int(xi.shape[0]), int(xi.shape[1]))
    if shape[0] < 2 or shape[1] < 2:
        return FisherResult(
            math.nan,
            METHOD_EXACT,
            f"needs at least 2 non-empty rows and columns (table is {shape[0]} x {shape[1]}"
            " after dropping empty ones)",
            shape,
        )
    if shape == (2, 2):
        p = float(st.fisher_exact(xi).pvalue)
        return FisherResult(min(p, 1.0), METHOD_EXACT, "", shape)
    p, reason = _fexact(xi, workspaces)
    if reason is None:
        return FisherResult(p, METHOD_EXACT, "", shape)
    p = _monte_carlo_pvalue(xi, n_resamples, seed)
    note = (
        f"the exact algorithm (FEXACT) cannot finish this {shape[0]} x {shape[1]} table of "
        f"{int(xi.sum()):,} patients: {reason}. Monte Carlo estimate from {n_resamples:,} "
        f"random tables with the same margins (seed {seed}), as R's simulate.p.value = TRUE"
    )
    return FisherResult(p, _method_mc(n_resamples), note, shape)


def _fexact(table: np.ndarray, workspaces: tuple[int, ...]) -> tuple[float, str | None]:
    """FEXACT's p-value, trying each workspace in turn; (nan, reason) if none suffices.

    fisher-rxc returns minus FEXACT's error code; the code is turned into words here.
    """
    reason = "no workspace was tried"
    for ws in workspaces:
        try:
            p = _WORKER.exact(table.tolist(), int(ws))
        except _WorkerDied:
            return math.nan, "the exact algorithm stopped unexpectedly on this table"
        if 0.0 <= p <= 1.0 + 1e-9:
            return min(p, 1.0), None
        code = round(-p)
        reason = _FEXACT_ERRORS.get(code, f"it stopped with error {code}")
        if code in (5, 40, 501, 502):  # a larger workspace does not help an overflow
            break
        reason += f" (workspace of {ws:,} words)"
    return math.nan, reason


class _WorkerDied(RuntimeError):
    pass


class _Worker:
    """One FEXACT process per server process (core.stats.fexact_worker), started on first
    use, restarted after a crash; one table at a time (a lock), answers within a time limit."""

    TIMEOUT_S = 120.0  # far above FEXACT's ~1.5 s in the largest workspace: a hang, not work

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "core.stats.fexact_worker"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )

    def exact(self, table: list[list[int]], workspace: int) -> float:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            proc = self._proc
            try:
                proc.stdin.write(json.dumps({"table": table, "workspace": workspace}) + "\n")
                proc.stdin.flush()
                ready, _, _ = select.select([proc.stdout], [], [], self.TIMEOUT_S)
                line = proc.stdout.readline() if ready else ""
            except (BrokenPipeError, OSError):
                line = ""
            if not line:  # crashed (a signal) or hung: this process is done
                proc.kill()
                proc.wait()
                self._proc = None
                raise _WorkerDied
            return float(json.loads(line)["p"])


_WORKER = _Worker()


#: The Monte Carlo estimate's independent random streams (fixed, so every machine gives the
#: same p-value), drawn in as many threads: numpy releases the GIL while it draws, so two
#: cores draw about twice as fast (``bench_compare``).
MC_STREAMS = 2


def _monte_carlo_pvalue(table: np.ndarray, n_resamples: int, seed: int) -> float:
    """R ``fisher.test(x, simulate.p.value = TRUE, B = n_resamples)``: ``(1 + k) / (B + 1)``.

    Tables are drawn by :func:`random_tables` (the distribution R's ``r2dtable`` draws
    from: tables with the observed margins, each with its null probability), in
    :data:`MC_STREAMS` streams seeded from ``seed``; ``k`` counts tables whose null
    probability is at most the observed one times ``1 + 1e-7``.  The probability's
    table-dependent part is ``-sum(log(x_ij!))``, read from a table of log-factorials.
    """
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    log_factorial = gammaln(np.arange(int(table.sum()) + 1) + 1.0)
    obs = -log_factorial[table].sum() + math.log1p(R_RELATIVE_TOLERANCE)

    def hits(stream: np.random.SeedSequence, count: int) -> int:
        rng = np.random.default_rng(stream)
        k = 0
        for start in range(0, count, 10_000):
            sims = random_tables(rows, cols, min(10_000, count - start), rng)
            k += int((-log_factorial[sims].sum(axis=(1, 2)) <= obs).sum())
        return k

    streams = np.random.SeedSequence(seed).spawn(MC_STREAMS)
    counts = [len(part) for part in np.array_split(np.arange(n_resamples), MC_STREAMS)]
    with ThreadPoolExecutor(max_workers=MC_STREAMS, thread_name_prefix="fisher-mc") as pool:
        k = sum(pool.map(hits, streams, counts))
    return (1 + k) / (n_resamples + 1)


def random_tables(
    rows: np.ndarray, cols: np.ndarray, size: int, rng: np.random.Generator
) -> np.ndarray:
    """``size`` random tables with margins ``rows`` x ``cols`` under independence.

    Returned as ``(size, r, c)``, or ``(size, c, r)`` when there are more rows than columns
    (the orientation with fewer rows draws less; a table's probability does not depend on
    it).  Row by row: the first row is a multivariate hypergeometric draw from the column
    totals, each later one from what the rows above left, the last row the remainder.  That
    is the distribution of Patefield's algorithm (R's ``r2dtable``, scipy's
    ``random_table``), which draws one cell at a time for one table at a time; numpy draws a
    whole batch per cell here, 1.6-2x faster at 100,000 patients (``bench_compare``).
    numpy's ``multivariate_hypergeometric`` takes one set of totals per call, so the rows
    after the first go cell by cell through its vectorised ``hypergeometric``.
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if len(rows) > len(cols):
        rows, cols = cols, rows
    r, c = len(rows), len(cols)
    out = np.empty((size, r, c), dtype=np.int64)
    out[:, 0, :] = rng.multivariate_hypergeometric(cols, int(rows[0]), size=size)
    left = cols[None, :] - out[:, 0, :]  # each table's column totals not yet placed
    for i in range(1, r - 1):
        need = np.full(size, rows[i], dtype=np.int64)
        rest = left.sum(axis=1)
        for j in range(c - 1):
            rest = rest - left[:, j]  # what the columns after j still hold
            out[:, i, j] = rng.hypergeometric(left[:, j], rest, need)
            need = need - out[:, i, j]
        out[:, i, c - 1] = need
        left = left - out[:, i, :]
    if r > 1:
        out[:, r - 1, :] = left
    return out
