"""Step 3 of the reconstruction: continuous columns whose medians, quartiles and p-value sides
match the paper (annealing search; a closed form for groups of four).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd
from scipy import stats

from core.study.published import tolerance


# --------------------------------------------------------------------------------------
# Step 3: continuous variables by constrained local search
# --------------------------------------------------------------------------------------
def q7(x: np.ndarray) -> tuple[float, float, float]:
    """Median, first and third quartile as R's default quantile (type 7)."""
    q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    return float(med), float(q1), float(q3)


def group_test_p(values: np.ndarray, labels: np.ndarray) -> float:
    """Wilcoxon rank-sum (2 groups, R wilcox.test defaults) or Kruskal-Wallis (>2)."""
    groups = [values[labels == g] for g in pd.unique(labels)]
    if len(groups) == 2:
        x, y = groups
        ties = len(np.unique(values)) < len(values)
        method = "exact" if (len(x) < 50 and len(y) < 50 and not ties) else "asymptotic"
        return float(stats.mannwhitneyu(x, y, method=method, use_continuity=True).pvalue)
    if len(np.unique(values)) == 1:
        return 1.0
    return float(stats.kruskal(*groups).pvalue)


@dataclass
class ContinuousSpec:
    column: str
    name: str  # entry in published.yaml
    step: float  # data resolution (1 for integers, 0.1 for one decimal, ...)
    lo: float
    hi: float
    subset: str | None = None  # boolean column restricting who has a value
    fixed_counts: bool = False  # only swaps (keeps the overall multiset, e.g. ECOG PS counts)
    extra: dict = field(default_factory=dict)


P_MARGIN = 0.005  # keep reconstructed p-values at least this far from 0.05
P_LOG_BAND = 0.4  # |log10 p - log10 p_published| at most this (the issue: 0.48, a factor 3)


class _Targets:
    """Loss of a candidate column against its published quartiles and p-value sides.

    Evaluated ~10^5 times per column, so quartiles and rank tests are computed with the
    closed forms below (type-7 quantiles; Kruskal-Wallis and the normal-approximation
    Wilcoxon with tie and continuity corrections, chi-square tails for 1 and 3 df in closed
    form). The final column is re-checked with the R-equivalent tests in ``group_test_p``.
    """

    def __init__(self, spec: ContinuousSpec, var: dict, df: pd.DataFrame, mask: np.ndarray):
        self.penalty = spec.extra.get("penalty")
        self.sub = df[mask]
        n = len(self.sub)
        self.groups: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.tests: list[tuple[list[np.ndarray], float]] = []
        if "overall" in var:
            self._add_group(np.arange(n), var["overall"])
        for grouping in ("icu_reason", "outcome_1y"):
            if grouping not in var:
                continue
            lab = self.sub[grouping].to_numpy()
            for grp, target in var[grouping].items():
                self._add_group(np.flatnonzero(lab == grp), target)
            if grouping in var.get("p", {}):
                idx = [np.flatnonzero(lab == g) for g in pd.unique(lab)]
                self.tests.append((idx, var["p"][grouping]))

    def _add_group(self, idx: np.ndarray, target) -> None:
        med, q1, q3 = target
        t = np.array([q1, med, q3], dtype=float)
        tol = np.array([_tol(q1), _tol(med), _tol(q3)]) * 0.999
        self.groups.append((idx, t, tol, max(q3 - q1, 1e-9)))

    def quartile_loss(self, x: np.ndarray) -> float:
        total = 0.0
        for idx, t, tol, iqr in self.groups:
            got = _q7_fast(x[idx])
            excess = np.abs(got - t) - tol
            bad = excess > 0
            if bad.any():
                total += float(0.05 * bad.sum() + excess[bad].sum() / (0.2 * iqr))
        return total

    def violations(self, x: np.ndarray) -> list[tuple[np.ndarray, int, float]]:
        """(group indices, quartile position 0/1/2, signed gap target - got) of every miss."""
        out = []
        for idx, t, tol, _ in self.groups:
            got = _q7_fast(x[idx])
            for k in range(3):
                if abs(got[k] - t[k]) > tol[k]:
                    out.append((idx, k, float(t[k] - got[k])))
        return out

    def test_loss(self, x: np.ndarray, exact: bool = False) -> float:
        total = 0.0
        for idx, p_pub in self.tests:
            if exact:
                values = np.concatenate([x[i] for i in idx])
                labels = np.concatenate([np.full(len(i), k) for k, i in enumerate(idx)])
                p = group_test_p(values, labels)
            else:
                p = _rank_test_fast(x, idx)
            if p_pub < 0.05 and p > 0.05 - P_MARGIN:
                total += 1.0 + (p - 0.05 + P_MARGIN) * 10
            elif p_pub >= 0.05 and p < 0.05 + P_MARGIN:
                total += 1.0 + (0.05 + P_MARGIN - p) * 10
            # and within a factor of P_FACTOR of the published value on the log scale
            gap = abs(math.log10(max(p, 1e-300)) - math.log10(p_pub)) - P_LOG_BAND
            if gap > 0:
                total += 0.5 + gap * 5
        return total

    def loss(self, x: np.ndarray, bound: float = math.inf) -> float:
        """Loss of ``x``; returns early (a value > bound) once it exceeds ``bound``."""
        total = 0.0 if self.penalty is None else float(self.penalty(x, self.sub))
        total += self.quartile_loss(x)
        if total > bound:
            return total
        return total + self.test_loss(x)


def _q7_fast(v: np.ndarray) -> np.ndarray:
    s = np.sort(v)
    h = (len(s) - 1) * np.array([0.25, 0.5, 0.75])
    lo = np.floor(h).astype(int)
    hi = np.minimum(lo + 1, len(s) - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


def _rank_test_fast(x: np.ndarray, idx: list[np.ndarray]) -> float:
    values = np.concatenate([x[i] for i in idx])
    big_n = len(values)
    # average ranks through a sort: values are few (<= 71), argsort + run lengths is fastest
    order = np.argsort(values, kind="stable")
    sv = values[order]
    starts = np.flatnonzero(np.r_[True, sv[1:] != sv[:-1]])
    counts = np.diff(np.r_[starts, big_n])
    avg = starts + (counts + 1) / 2.0
    ranks = np.empty(big_n)
    ranks[order] = np.repeat(avg, counts)
    ties = float(np.sum(counts**3 - counts))
    if ties == big_n**3 - big_n:
        return 1.0
    sizes = [len(i) for i in idx]
    bounds = np.cumsum([0, *sizes])
    rsums = [ranks[bounds[k] : bounds[k + 1]].sum() for k in range(len(sizes))]
    if len(idx) == 2:
        n1, n2 = sizes
        w = rsums[0] - n1 * (n1 + 1) / 2
        sigma = math.sqrt(n1 * n2 / 12 * ((big_n + 1) - ties / (big_n * (big_n - 1))))
        z = max(abs(w - n1 * n2 / 2) - 0.5, 0.0) / sigma
        return math.erfc(z / math.sqrt(2))
    h = 12 / (big_n * (big_n + 1)) * sum(r * r / m for r, m in zip(rsums, sizes, strict=True))
    h = (h - 3 * (big_n + 1)) / (1 - ties / (big_n**3 - big_n))
    df = len(idx) - 1
    if df == 3:  # chi-square survival function with 3 degrees of freedom, closed form
        return math.erfc(math.sqrt(h / 2)) + math.sqrt(2 * h / math.pi) * math.exp(-h / 2)
    return float(stats.chi2.sf(h, df))


@cache
def _tol(t: float) -> float:
    return tolerance(t)


def _quantile_draw(
    n: int, med: float, q1: float, q3: float, lo: float, hi: float, tail: float = 0.9
) -> np.ndarray:
    """n values on the piecewise-linear quantile function through the published quartiles."""
    iqr = max(q3 - q1, 1e-9)
    vmin = max(lo, q1 - 0.9 * iqr)
    vmax = min(hi, q3 + tail * iqr)
    probs = np.linspace(0, 1, n) if n > 1 else np.array([0.5])
    return np.interp(probs, [0, 0.25, 0.5, 0.75, 1], [vmin, q1, med, q3, vmax])


def _four_values(med: float, q1: float, q3: float, spec: ContinuousSpec) -> list[np.ndarray]:
    """All quadruples a<=b<=c<=d on the grid with type-7 quartiles exactly (q1, med, q3).

    Type 7 on four values: q1 = a + 0.75 (b - a), median = (b + c) / 2, q3 = c + 0.25 (d - c),
    so for each b between q1 and the median, c = 2 med - b, a = 4 q1 - 3 b, d = 4 q3 - 3 c.
    """
    step = spec.step
    b_grid = np.arange(np.floor(med / step + 1e-9), np.ceil(q1 / step - 1e-9) - 1, -1) * step
    found = []
    for b in b_grid:
        c = 2 * med - b
        a, d = 4 * q1 - 3 * b, 4 * q3 - 3 * c
        vals = np.array([a, b, c, d])
        on_grid = np.allclose(_snap(vals, spec), vals, atol=1e-9)
        if a <= b <= c <= d and on_grid and spec.lo <= a and d <= spec.hi:
            found.append(np.round(vals / step) * step)
    if not found:
        raise RuntimeError(f"{spec.column}: no four grid values with quartiles {q1}, {med}, {q3}")
    return found


def _snap(x: np.ndarray, spec: ContinuousSpec) -> np.ndarray:
    return np.clip(np.round(x / spec.step) * spec.step, spec.lo, spec.hi)


def fit_continuous(
    df: pd.DataFrame,
    spec: ContinuousSpec,
    var: dict,
    rng: np.random.Generator,
    max_iter: int = 60000,
    strict: bool = True,
) -> np.ndarray:
    """Values for one continuous column meeting its published quartiles and p-value sides."""
    mask = np.ones(len(df), dtype=bool) if spec.subset is None else df[spec.subset].to_numpy()
    sub = df[mask]
    n = len(sub)
    x = np.empty(n)
    # initial draw: per reason group if Table 3 has it, else per outcome group, else overall
    for grouping in ("icu_reason", "outcome_1y", "overall"):
        if grouping in var:
            break
    tail = spec.extra.get("tail", 0.9)
    if grouping == "overall":
        x[:] = rng.permutation(_quantile_draw(n, *var["overall"], spec.lo, spec.hi))
    else:
        lab = sub[grouping].to_numpy()
        for grp, (med, q1, q3) in var[grouping].items():
            g = lab == grp
            draw = _quantile_draw(int(g.sum()), med, q1, q3, spec.lo, spec.hi, tail)
            x[g] = rng.permutation(draw)
    if "initial" in spec.extra:
        x[:] = spec.extra["initial"](sub, rng)
    x = _snap(x, spec)
    # groups of four (Disease progression) are solved exactly and then frozen
    frozen = np.zeros(n, dtype=bool)
    fours: list[tuple[np.ndarray, list[np.ndarray]]] = []
    for grp, target in var.get("icu_reason", {}).items():
        g = np.flatnonzero(sub["icu_reason"].to_numpy() == grp)
        if len(g) == 4 and not spec.fixed_counts:  # (fixed counts: swaps only)
            options = _four_values(*target, spec)
            x[g] = rng.permutation(options[rng.integers(len(options))])
            frozen[g] = True
            fours.append((g, options))
    free = np.flatnonzero(~frozen)
    targets = _Targets(spec, var, df, mask)
    reason = sub["icu_reason"].to_numpy()
    by_reason = {r: np.flatnonzero(reason == r) for r in np.unique(reason)}
    loss = targets.loss(x)
    best_x, best = x.copy(), loss
    cycle_len = max_iter // 4
    for it in range(max_iter):
        if loss == 0:
            break
        if it % cycle_len == 0:  # re-heat from the best state found so far
            x, loss = best_x.copy(), best
        temp = 0.5 * (1 - (it % cycle_len) / cycle_len) + 1e-3  # annealing schedule
        y = x.copy()
        move = rng.random()
        i = rng.choice(free)
        viol = targets.violations(x) if (move < 0.25 and not spec.fixed_counts) else []
        if fours and move > 0.97:
            # another exact solution for a group of four
            g, options = fours[rng.integers(len(fours))]
            y[g] = rng.permutation(options[rng.integers(len(options))])
        elif viol:
            # targeted move: shift one of the order statistics behind a missed quartile
            idx, k, gap = viol[rng.integers(len(viol))]
            h = (len(idx) - 1) * (0.25, 0.5, 0.75)[k]
            order = idx[np.argsort(x[idx], kind="stable")]
            cands = [p for p in {order[int(np.floor(h))], order[int(np.ceil(h))]} if not frozen[p]]
            if cands:
                p = cands[rng.integers(len(cands))]
                size = max(spec.step, abs(gap) * rng.uniform(0.5, 2.0))
                y[p] = _snap(np.array([y[p] + math.copysign(size, gap)]), spec)[0]
        elif move < 0.45 or spec.fixed_counts:
            pool = by_reason[reason[i]] if move < 0.3 else free
            j = rng.choice(pool)
            y[i], y[j] = y[j], y[i]
        elif move < 0.9:
            scale = max(spec.step, 0.05 * (spec.hi - spec.lo) * rng.random())
            y[i] = _snap(np.array([y[i] + rng.normal(0, scale)]), spec)[0]
        else:  # occasional jump anywhere in the plausible range (moves tails)
            y[i] = _snap(np.array([rng.uniform(spec.lo, spec.hi)]), spec)[0]
        threshold = loss - temp * math.log(max(rng.random(), 1e-300))
        new = targets.loss(y, bound=threshold)
        if new <= threshold:
            x, loss = y, new
            if loss < best:
                best_x, best = x.copy(), loss
    x, loss = best_x, best
    if strict and (loss > 0 or targets.test_loss(x, exact=True) > 0):
        detail = (targets.quartile_loss(x), targets.test_loss(x, exact=True))
        raise _SearchFailed(f"{spec.column}: search stopped with loss {loss:.3f} {detail}")
    full = np.full(len(df), np.nan)
    full[mask] = x
    return full


class _SearchFailed(RuntimeError):
    pass


def fit_continuous_retry(
    df: pd.DataFrame, spec: ContinuousSpec, var: dict, rng: np.random.Generator, attempts=8
) -> np.ndarray:
    """``fit_continuous`` restarted from a fresh draw (same seeded stream) until it succeeds."""
    for _ in range(attempts - 1):
        try:
            return fit_continuous(df, spec, var, rng)
        except _SearchFailed:
            continue
    return fit_continuous(df, spec, var, rng)
