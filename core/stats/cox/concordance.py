"""Harrell's concordance = R ``concordance(fit)`` / ``fit$concordance`` (``timewt = "n"``), with
R's standard error (``concordance(...)$var``, the infinitesimal jackknife).

No maintained Python library gives R's variance (lifelines and scikit-survival return the
C-index alone), so the per-patient pair counts behind it are computed here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


# --------------------------------------------------------------------------------------
# concordance
# --------------------------------------------------------------------------------------
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
    ev_o = ev[order]
    lt_each, le_each = _later_counts(rank[order], np.ones(n))  # per patient, in that order
    conc, le = int(np.rint(lt_each[ev_o].sum())), int(np.rint(le_each[ev_o].sum()))
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


def _later_counts(rank: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position p: the weight of later positions q > p with ``rank_q < rank_p``,
    and with ``rank_q <= rank_p``.

    Bottom-up merge sort in NumPy: at the level with block size s every pair p < q sits once
    in a (left, right) pair of sibling blocks, both already sorted; counts come from
    ``searchsorted`` on the right block's cumulative weights, the merged order from the
    unweighted counts. O(n log^2 n), no Python loop over patients.
    """
    n = len(rank)
    lt_out = np.zeros(n)
    le_out = np.zeros(n)
    if n < 2:
        return lt_out, le_out
    if int(np.max(rank)) + 1 <= _few_levels(n):
        return _later_counts_by_level(rank, weight)
    V = np.asarray(rank, dtype=np.int64).copy()
    W = np.asarray(weight, dtype=float).copy()
    ID = np.arange(n)
    K = int(V.max()) + 2
    idx = np.arange(n)
    s = 1
    while s < n:
        block = idx // s
        pair = block >> 1
        isright = (block & 1).astype(bool)
        isleft = ~isright
        pr, pl = pair[isright], pair[isleft]
        kr = pr * K + V[isright]
        kl = pl * K + V[isleft]
        cw = np.concatenate([[0.0], np.cumsum(W[isright])])
        start = cw[np.minimum(pl * s, len(kr))]
        ins_lt = np.searchsorted(kr, kl, "left")
        ins_le = np.searchsorted(kr, kl, "right")
        lt_out[ID[isleft]] += cw[ins_lt] - start
        le_out[ID[isleft]] += cw[ins_le] - start
        n_lt = ins_lt - pl * s
        n_le = np.searchsorted(kl, kr, "right") - pr * s
        newpos = np.empty(n, dtype=np.int64)
        newpos[isleft] = idx[isleft] + n_lt
        newpos[isright] = idx[isright] - s + n_le
        for arr in (V, W, ID):
            arr[newpos] = arr.copy()
        s *= 2
    return lt_out, le_out


def _few_levels(n: int) -> int:
    """Most distinct ranks for which :func:`_later_counts_by_level` (K passes over n) is
    faster than the merge sort (log2 n levels, each with searchsorted): measured crossover
    near (log2 n)^2 / 2 (a 3-covariate score on 1,000,000 patients has ~160 values)."""
    return max(8, int(np.log2(max(n, 2)) ** 2) // 2)


def _later_counts_by_level(rank: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_later_counts` for dense ranks 0..K-1 with few levels: for each level, the
    suffix sums of its weights; ``below[p]`` accumulates those of the lower levels. O(K n)."""
    rank = np.asarray(rank, dtype=np.int64)
    weight = np.asarray(weight, dtype=float)
    n = len(rank)
    lt_out = np.zeros(n)
    le_out = np.zeros(n)
    below = np.zeros(n + 1)  # below[p] = weight of positions q >= p with a lower rank so far
    for level in range(int(rank.max()) + 1):
        at = np.flatnonzero(rank == level)
        if not len(at):
            continue
        mine = np.zeros(n + 1)
        mine[at] = weight[at]
        suffix = np.cumsum(mine[::-1])[::-1]  # suffix[p] = weight of this level at q >= p
        lt_out[at] = below[at + 1]
        le_out[at] = below[at + 1] + suffix[at + 1]
        below += suffix
    return lt_out, le_out


def concordance_se(time: np.ndarray, status: np.ndarray, risk: np.ndarray) -> float:
    """Standard error of Harrell's C, = ``sqrt(concordance(...)$var)`` of R's survival.

    R's infinitesimal-jackknife variance: with, for each patient, the comparable pairs it
    belongs to split into concordant ``c_i``, discordant ``d_i`` and tied-on-risk ``t_i``,
    ``npair`` the comparable pairs and Somers' ``D = (C - D) / npair``,
    ``dfbeta_i = ((c_i - d_i) - (c_i + d_i + t_i) D) / (2 npair)`` and ``var = sum dfbeta_i^2``.
    Counts by merge sorts, O(n log^2 n).
    """
    time = np.asarray(time, dtype=float)
    return _weighted_concordance(time, status, risk, np.ones(len(time)))[1]


def uno_concordance(
    time: np.ndarray, status: np.ndarray, risk: np.ndarray, *, ymax: float | None = None
) -> tuple[float, float]:
    """Uno's C and its standard error, = R ``concordance(..., timewt = "n/G2", ymax = ymax)``.

    Each comparable pair whose earlier death is at time t weighs ``1 / G(t)^2``, G the
    Kaplan-Meier of the censoring distribution just before t (deaths before censorings at a
    tied time); deaths after ``ymax`` weigh 0. The variance is R's, with the weighted counts.
    """
    time = np.asarray(time, dtype=float)
    status = np.asarray(status, dtype=float)
    return _weighted_concordance(time, status, risk, _uno_weights(time, status, ymax))


def _uno_weights(time: np.ndarray, status: np.ndarray, ymax: float | None) -> np.ndarray:
    """1 / G(t-)^2 per patient (used for deaths only), 0 for deaths after ``ymax``."""
    times, inv = np.unique(time, return_inverse=True)
    n_risk = len(time) - np.concatenate([[0], np.cumsum(np.bincount(inv))[:-1]])
    n_cens = np.bincount(inv, weights=(status == 0).astype(float), minlength=len(times))
    n_dead = np.bincount(inv, weights=(status == 1).astype(float), minlength=len(times))
    # survival's fastkm1: at a tied time the deaths leave the risk set before the censorings
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n_cens > 0, 1.0 - n_cens / (n_risk - n_dead), 1.0)
    g_after = np.cumprod(factor)  # G(t)
    g_before = np.concatenate([[1.0], g_after[:-1]])  # G(t-)
    w = 1.0 / g_before[inv] ** 2
    if ymax is not None:
        w[time > ymax] = 0.0
    return w


def _weighted_concordance(
    time: np.ndarray, status: np.ndarray, risk: np.ndarray, w_death: np.ndarray
) -> tuple[float, float]:
    """(C, se) with each comparable pair weighted by ``w_death`` of its earlier death."""
    time = np.asarray(time, dtype=float)
    status = np.asarray(status, dtype=float)
    risk = np.asarray(risk, dtype=float)
    n = len(time)
    if n < 2:
        return float("nan"), float("nan")
    _, rank = np.unique(risk, return_inverse=True)
    ev = status == 1
    order = np.lexsort((rank, ~ev, time))  # as concordance_index: events first at a tied time
    r_o, ev_o, t_o = rank[order], ev[order], time[order]
    w_o = np.where(ev_o, np.asarray(w_death, dtype=float)[order], 0.0)
    # deaths tied in time are not comparable (tied.y), nor tied in time and risk (tied.xy);
    # within such a block the weights are equal (same time), so counts x weight suffice
    dt = pd.DataFrame({"t": t_o[ev_o], "r": r_o[ev_o]})
    same_t = dt.groupby("t")["t"].transform("size").to_numpy()
    pos_in_t = dt.groupby("t").cumcount().to_numpy()
    n_tr = dt.groupby(["t", "r"])["t"].transform("size").to_numpy()
    pos_tr = dt.groupby(["t", "r"]).cumcount().to_numpy()
    w_ev = w_o[ev_o]

    def on_deaths(values: np.ndarray) -> np.ndarray:
        out = np.zeros(n)
        out[ev_o] = values
        return out

    # (a) patient p as the earlier death: every later patient but the deaths tied with it
    lt_a, le_a = _later_counts(r_o, np.ones(n))
    after = n - 1 - np.arange(n)
    comp_a = w_o * (after - on_deaths(same_t - 1 - pos_in_t))
    conc_a = w_o * lt_a
    tie_a = w_o * (le_a - lt_a - on_deaths(n_tr - 1 - pos_tr))
    # (b) patient p as the later one: the earlier deaths (not those tied with it if it died);
    # reversed order and negated ranks turn "earlier with higher risk" into _later_counts
    rev = slice(None, None, -1)
    lt_b, le_b = _later_counts((r_o.max() - r_o)[rev], w_o[rev])
    lt_b, le_b = lt_b[rev], le_b[rev]
    deaths_before = np.concatenate([[0.0], np.cumsum(w_o)[:-1]])
    comp_b = deaths_before - on_deaths(pos_in_t * w_ev)
    tie_b = le_b - lt_b - on_deaths(pos_tr * w_ev)
    c_i = conc_a + lt_b
    t_i = tie_a + tie_b
    d_i = (comp_a + comp_b) - c_i - t_i
    npair = (c_i + d_i + t_i).sum() / 2
    if npair <= 0:
        return float("nan"), float("nan")
    somers = (c_i.sum() - d_i.sum()) / 2 / npair
    dfbeta = ((c_i - d_i) - (c_i + d_i + t_i) * somers) / (2 * npair)
    return float((somers + 1) / 2), float(np.sqrt(np.sum(dfbeta**2)))
