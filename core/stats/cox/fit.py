"""Cox proportional-hazards fit = R ``coxph(..., ties = "efron")``: the one Efron fitter.

The design matrix (as ``model.matrix``), the fit on an endpoint (optionally censored at a
horizon), the fixed-coefficient fit used for published models, and the result objects.
The Newton-Raphson iteration lives in :mod:`core.stats.cox.engine`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from core.cohort.variables import add_derived
from core.stats.cox.concordance import concordance_index
from core.stats.cox.concordance import concordance_se as _concordance_se
from core.stats.cox.engine import ITER_MAX, CoxFitError, _newton, _RiskSets

EPV_MIN = 10.0


_Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True, eq=False)
class Design:
    """How covariates become design-matrix columns (as R's ``model.matrix``).

    Numeric and boolean covariates give one column each (booleans as 0/1).  Categorical
    (string / category) covariates give one 0/1 column per non-reference level, named
    ``"<covariate>=<level>"``; the reference defaults to the first level in sorted order
    (R's ``factor`` default) and may be chosen with ``reference={covariate: level}``.
    """

    covariates: tuple[str, ...]
    columns: tuple[str, ...]
    terms: tuple[str, ...]  # covariate that produced each column
    levels: Mapping[str, tuple[str, ...]]  # categorical covariate -> (reference, *others)

    def matrix(self, df: pd.DataFrame) -> np.ndarray:
        """Design matrix for new rows (levels must be known; no missing values)."""
        df = add_derived(df, self.covariates)
        missing = [c for c in self.covariates if c not in df.columns]
        if missing:
            raise ValueError(f"new data lack the covariate column(s): {', '.join(missing)}")
        cols = []
        for cov in self.covariates:
            s = df[cov]
            if s.isna().any():
                raise ValueError(f"covariate {cov!r} has missing values in the new data")
            if cov in self.levels:
                _ref, *others = self.levels[cov]
                vals = s.astype(str)
                unknown = sorted(set(vals) - set(self.levels[cov]))
                if unknown:
                    raise ValueError(
                        f"covariate {cov!r}: unknown level(s) {unknown}; "
                        f"known levels are {list(self.levels[cov])}"
                    )
                cols.extend((vals == lvl).to_numpy(dtype=float) for lvl in others)
            else:
                cols.append(_numeric(s, cov))
        return np.column_stack(cols) if cols else np.empty((len(df), 0))

    def term_columns(self, term: str) -> list[int]:
        """Indices of the design columns of one covariate."""
        return [i for i, t in enumerate(self.terms) if t == term]


def _numeric(s: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=float)
    try:
        return pd.to_numeric(s).to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"covariate {name!r} is not numeric") from exc


def _is_categorical(s: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(s):
        return False
    return not pd.api.types.is_numeric_dtype(s)


def _build_design(
    df: pd.DataFrame, covariates: Sequence[str], reference: Mapping[str, str] | None
) -> Design:
    reference = dict(reference or {})
    unknown_ref = sorted(set(reference) - set(covariates))
    if unknown_ref:
        raise ValueError(f"reference given for covariate(s) not in the model: {unknown_ref}")
    columns: list[str] = []
    terms: list[str] = []
    levels: dict[str, tuple[str, ...]] = {}
    for cov in covariates:
        s = df[cov].dropna()
        if _is_categorical(s) or cov in reference:
            if isinstance(s.dtype, pd.CategoricalDtype):
                lv = [str(x) for x in s.cat.categories if (s == x).any()]
            else:
                lv = sorted({str(x) for x in s})
            ref = str(reference.get(cov, lv[0] if lv else ""))
            if ref not in lv:
                raise ValueError(f"reference level {ref!r} of {cov!r} is not among its levels {lv}")
            if len(lv) < 2:
                raise CoxFitError(
                    f"covariate {cov!r} has a single level ({ref!r}) in these patients: "
                    "it cannot be estimated"
                )
            others = [x for x in lv if x != ref]
            levels[cov] = (ref, *others)
            columns.extend(f"{cov}={x}" for x in others)
            terms.extend([cov] * len(others))
        else:
            columns.append(cov)
            terms.append(cov)
    return Design(tuple(covariates), tuple(columns), tuple(terms), levels)


def endpoint(
    df: pd.DataFrame, duration: str, event: str, horizon_days: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Time and status arrays, censored administratively at ``horizon_days`` if given.

    With a horizon H: ``time = min(t, H)``, ``status = event & (t <= H)`` (1-year mortality:
    ``H = 365``).
    """
    for col in (duration, event):
        if col not in df.columns:
            raise ValueError(f"column {col!r} not found")
    t = pd.to_numeric(df[duration], errors="coerce").to_numpy(dtype=float)
    e = pd.to_numeric(df[event].astype("float64"), errors="coerce").to_numpy(dtype=float)
    ok = ~np.isnan(e)
    if not np.isin(e[ok], (0.0, 1.0)).all():
        raise ValueError(f"event column {event!r} must be coded 1 = event, 0 = censored")
    if np.nanmin(t, initial=0.0) < 0:
        raise ValueError(f"duration column {duration!r} has negative times")
    if horizon_days is not None:
        if not np.isfinite(horizon_days) or horizon_days <= 0:
            raise ValueError(f"horizon_days must be a positive number, got {horizon_days!r}")
        e = np.where(np.isnan(t) | np.isnan(e), np.nan, (e == 1) & (t <= horizon_days))
        t = np.minimum(t, horizon_days)
    return t, e


# --------------------------------------------------------------------------------------
# fitted model and result
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CoxModel:
    """A fitted (or fixed-coefficient) Cox model with its data, for prediction and tests.

    ``time``/``status``/``X`` are the rows actually used (complete cases, horizon applied).
    ``var`` is the inverse information at ``coef`` (for a fixed-coefficient model: at the fixed
    coefficients, as R's ``coxph(..., init = b, iter.max = 0)``).
    """

    design: Design
    coef: np.ndarray
    var: np.ndarray
    time: np.ndarray
    status: np.ndarray
    X: np.ndarray
    ties: str = "efron"
    fixed: bool = False

    @property
    def means(self) -> np.ndarray:
        return self.X.mean(axis=0)

    def linear_predictor(self, data: pd.DataFrame | np.ndarray | None = None) -> np.ndarray:
        """``X beta`` centred at the fit's column means (R ``predict(fit, type = "lp")``)."""
        X = self.X if data is None else self._x(data)
        return (X - self.means) @ self.coef

    def _x(self, data: pd.DataFrame | np.ndarray) -> np.ndarray:
        if isinstance(data, pd.DataFrame):
            return self.design.matrix(data)
        X = np.atleast_2d(np.asarray(data, dtype=float))
        if X.shape[1] != len(self.coef):
            raise ValueError(f"expected {len(self.coef)} design columns, got {X.shape[1]}")
        return X


@dataclass(frozen=True, eq=False)
class CoxResult:
    """Result of :func:`fit_cox` / :func:`fit_cox_fixed`.

    Attributes
    ----------
    summary : DataFrame
        One row per design column: covariate (column name), term (source covariate), coef,
        hr, se, z, lower, upper (95% CI of the HR), p (Wald).
    concordance, concordance_se : float
        R's ``fit$concordance["concordance"]`` and ``sqrt(fit$concordance["var"])``;
        :attr:`concordance_ci` is the 95% Wald interval. Computed on first use (properties):
        a fit read only for its coefficients (calibration slope, smoothed calibration,
        stepwise steps) skips them, ~0.5 s and ~40 MB with 200,000 patients.
    n, events : int
        Patients used and events (after the horizon).
    loglik, loglik_null : float
        Partial log-likelihood at the estimate and at beta = 0 (R ``fit$loglik[2:1]``).
    lrt, wald, score : tuple(chisq, df, p)
        Global tests as printed by ``summary(coxph)``.
    epv : float
        Events per design column; a warning is added below 10.
    warnings : tuple of str
        Non-convergence, possibly infinite coefficients, low EPV, dropped rows.
    """

    summary: pd.DataFrame
    n: int
    events: int
    loglik: float
    loglik_null: float
    lrt: tuple[float, int, float]
    wald: tuple[float, int, float]
    score: tuple[float, int, float]
    epv: float
    converged: bool
    iterations: int
    warnings: tuple[str, ...]
    model: CoxModel
    duration: str
    event: str
    covariates: tuple[str, ...]
    horizon_days: float | None
    n_dropped: int = 0
    fixed: bool = False

    def __getstate__(self) -> dict:
        """A pickled result (``st.cache_data`` stores pickles) carries its C-index: computed
        once for the cached fit, not again on each run's unpickled copy."""
        _ = self.concordance_counts, self.concordance_se
        return self.__dict__

    @functools.cached_property
    def concordance_counts(self) -> Mapping[str, float]:
        """R's ``fit$concordance``: the C-index and its pair counts, on the fit's rows."""
        m = self.model
        return concordance_index(m.time, m.status, m.linear_predictor(), counts=True)

    @property
    def concordance(self) -> float:
        return float(self.concordance_counts["concordance"])

    @functools.cached_property
    def concordance_se(self) -> float:
        """R's ``sqrt(fit$concordance["var"])``, the infinitesimal-jackknife estimate."""
        m = self.model
        return _concordance_se(m.time, m.status, m.linear_predictor())

    @property
    def concordance_ci(self) -> tuple[float, float]:
        """95% Wald interval of the C-index from R's standard error, kept within [0, 1]."""
        half = 1.959963984540054 * self.concordance_se
        return max(0.0, self.concordance - half), min(1.0, self.concordance + half)

    @property
    def ok(self) -> bool:
        """Converged and no coefficient flagged as possibly infinite."""
        return self.converged and not any("infinite" in w for w in self.warnings)

    def term_test(self, term: str) -> tuple[float, int, float]:
        """Wald chi-square (chisq, df, p) of one covariate's columns jointly."""
        idx = self.model.design.term_columns(term)
        if not idx:
            raise ValueError(f"{term!r} is not in the model")
        b = self.model.coef[idx]
        V = self.model.var[np.ix_(idx, idx)]
        chisq = float(b @ np.linalg.solve(V, b))
        return chisq, len(idx), float(stats.chi2.sf(chisq, len(idx)))


def _complete(
    df: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    horizon_days: float | None,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int]:
    if not isinstance(df, pd.DataFrame):
        raise TypeError("df must be a pandas DataFrame")
    covariates = list(covariates)
    if len(set(covariates)) != len(covariates):
        raise ValueError(f"covariates listed twice: {covariates}")
    df = add_derived(df, covariates)
    missing = [c for c in [duration, event, *covariates] if c not in df.columns]
    if missing:
        raise ValueError(f"column(s) not found: {', '.join(missing)}")
    t, e = endpoint(df, duration, event, horizon_days)
    keep = ~np.isnan(t) & ~np.isnan(e) & df[covariates].notna().all(axis=1).to_numpy()
    n_dropped = int((~keep).sum())
    # only the endpoint's and covariates' columns: the rows are a copy, and an upload's other
    # columns made it ~25 MB more with 200,000 patients, at every fit
    cols = list(dict.fromkeys([duration, event, *covariates]))
    return df.loc[keep, cols], t[keep], e[keep], n_dropped


def _summary_frame(design: Design, coef: np.ndarray, var: np.ndarray) -> pd.DataFrame:
    se = np.sqrt(np.diag(var))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = coef / se
        frame = pd.DataFrame(
            {
                "covariate": list(design.columns),
                "term": list(design.terms),
                "coef": coef,
                "hr": np.exp(coef),
                "se": se,
                "z": z,
                "lower": np.exp(coef - _Z95 * se),
                "upper": np.exp(coef + _Z95 * se),
                "p": 2.0 * stats.norm.sf(np.abs(z)),
            }
        )
    return frame


def _separation_messages(design: Design, X: np.ndarray, status: np.ndarray) -> list[str]:
    """Plain-language reasons for an infinite HR: a 0/1 column with no events on one side."""
    out = []
    for j, col in enumerate(design.columns):
        x = X[:, j]
        if not np.isin(x, (0.0, 1.0)).all():
            continue
        for val, what in ((1.0, "with"), (0.0, "without")):
            grp = x == val
            if grp.any() and status[grp].sum() == 0:
                out.append(
                    f"{col}: no events among the {int(grp.sum())} patients {what} it, so its "
                    "hazard ratio is not estimable (the estimate runs off to "
                    f"{'0' if val == 1.0 else 'infinity'})"
                )
    return out


def _fit(
    df: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    *,
    horizon_days: float | None,
    reference: Mapping[str, str] | None,
    ties: Literal["efron", "breslow"],
    init: Mapping[str, float] | None,
    max_iter: int,
) -> CoxResult:
    covariates = tuple(covariates)
    if not covariates:
        raise ValueError("at least one covariate is needed")
    sub, t, e, n_dropped = _complete(df, duration, event, covariates, horizon_days)
    n = len(t)
    if n == 0:
        raise CoxFitError("no patient has complete data for these covariates")
    events = int(e.sum())
    if events == 0:
        raise CoxFitError("there are no events in these patients: a Cox model needs events")
    design = _build_design(sub, covariates, reference)
    X = design.matrix(sub)
    del sub  # the rows' copy (~14 MB with 200,000 patients and 6 columns) before the fit's own
    p = X.shape[1]
    Xc = X - X.mean(axis=0)
    if max_iter > 0:  # estimated coefficients need variation and no collinearity
        const = [c for j, c in enumerate(design.columns) if np.ptp(X[:, j]) == 0]
        if const:
            raise CoxFitError(
                f"covariate(s) constant in these patients: {', '.join(const)} (every patient has "
                "the same value, e.g. after filtering on it): leave it out or widen the filter"
            )
        if np.linalg.matrix_rank(Xc) < p:
            raise CoxFitError(
                "covariates are collinear (one is a linear combination of the others): "
                + ", ".join(design.columns)
            )
        if n <= p:
            raise CoxFitError(f"{n} patients for {p} coefficients: too few")
    beta0 = np.zeros(p)
    if init is not None:
        missing = [c for c in design.columns if c not in init]
        if missing:
            raise ValueError(f"fixed coefficients missing for: {', '.join(missing)}")
        beta0 = np.array([float(init[c]) for c in design.columns])
    rs = _RiskSets(t, e, Xc, ties)
    eng = _newton(rs, beta0, max_iter=max_iter, names=design.columns)
    warns = list(eng.warnings)
    if any("infinite" in w or "converge" in w for w in warns):
        warns.extend(_separation_messages(design, X, e))
    epv = events / p
    if epv < EPV_MIN and max_iter > 0:  # fixed coefficients are not estimated: EPV moot
        warns.append(
            f"Only {events} events for {p} coefficient(s) ({epv:.1f} events per variable, "
            f"< {EPV_MIN:.0f}): estimates may be unstable and over-fitted"
        )
    if n_dropped:
        warns.append(f"{n_dropped} patient(s) with missing values were excluded")
    model = CoxModel(design, eng.beta, eng.var, t, e, X, ties, fixed=max_iter == 0)
    summary = _summary_frame(design, eng.beta, eng.var)
    lrt = 2.0 * (eng.loglik - eng.loglik0)
    try:
        wald = float(eng.beta @ np.linalg.solve(eng.var, eng.beta))
    except np.linalg.LinAlgError:
        wald = float("nan")
    return CoxResult(
        summary=summary,
        n=n,
        events=events,
        loglik=eng.loglik,
        loglik_null=eng.loglik0,
        lrt=(lrt, p, float(stats.chi2.sf(lrt, p))),
        wald=(wald, p, float(stats.chi2.sf(wald, p))),
        score=(eng.score, p, float(stats.chi2.sf(eng.score, p))),
        epv=epv,
        converged=eng.converged,
        iterations=eng.iterations,
        warnings=tuple(warns),
        model=model,
        duration=duration,
        event=event,
        covariates=covariates,
        horizon_days=horizon_days,
        n_dropped=n_dropped,
        fixed=max_iter == 0,
    )


def fit_cox(
    df: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    *,
    horizon_days: float | None = None,
    reference: Mapping[str, str] | None = None,
    ties: Literal["efron", "breslow"] = "efron",
    max_iter: int = ITER_MAX,
) -> CoxResult:
    """Fit a Cox proportional-hazards model, = R ``coxph(Surv(t, e) ~ covariates)``.

    Parameters
    ----------
    df : DataFrame
        One row per patient.  Rows with a missing time, event or covariate are dropped (R's
        ``na.omit``) and counted in ``n_dropped``.
    duration, event : str
        Time (days) and event (1 = event, 0 = censored) columns.
    covariates : sequence of str
        Numeric / boolean columns enter linearly; string or categorical columns are expanded
        to dummies against ``reference``.  Names in :data:`DERIVED_INDICATORS` (``reason_dp``)
        are derived when absent.
    horizon_days : float, optional
        Administrative censoring: ``time = min(t, H)``, ``event = e & t <= H`` (1-year
        mortality: 365).
    reference : mapping, optional
        Reference level per categorical covariate (e.g. ``{"icu_reason": "CRS"}``).
    ties : {"efron", "breslow"}
        Tie handling (R's default is Efron).

    Returns
    -------
    CoxResult

    Raises
    ------
    CoxFitError
        No events, a constant or collinear covariate, or a singular information matrix.
        Non-convergence and infinite coefficients are *not* raised: they are explained in
        ``result.warnings`` (R gives warnings too).
    """
    return _fit(
        df,
        duration,
        event,
        covariates,
        horizon_days=horizon_days,
        reference=reference,
        ties=ties,
        init=None,
        max_iter=max_iter,
    )


def fit_cox_fixed(
    df: pd.DataFrame,
    duration: str,
    event: str,
    coefficients: Mapping[str, float],
    *,
    horizon_days: float | None = None,
    reference: Mapping[str, str] | None = None,
    ties: Literal["efron", "breslow"] = "efron",
) -> CoxResult:
    """A Cox model with coefficients held fixed (e.g. published log-HRs) on this cohort.

    = R ``coxph(Surv(t, e) ~ x1 + x2, init = b, control = coxph.control(iter.max = 0))``: the
    coefficients are not re-estimated; ``se``/``var`` are the inverse information at ``b``
    (what R reports for such a fit) and the model is used for the baseline hazard
    (:func:`predict_survival`).  ``coefficients`` is keyed by design-column name.
    """
    covs = list(dict.fromkeys(c.split("=", 1)[0] for c in coefficients))
    return _fit(
        df,
        duration,
        event,
        covs,
        horizon_days=horizon_days,
        reference=reference,
        ties=ties,
        init=coefficients,
        max_iter=0,
    )
