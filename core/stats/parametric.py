"""Parametric survival fits with lifelines, reported as R ``survreg(Surv(t, e) ~ 1, dist = ...)``.

lifelines' univariate fitters are used as they are (maximum likelihood with their own
optimisers) and their parameters translated into survreg's location-scale form
``log T = mu + scale x W``:

=============  ==========================  ===============================================
distribution   lifelines                   survreg
=============  ==========================  ===============================================
weibull        S = exp(-(t / lambda)^rho)  mu = log(lambda), scale = 1 / rho
exponential    S = exp(-t / lambda)        mu = log(lambda), scale = 1
lognormal      log T ~ N(mu, sigma)        mu = mu, scale = sigma
loglogistic    S = 1 / (1 + (t/alpha)^b)   mu = log(alpha), scale = 1 / beta
=============  ==========================  ===============================================

The log-likelihoods are the same function of the data (on the time scale), so AIC compares
as R's ``AIC(fit)``. Survival at chosen days comes with lifelines' 95% interval (delta
method on its parameters).

Regression (:func:`fit_aft`) uses lifelines' accelerated-failure-time fitters, equal to R
``survreg(Surv(t, e) ~ x1 + x2 + ..., dist = ...)``: Weibull (``WeibullAFTFitter``),
log-normal (``LogNormalAFTFitter``) and log-logistic (``LogLogisticAFTFitter``).  In each,
the linear predictor of lifelines' location parameter is survreg's ``mu = b0 + b'x`` (the
coefficients are the same numbers) and its ancillary intercept is ``log(scale)`` up to sign
(see :data:`_LOG_SCALE_SIGN`).  lifelines has no exponential AFT fitter (survreg's
``dist = "exponential"`` is the Weibull with the scale fixed at 1, which lifelines' regression
fitters cannot fix), so the exponential is univariate only.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from core.cohort.variables import add_derived
from core.stats.cox.fit import endpoint

DISTRIBUTIONS = ("weibull", "lognormal", "loglogistic", "exponential")
LABELS = {
    "weibull": "Weibull",
    "lognormal": "Log-normal",
    "loglogistic": "Log-logistic",
    "exponential": "Exponential",
}


@dataclass(frozen=True, eq=False)
class ParametricFit:
    distribution: str
    mu: float
    scale: float
    loglik: float
    aic: float
    median: float
    at: pd.DataFrame  # day, surv, lower, upper
    curve: pd.DataFrame  # time, surv, lower, upper (for drawing)
    n: int
    events: int


def _fitter(distribution: str):
    from lifelines import ExponentialFitter, LogLogisticFitter, LogNormalFitter, WeibullFitter

    return {
        "weibull": WeibullFitter,
        "lognormal": LogNormalFitter,
        "loglogistic": LogLogisticFitter,
        "exponential": ExponentialFitter,
    }[distribution]()


def _survreg_params(distribution: str, p: pd.Series) -> tuple[float, float]:
    if distribution == "weibull":
        return math.log(p["lambda_"]), 1.0 / p["rho_"]
    if distribution == "exponential":
        return math.log(p["lambda_"]), 1.0
    if distribution == "lognormal":
        return float(p["mu_"]), float(p["sigma_"])
    return math.log(p["alpha_"]), 1.0 / p["beta_"]


def fit_parametric(
    df: pd.DataFrame,
    duration: str,
    event: str,
    distribution: str,
    *,
    days: tuple[float, ...] = (365.0, 730.0),
    until: float | None = None,
) -> ParametricFit:
    """One distribution fitted to ``df``; survival at ``days`` and a curve up to ``until``."""
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {', '.join(DISTRIBUTIONS)}")
    d = df[[duration, event]].dropna()
    t = d[duration].to_numpy(dtype=float)
    e = d[event].to_numpy(dtype=float).astype(int)
    if len(t) < 2 or e.sum() == 0:
        raise ValueError("a parametric fit needs at least one event")
    t = np.where(t <= 0, 1e-3, t)  # a death on day 0: lifelines and survreg need t > 0
    last = float(t.max())
    until = float(until or last)
    grid = np.unique(np.concatenate([np.linspace(0.5, until, 200), np.asarray(days, float)]))
    f = _fitter(distribution)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines' convergence chatter; failures raise
        f.fit(t, e, timeline=grid)
    mu, scale = _survreg_params(distribution, f.params_)
    ci = f.confidence_interval_survival_function_
    curve = pd.DataFrame(
        {
            "time": grid,
            "surv": f.survival_function_.iloc[:, 0].to_numpy(),
            "lower": ci.iloc[:, 0].to_numpy(),
            "upper": ci.iloc[:, 1].to_numpy(),
        }
    )
    at = curve[curve["time"].isin(np.asarray(days, float))].rename(columns={"time": "day"})
    return ParametricFit(
        distribution=distribution,
        mu=float(mu),
        scale=float(scale),
        loglik=float(f.log_likelihood_),
        aic=float(f.AIC_),
        median=float(f.median_survival_time_),
        at=at.reset_index(drop=True),
        curve=curve,
        n=len(t),
        events=int(e.sum()),
    )


# --------------------------------------------------------------------------------------
# accelerated failure time regression = survreg(Surv(t, e) ~ covariates, dist = ...)
# --------------------------------------------------------------------------------------
AFT_DISTRIBUTIONS = ("weibull", "lognormal", "loglogistic")
_Z95 = float(ndtri(0.975))

#: lifelines' (location, ancillary) parameter names of each AFT fitter
_AFT_PARAMS = {
    "weibull": ("lambda_", "rho_"),
    "lognormal": ("mu_", "sigma_"),
    "loglogistic": ("alpha_", "beta_"),
}
#: survreg's ``log(scale)`` = sign x lifelines' ancillary intercept.  Weibull: lifelines'
#: shape ``rho = exp(rho_)`` and survreg's ``scale = 1 / rho``, so ``log(scale) = -rho_``;
#: log-logistic: ``beta = exp(beta_)``, ``scale = 1 / beta``, ``log(scale) = -beta_``;
#: log-normal: ``sigma = exp(sigma_)`` is survreg's scale, ``log(scale) = sigma_``.  A sign
#: change leaves the standard error as it is.
_LOG_SCALE_SIGN = {"weibull": -1.0, "lognormal": 1.0, "loglogistic": -1.0}
#: optimiser tolerances.  lifelines' own defaults stop early for the log-logistic (SLSQP with
#: ftol = 1e-6: on the reconstructed cohort its coefficients were ~3e-3 from survreg's, the
#: log-likelihood 3e-5 below survreg's maximum, with a gradient of 0.04 left); these
#: tighter ones reach survreg's maximum (to ~1e-6 on the coefficients).
_AFT_FIT_OPTIONS = {"SLSQP": {"ftol": 1e-12, "maxiter": 1000}, "BFGS": {"gtol": 1e-9}}


@dataclass(frozen=True, eq=False)
class AFTFit:
    """An AFT regression as R's ``summary(survreg(...))``.

    ``table``: one row per coefficient (``term`` = ``"(Intercept)"`` then the covariates):
    coef, se, z, p (Wald, as survreg's ``p``), time_ratio = exp(coef) with its 95% Wald CI
    ``lower``/``upper`` = exp(coef -+ 1.96 se).  ``log_scale`` (with ``log_scale_se``) is
    survreg's ``Log(scale)``; ``scale`` = exp(log_scale) (Weibull and log-logistic shape =
    1 / scale).  ``loglik`` = ``fit$loglik[2]``, ``aic`` = R's ``AIC(fit)`` (coefficients
    plus the scale).
    """

    distribution: str
    covariates: tuple[str, ...]
    table: pd.DataFrame
    log_scale: float
    log_scale_se: float
    scale: float
    loglik: float
    aic: float
    n: int
    events: int
    horizon_days: float | None


def _aft_fitter(distribution: str):
    from lifelines import LogLogisticAFTFitter, LogNormalAFTFitter, WeibullAFTFitter

    return {
        "weibull": WeibullAFTFitter,
        "lognormal": LogNormalAFTFitter,
        "loglogistic": LogLogisticAFTFitter,
    }[distribution]()


def fit_aft(
    df: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    distribution: str,
    *,
    horizon_days: float | None = None,
) -> AFTFit:
    """AFT regression of ``duration``/``event`` on numeric ``covariates``, = R ``survreg``.

    The endpoint is :func:`core.stats.cox.fit.endpoint` (with ``horizon_days``: follow-up
    censored there, as ``fit_cox(..., horizon_days=...)``); complete cases only; a death on
    day 0 is put at day 0.001 (survreg needs t > 0), as :func:`fit_parametric`.  Derived
    indicators (``reason_dp``) are added from their source column.  The fit is lifelines'
    (maximum likelihood with its optimiser, tighter tolerances, see ``_AFT_FIT_OPTIONS``);
    standard errors are from lifelines' Hessian at the maximum, the same observed
    information as survreg's ``vcov(fit)``.

    Raises
    ------
    ValueError
        An unknown distribution, a missing or non-numeric covariate, no event, or a fit
        that lifelines reports as not converged (lifelines' ``ConvergenceError`` is a
        ``ValueError``).
    """
    if distribution not in AFT_DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {', '.join(AFT_DISTRIBUTIONS)}")
    covariates = tuple(covariates)
    if not covariates:
        raise ValueError("an AFT regression needs at least one covariate")
    d = add_derived(df, covariates)
    missing = [c for c in covariates if c not in d.columns]
    if missing:
        raise ValueError(f"column(s) not found: {', '.join(missing)}")
    t, e = endpoint(d, duration, event, horizon_days)
    x = pd.DataFrame(index=d.index)
    for c in covariates:
        s = d[c]
        numeric_levels = isinstance(s.dtype, pd.CategoricalDtype) and (
            pd.api.types.is_numeric_dtype(s.cat.categories)
        )
        if pd.api.types.is_bool_dtype(s) or numeric_levels:  # True = 1; a level = its number
            s = s.astype(float)
        if not pd.api.types.is_numeric_dtype(s):
            raise ValueError(f"covariate {c!r} is not numeric")
        x[c] = s.to_numpy(dtype=float)
    frame = x.assign(_t=t, _e=e).dropna()
    n, events = len(frame), int(frame["_e"].sum())
    if events == 0:
        raise ValueError("an AFT regression needs at least one event")
    if n <= len(covariates) + 2:
        raise ValueError(f"{n} patients are too few for {len(covariates)} covariate(s)")
    constant = [c for c in covariates if frame[c].nunique() < 2]
    if constant:
        raise ValueError(f"covariate(s) with a single value in these patients: {constant}")
    frame["_t"] = np.where(frame["_t"] <= 0, 1e-3, frame["_t"])
    frame["_e"] = frame["_e"].astype(int)
    f = _aft_fitter(distribution)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines' convergence chatter; failures raise
        f.fit(frame, "_t", "_e", fit_options=_AFT_FIT_OPTIONS.get(f._scipy_fit_method, {}))
    loc, anc = _AFT_PARAMS[distribution]
    terms = ["Intercept", *covariates]
    coef = f.params_.loc[loc].reindex(terms).to_numpy(dtype=float)
    se = f.standard_errors_.loc[loc].reindex(terms).to_numpy(dtype=float)
    z = coef / se
    table = pd.DataFrame(
        {
            "term": ["(Intercept)", *covariates],
            "coef": coef,
            "se": se,
            "z": z,
            "p": 2 * ndtr(-np.abs(z)),
            "time_ratio": np.exp(coef),
            "lower": np.exp(coef - _Z95 * se),
            "upper": np.exp(coef + _Z95 * se),
        }
    )
    log_scale = _LOG_SCALE_SIGN[distribution] * float(f.params_.loc[(anc, "Intercept")])
    return AFTFit(
        distribution=distribution,
        covariates=covariates,
        table=table,
        log_scale=log_scale,
        log_scale_se=float(f.standard_errors_.loc[(anc, "Intercept")]),
        scale=math.exp(log_scale),
        loglik=float(f.log_likelihood_),
        aic=float(f.AIC_),
        n=n,
        events=events,
        horizon_days=None if horizon_days is None else float(horizon_days),
    )
