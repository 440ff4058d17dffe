"""Survival analysis matching R's ``survival`` package (Therneau), vectorised with NumPy.

Every estimator here is checked against R in ``tests/test_survival.py``:

* :func:`kaplan_meier` = ``survfit(Surv(time, status) ~ group, conf.type=...)`` (Greenwood
  variance; ``std.err`` is the standard error of the cumulative hazard, i.e. se(S)/S) and the
  median table of ``print.survfit`` (``survival:::survmean``).
* :func:`logrank` = ``survdiff(..., rho = 0)``; :func:`logrank_trend` = the score test of
  ``coxph(Surv(time, status) ~ as.numeric(group), ties = "exact")`` (equivalently
  ``(w'(O-E))^2 / (w'Vw)`` with ``O``, ``E``, ``V`` from ``survdiff``).
* :func:`survival_at` = ``summary(survfit(...), times = ...)``.
* :func:`rmst` = ``print(survfit(...), rmean = tau)`` (``rmean`` and ``se(rmean)``).
* :func:`cumulative_incidence` = ``survfit(Surv(time, factor(status)) ~ group)`` (Aalen-Johansen,
  infinitesimal-jackknife standard errors and log CIs, as R).
* :func:`univariable_hr` = ``coxph(Surv(time, status) ~ relevel(factor(group), ref))`` (Efron).

Implementation notes
--------------------
lifelines' fitters are not used for the Kaplan-Meier / log-rank core: they are fitted one group at
a time over a dense timeline and were several times slower at 10^6 rows (see
``bench/bench_survival.py``); here one stable sort groups identical (group, time) pairs and every
quantity is a cumulative sum over those unique rows.  lifelines' ``AalenJohansenFitter`` randomly
*jitters tied event times*, so it cannot reproduce R on day-resolution data; the Aalen-Johansen
estimate is computed by hand instead, and so is the (small) Efron Cox fit.

Times are compared exactly.  R's ``Surv`` (``timefix = TRUE``, ``aeqSurv``) also merges times
that differ only by floating-point noise (relative 1e-8); that never matters for whole-day data.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

# scipy.special holds the distribution functions needed here (scipy.stats' chi2.sf and
# norm.sf/ppf call them underneath); importing scipy.stats adds ~0.5 s to a cold start.
from scipy.special import chdtrc, ndtr, ndtri

from core.tables.format import MISSING, interval, p_phrase

DAYS_PER_MONTH = 30.4375
SMALL_GROUP = 5
CONF_TYPES = ("log", "log-log", "plain")
_Z = float(ndtri(0.975))
_TOL = float(np.sqrt(np.finfo(float).eps))
ALL_LABEL = "All"

KM_COLUMNS = [
    "group",
    "time",
    "n_risk",
    "n_event",
    "n_censor",
    "survival",
    "std_err",
    "lower",
    "upper",
]


# --------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Data:
    time: np.ndarray  # float64, >= 0
    event: np.ndarray  # int64 0/1
    gidx: np.ndarray  # int64 group index into levels
    levels: tuple


def _check_columns(df: pd.DataFrame, cols: list[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"column(s) not in data: {missing}; available: {list(df.columns)}")
    if len(df) == 0:
        raise ValueError("no patients: the data frame is empty")


def _durations(df: pd.DataFrame, duration: str) -> np.ndarray:
    s = df[duration]
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        raise ValueError(f"duration column '{duration}' must be numeric, got dtype {s.dtype}")
    t = s.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(t)
    if bad.any():
        raise ValueError(
            f"duration column '{duration}' has {int(bad.sum())} missing or infinite value(s)"
        )
    if (t < 0).any():
        raise ValueError(
            f"duration column '{duration}' has {int((t < 0).sum())} negative value(s) "
            f"(min {t.min():g})"
        )
    return t


def _events(df: pd.DataFrame, event: str) -> np.ndarray:
    s = df[event]
    if s.dtype == bool:  # numpy bool: no missing values possible
        return s.to_numpy().astype(np.int64)
    if not pd.api.types.is_numeric_dtype(s):
        raise ValueError(f"event column '{event}' must be 0/1, got dtype {s.dtype}")
    e = s.to_numpy(dtype=float, na_value=np.nan)
    bad = ~((e == 0) | (e == 1))
    if bad.any():
        vals = pd.unique(e[bad])[:5]
        raise ValueError(
            f"event column '{event}' must be 0 (censored) or 1 (event); "
            f"found {int(bad.sum())} other value(s), e.g. {list(vals)}"
        )
    return e.astype(np.int64)


def _groups(df: pd.DataFrame, group: str | None) -> tuple[np.ndarray, tuple]:
    n = len(df)
    if group is None:
        return np.zeros(n, dtype=np.int64), (ALL_LABEL,)
    s = df[group]
    if s.isna().any():
        raise ValueError(
            f"group column '{group}' has {int(s.isna().sum())} missing value(s); "
            "drop or recode them before grouping"
        )
    if isinstance(s.dtype, pd.CategoricalDtype):
        counts = s.value_counts(sort=False)
        empty = [str(k) for k, v in counts.items() if v == 0]
        if empty:
            raise ValueError(f"group level(s) {empty} of '{group}' have no patients (size 0)")
        codes = s.cat.codes.to_numpy().astype(np.int64)
        return codes, tuple(s.cat.categories)
    codes, uniques = pd.factorize(s, sort=True)
    return codes.astype(np.int64), tuple(uniques.tolist())


def _prepare(df: pd.DataFrame, duration: str, event: str, group: str | None = None) -> _Data:
    cols = [duration, event] + ([group] if group is not None else [])
    _check_columns(df, cols)
    t = _durations(df, duration)
    e = _events(df, event)
    g, levels = _groups(df, group)
    return _Data(t, e, g, levels)


def _check_conf_type(conf_type: str) -> None:
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")


# --------------------------------------------------------------------------------------
# counting: unique (group, time) rows
# --------------------------------------------------------------------------------------
_DENSE_LIMIT = 10_000_000  # groups x distinct times kept as dense count matrices up to this


@dataclass(frozen=True)
class _Counts:
    """Counts per distinct (group, time), ordered by group then time."""

    g: np.ndarray  # group index of each row
    time: np.ndarray
    tid: np.ndarray  # index of the row's time in ``utimes``
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    group_n: np.ndarray  # patients per group
    bounds: np.ndarray  # row offsets of each group (len G + 1)
    utimes: np.ndarray  # distinct times over all groups (sorted)
    tot: np.ndarray | None  # dense (G, T) patients per group and time, when small enough
    dev: np.ndarray | None  # dense (G, T) events


def _count(d: _Data) -> _Counts:
    """One sort of the times, then bincount over (group, time) keys."""
    n_groups, n = len(d.levels), len(d.time)
    order = np.argsort(d.time)  # stability not needed: only distinct times are used
    ts = d.time[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(ts[1:], ts[:-1], out=new[1:])
    utimes = ts[new]
    n_t = len(utimes)
    tid_obs = np.empty(n, dtype=np.int64)
    tid_obs[order] = np.cumsum(new) - 1
    key = d.gidx * n_t + tid_obs  # group-major
    tot = dev = None
    if n_groups * n_t <= _DENSE_LIMIT:
        tot = np.bincount(key, minlength=n_groups * n_t)
        dev = np.bincount(key, weights=d.event, minlength=n_groups * n_t).astype(np.int64)
        ukey = np.flatnonzero(tot)
        utot, uev = tot[ukey], dev[ukey]
        tot, dev = tot.reshape(n_groups, n_t), dev.reshape(n_groups, n_t)
    else:
        ukey, inv, utot = np.unique(key, return_inverse=True, return_counts=True)
        uev = np.bincount(inv, weights=d.event, minlength=len(ukey)).astype(np.int64)
    ug, utid = ukey // n_t, ukey % n_t
    group_n = np.bincount(d.gidx, minlength=n_groups)
    offset = np.cumsum(group_n) - group_n
    n_risk = group_n[ug] - (np.cumsum(utot) - utot - offset[ug])
    return _Counts(
        g=ug,
        time=utimes[utid],
        tid=utid,
        n_risk=n_risk.astype(np.int64),
        n_event=uev,
        n_censor=(utot - uev).astype(np.int64),
        group_n=group_n,
        bounds=np.searchsorted(ug, np.arange(n_groups + 1)),
        utimes=utimes,
        tot=tot,
        dev=dev,
    )


_COUNT_CACHE: dict = {}


def _count_cached(d: _Data) -> _Counts:
    """:func:`_count`, remembered for the last few inputs (KM then log-rank on the same data).

    The key hashes the array bytes, so a changed data frame never hits a stale entry.
    """
    key = (
        hash(d.time.tobytes()),
        hash(d.event.tobytes()),
        hash(d.gidx.tobytes()),
        len(d.time),
        tuple(map(str, d.levels)),
    )
    hit = _COUNT_CACHE.get(key)
    if hit is None:
        hit = _count(d)
        if len(_COUNT_CACHE) >= 4:
            _COUNT_CACHE.pop(next(iter(_COUNT_CACHE)))
        _COUNT_CACHE[key] = hit
    return hit


def _with_origin(c: _Counts, columns: dict, origin: dict, labels: np.ndarray) -> pd.DataFrame:
    """Frame of the per-(group, time) ``columns`` with one origin row heading each group."""
    n_groups, n_rows = len(labels), len(c.g)
    pos_origin = c.bounds[:-1] + np.arange(n_groups)
    is_origin = np.zeros(n_rows + n_groups, dtype=bool)
    is_origin[pos_origin] = True
    gcol = np.empty(n_rows + n_groups, dtype=object)
    gcol[pos_origin] = labels
    gcol[~is_origin] = labels[c.g]
    out = {"group": gcol}
    for name, body in columns.items():
        body = np.asarray(body)
        o = np.broadcast_to(np.asarray(origin[name]), (n_groups,))
        col = np.empty(n_rows + n_groups, dtype=np.result_type(body, o))
        col[pos_origin] = o
        col[~is_origin] = body
        out[name] = col
    return pd.DataFrame(out)


def _group_cum(x: np.ndarray, bounds: np.ndarray, op) -> np.ndarray:
    out = np.empty(len(x), dtype=float)
    for k in range(len(bounds) - 1):
        out[bounds[k] : bounds[k + 1]] = op(x[bounds[k] : bounds[k + 1]])
    return out


def _confint(p: np.ndarray, se: np.ndarray, conf_type: str) -> tuple[np.ndarray, np.ndarray]:
    """R ``survival:::survfit_confint`` with ``logse = TRUE``, 95% level."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            se2 = se * p * _Z
            return np.maximum(p - se2, 0.0), np.minimum(p + se2, 1.0)
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            se2 = _Z * se
            return np.exp(np.log(xx) - se2), np.minimum(np.exp(np.log(xx) + se2), 1.0)
        xx = np.where((p == 0) | (p == 1), np.nan, p)
        se2 = _Z * se / np.log(xx)
        lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
        upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
        return lower, upper


# --------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KMResult:
    """Kaplan-Meier fit.

    Attributes
    ----------
    table : DataFrame
        One row per group and distinct time (as ``survfit``), preceded by an origin row per group
        (time 0, S = 1, lower = upper = 1, no events) so that curves start at 1 (as
        ``survival::survfit0``).  Columns: group, time, n_risk, n_event, n_censor, survival,
        std_err (se of log S, R's ``std.err``), lower, upper.
    medians : DataFrame
        group, n, events, median, lower, upper as ``print.survfit`` (NaN = not reached).
    """

    table: pd.DataFrame
    medians: pd.DataFrame
    conf_type: str
    duration: str
    event: str
    group: str | None
    levels: tuple


def _minmin(y: np.ndarray, x: np.ndarray) -> float:
    """First time the curve ``y`` is <= 0.5 (R ``survival:::survmean`` ``minmin``).

    When the curve is exactly 0.5 (within sqrt(eps)) over an interval and drops lower later, the
    midpoint of that interval is returned; NaN when the curve never reaches 0.5.
    """
    keep = ~np.isnan(y) & (y < 0.5 + _TOL)
    if not keep.any():
        return float("nan")
    xk, yk = x[keep], y[keep]
    if abs(yk[0] - 0.5) < _TOL:
        lower = yk < yk[0]
        if lower.any():
            return float((xk[0] + xk[np.argmax(lower)]) / 2)
    return float(xk[0])


def _km_from_counts(c: _Counts, levels: tuple, conf_type: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = 1.0 - c.n_event / c.n_risk
        hh = np.where(c.n_event == 0, 0.0, c.n_event / (c.n_risk * (c.n_risk - c.n_event)))
    hh = np.where(np.isnan(hh), np.inf, hh)
    surv = _group_cum(frac, c.bounds, np.cumprod)
    se = np.sqrt(_group_cum(hh, c.bounds, np.cumsum))
    lower, upper = _confint(surv, se, conf_type)
    labels = np.empty(len(levels), dtype=object)
    labels[:] = list(levels)
    table = _with_origin(
        c,
        {
            "time": c.time,
            "n_risk": c.n_risk,
            "n_event": c.n_event,
            "n_censor": c.n_censor,
            "survival": surv,
            "std_err": se,
            "lower": lower,
            "upper": upper,
        },
        {
            "time": 0.0,
            "n_risk": c.group_n,
            "n_event": 0,
            "n_censor": 0,
            "survival": 1.0,
            "std_err": 0.0,
            "lower": 1.0,
            "upper": 1.0,
        },
        labels,
    )
    rows = []
    for k, level in enumerate(levels):
        sl = slice(c.bounds[k], c.bounds[k + 1])
        x = c.time[sl]
        rows.append(
            {
                "group": level,
                "n": int(c.group_n[k]),
                "events": int(c.n_event[sl].sum()),
                "median": _minmin(surv[sl], x),
                "lower": _minmin(lower[sl], x),
                "upper": _minmin(upper[sl], x),
            }
        )
    return table, pd.DataFrame(rows, columns=["group", "n", "events", "median", "lower", "upper"])


def kaplan_meier(
    df: pd.DataFrame,
    duration: str,
    event: str,
    group: str | None = None,
    conf_type: str = "log",
) -> KMResult:
    """Kaplan-Meier survival curves with 95% pointwise CIs and median survival.

    Equals R ``survfit(Surv(duration, event) ~ group, data = df, conf.type = conf_type)``
    (Greenwood variance; R's ``std.err`` is se of the cumulative hazard, which is what the "log"
    interval ``exp(log S +- 1.96 se)`` uses) and the median / 0.95LCL / 0.95UCL of
    ``print.survfit`` (``survival:::survmean``: first time S <= 0.5, midpoint when S = 0.5
    exactly over an interval, NaN when not reached).

    Parameters
    ----------
    df : DataFrame
    duration, event : str
        Time (>= 0, no missing) and event indicator (1 = event, 0 = censored) columns.
    group : str, optional
        Grouping column; levels in categorical order, else sorted (like R's ``factor``).
    conf_type : {"log", "log-log", "plain"}

    Returns
    -------
    KMResult
    """
    _check_conf_type(conf_type)
    d = _prepare(df, duration, event, group)
    table, medians = _km_from_counts(_count_cached(d), d.levels, conf_type)
    return KMResult(table, medians, conf_type, duration, event, group, d.levels)


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


def logrank_trend(
    df: pd.DataFrame,
    duration: str,
    event: str,
    group: str,
    scores: dict | None = None,
) -> LogrankResult:
    """Log-rank test for trend across ordered groups (1 df).

    ``chisq = (sum_k w_k (O_k - E_k))^2 / (w' V w)`` with O, E, V from ``survdiff``; this equals
    the score test of R ``coxph(Surv(t, e) ~ w, ties = "exact")`` with the numeric score ``w``
    (Collett, *Modelling Survival Data in Medical Research*, 3rd ed., section 2.6.4).

    Parameters
    ----------
    scores : dict, optional
        Score for each group level. Default: the level itself when all levels are numeric
        (e.g. ECOG PS 0-4), else 1, 2, ... in level order.
    """
    d = _prepare(df, duration, event, group)
    _need_two_groups(d, group)
    if scores is None:
        if all(isinstance(v, int | float | np.integer | np.floating) for v in d.levels):
            w = np.asarray(d.levels, dtype=float)
        else:
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


def _p_adjust(p: np.ndarray, method: str) -> np.ndarray:
    """R ``p.adjust`` for "holm", "bonferroni", "BH" and "none"."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    if method == "none" or m == 0:
        return p.copy()
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    if method == "holm":
        o = np.argsort(p, kind="stable")
        adj = np.minimum(np.maximum.accumulate((m - np.arange(m)) * p[o]), 1.0)
    elif method == "BH":
        o = np.argsort(p, kind="stable")[::-1]
        adj = np.minimum(np.minimum.accumulate(m / np.arange(m, 0, -1) * p[o]), 1.0)
    else:
        raise ValueError(f"adjust must be 'holm', 'bonferroni', 'BH' or 'none', got {method!r}")
    out = np.empty(m)
    out[o] = adj
    return out


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
    _p_adjust(np.array([]), adjust)  # validate early
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
    out.insert(6, "p_adjusted", _p_adjust(out["p_value"].to_numpy(), adjust))
    return out


# --------------------------------------------------------------------------------------
# Cox univariable hazard ratios
# --------------------------------------------------------------------------------------
def _cox_efron(time: np.ndarray, event: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cox partial-likelihood fit with Efron ties (Newton-Raphson, step halving).

    Same likelihood as R ``coxph(..., ties = "efron")``; iterates to a relative log-likelihood
    change below 1e-12 (tighter than R's default 1e-9).  Returns (coef, covariance).
    """
    order = np.argsort(-time, kind="stable")  # descending: risk sets are prefixes
    t, e, x = time[order], event[order], x[order]
    p = x.shape[1]
    ev = e == 1
    # unique event times (descending) and, for each, the prefix length of the risk set
    etimes = np.unique(t[ev])[::-1]
    risk_end = np.searchsorted(-t, -etimes, side="right")  # rows with time >= t
    tidx_of_death = np.searchsorted(-etimes, -t[ev])
    d_count = np.bincount(tidx_of_death, minlength=len(etimes))
    # one entry per death for the Efron sum: l / d for l = 0..d-1
    frac = np.concatenate([np.arange(k) / k for k in d_count])
    entry_t = np.repeat(np.arange(len(etimes)), d_count)
    xd = x[ev]

    def pieces(beta):
        eta = x @ beta
        r = np.exp(eta)
        c0 = np.cumsum(r)[risk_end - 1]
        c1 = np.cumsum(r[:, None] * x, axis=0)[risk_end - 1]
        c2 = np.cumsum(r[:, None, None] * x[:, :, None] * x[:, None, :], axis=0)[risk_end - 1]
        rd = r[ev]
        a0 = np.bincount(tidx_of_death, weights=rd, minlength=len(etimes))
        a1 = np.zeros((len(etimes), p))
        np.add.at(a1, tidx_of_death, rd[:, None] * xd)
        a2 = np.zeros((len(etimes), p, p))
        np.add.at(a2, tidx_of_death, rd[:, None, None] * xd[:, :, None] * xd[:, None, :])
        s0 = c0[entry_t] - frac * a0[entry_t]
        s1 = c1[entry_t] - frac[:, None] * a1[entry_t]
        s2 = c2[entry_t] - frac[:, None, None] * a2[entry_t]
        loglik = float(eta[ev].sum() - np.log(s0).sum())
        score = xd.sum(axis=0) - (s1 / s0[:, None]).sum(axis=0)
        m = s1 / s0[:, None]
        info = (s2 / s0[:, None, None]).sum(axis=0) - np.einsum("ki,kj->ij", m, m)
        return loglik, score, info

    beta = np.zeros(p)
    loglik, score, info = pieces(beta)
    for _ in range(100):
        step = np.linalg.solve(info, score)
        new = beta + step
        new_ll, new_score, new_info = pieces(new)
        halvings = 0
        while (not np.isfinite(new_ll) or new_ll < loglik - 1e-12) and halvings < 30:
            step /= 2
            new = beta + step
            new_ll, new_score, new_info = pieces(new)
            halvings += 1
        done = abs(new_ll - loglik) <= 1e-12 * max(abs(loglik), 1.0) and np.max(np.abs(step)) < 1e-9
        beta, loglik, score, info = new, new_ll, new_score, new_info
        if done:
            break
    return beta, np.linalg.inv(info)


def univariable_hr(
    df: pd.DataFrame, duration: str, event: str, group: str, reference=None
) -> pd.DataFrame:
    """Hazard ratio of each group level versus ``reference`` from a Cox model (Efron ties).

    Equals R ``summary(coxph(Surv(t, e) ~ relevel(factor(group), ref = reference)))``:
    ``exp(coef)``, Wald 95% CI ``exp(coef +- 1.96 se)`` and Wald p (``Pr(>|z|)``).  The fit is a
    small NumPy Newton-Raphson on the Efron partial likelihood (lifelines' ``CoxPHFitter`` stops
    at a looser tolerance and differed from R by ~1e-5 in HR on R's lung data).

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
        except np.linalg.LinAlgError:
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


# --------------------------------------------------------------------------------------
# landmarks, RMST, number at risk
# --------------------------------------------------------------------------------------
def _check_times(times, what: str = "times") -> np.ndarray:
    arr = np.atleast_1d(np.asarray(times, dtype=float))
    if arr.size == 0:
        raise ValueError(f"{what}: need at least one time")
    if (~np.isfinite(arr)).any() or (arr < 0).any():
        raise ValueError(f"{what} must be finite and >= 0, got {arr.tolist()}")
    return np.sort(arr)


def _group_rows(table: pd.DataFrame, level) -> pd.DataFrame:
    """Rows of one group without the origin row."""
    sub = table[table["group"] == level]
    return sub.iloc[1:]


def survival_at(
    df: pd.DataFrame,
    duration: str,
    event: str,
    times,
    group: str | None = None,
    conf_type: str = "log",
) -> pd.DataFrame:
    """Survival (with 95% CI) at landmark times, = R ``summary(survfit(...), times = times)``.

    ``n_risk`` is the number still at risk at the time, ``n_event`` / ``n_censor`` the counts
    since the previous requested time (as R).  Times after a group's last observation have NaN
    survival and ``n_risk = 0`` (R drops these rows with ``extend = FALSE``).

    Returns
    -------
    DataFrame
        group, time, n_risk, n_event, n_censor, survival, std_err (se of S, as R's summary),
        lower, upper.
    """
    t_req = _check_times(times)
    km = kaplan_meier(df, duration, event, group, conf_type)
    out = []
    for level in km.levels:
        full = km.table[km.table["group"] == level]
        rows = full.iloc[1:]
        tt = full["time"].to_numpy()
        i1 = np.searchsorted(tt, t_req, side="right") - 1  # last row with time <= t (fit0)
        body_t = rows["time"].to_numpy()
        i2 = np.searchsorted(body_t, t_req, side="left")  # first row with time >= t
        nr = np.append(rows["n_risk"].to_numpy(), 0)[i2]
        cum_e = np.cumsum(full["n_event"].to_numpy())[i1]
        cum_c = np.cumsum(full["n_censor"].to_numpy())[i1]
        beyond = t_req > body_t.max()
        s = full["survival"].to_numpy()[i1]
        with np.errstate(invalid="ignore"):
            se_s = full["std_err"].to_numpy()[i1] * s  # Inf * 0 = NaN once S = 0, as R
        piece = pd.DataFrame(
            {
                "group": level,
                "time": t_req,
                "n_risk": nr,
                "n_event": np.diff(np.concatenate([[0], cum_e])),
                "n_censor": np.diff(np.concatenate([[0], cum_c])),
                "survival": np.where(beyond, np.nan, s),
                "std_err": np.where(beyond, np.nan, se_s),
                "lower": np.where(beyond, np.nan, full["lower"].to_numpy()[i1]),
                "upper": np.where(beyond, np.nan, full["upper"].to_numpy()[i1]),
            }
        )
        out.append(piece)
    return pd.concat(out, ignore_index=True)


def rmst(
    df: pd.DataFrame,
    duration: str,
    event: str,
    horizon: float,
    group: str | None = None,
) -> pd.DataFrame:
    """Restricted mean survival time up to ``horizon`` with standard error and 95% CI.

    Equals ``rmean`` and ``se(rmean)`` of R ``print(survfit(Surv(t, e) ~ group), rmean = horizon)``
    (``survival:::survmean``: area under the KM curve from 0 to horizon; variance
    ``sum_i A_i^2 d_i / (n_i (n_i - d_i))`` with ``A_i`` the area from event time i to horizon).
    The CI is ``rmst +- 1.96 se``.  Beyond the last observation the curve is carried forward (as R).

    Returns
    -------
    DataFrame
        group, horizon, rmst, se, lower, upper.
    """
    horizon = float(horizon)
    if not np.isfinite(horizon) or horizon <= 0:
        raise ValueError(f"horizon must be a positive number, got {horizon}")
    km = kaplan_meier(df, duration, event, group)
    rows = []
    for level in km.levels:
        r = _group_rows(km.table, level)
        t, s = r["time"].to_numpy(), r["survival"].to_numpy()
        n, dd = r["n_risk"].to_numpy(float), r["n_event"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            hh = np.where(n - dd == 0, 0.0, dd / (n * (n - dd)))
        keep = t <= horizon
        if not keep.any():
            mean, var = horizon, 0.0
        else:
            temptime = np.append(t[keep], horizon)
            tempsurv = np.append(s[keep], s[keep][-1])
            hk = np.append(hh[keep], 0.0)
            delta = np.diff(np.concatenate([[0.0], temptime]))
            rect = delta * np.concatenate([[1.0], tempsurv[:-1]])
            var = float(np.sum(np.cumsum(rect[1:][::-1]) ** 2 * hk[::-1][1:]))
            mean = float(rect.sum())
        se = float(np.sqrt(var))
        rows.append(
            {
                "group": level,
                "horizon": horizon,
                "rmst": mean,
                "se": se,
                "lower": mean - _Z * se,
                "upper": mean + _Z * se,
            }
        )
    return pd.DataFrame(rows)


def n_at_risk(km_result: KMResult, ticks) -> pd.DataFrame:
    """Number at risk, cumulative events and cumulative censored at each tick (KMunicate table).

    At risk at ``t`` = patients with time >= t; events / censored = counts with time <= t
    (Morris et al., BMJ Open 2019, "KMunicate").

    Returns
    -------
    DataFrame
        group, time, at_risk, events, censored.
    """
    t_req = _check_times(ticks, "ticks")
    out = []
    for level in km_result.levels:
        full = km_result.table[km_result.table["group"] == level]
        n = int(full["n_risk"].iloc[0])
        rows = full.iloc[1:]
        t = rows["time"].to_numpy()
        tot = np.concatenate([[0], np.cumsum((rows["n_event"] + rows["n_censor"]).to_numpy())])
        ce = np.concatenate([[0], np.cumsum(rows["n_event"].to_numpy())])
        cc = np.concatenate([[0], np.cumsum(rows["n_censor"].to_numpy())])
        left = np.searchsorted(t, t_req, side="left")
        right = np.searchsorted(t, t_req, side="right")
        out.append(
            pd.DataFrame(
                {
                    "group": level,
                    "time": t_req,
                    "at_risk": n - tot[left],
                    "events": ce[right],
                    "censored": cc[right],
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def truncate_at(df: pd.DataFrame, duration: str, event: str, horizon: float) -> pd.DataFrame:
    """Administrative censoring at ``horizon``: later times become ``horizon`` with event 0.

    Returns a copy; an event exactly at the horizon is kept.
    """
    horizon = float(horizon)
    if not np.isfinite(horizon) or horizon <= 0:
        raise ValueError(f"horizon must be a positive number, got {horizon}")
    d = _prepare(df, duration, event)
    out = df.copy()
    late = d.time > horizon
    out[duration] = np.minimum(d.time, horizon)
    out[event] = np.where(late, 0, d.event).astype(np.int64)
    return out


# --------------------------------------------------------------------------------------
# competing risks
# --------------------------------------------------------------------------------------
CIF_STATES = ("progression", "death without progression")


def competing_status(
    df: pd.DataFrame,
    pfs_duration: str = "pfs_days",
    pfs_event: str = "pfs_event",
    os_duration: str = "os_days",
    os_event: str = "os_event",
) -> pd.DataFrame:
    """First-event status from PFS/OS columns: time, status (0 censored, 1 progression, 2 death).

    Progression: ``pfs_event == 1`` and not (``os_event == 1`` and ``pfs_days == os_days``);
    death without progression: ``pfs_event == 1`` and death at the PFS time.
    """
    _check_columns(df, [pfs_duration, pfs_event, os_duration, os_event])
    t = _durations(df, pfs_duration)
    pe = _events(df, pfs_event)
    ot = _durations(df, os_duration)
    oe = _events(df, os_event)
    death = (pe == 1) & (oe == 1) & (t == ot)
    status = np.where(pe == 0, 0, np.where(death, 2, 1))
    return pd.DataFrame({"time": t, "status": status.astype(np.int64)}, index=df.index)


def _cif_ij_se(
    c: _Counts,
    n_prog: np.ndarray,
    n_death: np.ndarray,
    s_prev: np.ndarray,
    cif: np.ndarray,
    state: int,
) -> np.ndarray:
    """Infinitesimal-jackknife standard error of one Aalen-Johansen CIF (R ``survfitci``).

    R (survival >= 3, C routine ``survfitci``) carries for every subject ``i`` the influence
    ``U_i`` of that subject on the state probabilities, updated at each event time ``t`` as
    ``U_i(t) = U_i(t-) H(t) + S(t-) / n(t) * (e_i(t) - H_0.(t))`` for the ``n(t)`` subjects at
    risk (``H`` the transition matrix at ``t``, ``H_0.`` its row for the event-free state,
    ``e_i(t)`` the unit vector of the state subject ``i`` is in just after ``t``), and reports
    ``std.err = sqrt(sum_i U_i(t)^2)``.  With one initial state and absorbing events this
    collapses, for the CIF ``F`` of event type ``state`` (1 progression, 2 death) with hazard
    increment ``h_k = d_k / n``, to

    * a subject still at risk after ``t``: ``U(t) = A(t) = sum_{s <= t} [dF(s) C(s-) -
      S(s-) h_k(s) / n(s)]``, with ``C(t) = sum_{s <= t} h(s) / (n(s) (1 - h(s)))`` and
      ``h = d / n`` the all-cause hazard increment;
    * a subject leaving at ``T <= t`` with status ``e``: ``U(t) = A(T) + [e = k] S(T-) / n(T) +
      g (F(t) - F(T))`` with ``g = C(T) - [e > 0] / (n(T) (1 - h(T)))``;

    so ``sum_i U_i(t)^2`` is a few cumulative sums over the distinct (group, time) rows instead
    of R's loop over subjects x times.
    """
    n = c.n_risk.astype(float)
    d = c.n_event.astype(float)
    h = d / n
    q = 1.0 - h
    # q = 0 only at a group's last time (everyone left had an event): nothing follows it, so
    # the terms that would divide by q never multiply a non-zero increment
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(q > 0, 1.0 / (n * q), 0.0)
    cc = h * b
    big_c = _group_cum(cc, c.bounds, np.cumsum)
    a = s_prev / n
    hk = (n_prog if state == 1 else n_death) / n
    big_a = _group_cum((s_prev * hk) * (big_c - cc) - a * hk, c.bounds, np.cumsum)
    s_aa = np.zeros(len(n))
    s_ag = np.zeros(len(n))
    s_gg = np.zeros(len(n))
    for m, g, jump in (
        (c.n_censor, big_c, 0.0),
        (n_prog, big_c - b, a if state == 1 else 0.0),
        (n_death, big_c - b, a if state == 2 else 0.0),
    ):
        alpha = big_a + jump - g * cif
        s_aa += m * alpha * alpha
        s_ag += m * alpha * g
        s_gg += m * g * g
    n_after = n - d - c.n_censor
    var = (
        _group_cum(s_aa, c.bounds, np.cumsum)
        + 2.0 * cif * _group_cum(s_ag, c.bounds, np.cumsum)
        + cif * cif * _group_cum(s_gg, c.bounds, np.cumsum)
        + n_after * big_a * big_a
    )
    return np.sqrt(np.maximum(var, 0.0))


def _cif_confint(cif: np.ndarray, se: np.ndarray, conf_type: str) -> tuple[np.ndarray, ...]:
    """R ``survfit_confint(pstate, std.err, logse = FALSE, conf.type)``: se of p, not of log p."""
    with np.errstate(divide="ignore", invalid="ignore"):
        se_log = np.where(se == 0, 0.0, se / cif)
    return _confint(cif, se_log, conf_type)


CIF_CI_COLUMNS = [
    "se_progression",
    "lower_progression",
    "upper_progression",
    "se_death",
    "lower_death",
    "upper_death",
]


def cumulative_incidence(
    df: pd.DataFrame,
    pfs_duration: str = "pfs_days",
    pfs_event: str = "pfs_event",
    os_duration: str = "os_days",
    os_event: str = "os_event",
    group: str | None = None,
    conf_type: str = "log",
) -> pd.DataFrame:
    """Aalen-Johansen cumulative incidence of progression and of death without progression.

    ``CIF_k(t) = sum_{s <= t} S(s-) d_k(s) / n(s)`` with ``S`` the all-cause (PFS) Kaplan-Meier;
    equals ``pstate`` of R ``survfit(Surv(time, factor(status)) ~ group)`` (states "(s0)", "1",
    "2").  Standard errors and 95% pointwise CIs equal R's ``std.err``, ``lower`` and ``upper``
    of the same fit: R (survival >= 3) uses the infinitesimal-jackknife (robust) variance of the
    Aalen-Johansen estimate (the only one ``survfitCI`` offers) with ``std.err`` the se of the
    probability itself (``logse = FALSE``), and by default the "log" interval
    ``exp(log F +- 1.96 se / F)``, upper end capped at 1, undefined (NaN) where F = 0.

    Computed by hand: lifelines' ``AalenJohansenFitter`` (0.30) jitters tied event times at
    random, so on day-resolution data its CIF and se differ from R's (by 0.03 and 0.002 in a
    check on 80 patients over 14 distinct days), and its intervals are log(-log), not R's
    default "log".  Its Greenwood-type variance formula (Collett, 3rd ed., p. 411) itself gave
    R's ``std.err`` to 1e-15 on the same event tables; the standard errors here follow R's own
    influence recursion instead (:func:`_cif_ij_se`).

    Parameters
    ----------
    df : DataFrame
    pfs_duration, pfs_event, os_duration, os_event : str
        Columns read by :func:`competing_status`.
    group : str, optional
        One set of curves per level (as ``~ group``); levels as in :func:`kaplan_meier`.
    conf_type : {"log", "log-log", "plain"}
        R's ``conf.type`` (default "log", as ``survfit``).

    Returns
    -------
    DataFrame
        group, time, n_risk, n_progression, n_death, n_censor, event_free, cif_progression,
        cif_death, se_progression, lower_progression, upper_progression, se_death,
        lower_death, upper_death.  One origin row per group at time 0 with zero incidence,
        se 0 and lower = upper = 0 (as ``survival::survfit0``).
    """
    _check_conf_type(conf_type)
    st = competing_status(df, pfs_duration, pfs_event, os_duration, os_event)
    g, levels = _groups(df, group)
    t = st["time"].to_numpy()
    status = st["status"].to_numpy()
    c = _count(_Data(t, (status > 0).astype(np.int64), g, levels))
    n_prog = _count(_Data(t, (status == 1).astype(np.int64), g, levels)).n_event
    n_death = c.n_event - n_prog
    frac = 1.0 - c.n_event / c.n_risk
    surv = _group_cum(frac, c.bounds, np.cumprod)
    # S(t-): previous value within the group (1 at the group's first row)
    s_prev = np.concatenate([[1.0], surv[:-1]])
    s_prev[c.bounds[:-1][c.bounds[:-1] < len(surv)]] = 1.0
    cif_p = _group_cum(s_prev * n_prog / c.n_risk, c.bounds, np.cumsum)
    cif_d = _group_cum(s_prev * n_death / c.n_risk, c.bounds, np.cumsum)
    se_p = _cif_ij_se(c, n_prog, n_death, s_prev, cif_p, state=1)
    se_d = _cif_ij_se(c, n_prog, n_death, s_prev, cif_d, state=2)
    lo_p, hi_p = _cif_confint(cif_p, se_p, conf_type)
    lo_d, hi_d = _cif_confint(cif_d, se_d, conf_type)
    labels = np.empty(len(levels), dtype=object)
    labels[:] = list(levels)
    return _with_origin(
        c,
        {
            "time": c.time,
            "n_risk": c.n_risk,
            "n_progression": n_prog,
            "n_death": n_death,
            "n_censor": c.n_censor,
            "event_free": surv,
            "cif_progression": cif_p,
            "cif_death": cif_d,
            "se_progression": se_p,
            "lower_progression": lo_p,
            "upper_progression": hi_p,
            "se_death": se_d,
            "lower_death": lo_d,
            "upper_death": hi_d,
        },
        {
            "time": 0.0,
            "n_risk": c.group_n,
            "n_progression": 0,
            "n_death": 0,
            "n_censor": 0,
            "event_free": 1.0,
            "cif_progression": 0.0,
            "cif_death": 0.0,
            **dict.fromkeys(CIF_CI_COLUMNS, 0.0),
        },
        labels,
    )


def to_months(days):
    """Days -> months (days / 30.4375, as the cohort contract)."""
    return np.asarray(days, dtype=float) / DAYS_PER_MONTH


def cumulative_incidence_at(cif: pd.DataFrame, times) -> pd.DataFrame:
    """Cumulative incidences at given times (days) from :func:`cumulative_incidence` output.

    Step-function lookup (last estimate at or before each time, as R
    ``summary(survfit(Surv(time, factor(status)) ~ group), times = times)``: ``pstate``,
    ``std.err``, ``lower``, ``upper``; before the first event time the origin row's 0 values, as
    R); times after a group's last observation are NaN.

    Returns
    -------
    DataFrame
        group, time, n_risk (at risk at the time), cif_progression, cif_death, event_free,
        then the standard-error and CI columns of :func:`cumulative_incidence` present in
        ``cif`` (se_progression, lower_progression, upper_progression, se_death, lower_death,
        upper_death).
    """
    t_req = _check_times(times)
    ci_cols = [col for col in CIF_CI_COLUMNS if col in cif.columns]
    out = []
    for level, sub in cif.groupby("group", sort=False):
        tt = sub["time"].to_numpy()
        i1 = np.searchsorted(tt, t_req, side="right") - 1
        body = sub.iloc[1:]
        i2 = np.searchsorted(body["time"].to_numpy(), t_req, side="left")
        beyond = t_req > tt.max()
        piece = {"group": level, "time": t_req}
        piece["n_risk"] = np.append(body["n_risk"].to_numpy(), 0)[i2]
        for col in ("cif_progression", "cif_death", "event_free", *ci_cols):
            piece[col] = np.where(beyond, np.nan, sub[col].to_numpy()[i1])
        out.append(pd.DataFrame(piece))
    return pd.concat(out, ignore_index=True)


# --------------------------------------------------------------------------------------
# grouping helper for the page
# --------------------------------------------------------------------------------------
MAX_LEVELS = 8


@dataclass(frozen=True)
class Grouping:
    """A data frame ready for grouped survival analysis.

    Attributes
    ----------
    df : DataFrame
        Rows with a non-missing group; the group is in column ``column``.
    column : str
        Name of the grouping column in ``df`` (the source column, or ``"<col> (cut)"``).
    levels : tuple
        Group levels in display order.
    ordered : bool
        Levels are ordered numeric scores (e.g. ECOG PS): a trend test applies.
    threshold : float or None
        Cut point when a continuous column was dichotomised (``< t`` vs ``>= t``).
    n_missing : int
        Rows dropped because the group value was missing.
    """

    df: pd.DataFrame
    column: str
    levels: tuple
    ordered: bool
    threshold: float | None
    n_missing: int


def is_continuous(s: pd.Series, max_levels: int = MAX_LEVELS) -> bool:
    """Numeric (not boolean) with more than ``max_levels`` distinct values."""
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        return False
    return s.dropna().nunique() > max_levels


def default_threshold(s: pd.Series) -> float:
    """Median of the non-missing values (the default cut point for a continuous column)."""
    v = pd.to_numeric(s, errors="coerce").dropna()
    if v.empty:
        raise ValueError(f"column '{s.name}' has no numeric values to cut")
    return float(v.median())


def make_groups(
    df: pd.DataFrame,
    column: str,
    threshold: float | None = None,
    *,
    label: str | None = None,
    order: list | tuple | None = None,
) -> Grouping:
    """Grouping by a categorical column, or by a continuous one cut at ``threshold``.

    Continuous columns (see :func:`is_continuous`) are cut into ``"<label> < t"`` and
    ``"<label> ≥ t"`` (threshold default: the median; label default: the column name).  Rows with
    a missing group are dropped and counted; levels are those present (no empty groups), in
    ``order`` when given (e.g. the data dictionary's order; others follow, sorted), else sorted.
    """
    _check_columns(df, [column])
    s = df[column]
    missing = s.isna()
    sub = df.loc[~missing].copy()
    if is_continuous(s):
        t = default_threshold(s) if threshold is None else float(threshold)
        if not np.isfinite(t):
            raise ValueError(f"threshold must be a finite number, got {threshold}")
        name_t = label or column
        lo, hi = f"{name_t} < {t:g}", f"{name_t} ≥ {t:g}"
        name = f"{column} (cut)"
        sub[name] = pd.Categorical(
            np.where(sub[column].to_numpy(dtype=float) < t, lo, hi), categories=[lo, hi]
        )
        present = [c for c in (lo, hi) if (sub[name] == c).any()]
        sub[name] = sub[name].cat.set_categories(present)
        return Grouping(sub, name, tuple(present), False, t, int(missing.sum()))
    is_bool = pd.api.types.is_bool_dtype(s)
    if is_bool:
        sub[column] = sub[column].astype(bool)
    levels = sorted(pd.unique(sub[column]).tolist(), key=lambda v: (str(type(v)), v))
    if order is not None:
        rank = {v: i for i, v in enumerate(order)}
        levels = sorted(levels, key=lambda v: (v not in rank, rank.get(v, 0)))
    levels = tuple(levels)
    sub[column] = pd.Categorical(sub[column].tolist(), categories=list(levels))  # keeps the order
    ordered = pd.api.types.is_numeric_dtype(s) and not is_bool and 2 < len(levels) <= MAX_LEVELS
    return Grouping(sub, column, levels, bool(ordered), None, int(missing.sum()))


# --------------------------------------------------------------------------------------
# columns that must not (or only with care) define survival groups
# --------------------------------------------------------------------------------------
OUTCOME_COLUMNS = ("death_1y", "outcome_1y", "icu_death", "hospital_death", "icu_los_days")
"""Outcomes (or functions of them): grouping survival by one of them is circular."""
OUTCOME_PREFIXES = ("os_", "pfs_")
ENDPOINT_COLUMNS = ("os_days", "os_event", "pfs_days", "pfs_event")
NOT_PREDICTORS = frozenset({"patient_id", *ENDPOINT_COLUMNS, *OUTCOME_COLUMNS})
"""Identifier, endpoints and outcomes: never a covariate of a model of those outcomes."""
POST_ADMISSION_COLUMNS = (
    "tocilizumab",
    "tocilizumab_dose_mg",
    "tocilizumab_injections",
    "steroids",
    "siltuximab",
    "anakinra",
    "vasopressors_icu",
    "mech_vent_icu",
    "rrt_icu",
    "icans",
    "icans_grade",
    "days_icu_to_worst_icans",
)
"""Treatments / events recorded after ICU admission (time zero): immortal-time bias."""
POST_ADMISSION_PREFIXES = ("hours_icu_to_",)


def is_outcome_column(column: str) -> bool:
    """Column is an outcome (os_*, pfs_*, death_1y, ICU/hospital death, ICU stay)."""
    return column in OUTCOME_COLUMNS or column.startswith(OUTCOME_PREFIXES)


def is_post_admission(column: str) -> bool:
    """Column is measured after ICU admission (see :data:`POST_ADMISSION_COLUMNS`).

    Comparing survival from ICU admission by such a variable is subject to immortal-time bias
    (Suissa 2008): patients must survive long enough to receive the treatment / have the event.
    """
    return column in POST_ADMISSION_COLUMNS or column.startswith(POST_ADMISSION_PREFIXES)


# --------------------------------------------------------------------------------------
# display tables (presentation only; exports keep the raw frames)
# --------------------------------------------------------------------------------------
TIME_UNITS = ("days", "months")
NOT_REACHED = "NR"
"""Shown for a median (or a median's confidence limit) that is not reached (R prints NA)."""
NO_CI = MISSING  # the app-wide dash of core.tables.format
"""Shown for a confidence interval that is not defined: beyond the last follow-up, or an
incidence still 0 (R gives NA).  An em dash, unlike :data:`core.tables.format.MISSING`."""


def level_label(level) -> str:
    """Display label of a group level: a whole float without its decimals (``1.0 -> '1'``).

    Parameters
    ----------
    level : object
        A group level as held in the result frames (``2.0``, ``'CRS'``, ``'Age < 60'``).

    Returns
    -------
    str
        ``'2'`` for ``2.0``, else ``str(level)`` (``'CRS'``, ``'2.5'``).
    """
    if isinstance(level, float | np.floating) and float(level).is_integer():
        return str(int(level))
    return str(level)


def format_time(days: float, unit: str = "days") -> str:
    """A time given in days, as shown on the time axis ``unit``.

    Parameters
    ----------
    days : float
        Time from ICU admission in days; NaN for a median (or limit) that is not reached.
    unit : {"days", "months"}
        ``"days"``: whole days; ``"months"``: days / :data:`DAYS_PER_MONTH`, one decimal.

    Returns
    -------
    str
        e.g. ``'183'`` or ``'6.0'``; :data:`NOT_REACHED` (``'NR'``) when ``days`` is NaN.
    """
    if unit not in TIME_UNITS:
        raise ValueError(f"unit must be one of {TIME_UNITS}, got {unit!r}")
    if pd.isna(days):
        return NOT_REACHED
    return f"{days:.0f}" if unit == "days" else f"{float(to_months(days)):.1f}"


def _ci_cells(lower: pd.Series, upper: pd.Series) -> list[str]:
    """``'lo – hi'`` with 3 decimals per row; :data:`NO_CI` where the lower limit is NaN."""
    return [
        NO_CI if pd.isna(lo) else interval(lo, hi, ".3f")
        for lo, hi in zip(lower, upper, strict=True)
    ]


def format_medians(km: KMResult, unit: str = "days") -> pd.DataFrame:
    """The median survival table as shown: group, size, events, median and its 95% CI.

    Parameters
    ----------
    km : KMResult
        Output of :func:`kaplan_meier`; its ``medians`` are R ``print.survfit``'s.
    unit : {"days", "months"}
        Time unit of the median and its limits (:func:`format_time`).

    Returns
    -------
    DataFrame
        ``Group`` (:func:`level_label`), ``N``, ``Events``, ``Median (<unit>)`` and ``95% CI``
        (``'lo – hi'``); a median or limit not reached is :data:`NOT_REACHED`.
    """
    m = km.medians
    return pd.DataFrame(
        {
            "Group": m["group"].map(level_label),
            "N": m["n"],
            "Events": m["events"],
            f"Median ({unit})": [format_time(v, unit) for v in m["median"]],
            "95% CI": [
                f"{format_time(lo, unit)} – {format_time(hi, unit)}"
                for lo, hi in zip(m["lower"], m["upper"], strict=True)
            ],
        }
    )


def format_landmarks(at: pd.DataFrame, unit: str = "days") -> pd.DataFrame:
    """The landmark survival table as shown: S(t) with its 95% CI at each landmark time.

    Parameters
    ----------
    at : DataFrame
        Output of :func:`survival_at` (group, time in days, n_risk, survival, lower, upper).
    unit : {"days", "months"}
        Time unit of the ``Time`` column (:func:`format_time`).

    Returns
    -------
    DataFrame
        ``Group``, ``Time (<unit>)``, ``At risk``, ``S(t)`` (rounded to 3 decimals) and
        ``95% CI`` (``'0.575 – 0.892'``; :data:`NO_CI` beyond the last follow-up).
    """
    return pd.DataFrame(
        {
            "Group": at["group"].map(level_label),
            f"Time ({unit})": [format_time(v, unit) for v in at["time"]],
            "At risk": at["n_risk"],
            "S(t)": at["survival"].round(3),
            "95% CI": _ci_cells(at["lower"], at["upper"]),
        }
    )


def format_n_at_risk(nar: pd.DataFrame, unit: str = "days") -> pd.DataFrame:
    """The number-at-risk table as shown: group labels and times in ``unit``.

    Parameters
    ----------
    nar : DataFrame
        Output of :func:`n_at_risk` (group, time in days, at_risk, events, censored).
    unit : {"days", "months"}
        Time unit of the ``time`` column (:func:`format_time`).

    Returns
    -------
    DataFrame
        Same columns and rows; ``group`` labelled (:func:`level_label`) and ``time`` as text.
    """
    return nar.assign(
        group=nar["group"].map(level_label),
        time=[format_time(v, unit) for v in nar["time"]],
    )


def format_cif_table(at: pd.DataFrame, unit: str = "days") -> pd.DataFrame:
    """The competing-risks table as shown: both cumulative incidences with their 95% CIs.

    Parameters
    ----------
    at : DataFrame
        Output of :func:`cumulative_incidence_at` with the CI columns (group, time in days,
        n_risk, cif_progression, cif_death, event_free, lower_/upper_progression,
        lower_/upper_death).
    unit : {"days", "months"}
        Time unit of the ``Time`` column (:func:`format_time`).

    Returns
    -------
    DataFrame
        ``Group``, ``Time (<unit>)``, ``At risk``, ``Progression``, ``Prog. 95% CI``,
        ``Death w/o progression``, ``Death 95% CI`` and ``Alive, no progression``; estimates
        rounded to 3 decimals, CIs ``'lo – hi'`` (:data:`NO_CI` while the incidence is 0).
    """
    return pd.DataFrame(
        {
            "Group": at["group"].map(level_label),
            f"Time ({unit})": [format_time(v, unit) for v in at["time"]],
            "At risk": at["n_risk"],
            "Progression": at["cif_progression"].round(3),
            "Prog. 95% CI": _ci_cells(at["lower_progression"], at["upper_progression"]),
            "Death w/o progression": at["cif_death"].round(3),
            "Death 95% CI": _ci_cells(at["lower_death"], at["upper_death"]),
            "Alive, no progression": at["event_free"].round(3),
        }
    )


def format_pairwise(pw: pd.DataFrame) -> pd.DataFrame:
    """The pairwise log-rank table as shown: the two groups, chi-square and both p-values.

    Parameters
    ----------
    pw : DataFrame
        Output of :func:`pairwise_logrank`.

    Returns
    -------
    DataFrame
        ``group_a``, ``group_b`` (:func:`level_label`), ``statistic``, ``p_value`` and
        ``p_adjusted``, numbers unrounded; sizes and warnings left out.
    """
    return pw.assign(
        group_a=pw["group_a"].map(level_label),
        group_b=pw["group_b"].map(level_label),
    )[["group_a", "group_b", "statistic", "p_value", "p_adjusted"]]


def format_hazard_ratios(hr: pd.DataFrame) -> pd.DataFrame:
    """The univariable hazard-ratio table as shown: labelled levels, no ``reference`` column.

    Parameters
    ----------
    hr : DataFrame
        Output of :func:`univariable_hr`.

    Returns
    -------
    DataFrame
        ``level`` (:func:`level_label`), ``n``, ``events``, ``hr``, ``lower``, ``upper``,
        ``p_value``, numbers unrounded (the reference row has hr 1 and NaN CI / p).
    """
    return hr.assign(level=hr["level"].map(level_label)).drop(columns="reference")


def format_chi2_test(statistic: float, dof: int, p: float) -> str:
    """A chi-square test in running text: ``'χ² = 7.81, df = 3, p = 0.050'``.

    Parameters
    ----------
    statistic : float
        Chi-square statistic (:attr:`LogrankResult.statistic`), shown with 2 decimals.
    dof : int
        Degrees of freedom.
    p : float
        p-value, as :func:`core.tables.format.p_phrase` (``'p < 0.001'`` below 0.001).

    Returns
    -------
    str
    """
    return f"χ² = {statistic:.2f}, df = {dof}, {p_phrase(p)}"
