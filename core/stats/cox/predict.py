"""Predicted survival of new patients = R ``survfit(coxph_fit, newdata = ...)`` (Efron baseline
hazard, ``ctype = 2``; standard errors of ``coxsurv.fit``; ``conf.type = "log"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from core.stats.cox.fit import CoxModel, CoxResult


# --------------------------------------------------------------------------------------
# survival curves for new patients (survfit.coxph)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SurvivalPrediction:
    """Predicted survival curves, one column per new patient (R ``survfit(fit, newdata)``).

    ``time`` are the distinct observed times (as R's ``fit$time``); ``surv``, ``cumhaz``,
    ``std_err`` (se of the cumulative hazard, R's ``std.err``), ``lower``, ``upper`` are
    (len(time), k) arrays; the CI is R's ``conf.type = "log"``.
    """

    time: np.ndarray
    surv: np.ndarray
    cumhaz: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    conf_int: float
    coef_variance: bool

    def at(self, times: Sequence[float]) -> dict[str, np.ndarray]:
        """Step-function values at given times (R ``summary(sf, times = ...)``).

        Times before the first observed time give S = 1; times after the last observed time
        give NaN (R drops them unless ``extend = TRUE``).
        """
        t = np.asarray(times, dtype=float)
        i = np.searchsorted(self.time, t, side="right") - 1
        out = {}
        for name in ("surv", "lower", "upper", "std_err", "cumhaz"):
            arr = getattr(self, name)
            first = 0.0 if name in ("std_err", "cumhaz") else 1.0
            padded = np.vstack([np.full((1, arr.shape[1]), first), arr])
            vals = padded[i + 1]
            vals[t > self.time[-1]] = np.nan
            out[name] = vals
        return out

    def frame(self, labels: Sequence[str] | None = None) -> pd.DataFrame:
        """Long table: profile, time, surv, lower, upper (with an origin row at time 0)."""
        k = self.surv.shape[1]
        labels = list(labels) if labels is not None else [str(i + 1) for i in range(k)]
        parts = []
        for j, lab in enumerate(labels):
            parts.append(
                pd.DataFrame(
                    {
                        "profile": lab,
                        "time": np.r_[0.0, self.time],
                        "surv": np.r_[1.0, self.surv[:, j]],
                        "lower": np.r_[1.0, self.lower[:, j]],
                        "upper": np.r_[1.0, self.upper[:, j]],
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)


def _baseline(model: CoxModel):
    """Baseline hazard pieces of ``survival:::agsurv`` (ctype 2 = Efron, 1 = Breslow).

    Risk scores are centred at the column means (as R); returns distinct times, hazard
    increments, variance increments and the cumulative x-bar term.
    """
    X, t, st = model.X, model.time, model.status
    Xc = X - model.means
    risk = np.exp(Xc @ model.coef)
    times, inv = np.unique(t, return_inverse=True)
    nt = len(times)
    p = X.shape[1]

    def rowsum(v):
        out = np.zeros((nt, *v.shape[1:]))
        np.add.at(out, inv, v)
        return out

    def rcumsum(v):
        return np.cumsum(v[::-1], axis=0)[::-1]

    nevent = rowsum(st)
    nrisk = rcumsum(rowsum(risk))
    xsum = rcumsum(rowsum(risk[:, None] * Xc))
    if model.ties == "breslow":
        with np.errstate(divide="ignore", invalid="ignore"):
            haz = np.where(nevent > 0, nevent / nrisk, 0.0)
            varhaz = np.where(nevent > 0, nevent / nrisk**2, 0.0)
            xbar = (xsum / nrisk[:, None]) * haz[:, None]
    else:  # agsurv5.c: d Efron terms per event time, the deaths' share j/d removed
        erisk = rowsum(risk * st)
        xsum2 = rowsum((risk * st)[:, None] * Xc)
        ev = np.flatnonzero(nevent > 0)
        dd = np.rint(nevent[ev]).astype(int)
        blk = np.repeat(ev, dd)
        frac = (np.arange(dd.sum()) - np.repeat(np.cumsum(dd) - dd, dd)) / np.repeat(dd, dd)
        den = nrisk[blk] - erisk[blk] * frac
        haz = np.bincount(blk, weights=1.0 / den, minlength=nt)
        varhaz = np.bincount(blk, weights=1.0 / den**2, minlength=nt)
        num = (xsum[blk] - xsum2[blk] * frac[:, None]) / (den**2)[:, None]
        xbar = np.zeros((nt, p))
        np.add.at(xbar, blk, num)
    return times, haz, varhaz, np.cumsum(xbar, axis=0)


def predict_survival(
    model: CoxModel | CoxResult,
    newdata: pd.DataFrame | np.ndarray,
    *,
    conf_int: float = 0.95,
    coef_variance: bool | None = None,
    var: np.ndarray | None = None,
) -> SurvivalPrediction:
    """Survival curves S(t | x) for new patients, = R ``survfit(fit, newdata = newdata)``.

    ``H(t|x) = H0(t) exp((x - xbar) beta)`` with the Efron-type baseline hazard of a
    ``ties = "efron"`` fit (R's default ``ctype = 2``), ``S = exp(-H)``;
    ``var H(t|x) = exp(2 lp) [sum dN / S0^2 (Efron-corrected) + d(t)' V d(t)]``,
    ``d(t) = H0(t) x - xbar(t)`` (``coxsurv.fit``); log CI ``S exp(+- z se)``, upper capped at 1.

    Parameters
    ----------
    coef_variance : bool, optional
        Include the ``d' V d`` term (uncertainty of the coefficients).  Default: True for a
        fitted model (R's CI), False for a fixed-coefficient model, whose CI then reflects the
        baseline hazard only (= R ``survfit`` after setting ``fit$var`` to zero).
    var : array, optional
        The coefficients' covariance to use instead of the model's (= R ``survfit`` after
        ``fit$var <- var``), e.g. one implied by published confidence intervals.
    """
    model, coef_variance = _checked(model, conf_int, coef_variance)
    times, haz, varhaz, xbar = _baseline(model)
    arrays = _curves(model, newdata, np.cumsum(haz), np.cumsum(varhaz), xbar, conf_int,
                     coef_variance, var)  # fmt: skip
    return SurvivalPrediction(times, *arrays, conf_int, coef_variance)


def predict_survival_at(
    model: CoxModel | CoxResult,
    newdata: pd.DataFrame | np.ndarray,
    times: Sequence[float],
    *,
    conf_int: float = 0.95,
    coef_variance: bool | None = None,
    var: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """``predict_survival(model, newdata).at(times)`` computed at ``times`` only.

    The same numbers without the (distinct times x patients) arrays of the whole curves:
    what a calibration or a validation of many patients at one horizon needs (200,000
    patients x 700 distinct days would be 1 GB per array).
    """
    model, coef_variance = _checked(model, conf_int, coef_variance)
    obs, haz, varhaz, xbar = _baseline(model)
    t = np.asarray(times, dtype=float)
    i = np.searchsorted(obs, t, side="right") - 1  # -1: before the first time

    def pick(v: np.ndarray) -> np.ndarray:
        padded = np.concatenate([np.zeros((1, *v.shape[1:])), v])
        return padded[i + 1]

    arrays = _curves(model, newdata, pick(np.cumsum(haz)), pick(np.cumsum(varhaz)),
                     pick(xbar), conf_int, coef_variance, var)  # fmt: skip
    out = dict(zip(("surv", "cumhaz", "std_err", "lower", "upper"), arrays, strict=True))
    for name, first in (("surv", 1.0), ("lower", 1.0), ("upper", 1.0)):
        out[name][i < 0] = first  # before the first observed time (as .at())
    for arr in out.values():
        arr[t > obs[-1]] = np.nan
    return out


def _checked(model, conf_int: float, coef_variance: bool | None) -> tuple[CoxModel, bool]:
    if isinstance(model, CoxResult):
        model = model.model
    if not 0 < conf_int < 1:
        raise ValueError("conf_int must be between 0 and 1")
    return model, (not model.fixed) if coef_variance is None else coef_variance


def _curves(
    model: CoxModel,
    newdata,
    H0: np.ndarray,
    cvar: np.ndarray,
    xbar: np.ndarray,
    conf_int: float,
    coef_variance: bool,
    var: np.ndarray | None = None,
) -> tuple[np.ndarray, ...]:
    """surv, cumhaz, std_err, lower, upper at the rows of H0 (one column per patient)."""
    x2 = model._x(newdata) - model.means
    risk2 = np.exp(x2 @ model.coef)
    cumhaz = np.outer(H0, risk2)
    surv = np.exp(-cumhaz)
    quad = np.zeros_like(cumhaz)
    if coef_variance or var is not None:
        # d(t)' V d(t) with d = H0(t) x - xbar(t), expanded so no loop over patients runs:
        # H0^2 x'Vx - 2 H0 x'V xbar(t) + xbar(t)'V xbar(t)
        V = model.var if var is None else np.asarray(var, dtype=float)
        xvx = np.einsum("ki,ij,kj->k", x2, V, x2)
        xvb = xbar @ V @ x2.T  # (times, patients)
        bvb = np.einsum("ti,ij,tj->t", xbar, V, xbar)
        quad = np.outer(H0**2, xvx) - 2 * H0[:, None] * xvb + bvb[:, None]
    se = np.sqrt(np.maximum(cvar[:, None] + quad, 0.0) * risk2**2)
    z = float(stats.norm.ppf(1 - (1 - conf_int) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        xx = np.where(surv == 0, np.nan, surv)
        lower = np.exp(np.log(xx) - z * se)
        upper = np.minimum(np.exp(np.log(xx) + z * se), 1.0)
    return surv, cumhaz, se, lower, upper
