"""Helpers shared by the survival-layer tests (test_survival, test_logrank, test_competing,
test_variables): the tolerance, lifelines' lung, an elementwise check and seeded data sets.

lifelines' ``load_lung`` codes status 0 = censored / 1 = dead, R's ``lung`` 1 = censored / 2 = dead;
``Surv(time, status)`` reads both the same way, so the lifelines copy is sent to R unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines.datasets import load_lung

TOL = 1e-6


def _lung() -> pd.DataFrame:
    return load_lung()


def _assert_close(a, b, what: str) -> None:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    assert (nan_a == nan_b).all(), f"{what}: NaN pattern differs"
    fin = ~nan_a & np.isfinite(a)
    assert (np.isinf(a) == np.isinf(b)).all(), f"{what}: inf pattern differs"
    if fin.any():
        err = np.max(np.abs(a[fin] - b[fin]))
        assert err < TOL, f"{what}: max abs diff {err:g}"


def _random_set(seed: int, n_groups: int, n: int = 300) -> pd.DataFrame:
    """Many tied integer times, heavy (> 50%) censoring, unequal group sizes."""
    rng = np.random.default_rng(seed)
    g = rng.choice(
        n_groups, size=n, p=np.arange(1, n_groups + 1) / np.arange(1, n_groups + 1).sum()
    )
    t = np.floor(rng.exponential(20 + 10 * g)).astype(float)
    status = (rng.random(n) < 0.38).astype(int)
    return pd.DataFrame({"time": t, "status": status, "g": [f"G{k}" for k in g]})


def _competing_set(seed: int, n: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pfs = np.floor(rng.exponential(40, n)).astype(float)
    pfs_event = (rng.random(n) < 0.6).astype(int)
    died_at_pfs = (pfs_event == 1) & (rng.random(n) < 0.35)
    os_days = np.where(died_at_pfs, pfs, pfs + np.floor(rng.exponential(60, n)))
    os_event = np.where(died_at_pfs, 1, (rng.random(n) < 0.4).astype(int))
    return pd.DataFrame(
        {
            "pfs_days": pfs,
            "pfs_event": pfs_event,
            "os_days": os_days,
            "os_event": os_event,
            "arm": rng.choice(["a", "b"], n),
        }
    )
