"""Diagnostics of a Cox fit: the proportional-hazards test (= R ``cox.zph(fit)``, survival >= 3.0),
calibration at a horizon and the bootstrap optimism-corrected C-index.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from core.stats.cox.concordance import concordance_index
from core.stats.cox.engine import _RiskSets
from core.stats.cox.fit import CoxResult, _complete, fit_cox
from core.stats.cox.predict import predict_survival_at
from core.stats.cox.selection import stepwise


# --------------------------------------------------------------------------------------
# proportional hazards test (cox.zph, survival >= 3.0)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PHTest:
    """``cox.zph`` result.

    Attributes
    ----------
    table : DataFrame
        term, chisq, df, p; one row per covariate (term) and a final ``GLOBAL`` row.
    residuals : DataFrame
        Scaled Schoenfeld residuals, one row per event (time order): ``time``, ``x`` (the
        transformed time, 1 - KM(t-) for "km") and one column per term (R ``zph$y``).
    transform : str
    """

    table: pd.DataFrame
    residuals: pd.DataFrame
    transform: str

    def long(self) -> pd.DataFrame:
        """Residuals in long form (time, x, term, residual) for plotting."""
        return self.residuals.melt(id_vars=["time", "x"], var_name="term", value_name="residual")


def _km_left(time: np.ndarray, status: np.ndarray) -> np.ndarray:
    """1 - S(t-) at each subject's own time (KM on all subjects; cox.zph "km")."""
    ut, inv = np.unique(time, return_inverse=True)
    d = np.bincount(inv, weights=status, minlength=len(ut))
    n_at = np.cumsum(np.bincount(inv, minlength=len(ut))[::-1])[::-1]
    s = np.cumprod(1.0 - d / n_at)
    s_left = np.r_[1.0, s[:-1]]
    return 1.0 - s_left[inv]


def ph_test(
    result: CoxResult, transform: Literal["km", "identity", "rank", "log"] = "km"
) -> PHTest:
    """Proportional-hazards test, = R ``cox.zph(fit, transform = "km", terms = TRUE)``.

    Score test (survival >= 3.0) of ``theta = 0`` in ``beta_j(t) = beta_j + theta_j g(t)``,
    ``g`` the centred transformed time, computed at the fitted ``beta`` from the 2p x 2p
    information matrix of ``zph1.c`` (Efron ties); per term (all its columns jointly) and
    global.  Not the pre-3.0 residual-correlation test that lifelines implements.
    """
    m = result.model
    if m.fixed:
        raise ValueError("the PH test needs a fitted model, not fixed coefficients")
    t, st, X, beta = m.time, m.status, m.X, m.coef
    n, p = X.shape
    ev = st == 1
    if transform == "km":
        tt = _km_left(t, st)
    elif transform == "identity":
        tt = t.copy()
    elif transform == "rank":
        tt = stats.rankdata(t)
    elif transform == "log":
        tt = np.log(t)
    else:
        raise ValueError(f"unknown transform {transform!r}")
    g = tt - tt[ev].mean()
    Xc = X - X.mean(axis=0)
    rs = _RiskSets(t, st, Xc, m.ties)
    eta = rs.X @ beta
    den, a, c = rs.terms(eta - eta.max())
    w = rs.term_w
    xbar = a / den[:, None]
    V = c / den[:, None, None] - xbar[:, :, None] * xbar[:, None, :]
    # g at each event block (all tied subjects share the time, hence g)
    g_block = g[rs.order][rs.starts[rs.ev_blocks]]
    gt = g_block[rs.term_block]
    stx = rs.status[:, None] * rs.X
    g_sorted = g[rs.order]
    u2 = (g_sorted[:, None] * stx).sum(axis=0) - (w * gt) @ xbar
    I11 = np.einsum("t,tij->ij", w, V)
    I12 = np.einsum("t,tij->ij", w * gt, V)
    I22 = np.einsum("t,tij->ij", w * gt**2, V)
    imat = np.block([[I11, I12], [I12.T, I22]])
    design = m.design
    terms = list(dict.fromkeys(design.terms))
    rows = []
    for term in terms:
        jj = design.term_columns(term)
        kk = list(range(p)) + [p + j for j in jj]
        u = np.r_[np.zeros(p), u2[jj]]
        chisq = float(u @ np.linalg.solve(imat[np.ix_(kk, kk)], u))
        rows.append((term, chisq, len(jj), float(stats.chi2.sf(chisq, len(jj)))))
    u = np.r_[np.zeros(p), u2]
    chisq = float(u @ np.linalg.solve(imat, u))
    rows.append(("GLOBAL", chisq, p, float(stats.chi2.sf(chisq, p))))
    table = pd.DataFrame(rows, columns=["term", "chisq", "df", "p"])

    # Schoenfeld residuals: x_i - (mean over the Efron terms of the block's x-bar)
    nblk = len(rs.ev_blocks)
    cnt = np.bincount(rs.term_block, weights=w, minlength=nblk)
    blk_mean = np.zeros((nblk, p))
    np.add.at(blk_mean, rs.term_block, w[:, None] * xbar)
    blk_mean /= cnt[:, None]
    blk_of_row = np.searchsorted(rs.ev_blocks, rs.block)  # event rows only are used below
    asc = np.argsort(t, kind="stable")  # R: order(y[,1]), events in time order
    rows_sorted_pos = np.empty(n, dtype=int)
    rows_sorted_pos[rs.order] = np.arange(n)
    ev_rows = asc[ev[asc]]
    pos = rows_sorted_pos[ev_rows]
    schoen = rs.X[pos] - blk_mean[blk_of_row[pos]]
    nevent = int(ev.sum())
    vmean = I11 / nevent
    # terms with several columns are combined with the coefficients (R, terms = TRUE)
    T = np.zeros((p, len(terms)))
    for i, term in enumerate(terms):
        jj = design.term_columns(term)
        T[jj, i] = 1.0 if len(jj) == 1 else beta[jj]
    sres = schoen @ T
    vm = T.T @ vmean @ T
    sres = np.linalg.solve(vm, sres.T).T
    for i, term in enumerate(terms):
        jj = design.term_columns(term)
        sres[:, i] += beta[jj[0]] if len(jj) == 1 else 1.0
    resid = pd.DataFrame(sres, columns=terms)
    resid.insert(0, "x", tt[ev_rows])
    resid.insert(0, "time", t[ev_rows])
    return PHTest(table, resid, transform)


# --------------------------------------------------------------------------------------
# calibration and optimism-corrected concordance
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Calibration:
    """Predicted vs Kaplan-Meier-observed survival at ``horizon`` by risk group.

    ``table`` columns: group (1 = lowest risk), label, n, events, lp_min, lp_max, predicted
    (mean model S(horizon|x) in the group), observed (KM at horizon), obs_lower, obs_upper
    (log CI, R ``summary(survfit(...), times = horizon)``).
    """

    table: pd.DataFrame
    horizon: float
    groups: int
    note: str


def calibration(
    df: pd.DataFrame, result: CoxResult, horizon: float = 365, groups: int = 3
) -> Calibration:
    """Calibration at ``horizon`` days by quantile group of the linear predictor.

    Patients are the rows the model was fitted on (complete cases of ``df``); groups are
    quantile groups of the linear predictor (``pd.qcut``, tied boundaries merged, so fewer
    groups may result).  Predicted survival is the mean of the model's S(horizon | x_i)
    (:func:`predict_survival`); observed is the group's Kaplan-Meier estimate with log CI.
    """
    from core.stats.survival import survival_at

    if groups < 2:
        raise ValueError("groups must be at least 2")
    m = result.model
    if not np.isfinite(horizon) or horizon <= 0:
        raise ValueError("horizon must be a positive number of days")
    lp = m.linear_predictor()
    pred = predict_survival_at(m, m.X, [horizon], coef_variance=False)["surv"][0]
    cats = pd.qcut(lp, groups, labels=False, duplicates="drop")
    k = int(np.nanmax(cats)) + 1
    note = "" if k == groups else f"tied risk scores: only {k} distinct groups"
    frame = pd.DataFrame({"time": m.time, "status": m.status, "group": cats + 1})
    obs = survival_at(frame, "time", "status", [horizon], group="group")
    names = {1: "Low risk", k: "High risk"}
    rows = []
    gap: list[str] = []
    for gi in range(1, k + 1):
        sel = frame["group"].to_numpy() == gi
        o = obs[obs["group"] == gi].iloc[0]
        observed, lo, hi = float(o["survival"]), float(o["lower"]), float(o["upper"])
        if np.isnan(observed):  # the group's follow-up ends before the horizon
            t_last = float(frame["time"][sel].max())
            s_last = survival_at(frame[sel], "time", "status", [t_last])["survival"].iloc[0]
            if s_last == 0:  # everybody died: S(horizon) = 0 (R's summary() would refuse)
                observed = 0.0
            else:
                gap.append(f"group {gi} (last follow-up day {t_last:g})")
        rows.append(
            {
                "group": gi,
                "label": names.get(gi, "Intermediate risk" if k == 3 else f"Group {gi}"),
                "n": int(sel.sum()),
                "events": int(m.status[sel].sum()),
                "lp_min": float(lp[sel].min()),
                "lp_max": float(lp[sel].max()),
                "predicted": float(np.nanmean(pred[sel])),
                "observed": observed,
                "obs_lower": lo,
                "obs_upper": hi,
            }
        )
    if gap:
        note = "; ".join(
            [
                *([note] if note else []),
                "no Kaplan-Meier estimate at the horizon for " + ", ".join(gap),
            ]
        )
    return Calibration(pd.DataFrame(rows), float(horizon), k, note)


@dataclass(frozen=True, eq=False)
class BootstrapCIndex:
    """Harrell's bootstrap optimism correction of the C-index.

    ``corrected = apparent - mean(C_boot(boot sample) - C_boot(original sample))``.
    ``replicates``: b, c_boot, c_orig, optimism for each successful replicate.
    """

    apparent: float
    optimism: float
    corrected: float
    n_boot: int
    n_failed: int
    seed: int
    replicates: pd.DataFrame


def bootstrap_cindex(
    df: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    *,
    n_boot: int = 200,
    seed: int = 20240101,
    horizon_days: float | None = None,
    reference: Mapping[str, str] | None = None,
    selection: Mapping[str, object] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BootstrapCIndex:
    """Optimism-corrected C-index (Harrell 1996; as ``rms::validate(fit, B = n_boot)``'s Dxy/2+.5).

    Each replicate draws ``n`` patients with replacement (NumPy ``default_rng(seed)``), refits
    the model (the same covariates, or, with ``selection={"candidates": [...], "entry": 0.2,
    "removal": 0.1}``, re-runs :func:`stepwise` so the selection's optimism is included),
    and records C on the bootstrap sample and on the original sample.  Replicates whose model
    cannot be fitted (e.g. a level absent from the sample) are skipped and counted in
    ``n_failed``.  ``progress(i, n_boot)`` is called after each replicate (for a progress bar).
    """
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    covariates = list(covariates)
    base = fit_cox(df, duration, event, covariates, horizon_days=horizon_days, reference=reference)
    pool = selection.get("candidates", covariates) if selection else covariates
    sub, t, e, _ = _complete(
        df, duration, event, list(dict.fromkeys([*covariates, *pool])), horizon_days
    )
    sub = sub.reset_index(drop=True)
    n = len(sub)
    rng = np.random.default_rng(seed)
    rows = []
    failed = 0
    for b in range(1, n_boot + 1):
        idx = rng.integers(0, n, n)
        boot = sub.iloc[idx].reset_index(drop=True)
        try:
            if selection:
                sw = stepwise(
                    boot,
                    duration,
                    event,
                    list(pool),
                    entry=float(selection.get("entry", 0.2)),
                    removal=float(selection.get("removal", 0.1)),
                    test=str(selection.get("test", "wald")),
                    horizon_days=horizon_days,
                    reference=reference,
                )
                res = sw.final
            else:
                res = fit_cox(
                    boot,
                    duration,
                    event,
                    covariates,
                    horizon_days=horizon_days,
                    reference=reference,
                )
            if res is None:
                c_boot = c_orig = 0.5
            else:
                c_boot = res.concordance
                lp = res.model.linear_predictor(sub)
                c_orig = float(concordance_index(t, e, lp))
        except ValueError:
            failed += 1
        else:
            rows.append(
                {
                    "b": b,
                    "c_boot": c_boot,
                    "c_orig": c_orig,
                    "optimism": c_boot - c_orig,
                }
            )
        if progress is not None:
            progress(b, n_boot)
    reps = pd.DataFrame(rows, columns=["b", "c_boot", "c_orig", "optimism"])
    opt = float(reps["optimism"].mean()) if len(reps) else float("nan")
    return BootstrapCIndex(
        apparent=base.concordance,
        optimism=opt,
        corrected=base.concordance - opt,
        n_boot=n_boot,
        n_failed=failed,
        seed=seed,
        replicates=reps,
    )
