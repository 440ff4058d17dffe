"""Benchmark core.stats.compare on synthetic data (prints a table; no asserts).

    python bench/bench_compare.py [n_patients]

100,000 synthetic patients, 4 groups, 15 variables (9 continuous with ties and missing
values, 6 categorical), the same grouped table
with p-values by ``tableone`` (Python's reference, in requirements-dev.txt) in the same run
and the ratio, plus the r x c Fisher test on the largest tables of the app's size and on R's
``Job`` satisfaction table (4 x 4, n = 96).

Tests are not identical: core.stats.compare gives Kruskal-Wallis and Fisher's exact test (here a
seeded Monte Carlo: the exact r x c enumeration is beyond its time budget at 100k rows);
tableone gives Kruskal-Wallis (``nonnormal``) and chi-squared for the categorical rows.
core's Monte Carlo draws its tables in ``MC_STREAMS`` threads (numpy releases the GIL);
tableone runs in one.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.stats.compare import compare_groups
from core.stats.fisher import MC_STREAMS


def synthetic(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "group": rng.choice(["CRS", "CRS or sepsis", "Disease progression", "Sepsis"], n),
            "age": rng.integers(18, 80, n),
            "bmi": np.round(rng.normal(24, 4, n), 1),
            "ecog_ps": rng.integers(0, 4, n),
            "sofa": rng.integers(0, 15, n),
            "map": np.round(rng.normal(70, 12, n)),
            "temperature": np.round(rng.normal(39, 1, n), 1),
            "ferritin": np.round(rng.lognormal(7, 1, n)),
            "lactate": np.round(rng.lognormal(0.4, 0.5, n), 1),
            "fluid": rng.choice([0, 500, 1000, 1500, 2000], n).astype(float),
            "sex": rng.choice(["M", "F"], n),
            "malignancy": rng.choice(["DLBCL", "ALL", "MM"], n, p=[0.74, 0.24, 0.02]),
            "neutropenia": rng.random(n) < 0.66,
            "vasopressors": rng.random(n) < 0.25,
            "icans": rng.random(n) < 0.37,
            "product": rng.choice(["axi-cel", "tisa-cel", "brexu-cel"], n),
        }
    )
    for col in ("bmi", "ferritin", "lactate"):
        d.loc[rng.random(n) < 0.03, col] = np.nan
    return d


def timed(fn, repeat: int = 1) -> float:
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def tableone_time(
    d: pd.DataFrame,
    variables: list[str],
    categorical: list[str],
    continuous: list[str],
    repeat: int = 3,
) -> float | None:
    """Best of ``repeat``: seconds tableone takes for the same table with p-values (None if
    it is not installed)."""
    try:
        from tableone import TableOne
    except ImportError:
        return None
    return timed(
        lambda: TableOne(
            d,
            columns=variables,
            categorical=categorical,
            nonnormal=continuous,
            groupby="group",
            pval=True,
        ),
        repeat=repeat,
    )


def kinds(d: pd.DataFrame, variables: list[str]) -> tuple[list[str], list[str]]:
    """The kinds core.stats.compare infers: text and booleans categorical, numbers continuous
    (tableone is told the same)."""
    categorical = [
        c
        for c in variables
        if pd.api.types.is_bool_dtype(d[c]) or not pd.api.types.is_numeric_dtype(d[c])
    ]
    return categorical, [c for c in variables if c not in categorical]


def versus_tableone(n: int = 100_000) -> tuple[float, float | None, int]:
    """The same grouped table of ``n`` synthetic patients by core.stats.compare and by
    tableone, interleaved, best of 3 each: (core s, tableone s or None, variables)."""
    d = synthetic(n)
    variables = [c for c in d.columns if c != "group"]
    categorical, continuous = kinds(d, variables)
    core, other = math.inf, math.inf
    for _ in range(3):
        core = min(core, timed(lambda: compare_groups(d, "group", variables)))
        t = tableone_time(d, variables, categorical, continuous, repeat=1)
        if t is None:
            return core, None, len(variables)
        other = min(other, t)
    return core, other, len(variables)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    d = synthetic(n)
    variables = [c for c in d.columns if c != "group"]
    rows = []

    res = compare_groups(d, "group", variables)
    methods = res.drop_duplicates("variable")["test"].value_counts().to_dict()
    rows.append(
        (
            "compare_groups (pandas), 4 groups",
            n,
            len(variables),
            timed(lambda: compare_groups(d, "group", variables), repeat=3),
        )
    )
    two = d[d["group"].isin(["CRS", "Sepsis"])]
    rows.append(
        (
            "compare_groups (pandas), 2 groups",
            len(two),
            len(variables),
            timed(lambda: compare_groups(two, "group", variables)),
        )
    )
    small = d.sample(71, random_state=1)
    rows.append(
        (
            "compare_groups, paper size",
            71,
            len(variables),
            timed(lambda: compare_groups(small, "group", variables), repeat=3),
        )
    )

    categorical, continuous = kinds(d, variables)
    t_core = min(s for name, _, _, s in rows if name.startswith("compare_groups") and "4" in name)
    t_tableone = tableone_time(d, variables, categorical, continuous)

    print(f"\ncore.stats.compare benchmark ({n:,} synthetic patients)")
    print(f"{'step':42s} {'rows':>9s} {'vars':>5s} {'seconds':>9s}")
    for name, k, v, s in rows:
        print(f"{name:42s} {k:>9,d} {v:>5d} {s:>9.3f}")
    print("tests used (4 groups):", methods)
    if t_tableone is None:
        print("tableone is not installed (pip install -r requirements-dev.txt): no ratio")
    else:
        print(
            f"\nsame grouped table with p-values, {n:,} patients x {len(variables)} variables:\n"
            f"  tableone {t_tableone:.3f} s, core.stats.compare {t_core:.3f} s: "
            f"core is {t_tableone / t_core:.1f}x faster (goal >= 10x; core's Monte Carlo "
            f"in {MC_STREAMS} threads, tableone in one)"
        )
    print("\nFisher's exact test against R: python bench/bench_fisher.py")


if __name__ == "__main__":
    main()
