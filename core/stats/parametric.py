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
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
