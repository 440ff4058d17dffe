"""Fisher's exact test: the app (core.stats.fisher, FEXACT through fisher-rxc) beside R's
``fisher.test`` on the same tables, in one run on one machine.

    python bench/bench_fisher.py

Both sides use the same rule: FEXACT with a workspace of 2e5 words, then 2e6, then 2e7
(R: ``fisher.test(m, workspace = ws)`` in ``tryCatch``); a table neither finishes is marked
"beyond". Each side is timed best of 3 (R inside one ``Rscript`` with ``proc.time``, so R's
start-up is not counted). Printed: p-values, their difference, seconds and the ratio
R / app (> 1: the app is faster).

A second table counts, for resampled cohorts of 71, 500 and 5,000 patients, how many of the
tables the Compare page can build (every categorical variable of the dictionary by every
grouping column) FEXACT answers exactly, and how many fall to the labelled Monte Carlo.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.stats.fisher import METHOD_EXACT, WORKSPACES, fisher_test  # noqa: E402

REPEATS = 3


def _tables() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(5)
    out = [
        ("R Job 4x4", np.array([[1, 2, 1, 0], [3, 3, 6, 1], [10, 10, 14, 9], [6, 7, 12, 11]])),
        ("issue A 4x4", np.array([[19, 21, 23, 21], [2, 1, 2, 1], [2, 2, 0, 1], [1, 1, 1, 0]])),
        ("issue B 4x4", np.array([[32, 31, 29, 33], [4, 1, 0, 5], [4, 2, 3, 0], [2, 2, 1, 1]])),
        ("issue C 4x4", np.array([[0, 0, 7, 0], [2, 52, 4, 2], [3, 0, 0, 0], [1, 0, 16, 1]])),
    ]
    for shape, n in [((4, 4), 71), ((5, 4), 71), ((5, 4), 100), ((7, 4), 71), ((3, 3), 300)]:
        cells = shape[0] * shape[1]
        t = rng.multinomial(n, np.ones(cells) / cells).reshape(shape)
        out.append((f"uniform {shape[0]}x{shape[1]} n={n}", t))
    return out


R_SCRIPT = """
lines <- readLines(Sys.getenv("TABLES"))
for (ln in lines) {
  v <- as.numeric(strsplit(ln, " ")[[1]])
  m <- matrix(v[-(1:2)], v[1], v[2], byrow = TRUE)
  best <- Inf; p <- NA
  for (rep in seq_len(REPEATS)) {
    t0 <- proc.time()[["elapsed"]]
    p <- NA
    for (ws in c(WS)) {
      p <- tryCatch(fisher.test(m, workspace = ws)$p.value, error = function(e) NA)
      if (!is.na(p)) break
    }
    best <- min(best, proc.time()[["elapsed"]] - t0)
  }
  cat(format(p, digits = 15), best, "\\n")
}
"""


def _r_side(tables: list[np.ndarray]) -> list[tuple[float, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tables.txt"
        path.write_text(
            "\n".join(" ".join(map(str, [*t.shape, *t.ravel().tolist()])) for t in tables)
        )
        script = R_SCRIPT.replace("REPEATS", str(REPEATS)).replace(
            "WS", ", ".join(f"{w:.0e}" for w in WORKSPACES)
        )
        out = subprocess.run(
            ["Rscript", "--vanilla", "-e", script],
            capture_output=True,
            text=True,
            env={"TABLES": str(path), "PATH": "/usr/bin:/bin"},
            check=True,
        ).stdout
    return [(float(a), float(b)) for a, b in (ln.split() for ln in out.strip().splitlines())]


def _app_side(t: np.ndarray) -> tuple[float, float, str]:
    best = np.inf
    res = None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        res = fisher_test(t)
        best = min(best, time.perf_counter() - t0)
    return res.p_value, best, res.method


def side_by_side() -> None:
    named = _tables()
    r = _r_side([t for _, t in named])
    print(f"\n{'table':24s} {'p (app)':>14s} {'p (R)':>14s} {'|diff|':>9s} "
          f"{'app s':>8s} {'R s':>8s} {'R/app':>7s}")  # fmt: skip
    for (name, t), (p_r, s_r) in zip(named, r, strict=True):
        p_a, s_a, method = _app_side(t)
        exact = method == METHOD_EXACT
        diff = f"{abs(p_a - p_r):.1e}" if exact and np.isfinite(p_r) else "beyond"
        print(f"{name:24s} {p_a:14.9g} {p_r:14.9g} {diff:>9s} {s_a:8.3f} {s_r:8.3f} "
              f"{s_r / s_a:7.1f}")  # fmt: skip


def cohort_tables() -> None:
    from core.cohort.schema import load_dictionary
    from core.cohort.variables import grouping_columns
    from core.paths import DATA_DIR

    base = pd.read_csv(DATA_DIR / "cohort.csv")
    dictionary = load_dictionary()
    cats = [c for c, s in dictionary.items() if s.type in ("category", "bool", "int") and c in base]
    rng = np.random.default_rng(7)
    print(f"\n{'cohort size':>12s} {'tables':>7s} {'exact':>6s} {'Monte Carlo':>12s} {'s':>7s}")
    for n in (71, 500, 5_000):
        df = base if n == 71 else base.iloc[rng.integers(0, len(base), n)]
        # what Compare builds: a grouping of at most 8 levels (a continuous one is cut in two
        # first, a 2-level table), by a categorical variable of at most 8 levels
        groups = [g for g in grouping_columns(df) if df[g].nunique() <= 8]
        n_tab = n_exact = 0
        t0 = time.perf_counter()
        for g in groups:
            for c in cats:
                if c == g or df[c].nunique() > 8:
                    continue
                t = pd.crosstab(df[c], df[g]).to_numpy()
                if min(t.shape) < 2 or t.shape == (2, 2):
                    continue
                n_tab += 1
                n_exact += fisher_test(t, n_resamples=10_000).method == METHOD_EXACT
        dt = time.perf_counter() - t0
        print(f"{n:>12,d} {n_tab:>7d} {n_exact:>6d} {n_tab - n_exact:>12d} {dt:>7.1f}")


if __name__ == "__main__":
    side_by_side()
    cohort_tables()
