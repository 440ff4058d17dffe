"""Helpers shared by the comparison-table tests (test_compare,
test_tables_compare): seeded cohort-like data."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _data(seed: int = 7) -> pd.DataFrame:
    """Random cohort-like data: groups of unequal size, ties, missing values."""
    rng = np.random.default_rng(seed)
    n = 140
    g4 = rng.choice(["A", "B", "C", "D"], n, p=[0.4, 0.3, 0.2, 0.1])
    d = pd.DataFrame(
        {
            "g4": g4,
            "g2": np.where(rng.random(n) < 0.45, "yes", "no"),
            "cont": rng.normal(50, 10, n),  # no ties
            "score": rng.integers(0, 8, n).astype(float),  # many ties
            "lab": np.round(rng.lognormal(1, 0.8, n), 1),  # some ties
            "cat3": rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2]),
            "flag": rng.random(n) < 0.3,
        }
    )
    d.loc[rng.choice(n, 9, replace=False), "lab"] = np.nan
    d.loc[rng.choice(n, 5, replace=False), "cat3"] = None
    return d
