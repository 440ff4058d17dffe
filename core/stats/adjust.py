"""Multiple-testing adjustment of p-values = R ``p.adjust`` (the one implementation).

Used by the comparison table (across variables) and by pairwise log-rank tests (across pairs).
The arithmetic is statsmodels' ``multipletests``; this wrapper adds R's names and R's handling
of missing p-values (``NA`` stays ``NA`` and does not count in ``n``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: R ``p.adjust`` method (lower case, as accepted here) -> statsmodels ``multipletests`` method.
METHODS: dict[str, str | None] = {
    "holm": "holm",
    "bonferroni": "bonferroni",
    "bh": "fdr_bh",
    "fdr": "fdr_bh",
    "none": None,
}


def p_adjust(p: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjusted p-values, equal to R ``p.adjust(p, method)``.

    Parameters
    ----------
    p : array-like of float
        Raw p-values; NaN entries are left NaN and excluded from the count (R's ``NA``).
    method : {"holm", "bonferroni", "BH", "fdr", "none"}
        Case-insensitive; "fdr" is R's alias of "BH".

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order, capped at 1.
    """
    key = str(method).lower()
    if key not in METHODS:
        raise ValueError(
            f"adjust must be one of 'holm', 'bonferroni', 'BH', 'fdr' or 'none', got {method!r}"
        )
    p = np.asarray(p, dtype=float)
    out = p.copy()
    ok = ~np.isnan(p)
    if METHODS[key] is None or not ok.any():
        return out
    if key == "holm":
        # By hand (R's p.adjust: pmin(1, cummax((n - i + 1) * p[o]))[ro]): statsmodels' Holm
        # branch calls gc.collect() on every call, 100-250 ms in a server holding many
        # objects, paid on each rerun of Compare and Survival.
        q = p[ok]
        order = np.argsort(q, kind="stable")
        n = len(q)
        adj = np.empty(n)
        adj[order] = np.minimum(1.0, np.maximum.accumulate((n - np.arange(n)) * q[order]))
        out[ok] = adj
        return out
    # imported here: statsmodels loads scipy.stats (~0.5 s), not needed on a first page
    from statsmodels.stats.multitest import multipletests

    out[ok] = multipletests(p[ok], method=METHODS[key])[1]
    return out
