"""Cumulative/dynamic AUC at one horizon, with frequency weights, for the bootstrap.

The estimator is scikit-survival's ``cumulative_dynamic_auc`` (Uno et al. 2007; Hung & Chiang
2010): cases die by the horizon, controls are alive after it, each case weighted by the inverse
of the censoring distribution's Kaplan-Meier at its time, tied scores (within ``1e-8``) taken
as one threshold, the ROC curve integrated by the trapezoidal rule.

Why by hand: sksurv's censoring Kaplan-Meier is a Python loop over the sorted times (0.3 s for
200,000 patients), run again for each of the 200 bootstrap resamples (50 s for the validation
page of a 200,000-row upload). Here a resample is a vector of counts (how often each patient
was drawn) over an order sorted once, so each resample costs a few ``bincount`` calls: the same
numbers as sksurv on the resampled rows (tested to 1e-12), in O(n) per resample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TIED_TOL = 1e-8  # sksurv's tied_tol


@dataclass(frozen=True)
class AUCData:
    """One cohort's times, events and scores, indexed once for repeated weighted AUCs."""

    horizon: float
    case: np.ndarray  # died by the horizon
    control: np.ndarray  # alive after the horizon
    event: np.ndarray
    times: np.ndarray  # the distinct times, ascending
    t_index: np.ndarray  # each patient's position among them
    s_index: np.ndarray  # each patient's position among the distinct scores, highest first
    scores: np.ndarray  # the distinct scores, highest first


def prepare(time, event, score, horizon: float) -> AUCData:
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    score = np.asarray(score, dtype=float)
    uniq_t, t_index = np.unique(time, return_inverse=True)
    neg_scores, s_index = np.unique(-score, return_inverse=True)
    return AUCData(
        horizon=float(horizon),
        case=(time <= horizon) & event,
        control=time > horizon,
        event=event,
        times=uniq_t,
        t_index=t_index,
        s_index=s_index,
        scores=-neg_scores,
    )


def weighted_auc(data: AUCData, weight: np.ndarray | None = None) -> float:
    """The cumulative/dynamic AUC at ``data.horizon`` of the cohort with each patient counted
    ``weight`` times (default once); ``nan`` without a case or a control, or when nobody is
    followed beyond the horizon (sksurv's conditions in the validation page).

    Equal to sksurv's on the rows repeated ``weight`` times, except where sksurv raises
    (see below).
    """
    w = np.ones(len(data.case)) if weight is None else np.asarray(weight, dtype=float)
    seen = w > 0
    if not (data.case & seen).any() or not (data.control & seen).any():
        return math.nan
    tot = np.bincount(data.t_index, weights=w, minlength=len(data.times))
    if data.horizon >= data.times[np.flatnonzero(tot > 0)[-1]]:  # the (re)sample's last time
        return math.nan
    # censoring distribution: reverse Kaplan-Meier (censorings are its events; at a tied time
    # deaths leave the risk set first), G(t) including the factor at t
    deaths = np.bincount(data.t_index, weights=w * data.event, minlength=len(data.times))
    censored = tot - deaths
    at_risk = np.cumsum(tot[::-1])[::-1] - deaths
    ratio = np.divide(censored, at_risk, out=np.zeros(len(data.times)), where=censored != 0)
    g = np.cumprod(1.0 - ratio)  # 1 throughout when nobody is censored (sksurv's special case)
    # only deaths by the horizon need a weight: sksurv also weights deaths after it and
    # refuses the cohort when G is 0 at one (a death and a censoring tied at the last time),
    # though those weights never enter the AUC; here that cohort gets its AUC
    ipcw = np.zeros(len(w))
    ipcw[data.case] = w[data.case] / g[data.t_index[data.case]]
    k = len(data.scores)
    tp = np.bincount(data.s_index, weights=ipcw, minlength=k)
    fp = np.bincount(data.s_index, weights=w * data.control, minlength=k)
    present = np.bincount(data.s_index, weights=w, minlength=k) > 0
    scores, tp, fp = data.scores[present], tp[present], fp[present]
    # a threshold per run of scores within TIED_TOL of the previous one (sksurv keeps the last)
    starts = np.r_[True, np.abs(np.diff(scores)) > TIED_TOL]
    group = np.cumsum(starts) - 1
    cum_tp = np.cumsum(np.bincount(group, weights=tp))
    cum_fp = np.cumsum(np.bincount(group, weights=fp))
    tpr = np.r_[0.0, cum_tp / cum_tp[-1]]
    fpr = np.r_[0.0, cum_fp / cum_fp[-1]]
    return float(np.trapezoid(tpr, fpr))
