"""Survival analysis matching R's ``survival`` package (Therneau), vectorised with NumPy.

Every estimator is checked against R in ``tests/test_survival.py``, ``test_logrank.py`` and
``test_competing.py``:

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
from statistics import NormalDist

import numpy as np
import pandas as pd

DAYS_PER_MONTH = 30.4375


SMALL_GROUP = 5


CONF_TYPES = ("log", "log-log", "plain")


_Z = NormalDist().inv_cdf(0.975)  # stdlib: scipy (0.5 s to import) stays off the first page


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
    out = df.copy(deep=False)  # two columns replaced, not written into: df is untouched
    late = d.time > horizon
    out[duration] = np.minimum(d.time, horizon)
    out[event] = np.where(late, 0, d.event).astype(np.int64)
    return out


def to_months(days):
    """Days -> months (days / 30.4375, as the cohort contract)."""
    return np.asarray(days, dtype=float) / DAYS_PER_MONTH
