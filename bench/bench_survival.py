"""Benchmark: Kaplan-Meier + log-rank by a 4-level group (core.stats.survival vs lifelines).

Run: ``python bench/bench_survival.py [--repeats 5] [--no-lifelines]``.  Prints a table of the
median wall time per call over ``repeats`` runs.  Data: synthetic patients, exponential times
in whole days (many ties) or continuous (all distinct), ~40% censored, 4 unequal groups.
Target (issue): KM + log-rank on 100,000 rows < 0.3 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.stats.logrank import logrank
from core.stats.survival import _COUNT_CACHE, kaplan_meier


def synthetic(n: int, seed: int = 0, days: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(4, size=n, p=[0.4, 0.3, 0.2, 0.1])
    t = rng.exponential(200 + 100 * g)
    c = rng.uniform(0, 900, n)
    time_ = np.minimum(t, c)
    if days:
        time_ = np.floor(time_)
    return pd.DataFrame(
        {"os_days": time_, "os_event": (t <= c).astype(int), "ecog_ps": g.astype(int)}
    )


def ours(df: pd.DataFrame) -> None:
    _COUNT_CACHE.clear()  # no reuse across runs: only KM -> log-rank share one counting pass
    kaplan_meier(df, "os_days", "os_event", "ecog_ps")
    logrank(df, "os_days", "os_event", "ecog_ps")


def lifelines_version(df: pd.DataFrame) -> None:
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    for _, sub in df.groupby("ecog_ps"):
        kmf = KaplanMeierFitter().fit(sub["os_days"], sub["os_event"])
        _ = kmf.median_survival_time_, kmf.confidence_interval_
    multivariate_logrank_test(df["os_days"], df["ecog_ps"], df["os_event"])


def timed(fn, df: pd.DataFrame, repeats: int) -> float:
    fn(df)  # warm-up
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(df)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-lifelines", action="store_true", help="skip the lifelines comparison")
    args = ap.parse_args()
    rows = []
    for n in (100_000, 1_000_000):
        for days in (True, False):
            df = synthetic(n, days=days)
            label = "whole days" if days else "continuous"
            ut = df["os_days"].nunique()
            rows.append(("core.stats.survival", n, label, ut, timed(ours, df, args.repeats)))
            if not args.no_lifelines:
                reps = args.repeats if n <= 100_000 else 1
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rows.append(("lifelines", n, label, ut, timed(lifelines_version, df, reps)))
    print(f"KM (4 groups, log CI, medians) + log-rank; median of {args.repeats} runs")
    print(f"{'implementation':<15} {'rows':>10} {'times':<11} {'unique t':>9} {'s/call':>9}")
    for impl, n, label, ut, sec in rows:
        print(f"{impl:<15} {n:>10,} {label:<11} {ut:>9,} {sec:>9.3f}")


if __name__ == "__main__":
    main()
