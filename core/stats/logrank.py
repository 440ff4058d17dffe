"""Log-rank tests = R ``survdiff(..., rho = 0)``, the trend test, pairwise log-rank with adjusted
p-values, and univariable hazard ratios (= ``coxph(Surv ~ relevel(factor(group), ref))``, Efron).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.special import chdtrc, ndtr

from core.stats.adjust import p_adjust
from core.stats.cox.engine import CoxFitError, _newton, _RiskSets
from core.stats.survival import _Z, SMALL_GROUP, _count_cached, _Counts, _Data, _prepare


# --------------------------------------------------------------------------------------
# log-rank family
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogrankResult:
    """Log-rank (or trend) test.

    ``table`` has group, n, observed, expected; ``warning`` is set (and the test should not be
    shown) when any group has fewer than ``SMALL_GROUP`` patients.
    """

    statistic: float
    dof: int
    p_value: float
    table: pd.DataFrame
    warning: str | None
    method: str


def _oev(d: _Data, c: _Counts | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed, expected and variance matrix of ``survdiff`` (rho = 0)."""
    if c is None:
        c = _count_cached(d)
    n_groups = len(d.levels)
    if c.tot is not None:
        risk = np.cumsum(c.tot[:, ::-1], axis=1)[:, ::-1]  # (G, T): #(time >= t)
        d_all = c.dev.sum(axis=0)
        e_tid = np.flatnonzero(d_all)
        nmat = risk[:, e_tid].T.astype(float)
        dmat = c.dev[:, e_tid].T.astype(float)
    else:
        ev_rows = c.n_event > 0
        e_tid = np.unique(c.tid[ev_rows])
        nmat = np.empty((len(e_tid), n_groups))
        dmat = np.zeros((len(e_tid), n_groups))
        for k in range(n_groups):
            sl = slice(c.bounds[k], c.bounds[k + 1])
            tid_k = c.tid[sl]
            cum = np.concatenate([[0], np.cumsum(c.n_event[sl] + c.n_censor[sl])])
            nmat[:, k] = c.group_n[k] - cum[np.searchsorted(tid_k, e_tid, side="left")]
            hit = np.searchsorted(e_tid, tid_k[c.n_event[sl] > 0])
            dmat[hit, k] = c.n_event[sl][c.n_event[sl] > 0]
    n_tot = nmat.sum(axis=1)
    d_tot = dmat.sum(axis=1)
    p = nmat / n_tot[:, None]
    observed = dmat.sum(axis=0)
    expected = (p * d_tot[:, None]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(n_tot > 1, d_tot * (n_tot - d_tot) / (n_tot - 1), 0.0)
    var = np.diag((w[:, None] * p).sum(axis=0)) - (p * w[:, None]).T @ p
    return observed, expected, var


def _small_warning(d: _Data) -> str | None:
    sizes = np.bincount(d.gidx, minlength=len(d.levels))
    small = [f"{lv} (n={int(s)})" for lv, s in zip(d.levels, sizes, strict=True) if s < SMALL_GROUP]
    if small:
        return (
            f"group(s) with fewer than {SMALL_GROUP} patients: {', '.join(small)}; "
            "the test is not reliable and should not be reported"
        )
    return None


def _need_two_groups(d: _Data, group: str) -> None:
    if len(d.levels) < 2:
        raise ValueError(
            f"a log-rank test needs at least 2 groups; '{group}' has only {list(d.levels)}"
        )


def _logrank_data(d: _Data, c: _Counts | None = None) -> tuple[float, int, float, pd.DataFrame]:
    observed, expected, var = _oev(d, c)
    use = expected > 0
    if use.sum() < 2:
        chi = 0.0
    else:
        diff = (observed - expected)[use][1:]
        vv = var[np.ix_(use, use)][1:, 1:]
        chi = float(np.sum(np.linalg.solve(vv, diff) * diff))
    dof = int(use.sum()) - 1
    p = float(chdtrc(dof, chi)) if dof > 0 else float("nan")
    table = pd.DataFrame(
        {
            "group": list(d.levels),
            "n": np.bincount(d.gidx, minlength=len(d.levels)),
            "observed": observed,
            "expected": expected,
        }
    )
    return chi, dof, p, table


def logrank(df: pd.DataFrame, duration: str, event: str, group: str) -> LogrankResult:
    """Log-rank test of equal survival across groups, = R ``survdiff(Surv(t, e) ~ group)``.

    Parameters
    ----------
    df : DataFrame
    duration, event, group : str

    Returns
    -------
    LogrankResult
        ``statistic`` (chisq), ``dof`` (groups with expected > 0, minus 1), ``p_value``, ``table``
        of observed/expected events, ``warning`` when a group has < 5 patients.
    """
    d = _prepare(df, duration, event, group)
    _need_two_groups(d, group)
    chi, dof, p, table = _logrank_data(d)
    return LogrankResult(chi, dof, p, table, _small_warning(d), "log-rank (survdiff, rho = 0)")


TREND_SCORES = ("levels", "equal")


def logrank_trend(
    df: pd.DataFrame,
    duration: str,
    event: str,
    group: str,
    scores: dict | str | None = None,
) -> LogrankResult:
    """Log-rank test for trend across ordered groups (1 df).

    ``chisq = (sum_k w_k (O_k - E_k))^2 / (w' V w)`` with O, E, V from ``survdiff``; this equals
    the score test of R ``coxph(Surv(t, e) ~ w, ties = "exact")`` with the numeric score ``w``
    (Collett, *Modelling Survival Data in Medical Research*, 3rd ed., section 2.6.4).  Scores
    that differ by a shift or a common factor give the same test.

    Parameters
    ----------
    scores : dict, "levels", "equal" or None
        Score for each group level.  ``"levels"`` (and None, the default): the level itself
        when all levels are numeric (e.g. ECOG PS 0-4), else 1, 2, ... in level order.
        ``"equal"``: equally spaced 1, 2, ..., k in level order whatever the levels (the
        scores of survminer's ``test.for.trend = TRUE``; = the score test of R
        ``coxph(Surv ~ as.integer(factor(group)))``); it differs from the levels
        only when they are not equally spaced (PS 0, 1, 3).  The scores used are the
        ``score`` column of the result's ``table``.
    """
    d = _prepare(df, duration, event, group)
    _need_two_groups(d, group)
    if isinstance(scores, str) and scores not in TREND_SCORES:
        raise ValueError(f"scores must be a dict or one of {', '.join(TREND_SCORES)}")
    numeric = all(isinstance(v, int | float | np.integer | np.floating) for v in d.levels)
    if scores is None or scores == "levels":
        if numeric:
            w = np.asarray(d.levels, dtype=float)
        else:
            w = np.arange(1, len(d.levels) + 1, dtype=float)
    elif scores == "equal":
        w = np.arange(1, len(d.levels) + 1, dtype=float)
    else:
        missing = [lv for lv in d.levels if lv not in scores]
        if missing:
            raise ValueError(f"scores missing for group level(s) {missing}")
        w = np.asarray([float(scores[lv]) for lv in d.levels])
    observed, expected, var = _oev(d)
    denom = float(w @ var @ w)
    if denom <= 0:
        raise ValueError("trend test undefined: no variance (all groups share one score?)")
    chi = float((w @ (observed - expected)) ** 2 / denom)
    table = pd.DataFrame(
        {
            "group": list(d.levels),
            "score": w,
            "n": np.bincount(d.gidx, minlength=len(d.levels)),
            "observed": observed,
            "expected": expected,
        }
    )
    return LogrankResult(
        chi,
        1,
        float(chdtrc(1, chi)),
        table,
        _small_warning(d),
        "log-rank test for trend (coxph score test, ties = 'exact')",
    )


def pairwise_logrank(
    df: pd.DataFrame, duration: str, event: str, group: str, adjust: str = "holm"
) -> pd.DataFrame:
    """Log-rank test for every pair of groups, p adjusted as R ``p.adjust(p, method = adjust)``.

    Each pair is ``survdiff`` on the two groups' patients only (as survminer's
    ``pairwise_survdiff``).

    Returns
    -------
    DataFrame
        group_a, group_b, n_a, n_b, statistic, p_value, p_adjusted, warning.
    """
    p_adjust(np.array([]), adjust)  # validate early
    d = _prepare(df, duration, event, group)
    _need_two_groups(d, group)
    rows = []
    for a, b in combinations(range(len(d.levels)), 2):
        keep = (d.gidx == a) | (d.gidx == b)
        sub = _Data(
            d.time[keep],
            d.event[keep],
            (d.gidx[keep] == b).astype(np.int64),
            (d.levels[a], d.levels[b]),
        )
        chi, _, p, _ = _logrank_data(sub)
        rows.append(
            {
                "group_a": d.levels[a],
                "group_b": d.levels[b],
                "n_a": int((d.gidx == a).sum()),
                "n_b": int((d.gidx == b).sum()),
                "statistic": chi,
                "p_value": p,
                "warning": _small_warning(sub),
            }
        )
    out = pd.DataFrame(rows)
    out.insert(6, "p_adjusted", p_adjust(out["p_value"].to_numpy(), adjust))
    return out


# --------------------------------------------------------------------------------------
# Cox univariable hazard ratios
# --------------------------------------------------------------------------------------
def _cox_efron(time: np.ndarray, event: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and covariance of ``coxph(Surv(time, event) ~ x, ties = "efron")``.

    The one Efron fitter of the app (:mod:`core.stats.cox.engine`, R's ``coxfit6``) on the
    indicator columns ``x`` (centred, as R does; the coefficients do not change).
    """
    rs = _RiskSets(time, event, x - x.mean(axis=0), "efron")
    fit = _newton(rs, np.zeros(x.shape[1]))
    return fit.beta, fit.var


def univariable_hr(
    df: pd.DataFrame, duration: str, event: str, group: str, reference=None
) -> pd.DataFrame:
    """Hazard ratio of each group level versus ``reference`` from a Cox model (Efron ties).

    Equals R ``summary(coxph(Surv(t, e) ~ relevel(factor(group), ref = reference)))``:
    ``exp(coef)``, Wald 95% CI ``exp(coef +- 1.96 se)`` and Wald p (``Pr(>|z|)``).  The fit is a
    Newton-Raphson of :mod:`core.stats.cox.engine` (R's ``coxfit6``; lifelines' ``CoxPHFitter``
    stops at a looser tolerance and differed from R by ~1e-5 in HR on R's lung data).

    Returns
    -------
    DataFrame
        level, n, events, hr, lower, upper, p_value, reference (bool); the reference row has
        hr = 1 and NaN CI/p.  A level without events has NaN estimates (its MLE is -inf; the
        other levels are then estimated without its patients, which is that limit); all are
        NaN when the reference level has no events.
    """
    d = _prepare(df, duration, event, group)
    _need_two_groups(d, group)
    if reference is None:
        reference = d.levels[0]
    if reference not in d.levels:
        raise ValueError(f"reference {reference!r} is not a level of '{group}': {list(d.levels)}")
    ref = d.levels.index(reference)
    sizes = np.bincount(d.gidx, minlength=len(d.levels))
    events = np.bincount(d.gidx, weights=d.event, minlength=len(d.levels)).astype(int)
    # levels without events (MLE -inf) are left out; so is everything when the reference has none
    fit_levels = [k for k in range(len(d.levels)) if k != ref and events[k] > 0]
    if events[ref] == 0:
        fit_levels = []
    keep = np.isin(d.gidx, [ref, *fit_levels])
    res = {}
    if fit_levels:
        x = np.column_stack([(d.gidx[keep] == k).astype(float) for k in fit_levels])
        try:
            coef, cov = _cox_efron(d.time[keep], d.event[keep], x)
        except (CoxFitError, np.linalg.LinAlgError):
            coef, cov = np.full(len(fit_levels), np.nan), np.full((len(fit_levels),) * 2, np.nan)
        se = np.sqrt(np.diag(cov))
        with np.errstate(over="ignore", invalid="ignore"):
            for j, k in enumerate(fit_levels):
                res[k] = (
                    float(np.exp(coef[j])),
                    float(np.exp(coef[j] - _Z * se[j])),
                    float(np.exp(coef[j] + _Z * se[j])),
                    float(2 * ndtr(-abs(coef[j] / se[j]))),
                )
    rows = []
    for k, level in enumerate(d.levels):
        if k == ref:
            hr, lo, hi, p = 1.0, np.nan, np.nan, np.nan
        else:
            hr, lo, hi, p = res.get(k, (np.nan,) * 4)
        rows.append(
            {
                "level": level,
                "n": int(sizes[k]),
                "events": int(events[k]),
                "hr": hr,
                "lower": lo,
                "upper": hi,
                "p_value": p,
                "reference": k == ref,
            }
        )
    return pd.DataFrame(rows)


def logrank_permutation(
    df: pd.DataFrame,
    duration: str,
    event: str,
    group: str,
    *,
    n_resamples: int = 2000,
    seed: int = 20170701,
) -> float:
    """Permutation p-value of the log-rank statistic, for groups too small for the chi-square.

    The group labels are shuffled over the patients (their times and events fixed) and the
    ``survdiff`` statistic recomputed; p = share of shuffles at least as extreme, with
    ``scipy.stats.permutation_test`` (independent samples, ``(b + 1) / (B + 1)``; the same
    Monte Carlo by hand when a group has a single patient, which scipy refuses).  This is
    the conditional test that R's ``coin::logrank_test(distribution = approximate(B))``
    approximates; seeded, so the same data give the same p.
    """
    from scipy.stats import permutation_test  # scipy.stats: only when the test is asked for

    d = _prepare(df, duration, event, group)
    _need_two_groups(d, group)
    idx = [np.flatnonzero(d.gidx == k) for k in range(len(d.levels))]
    idx = [i for i in idx if len(i)]

    def statistic(*samples: np.ndarray) -> float:
        gidx = np.empty(len(d.time), dtype=np.int64)
        for k, rows in enumerate(samples):
            gidx[rows.astype(np.int64)] = k
        perm = _Data(d.time, d.event, gidx, tuple(range(len(samples))))
        return _logrank_data(perm)[0]

    if min(len(i) for i in idx) < 2:  # scipy needs two patients per group: shuffle by hand
        rng = np.random.default_rng(seed)
        observed = statistic(*idx)
        sizes = np.cumsum([len(i) for i in idx])[:-1]
        rows = np.arange(len(d.time))
        hits = sum(
            statistic(*np.split(rng.permutation(rows), sizes)) >= observed * (1 - 1e-12)
            for _ in range(n_resamples)
        )
        return float((hits + 1) / (n_resamples + 1))
    res = permutation_test(
        idx,
        statistic,
        permutation_type="independent",
        n_resamples=n_resamples,
        alternative="greater",
        vectorized=False,
        random_state=np.random.default_rng(seed),
    )
    return float(res.pvalue)
