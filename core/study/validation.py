"""External validation of the paper's published model on a cohort (no Streamlit).

``validate(df)`` applies the published log-HRs (never refitted) to every patient of ``df``
that has the three predictors and the endpoint, and reports what TRIPOD+AI asks of an
external validation: discrimination, calibration and clinical utility at a horizon.

* **Linear predictor** ``lp = sum(beta_k x_k)`` with the published ``beta = log(HR)``
  (:func:`core.study.model.paper_model`).
* **Predicted risk** at the horizon ``1 - S(h | x)``. The baseline survival is, by default,
  the one of the paper's reconstruction (the published coefficients held fixed on the shipped
  reconstructed cohort, :func:`core.stats.cox.fit.fit_cox_fixed`): what a user of the
  published model would apply. The updating ladder: ``"recalibrate"`` re-estimates the
  baseline on the validation cohort (coefficients still fixed); ``"slope"`` refits
  ``coxph(Surv ~ lp)`` on it, shrinking the log-HRs by the calibration slope.
* **Discrimination**: Harrell's C with R's standard error (``concordance(Surv ~ lp,
  reverse = TRUE)`` on the endpoint censored at the horizon), Uno's C (``timewt = "n/G2",
  ymax = horizon`` on the whole follow-up) and the cumulative/dynamic AUC at the horizon
  (scikit-survival's ``cumulative_dynamic_auc`` estimator, in :mod:`core.stats.auc`;
  inverse-probability-of-censoring weights)
  with a seeded bootstrap interval (no analytic variance is implemented there).
* **Calibration**: observed/expected (O = Kaplan-Meier risk at the horizon, E = mean
  predicted risk; log CI from Greenwood's variance of O), the calibration slope (the
  coefficient of ``lp`` in ``coxph(Surv(min(t, h), event by h) ~ lp)``, 1 = perfect, with its
  Wald CI), a grouped table (Kaplan-Meier observed risk with CI per quantile group of
  predicted risk) and a smoothed curve after Austin, Harrell & van Klaveren (Stat Med 2020):
  a Cox model of the outcome on a natural cubic spline (3 knots at the 10th, 50th and 90th
  percentiles) of ``log(-log(1 - predicted))``, whose fitted risks give ICI (mean |smoothed
  observed - predicted|), E50 and E90.
* **Clinical utility**: net benefit across risk thresholds (the time-to-event decision curve
  of Vickers et al., as R ``dcurves::dca(Surv ~ risk, time = h)``): for threshold p, the
  patients with predicted risk >= p are "treated"; with ``k`` their share and ``r`` their
  Kaplan-Meier risk at the horizon, ``NB = k r - k (1 - r) p / (1 - p)``; treat-all uses the
  whole cohort's Kaplan-Meier risk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd

from core.cohort.variables import DERIVED_INDICATORS, add_derived
from core.stats.auc import prepare as auc_data
from core.stats.auc import weighted_auc
from core.stats.cox.concordance import concordance_index, concordance_se, uno_concordance
from core.stats.cox.fit import CoxResult, endpoint, fit_cox, fit_cox_fixed
from core.stats.cox.predict import predict_survival_at
from core.stats.survival import survival_at
from core.study.model import Z95, PaperModel, paper_model

Baseline = Literal["paper", "recalibrate", "slope"]
BASELINES: dict[str, str] = {
    "paper": "the paper's (reconstruction)",
    "recalibrate": "re-estimated on this cohort",
    "slope": "re-estimated with the slope",
}
THRESHOLDS = tuple(round(0.05 + 0.01 * i, 2) for i in range(56))  # 5% .. 60%
MIN_EVENTS = 100  # below: too few events to judge calibration (Riley et al., Collins et al.)
N_BOOT = 200


@dataclass(frozen=True)
class Estimate:
    """A number with its 95% interval (NaN bounds when none is computed)."""

    est: float
    lower: float = math.nan
    upper: float = math.nan

    def text(self, digits: int = 2) -> str:
        if not np.isfinite(self.est):
            return "–"
        if not (np.isfinite(self.lower) and np.isfinite(self.upper)):
            return f"{self.est:.{digits}f}"
        return f"{self.est:.{digits}f} ({self.lower:.{digits}f}–{self.upper:.{digits}f})"


@dataclass(frozen=True, eq=False)
class Validation:
    """The result of :func:`validate` (every number computed from the cohort given)."""

    n: int
    events: int
    horizon: float
    baseline: str
    excluded: dict[str, int]
    follow_up_median: float
    c_harrell: Estimate
    c_uno: Estimate
    auc: Estimate
    oe: Estimate
    slope: Estimate
    ici: float
    e50: float
    e90: float
    observed_risk: Estimate
    expected_risk: float
    calibration: pd.DataFrame
    smooth: pd.DataFrame
    net_benefit: pd.DataFrame
    patients: pd.DataFrame  # lp and predicted risk of every patient used
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def too_few_events(self) -> bool:
        return self.events < MIN_EVENTS


class ValidationError(ValueError):
    """The cohort cannot be used (a sentence for the user)."""


def predictor_sources(model: PaperModel | None = None) -> dict[str, str]:
    """``{model term: cohort column it is read from}`` (``reason_dp`` <- ``icu_reason``)."""
    model = model or paper_model()
    return {t: DERIVED_INDICATORS.get(t, (t,))[0] for t in model.covariates}


def validate(
    df: pd.DataFrame,
    model: PaperModel | None = None,
    horizon: float = 365.0,
    *,
    baseline: Baseline = "paper",
    reference: pd.DataFrame | None = None,
    n_boot: int = N_BOOT,
    seed: int = 2024,
) -> Validation:
    """Validate the published model (``model=None``: the paper's) on ``df`` at ``horizon``.

    ``reference`` is the cohort whose baseline survival the "paper" option uses (default: the
    shipped reconstruction). Rows missing a predictor or the endpoint are excluded and
    counted in ``excluded`` (never imputed).
    """
    model = model or paper_model()
    if not np.isfinite(horizon) or horizon <= 0:
        raise ValidationError("the horizon must be a positive number of days")
    if baseline not in BASELINES:
        raise ValidationError(f"baseline must be one of {', '.join(BASELINES)}")
    d, excluded = _usable(df, model)
    terms = list(model.covariates)
    x = d[terms].to_numpy(dtype=float)
    beta = np.array([model.coef[t] for t in terms])
    lp = x @ beta
    del x  # the steps below hold n-long vectors only: with 200,000 patients, the peak of
    # the page's run is the spline fit's, over what is still alive then
    t_h, e_h = endpoint(d, model.duration, model.event, horizon)
    t_all, e_all = endpoint(d, model.duration, model.event)
    n, events = len(d), int(e_h.sum())
    if events == 0:
        raise ValidationError(f"no death within {horizon:g} days among the {n} patients")
    if e_h.sum() == n:
        raise ValidationError(f"every patient died within {horizon:g} days: nothing to rank")
    notes: list[str] = []
    if float(np.max(t_all)) < horizon:
        notes.append(
            f"follow-up ends on day {np.max(t_all):g}, before the horizon ({horizon:g} days)"
        )
    # ---- discrimination
    c_h = concordance_index(t_h, e_h, lp)
    se_h = concordance_se(t_h, e_h, lp)
    c_u, se_u = uno_concordance(t_all, e_all, lp, ymax=horizon)
    auc = _auc(t_all, e_all, lp, horizon, n_boot, seed, notes)
    # ---- predictions at the horizon and calibration
    risk = 1.0 - _predicted_survival(d, lp, model, horizon, baseline, reference)
    del d  # the predictors' rows (~11 MB with 200,000 patients) are not needed further
    observed, expected, oe = observed_expected(t_all, e_all, risk, horizon)
    slope = calibration_slope(t_h, e_h, lp)
    table = _grouped(t_all, e_all, risk, horizon, events)
    smooth, ici, e50, e90 = _smoothed(t_h, e_h, risk, horizon, notes)
    nb = net_benefit(t_all, e_all, risk, horizon)
    patients = pd.DataFrame({"lp": lp, "risk": risk, "time": t_all, "event": e_all})
    return Validation(
        n=n,
        events=events,
        horizon=float(horizon),
        baseline=baseline,
        excluded=excluded,
        follow_up_median=_reverse_km_median(t_all, e_all),
        c_harrell=Estimate(c_h, c_h - Z95 * se_h, c_h + Z95 * se_h),
        c_uno=Estimate(c_u, c_u - Z95 * se_u, c_u + Z95 * se_u),
        auc=auc,
        oe=oe,
        slope=slope,
        ici=ici,
        e50=e50,
        e90=e90,
        observed_risk=observed,
        expected_risk=expected,
        calibration=table,
        smooth=smooth,
        net_benefit=nb,
        patients=patients,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class ApparentCalibration:
    """Calibration slope and calibration-in-the-large of a fitted Cox model on its own rows.

    ``by_construction``: the outcome of the slope (the endpoint censored at the horizon) is
    the one the model was fitted to, so the slope is 1 exactly (the partial likelihood along
    the fitted direction is maximal at the fitted coefficients).
    """

    horizon: float
    slope: Estimate
    observed_risk: Estimate
    expected_risk: float
    oe: Estimate
    by_construction: bool


def apparent_calibration(result: CoxResult, horizon: float) -> ApparentCalibration:
    """The slope and O/E of :func:`validate` for a Cox fit on the patients it was fitted on.

    lp = the fit's linear predictor; predicted risk = 1 - the model's S(horizon | x) (R
    ``summary(survfit(fit, newdata), times = horizon)``, as the tertile table of
    :func:`core.stats.cox.diagnostics.calibration`); slope: :func:`calibration_slope` on
    the endpoint censored at the horizon; O/E: :func:`observed_expected`.
    """
    if not np.isfinite(horizon) or horizon <= 0:
        raise ValueError("the horizon must be a positive number of days")
    m = result.model
    lp = m.linear_predictor()
    t_h, e_h = endpoint(pd.DataFrame({"t": m.time, "e": m.status}), "t", "e", horizon)
    if e_h.sum() == 0:
        raise ValueError(f"no event within {horizon:g} days")
    risk = 1.0 - predict_survival_at(m, m.X, [horizon], coef_variance=False)["surv"][0]
    observed, expected, oe = observed_expected(m.time, m.status, risk, horizon)
    own = not m.fixed and np.array_equal(t_h, m.time) and np.array_equal(e_h, m.status)
    return ApparentCalibration(
        float(horizon), calibration_slope(t_h, e_h, lp), observed, expected, oe, bool(own)
    )


# --------------------------------------------------------------------------------------
# pieces
# --------------------------------------------------------------------------------------
def _usable(df: pd.DataFrame, model: PaperModel) -> tuple[pd.DataFrame, dict[str, int]]:
    """Rows with every predictor and the endpoint; how many each missing column excluded."""
    sources = predictor_sources(model)
    needed = [*sources.values(), model.duration, model.event]
    absent = [c for c in dict.fromkeys(needed) if c not in df.columns or df[c].isna().all()]
    if absent:
        raise ValidationError(
            "the cohort has no values for " + ", ".join(absent) + ": the published model needs "
            "the reason for ICU admission, ECOG PS and SOFA, and the endpoint"
        )
    # only the model's columns: the returned rows are a copy, and a 200,000-row upload's
    # other columns would make it ~150 MB
    d = add_derived(df[list(dict.fromkeys(needed))])
    excluded: dict[str, int] = {}
    keep = np.ones(len(d), dtype=bool)
    for col in dict.fromkeys([*model.covariates, model.duration, model.event]):
        miss = d[col].isna().to_numpy() & keep
        label = sources.get(col, col)
        if miss.any():
            excluded[label] = int(miss.sum())
        keep &= ~miss
    return d.loc[keep].reset_index(drop=True), excluded


@lru_cache(maxsize=1)
def _reference_cohort() -> pd.DataFrame:
    from core.cohort import db

    con = db.connect()
    try:
        return db.fetch_cohort(con)
    finally:
        con.close()


def _predicted_survival(
    d: pd.DataFrame,
    lp: np.ndarray,
    model: PaperModel,
    horizon: float,
    baseline: Baseline,
    reference: pd.DataFrame | None,
) -> np.ndarray:
    """S(horizon | x) for each row of ``d`` under the chosen baseline."""
    terms = list(model.covariates)
    if baseline == "slope":
        frame = pd.DataFrame({"t": d[model.duration], "e": d[model.event], "lp": lp})
        fit = fit_cox(frame, "t", "e", ["lp"], horizon_days=horizon)
        return predict_survival_at(fit, frame[["lp"]], [horizon], coef_variance=False)["surv"][0]
    source = d if baseline == "recalibrate" else add_derived(
        reference if reference is not None else _reference_cohort()
    )  # fmt: skip
    fixed = fit_cox_fixed(source, model.duration, model.event, model.coef, horizon_days=horizon)
    return predict_survival_at(fixed, d[terms], [horizon], coef_variance=False)["surv"][0]


def observed_expected(
    time: np.ndarray, status: np.ndarray, risk: np.ndarray, horizon: float
) -> tuple[Estimate, float, Estimate]:
    """Calibration-in-the-large at ``horizon``: observed risk, expected risk and O/E.

    O = 1 - Kaplan-Meier survival at the horizon with its 95% log CI (R
    ``summary(survfit(Surv(time, status) ~ 1), times = horizon)``), E = mean predicted risk
    ``risk`` of the same patients, O/E with the CI of :func:`_oe`.
    """
    km = survival_at(pd.DataFrame({"t": time, "e": status}), "t", "e", [horizon]).iloc[0]
    observed = Estimate(1 - float(km["survival"]), 1 - float(km["upper"]), 1 - float(km["lower"]))
    expected = float(np.mean(risk))
    return observed, expected, _oe(observed, expected, float(km["std_err"]))


def calibration_slope(time_h: np.ndarray, status_h: np.ndarray, lp: np.ndarray) -> Estimate:
    """The coefficient of ``lp`` in R ``coxph(Surv(time_h, status_h) ~ lp)`` (Efron) with its
    Wald 95% CI; ``time_h``/``status_h``: the endpoint censored at the horizon."""
    fit = fit_cox(pd.DataFrame({"t": time_h, "e": status_h, "lp": lp}), "t", "e", ["lp"])
    row = fit.summary.iloc[0]
    return Estimate(float(row["coef"]), float(np.log(row["lower"])), float(np.log(row["upper"])))


def _oe(observed: Estimate, expected: float, se_observed: float) -> Estimate:
    """O/E with a log-scale CI: ``se(log O) = se(O) / O``, se(O) Greenwood's (R summary's
    std.err of S at the horizon); E is treated as fixed."""
    o = observed.est
    if not (o > 0 and expected > 0 and np.isfinite(se_observed)):
        return Estimate(o / expected if expected > 0 else math.nan)
    se_log_o = se_observed / o
    ratio = o / expected
    return Estimate(ratio, ratio * math.exp(-Z95 * se_log_o), ratio * math.exp(Z95 * se_log_o))


def _auc(t, e, lp, horizon, n_boot, seed, notes: list[str]) -> Estimate:
    """Cumulative/dynamic AUC at the horizon (scikit-survival's estimator, in
    :mod:`core.stats.auc`) with a percentile bootstrap: each resample is the count of times
    every patient was drawn."""
    data = auc_data(t, e, lp, horizon)
    est = weighted_auc(data)
    if not np.isfinite(est):
        notes.append("the time-dependent AUC needs patients followed beyond the horizon")
        return Estimate(math.nan)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        drawn = np.bincount(rng.integers(0, len(t), len(t)), minlength=len(t))
        v = weighted_auc(data, drawn)
        if np.isfinite(v):  # nan: a resample without a case, a control or follow-up after h
            boots.append(v)
    if len(boots) < n_boot // 2:
        return Estimate(est)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return Estimate(est, float(lo), float(hi))


def _n_groups(events: int) -> int:
    """Deciles with >= 200 events (about 20 a group), quintiles with >= 50, else tertiles."""
    return 10 if events >= 200 else 5 if events >= 50 else 3


def _grouped(t, e, risk, horizon, events) -> pd.DataFrame:
    """Quantile groups of predicted risk: mean predicted and KM observed risk with CI."""
    k = _n_groups(events)
    groups = pd.qcut(risk, k, labels=False, duplicates="drop")
    frame = pd.DataFrame({"t": t, "e": e, "g": groups})
    obs = survival_at(frame, "t", "e", [horizon], group="g")
    rows = []
    for g in sorted(frame["g"].dropna().unique()):
        sel = frame["g"].to_numpy() == g
        o = obs[obs["group"] == g].iloc[0]
        rows.append(
            {
                "group": int(g) + 1,
                "n": int(sel.sum()),
                "events": int(((t <= horizon) & (e == 1))[sel].sum()),
                "predicted": float(np.mean(risk[sel])),
                "observed": 1 - float(o["survival"]),
                "obs_lower": 1 - float(o["upper"]),
                "obs_upper": 1 - float(o["lower"]),
            }
        )
    return pd.DataFrame(rows)


def _smoothed(t_h, e_h, risk, horizon, notes: list[str]):
    """Austin et al. (2020): Cox model on a natural cubic spline of cloglog(predicted risk)."""
    from patsy import dmatrix  # statsmodels' formula library: the spline basis

    p = np.clip(risk, 1e-10, 1 - 1e-10)
    z = np.log(-np.log(1 - p))
    empty = pd.DataFrame(columns=["predicted", "observed"])
    if len(np.unique(z)) < 4:
        notes.append("too few distinct predicted risks for a smoothed calibration curve")
        return empty, math.nan, math.nan, math.nan
    k10, k50, k90 = np.percentile(z, [10, 50, 90])
    if not k10 < k50 < k90:
        notes.append("predicted risks too concentrated for a smoothed calibration curve")
        return empty, math.nan, math.nan, math.nan
    basis = dmatrix(
        "cr(z, knots=[k50], lower_bound=lo, upper_bound=hi, constraints='center') - 1",
        {"z": np.clip(z, k10, k90), "k50": k50, "lo": k10, "hi": k90},
        return_type="dataframe",
    )
    # linear beyond the outer knots (a restricted cubic spline): z itself plus the basis
    design = pd.DataFrame(basis.to_numpy(), columns=[f"s{j}" for j in range(basis.shape[1])])
    design["z"] = z
    design["t"], design["e"] = t_h, e_h
    cols = ["z", *[c for c in design.columns if c.startswith("s")]]
    try:
        fit = fit_cox(design, "t", "e", cols)
    except ValueError as exc:
        notes.append(f"smoothed calibration curve not estimable: {exc}")
        return empty, math.nan, math.nan, math.nan
    s_obs = predict_survival_at(fit, design[cols], [horizon], coef_variance=False)["surv"][0]
    obs = 1 - s_obs
    diff = np.abs(obs - risk)
    order = np.argsort(risk)
    smooth = pd.DataFrame({"predicted": risk[order], "observed": obs[order]})
    smooth = smooth.drop_duplicates("predicted").reset_index(drop=True)
    return smooth, float(np.mean(diff)), float(np.median(diff)), float(np.percentile(diff, 90))


def net_benefit(
    t: np.ndarray, e: np.ndarray, risk: np.ndarray, horizon: float, thresholds=THRESHOLDS
) -> pd.DataFrame:
    """Net benefit of treating patients with predicted risk >= threshold, and of treating
    all (time-to-event decision curve: Kaplan-Meier risk at the horizon among the treated)."""
    t, e, risk = (np.asarray(a, dtype=float) for a in (t, e, risk))
    n = len(t)

    def km_risk(sel: np.ndarray) -> float:
        frame = pd.DataFrame({"t": t[sel], "e": e[sel]})
        s = float(survival_at(frame, "t", "e", [horizon])["survival"].iloc[0])
        if not np.isfinite(s):  # follow-up of the group ends before the horizon: last value
            s = float(survival_at(frame, "t", "e", [frame["t"].max()])["survival"].iloc[0])
        return 1 - s

    r_all = km_risk(np.ones(n, dtype=bool))
    rows = []
    for p in thresholds:
        sel = risk >= p
        k = sel.sum() / n
        if sel.any():
            r = km_risk(sel)
            nb = k * r - k * (1 - r) * p / (1 - p)
        else:
            nb = 0.0
        rows.append(
            {
                "threshold": p,
                "model": nb,
                "treat_all": r_all - (1 - r_all) * p / (1 - p),
                "treat_none": 0.0,
                "treated": float(k),
            }
        )
    return pd.DataFrame(rows)


def _reverse_km_median(t: np.ndarray, e: np.ndarray) -> float:
    """Median follow-up by the reverse Kaplan-Meier (censoring as the event)."""
    frame = pd.DataFrame({"t": t, "c": 1 - e})
    from core.stats.survival import kaplan_meier

    km = kaplan_meier(frame, "t", "c")
    med = km.medians["median"].iloc[0] if "median" in km.medians else math.nan
    return float(med)


# --------------------------------------------------------------------------------------
# case mix: the cohort beside the published Table 1
# --------------------------------------------------------------------------------------
SMD_FLAG = 0.1


def _level_of(value) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer | float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def case_mix(df: pd.DataFrame) -> pd.DataFrame:
    """Every published Table 1 figure whose column holds values in ``df``, beside the cohort's.

    Continuous: the cohort's median [IQR] beside the published one; the paper gives medians
    and IQRs only, so the standardised difference takes, on both sides, mean ~ median and
    SD ~ IQR / 1.35 (exact for a normal distribution): an approximation.
    Categorical: each published level's share, SMD for proportions
    ``(p1 - p2) / sqrt((p1 (1 - p1) + p2 (1 - p2)) / 2)``. ``flag``: |SMD| > 0.1, or a
    cohort median outside the published IQR.
    """
    from core.study.published import load_published

    rows = []
    for var in load_published()["variables"]:
        col = var["column"]
        if col not in df.columns or df[col].isna().all():
            continue
        if var["kind"] == "continuous" and var.get("overall") and None not in var["overall"]:
            x = pd.to_numeric(df[col], errors="coerce").dropna().to_numpy(dtype=float)
            if len(x) < 2:
                continue
            med, q1, q3 = (float(v) for v in var["overall"])
            q = np.percentile(x, [25, 50, 75])
            # the same approximation on both sides: centre = median, SD = IQR / 1.35
            pooled = math.sqrt((((q[2] - q[0]) / 1.35) ** 2 + ((q3 - q1) / 1.35) ** 2) / 2)
            smd = (float(q[1]) - med) / pooled if pooled > 0 else math.nan
            rows.append(
                {
                    "section": var.get("section", ""),
                    "variable": var["label"],
                    "level": "",
                    "yours": f"{q[1]:g} [{q[0]:g}–{q[2]:g}]",
                    "published": f"{med:g} [{q1:g}–{q3:g}]",
                    "smd": smd,
                    "outside": not (q1 <= q[1] <= q3),
                }
            )
        elif var["kind"] == "categorical":
            values = df[col].dropna()
            if values.empty:
                continue
            shown = values.map(_level_of).str.casefold()
            for level, figs in var.get("levels", {}).items():
                if not figs.get("overall") or figs["overall"][1] is None:
                    continue
                p_pub = float(figs["overall"][1]) / 100
                p = float((shown == str(level).casefold()).mean())
                den = math.sqrt((p * (1 - p) + p_pub * (1 - p_pub)) / 2)
                rows.append(
                    {
                        "section": var.get("section", ""),
                        "variable": var["label"],
                        "level": "" if str(level).casefold() == "true" else str(level),
                        "yours": f"{p:.0%} (n = {len(values)})",
                        "published": f"{p_pub:.0%}",
                        "smd": (p - p_pub) / den if den > 0 else math.nan,
                        "outside": False,
                    }
                )
    out = pd.DataFrame(rows, columns=["section", "variable", "level", "yours", "published",
                                      "smd", "outside"])  # fmt: skip
    out["flag"] = (out["smd"].abs() > SMD_FLAG) | out["outside"]
    return out


def reference_lp(model: PaperModel | None = None) -> np.ndarray:
    """Linear predictor of the published model in the shipped reconstruction."""
    model = model or paper_model()
    d, _ = _usable(_reference_cohort(), model)
    beta = np.array([model.coef[t] for t in model.covariates])
    return d[list(model.covariates)].to_numpy(dtype=float) @ beta
