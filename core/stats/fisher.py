"""Fisher's exact test for r x c contingency tables, matching R's ``fisher.test``.

R (``stats::fisher.test``, two-sided, ``simulate.p.value = FALSE``) sums the null
probabilities of every table with the observed margins whose probability is at most the
observed one times ``1 + 1e-7``.  For 2 x 2 tables R uses the hypergeometric distribution
(we call :func:`scipy.stats.fisher_exact`, which implements the same definition); for
larger tables R calls FEXACT, the network algorithm of Mehta & Patel (1983, 1986).

This module implements a network algorithm in the same spirit:

* columns are processed one at a time; a *node* is the vector of row margins still to be
  filled, **sorted** (permuting rows of the unfilled remainder does not change any
  probability), so that equivalent partial tables merge;
* a table's probability factorises into one multivariate-hypergeometric draw per column,
  so every node carries a list of distinct *past* log-probabilities with multiplicities,
  and the probabilities of all completions of a node sum to one;
* each node gets a valid upper bound on its most probable completion (a Lagrangian
  relaxation with row multipliers ``log r_i`` / column multipliers ``log c_j``) and a
  valid lower bound on its least probable completion (largest-first filling).  When
  ``past + max <= threshold`` the whole mass ``exp(past)`` is added at once; when
  ``past + min > threshold`` the path is dropped; otherwise it is expanded;
* with two columns left the completions are a single column draw, summed directly.

Everything is in log space.  When the exact search exceeds ``time_budget`` seconds the
function falls back to a seeded Monte Carlo test (``n_resamples`` random tables from
:func:`scipy.stats.random_table`, R's ``simulate.p.value = TRUE``) and says so in
:attr:`FisherResult.method`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.stats as st
from scipy.special import gammaln

__all__ = ["METHOD_EXACT", "R_RELATIVE_TOLERANCE", "FisherResult", "fisher_test"]

#: R's ``fisher.test`` counts tables with probability <= observed * (1 + 1e-7).
R_RELATIVE_TOLERANCE = 1e-7
METHOD_EXACT = "Fisher exact"


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
        Why the p-value is NaN, or that Monte Carlo was used; empty otherwise.
    shape : tuple[int, int]
        Shape of the table actually tested (after dropping all-zero rows/columns).
    """

    p_value: float
    method: str
    note: str = ""
    shape: tuple[int, int] = (0, 0)


class _Timeout(Exception):
    pass


def fisher_test(
    table: object,
    *,
    time_budget: float = 2.0,
    n_resamples: int = 100_000,
    seed: int = 20240101,
) -> FisherResult:
    """Two-sided Fisher exact test on an r x c table, equal to R's ``fisher.test(x)``.

    Parameters
    ----------
    table : array_like of non-negative integers, 2-D
        Contingency table (rows x columns).  All-zero rows and columns are dropped (they
        do not change the p-value; R's ``fisher.test(x, y)`` on factors drops them too).
    time_budget : float, default 2.0
        Seconds allowed for the exact network search before falling back to Monte Carlo.
        ``math.inf`` never falls back.
    n_resamples : int, default 100000
        Number of random tables for the Monte Carlo fallback (at least 100000 advised).
    seed : int
        Seed of the Monte Carlo fallback, so results are reproducible.

    Returns
    -------
    FisherResult
        ``p_value`` equals R's ``fisher.test(x)$p.value`` (two-sided) to ~1e-9 relative
        for exact results.  When fewer than two non-empty rows or columns remain, R stops
        with "'x' must have at least 2 rows and columns"; we return NaN with that note.

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
    deadline = time.perf_counter() + time_budget
    try:
        if _work_estimate(xi) > _MAX_WORK:
            raise _Timeout  # hopeless within any interactive budget: go straight to MC
        p = _network_pvalue(xi, deadline)
        return FisherResult(p, METHOD_EXACT, "", shape)
    except _Timeout:
        p = _monte_carlo_pvalue(xi, n_resamples, seed)
        note = f"exact search exceeded {time_budget:g} s; Monte Carlo with seed {seed}"
        return FisherResult(p, _method_mc(n_resamples), note, shape)


_MAX_WORK = 2e8


def _work_estimate(table: np.ndarray) -> float:
    """Rough size of one network stage: (nodes bound) x (draws of the largest column)."""
    k = min(table.shape)
    n = int(table.sum())
    biggest = int(max(table.sum(axis=0).max(), table.sum(axis=1).max()))
    nodes = math.comb(n + k - 1, k - 1) / math.factorial(k)
    draws = math.comb(min(biggest, n) + k - 1, k - 1)
    return nodes * draws


def _monte_carlo_pvalue(table: np.ndarray, n_resamples: int, seed: int) -> float:
    """R ``fisher.test(x, simulate.p.value = TRUE, B = n_resamples)``: ``(1 + k) / (B + 1)``.

    Tables are drawn with :func:`scipy.stats.random_table` (Patefield's algorithm, as R's
    ``r2dtable``) from a seeded generator; ``k`` counts tables whose null probability is at
    most the observed one times ``1 + 1e-7``.  (scipy's own ``fisher_exact(method=
    MonteCarloMethod(...))`` mis-reshapes batches when the table total exceeds the batch
    size times the number of cells, so the statistic is evaluated here.)
    """
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    dist = st.random_table(rows, cols)
    rng = np.random.default_rng(seed)
    obs = -gammaln(table + 1.0).sum() + math.log1p(R_RELATIVE_TOLERANCE)
    hits = 0
    done = 0
    while done < n_resamples:
        size = min(10_000, n_resamples - done)
        sims = dist.rvs(size=size, random_state=rng)
        hits += int((-gammaln(sims + 1.0).sum(axis=(1, 2)) <= obs).sum())
        done += size
    return (1 + hits) / (n_resamples + 1)


# ---------------------------------------------------------------------------------------
# network algorithm
# ---------------------------------------------------------------------------------------


def _compositions(caps: np.ndarray, total: int) -> np.ndarray:
    """All integer vectors ``x`` with ``0 <= x <= caps`` and ``sum(x) == total`` (T x k)."""
    k = len(caps)
    suffix = np.concatenate([np.cumsum(caps[::-1])[::-1], [0]])
    cols: list[np.ndarray] = []
    partial = np.zeros(1, dtype=np.int64)
    for i in range(k - 1):
        rem = total - partial
        lo = np.maximum(0, rem - suffix[i + 1])
        hi = np.minimum(caps[i], rem)
        counts = np.maximum(hi - lo + 1, 0)
        idx = np.repeat(np.arange(len(partial)), counts)
        starts = np.cumsum(counts) - counts
        vals = lo[idx] + (np.arange(len(idx)) - starts[idx])
        cols = [c[idx] for c in cols]
        cols.append(vals)
        partial = partial[idx] + vals
    cols.append(total - partial)
    return np.column_stack(cols)


class _Network:
    def __init__(self, table: np.ndarray, deadline: float) -> None:
        # Nodes are vectors over the smaller dimension; stages run over the larger one.
        if table.shape[0] > table.shape[1]:
            table = table.T
        self.rows = np.sort(table.sum(axis=1))[::-1].copy()
        # largest columns first: their big enumerations happen while there are few nodes
        self.cols = np.sort(table.sum(axis=0))[::-1].copy()
        self.n = int(table.sum())
        self.lf = gammaln(np.arange(self.n + 2, dtype=float) + 1.0)  # lf[k] = log(k!)
        lf = self.lf
        obs = lf[self.rows].sum() + lf[self.cols].sum() - lf[self.n] - lf[table].sum()
        self.threshold = obs + math.log1p(R_RELATIVE_TOLERANCE)
        self.deadline = deadline
        self.log_int = np.log(np.arange(1, self.n + 1, dtype=float))  # log(t), t=1..n
        self._bound_cache: dict[tuple[int, tuple[int, ...]], tuple[float, float]] = {}
        self._future_cache: dict[tuple[int, tuple[int, ...]], tuple[np.ndarray, np.ndarray]] = {}
        self.max_pairs = 20_000_000  # memory guard: beyond it, treat as over budget
        self._cached_values = 0
        self.max_draws = 3_000_000

    # -- bounds ------------------------------------------------------------------------
    def _min_sum_lf(self, a: np.ndarray, b: np.ndarray) -> float:
        """Lower bound of min sum log(x_ij!) over tables with margins a (rows), b (cols).

        Lagrangian relaxation of the row constraints with multipliers log(a_i): each
        column independently takes its b_j cheapest increments log(t / a_i).
        """
        a = a[a > 0]
        parts = [self.log_int[:ai] - math.log(ai) for ai in a.tolist()]
        v = np.sort(np.concatenate(parts))
        cum = np.concatenate([[0.0], np.cumsum(v)])
        return float(cum[b].sum() + (a * np.log(a)).sum())

    def _max_sum_lf(self, a: np.ndarray, b: np.ndarray) -> float:
        """Upper bound of max sum log(x_ij!): each column filled into the largest caps."""
        caps = np.sort(a)[::-1]
        cum_caps = np.concatenate([[0], np.cumsum(caps)])
        total = 0.0
        lf = self.lf
        for bj in b.tolist():
            full = int(np.searchsorted(cum_caps, bj, side="right")) - 1  # caps filled
            total += float(lf[caps[:full]].sum())
            if full < len(caps):
                total += float(lf[bj - cum_caps[full]])
        return total

    def bounds(self, stage: int, state: tuple[int, ...]) -> tuple[float, float]:
        """(upper bound of max, lower bound of min) future log-probability of a node."""
        key = (stage, state)
        hit = self._bound_cache.get(key)
        if hit is not None:
            return hit
        a = np.array(state, dtype=np.int64)
        b = self.cols[stage:]
        m = int(a.sum())
        lf = self.lf
        const = float(lf[a].sum() + lf[b].sum() - lf[m])
        lo_sum = max(self._min_sum_lf(a, b), self._min_sum_lf(b, a))
        hi_sum = min(self._max_sum_lf(a, b), self._max_sum_lf(b, a))
        res = (const - lo_sum + 1e-9, const - hi_sum - 1e-9)
        self._bound_cache[key] = res
        return res

    # -- search ------------------------------------------------------------------------
    def _draws(self, state: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draws of a column of total ``s`` from the (descending) row margins ``state``.

        Rows with equal margins are exchangeable, so only draws that are non-increasing
        within each block of equal margins are returned, with their multiplicity (number of
        distinct permutations).  Returns (draws T x k, log-probabilities, multiplicities).
        """
        if math.comb(s + len(state) - 1, len(state) - 1) > self.max_draws:
            raise _Timeout  # far too many tables for an exact answer in time
        x = _compositions(state, s)
        mult = np.ones(len(x))
        k = len(state)
        j = 0
        while j < k:
            e = j
            while e + 1 < k and state[e + 1] == state[j]:
                e += 1
            if e > j:
                block = x[:, j : e + 1]
                canon = np.all(block[:, :-1] >= block[:, 1:], axis=1)
                x, mult = x[canon], mult[canon]
                block = x[:, j : e + 1]
                run = np.ones(len(x))
                denom = np.ones(len(x))
                for t in range(1, e - j + 1):
                    run = np.where(block[:, t] == block[:, t - 1], run + 1, 1.0)
                    denom *= run
                mult = mult * (math.factorial(e - j + 1) / denom)
            j = e + 1
        lf = self.lf
        m = int(state.sum())
        logp = (lf[state] - lf[x] - lf[state - x]).sum(axis=1) - (lf[m] - lf[s] - lf[m - s])
        return x, logp, mult

    def _future(self, stage: int, state: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Sorted future log-probabilities of all completions of a node, with cumulative mass.

        Only used with two or three columns left.  Returns ``(values, cum)`` where
        ``cum[i]`` is the total probability of the completions with the ``i`` smallest
        values (``cum[0] == 0``).
        """
        key = (stage, state)
        hit = self._future_cache.get(key)
        if hit is not None:
            return hit
        if time.perf_counter() > self.deadline:
            raise _Timeout
        st_arr = np.array(state, dtype=np.int64)
        x, logp, mult = self._draws(st_arr, int(self.cols[stage]))
        if stage == len(self.cols) - 2:
            vals, mass = logp, mult * np.exp(logp)
        else:
            kids = np.sort(st_arr[None, :] - x, axis=1)[:, ::-1]
            parts_v, parts_m = [], []
            for row, lp, mu in zip(kids.tolist(), logp.tolist(), mult.tolist(), strict=True):
                kv, kc = self._future(stage + 1, tuple(row))
                parts_v.append(kv + lp)
                parts_m.append(np.diff(kc) * (mu * math.exp(lp)))
            vals, mass = np.concatenate(parts_v), np.concatenate(parts_m)
        order = np.argsort(vals, kind="stable")
        res = (vals[order], np.concatenate([[0.0], np.cumsum(mass[order])]))
        self._cached_values += len(vals)
        if self._cached_values > self.max_pairs:
            raise _Timeout
        self._future_cache[key] = res
        return res

    def _future_size(self, stage: int, state: tuple[int, ...], limit: int) -> int:
        """Completions in the future list of a node with three columns left (stops > limit)."""
        st_arr = np.array(state, dtype=np.int64)
        x, _, _ = self._draws(st_arr, int(self.cols[stage]))
        if len(x) > limit:
            return len(x)
        kids = np.sort(st_arr[None, :] - x, axis=1)[:, ::-1]
        total = 0
        for r in kids.tolist():
            total += len(self._future(stage + 1, tuple(r))[0])
            if total > limit:
                break
        return total

    def run(self) -> float:
        thr = self.threshold
        ncol = len(self.cols)
        k = len(self.rows)
        base = self.n + 1
        radix = base ** np.arange(k, dtype=np.int64)
        nodes: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {
            tuple(self.rows.tolist()): (np.zeros(1), np.ones(1))
        }
        pvalue = 0.0
        pairs = 0
        for stage in range(ncol - 1):
            out_codes: list[np.ndarray] = []
            out_vals: list[np.ndarray] = []
            out_w: list[np.ndarray] = []
            s = int(self.cols[stage])
            for state, (past, weight) in nodes.items():
                if time.perf_counter() > self.deadline:
                    raise _Timeout
                hi, lo = self.bounds(stage, state)
                accept = past + hi <= thr
                if accept.any():
                    pvalue += float((weight[accept] * np.exp(past[accept])).sum())
                open_ = ~accept & (past + lo <= thr)
                if not open_.any():
                    continue
                past, weight = past[open_], weight[open_]
                st_arr = np.array(state, dtype=np.int64)
                x, logp, mult = self._draws(st_arr, s)
                if stage == ncol - 2 or (
                    stage == ncol - 3
                    and self._future_size(stage, state, len(past) * len(logp))
                    <= len(past) * len(logp)
                ):
                    # sum the node's completions directly from its (cached) future list
                    vals, cum = self._future(stage, state)
                    idx = np.searchsorted(vals, thr - past, side="right")
                    pvalue += float((weight * np.exp(past) * cum[idx]).sum())
                    continue
                pairs += len(past) * len(logp)
                if pairs > self.max_pairs:
                    raise _Timeout
                nxt = np.sort(st_arr[None, :] - x, axis=1)[:, ::-1]
                codes = nxt @ radix
                out_codes.append(np.repeat(codes, len(past)))
                out_vals.append((logp[:, None] + past[None, :]).ravel())
                out_w.append((mult[:, None] * weight[None, :]).ravel())
            if stage == ncol - 2 or not out_codes:
                break
            nodes = self._merge(out_codes, out_vals, out_w, k, base, stage + 1 < ncol - 2)
        return min(pvalue, 1.0)

    @staticmethod
    def _merge(codes_l, vals_l, w_l, k, base, merge_values):
        codes = np.concatenate(codes_l)
        vals = np.concatenate(vals_l)
        w = np.concatenate(w_l)
        if merge_values:
            # merge paths with equal past probability (to 1e-9) into one entry
            key = np.round(vals, 9)
            order = np.lexsort((key, codes))
            codes, key, vals, w = codes[order], key[order], vals[order], w[order]
            new_group = np.ones(len(codes), dtype=bool)
            new_group[1:] = (codes[1:] != codes[:-1]) | (key[1:] != key[:-1])
            gidx = np.flatnonzero(new_group)
            g_codes = codes[gidx]
            g_vals = vals[gidx]
            g_w = np.add.reduceat(w, gidx)
        else:
            # the next stage sums a single column draw per path: grouping by node suffices
            order = np.argsort(codes, kind="stable")
            g_codes, g_vals, g_w = codes[order], vals[order], w[order]
        node_start = np.flatnonzero(np.r_[True, g_codes[1:] != g_codes[:-1]])
        node_end = np.r_[node_start[1:], len(g_codes)]
        nodes = {}
        for s0, e0 in zip(node_start.tolist(), node_end.tolist(), strict=True):
            c = int(g_codes[s0])
            digits = []
            for _ in range(k):
                digits.append(c % base)
                c //= base
            nodes[tuple(digits)] = (g_vals[s0:e0], g_w[s0:e0])
        return nodes


def _network_pvalue(table: np.ndarray, deadline: float) -> float:
    return _Network(table, deadline).run()
