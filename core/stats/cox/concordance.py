"""Harrell's concordance = R ``concordance(fit)`` / ``fit$concordance`` (``timewt = "n"``)."""

from __future__ import annotations

import numpy as np
import pandas as pd


# --------------------------------------------------------------------------------------
# concordance
# --------------------------------------------------------------------------------------
def _count_after(rank: np.ndarray, count_for: np.ndarray) -> tuple[int, int]:
    """Sums over i with ``count_for[i]`` of #{j > i: rank_j < rank_i} and of <=.

    Bottom-up merge sort in NumPy: at the level with block size s every pair i < j sits once
    in a (left, right) pair of sibling blocks, both already sorted; counts come from
    ``searchsorted`` and the merged order from the same counts.  O(n log^2 n), no Python loop
    over subjects.
    """
    n = len(rank)
    V = np.asarray(rank, dtype=np.int64).copy()
    F = np.asarray(count_for, dtype=bool).copy()
    if n < 2:
        return 0, 0
    K = int(V.max()) + 2
    idx = np.arange(n)
    lt = le = 0
    s = 1
    while s < n:
        block = idx // s
        pair = block >> 1
        isright = (block & 1).astype(bool)
        isleft = ~isright
        pr, pl = pair[isright], pair[isleft]
        kr = pr * K + V[isright]  # sorted: pairs ascending, ranks sorted within a block
        kl = pl * K + V[isleft]
        n_lt = np.searchsorted(kr, kl, "left") - pl * s  # right-block ranks < each left one
        fl = F[isleft]
        lt += int(n_lt[fl].sum())
        le += int((np.searchsorted(kr, kl[fl], "right") - pl[fl] * s).sum())
        n_le = np.searchsorted(kl, kr, "right") - pr * s  # left-block ranks <= each right one
        newpos = np.empty(n, dtype=np.int64)
        newpos[isleft] = idx[isleft] + n_lt
        newpos[isright] = idx[isright] - s + n_le
        V2 = np.empty_like(V)
        F2 = np.empty_like(F)
        V2[newpos] = V
        F2[newpos] = F
        V, F = V2, F2
        s *= 2
    return lt, le


def concordance_index(
    time: np.ndarray, status: np.ndarray, risk: np.ndarray, *, counts: bool = False
) -> float | dict[str, float]:
    """Harrell's C for a risk score (higher = earlier death), = R ``concordance(fit)``.

    A pair is comparable when the shorter time is an event; an event and a censoring at the
    same time are comparable (the censored subject outlived the event); two events at the same
    time are ``tied.y`` and not comparable.  ``C = (concordant + tied.x / 2) / (concordant +
    discordant + tied.x)``, with ``tied.x`` comparable pairs of equal risk score (exact
    equality, as R).  O(n log^2 n).

    Parameters
    ----------
    counts : bool
        Return R's counts (concordant, discordant, tied_x, tied_y, tied_xy, concordance).
    """
    time = np.asarray(time, dtype=float)
    status = np.asarray(status, dtype=float)
    risk = np.asarray(risk, dtype=float)
    n = len(time)
    _, rank = np.unique(risk, return_inverse=True)
    ev = status == 1
    # time ascending, events before censorings at a tied time, risk ascending within a block of
    # tied deaths (so a later tied death never has a lower risk: no false concordant pair)
    order = np.lexsort((rank, ~ev, time))
    conc, le = _count_after(rank[order], ev[order])
    ev_o = ev[order]
    dcount = pd.Series(time[ev]).value_counts().to_numpy()
    death_pairs = int((dcount * (dcount - 1) // 2).sum())
    # equal-risk pairs inside a block of tied deaths are tied.xy, not tied.x
    m = pd.DataFrame({"t": time[ev], "r": rank[ev]}).groupby(["t", "r"]).size().to_numpy()
    tied_xy = int((m * (m - 1) // 2).sum())
    tied_x = le - conc - tied_xy
    tied_y = death_pairs - tied_xy
    comparable = int((n - 1 - np.flatnonzero(ev_o)).sum()) - death_pairs
    disc = comparable - conc - tied_x
    denom = conc + disc + tied_x
    c = (conc + tied_x / 2) / denom if denom > 0 else float("nan")
    if counts:
        return {
            "concordant": float(conc),
            "discordant": float(disc),
            "tied_x": float(tied_x),
            "tied_y": float(tied_y),
            "tied_xy": float(tied_xy),
            "concordance": c,
        }
    return c
