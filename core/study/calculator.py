"""Hazard / survival calculator for one patient profile (teaching and research tool).

Two modes, both on the 1-year mortality endpoint of the paper (``os_days`` censored at 365):

* ``published``: the paper's coefficients, ``beta = log(HR)`` for reason for ICU admission
  (disease progression vs every other reason), ECOG PS (per point) and SOFA (per point), read
  from ``data/published.yaml`` (:func:`core.study.model.paper_model`; no HR is typed here) and
  held fixed.  The baseline cumulative hazard is estimated from the *active cohort* with the
  coefficients fixed, = R ``survfit(coxph(Surv(t, e) ~ reason_dp + ecog_ps + sofa, init = b,
  control = coxph.control(iter.max = 0)), newdata = ...)``: the Efron-type Breslow estimator
  ``dH0(t) = sum_{k<d} 1 / (S0(t) - k/d S0_deaths(t))`` with ``S0`` computed at the fixed
  ``beta`` (R's default ``ctype = 2`` for an Efron fit; identical to Breslow's ``d / S0``
  without tied deaths).  ``S(t|x) = S0(t)^exp(lp)``.  The 95% band (log scale) reflects the
  baseline hazard only: ``var H(t|x) = exp(2 lp) sum dN / S0^2`` (Efron-corrected), i.e. R's
  ``survfit`` after setting ``fit$var`` to 0 -- the published coefficients are treated as known
  (their covariances were not published).
* ``refit``: a Cox model fitted on the active cohort (:func:`core.stats.cox.fit.fit_cox`),
``S(t|x)`` and
  its log CI = R ``survfit(coxph(...), newdata = ...)`` (coefficient uncertainty included).

:func:`relative_hazard` breaks the hazard ratio between two profiles into one factor per
covariate (e.g. ``4.02 x 1.97^dPS x 1.16^dSOFA``) whose product is the ratio.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.cohort.schema import level_order
from core.cohort.variables import DERIVED_INDICATORS, NOT_PREDICTORS
from core.stats.cox.fit import CoxResult, fit_cox, fit_cox_fixed
from core.stats.cox.predict import predict_survival
from core.study.model import paper_model
from core.study.published import PUBLISHED_PATH
from core.tables.cox import covariate_label

#: the four reasons for ICU admission, in the data dictionary's order (the one list of them)
ICU_REASONS: tuple[str, ...] = tuple(level_order("icu_reason") or ())


PAPER = "paper"  # default of build_model's endpoint and horizon: those of the paper's model


TABLE_DAYS = (30, 90, 180, 365)


MAX_PROFILES = 4


_FIELD_LABELS = {
    "icu_reason": "Reason for ICU admission",
    "ecog_ps": "ECOG performance status",
    "sofa": "SOFA score",
    "label": "Profile label",
    "extra": "Extra covariates",
}


class ProfileError(ValueError):
    """An invalid patient profile; the message names every offending field."""


class PatientProfile(BaseModel):
    """One patient's inputs (validated).

    ``extra`` holds additional cohort covariates (column -> value) used only in refit mode.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field("Patient", min_length=1, max_length=40, description="Profile label")
    icu_reason: str = Field(
        description="Reason for ICU admission (the paper's four groups, data/dictionary.csv)"
    )
    ecog_ps: int = Field(
        ge=0,
        le=4,
        description="ECOG performance status before ICU admission, points "
        "(0 = fully active ... 4 = completely disabled)",
    )
    sofa: int = Field(
        ge=0,
        le=24,
        description="SOFA score at ICU admission, points (0-24; six organ systems x 0-4)",
    )
    extra: dict[str, float | int | bool | str] = Field(
        default_factory=dict,
        description="Additional covariates for refit mode (cohort column -> value, in the "
        "cohort's units)",
    )

    @field_validator("icu_reason")
    @classmethod
    def _known_reason(cls, v: str) -> str:
        if v not in ICU_REASONS:
            raise ValueError("must be one of " + ", ".join(repr(r) for r in ICU_REASONS))
        return v

    @field_validator("ecog_ps", "sofa", mode="before")
    @classmethod
    def _no_bool(cls, v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError("must be a whole number, not true/false")
        return v

    @property
    def reason_dp(self) -> int:
        """The paper's indicator (core.cohort.variables.DERIVED_INDICATORS)."""
        source, level = DERIVED_INDICATORS["reason_dp"]
        return int(getattr(self, source) == level)


def _describe_errors(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        field = ".".join(str(x) for x in e["loc"]) or "profile"
        name = _FIELD_LABELS.get(str(e["loc"][0]) if e["loc"] else "", field)
        if e["type"] == "value_error":
            msg = str(e["ctx"]["error"]) if "ctx" in e else e["msg"]
        elif e["type"] == "extra_forbidden":
            msg = "is not an input of the calculator"
        else:
            msg = e["msg"][0].lower() + e["msg"][1:]
        got = f" (got {e['input']!r})" if e["type"] != "missing" else ""
        lines.append(f"{name} [{field}]: {msg}{got}")
    return "Invalid patient profile: " + "; ".join(lines)


def make_profile(**values: Any) -> PatientProfile:
    """Build a :class:`PatientProfile`, raising :class:`ProfileError` with readable messages.

    Examples
    --------
    >>> make_profile(icu_reason="Sepsis", ecog_ps=7, sofa=4)
    Traceback (most recent call last):
    ...
    core.study.calculator.ProfileError: Invalid patient profile: ECOG performance status [ecog_ps]:
    ...
    """
    try:
        return PatientProfile(**values)
    except ValidationError as err:
        raise ProfileError(_describe_errors(err)) from None


def input_bounds(name: str) -> tuple[int, int]:
    """Allowed range of a profile input as :class:`PatientProfile` validates it.

    ``ecog_ps`` and ``sofa``: (lowest, highest) points; ``label``: (min, max) length.

    >>> input_bounds("ecog_ps"), input_bounds("sofa"), input_bounds("label")
    ((0, 4), (0, 24), (1, 40))
    """
    lo = hi = None
    for rule in PatientProfile.model_fields[name].metadata:
        lo = getattr(rule, "ge", getattr(rule, "min_length", lo))
        hi = getattr(rule, "le", getattr(rule, "max_length", hi))
    if lo is None or hi is None:
        raise KeyError(f"{name!r} is not a bounded profile input")
    return int(lo), int(hi)


def baseline_profile(
    extra: Mapping[str, Any] | None = None, *, label: str = "Reference"
) -> PatientProfile:
    """The model's zero: the first reason for ICU admission (not disease progression), the
    lowest ECOG PS and SOFA; ``extra`` gives the refit model's additional covariates."""
    return make_profile(
        label=label,
        icu_reason=ICU_REASONS[0],
        ecog_ps=input_bounds("ecog_ps")[0],
        sofa=input_bounds("sofa")[0],
        extra=dict(extra or {}),
    )


def describe_profile(profile: PatientProfile) -> str:
    """A profile's inputs in one line: ``'CRS, PS 0, SOFA 0'``."""
    return f"{profile.icu_reason}, PS {profile.ecog_ps}, SOFA {profile.sofa}"


def profile_row(profile: PatientProfile) -> dict[str, Any]:
    """The profile as a cohort-like row (icu_reason, reason_dp, ecog_ps, sofa, extras)."""
    return {
        "icu_reason": profile.icu_reason,
        "reason_dp": profile.reason_dp,
        "ecog_ps": profile.ecog_ps,
        "sofa": profile.sofa,
        **profile.extra,
    }


# --------------------------------------------------------------------------------------
# models on the active cohort
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CalculatorModel:
    """A calculator model on the active cohort.

    ``result`` is a fixed-coefficient fit (published) or a refit
    (:class:`core.stats.cox.fit.CoxResult`);
    ``hr`` maps each design column to its hazard ratio (published: as printed).
    """

    mode: Literal["published", "refit"]
    result: CoxResult
    covariates: tuple[str, ...]
    hr: Mapping[str, float]
    horizon_days: float | None
    duration: str
    event: str
    #: published mode: the band includes the published HRs' uncertainty ("published_ci", the
    #: default) or the baseline hazard's only ("baseline"); refit mode always has its own
    uncertainty: Literal["published_ci", "baseline"] = "published_ci"

    @property
    def coef_var(self) -> np.ndarray:
        """Covariance of the coefficients behind every band and relative-hazard CI.

        Refit: the fit's (R ``vcov``). Published: the diagonal implied by the published 95% CIs
        (:meth:`core.study.model.PaperModel.var_from_cis`), or zero for "baseline".
        """
        if self.mode == "refit":
            return self.result.model.var
        columns = list(self.result.model.design.columns)
        if self.uncertainty == "baseline":
            return np.zeros((len(columns), len(columns)))
        return paper_model().var_from_cis(columns)

    @property
    def n(self) -> int:
        return self.result.n

    @property
    def events(self) -> int:
        return self.result.events

    @property
    def method(self) -> str:
        if self.mode == "published":
            return (
                "Published coefficients held fixed; baseline cumulative hazard estimated from "
                f"the active cohort (n = {self.n}, {self.events} deaths within "
                f"{self.horizon_days:g} days) with the Efron-type Breslow estimator at the fixed "
                "coefficients (= R survfit(coxph(..., init = log(HR), iter.max = 0)))."
                + (
                    " The band reflects the baseline-hazard uncertainty only (the published "
                    "HRs treated as known: R's fit$var set to 0)."
                    if self.uncertainty == "baseline"
                    else " The band includes the published HRs' uncertainty: standard errors "
                    "from their 95% CIs, (log upper - log lower) / 3.92, with no covariances "
                    "(the paper gives none; an approximation) = R's fit$var set to that diagonal."
                )
            )
        return (
            f"Cox model refitted on the active cohort (n = {self.n}, {self.events} events; "
            "Efron ties); band = R survfit(coxph, newdata) 95% log CI including coefficient "
            "uncertainty."
        )


def build_model(
    cohort: pd.DataFrame,
    mode: Literal["published", "refit"] = "published",
    *,
    covariates: Sequence[str] | None = None,
    horizon_days: float | Literal["paper"] | None = PAPER,
    duration: str = PAPER,
    event: str = PAPER,
    published_path: str | Path = PUBLISHED_PATH,
) -> CalculatorModel:
    """Fit the calculator model on the active cohort.

    Parameters
    ----------
    cohort : DataFrame
        Active cohort (columns of the contract; ``reason_dp`` is derived from ``icu_reason``).
    mode : {"published", "refit"}
    covariates : sequence of str, optional
        Refit mode only: the model's covariates (default ``reason_dp, ecog_ps, sofa``); extra
        covariates must then be supplied in each profile's ``extra``.
    horizon_days : float, optional
        Administrative censoring (default: the paper's, 365 days for 1-year mortality).
    duration, event : str, optional
        Endpoint columns (default: the paper's, ``os_days`` / ``os_event``).
    published_path : path, optional
        The published figures the model is read from (:func:`core.study.model.paper_model`).
    """
    pub = paper_model(published_path)
    horizon_days = pub.horizon_days if horizon_days == PAPER else horizon_days
    duration = pub.duration if duration == PAPER else duration
    event = pub.event if event == PAPER else event
    if mode == "published":
        if covariates is not None and tuple(covariates) != pub.covariates:
            raise ValueError("published mode uses the paper's three covariates only")
        res = fit_cox_fixed(cohort, duration, event, pub.coef, horizon_days=horizon_days)
        hr = {k: v[0] for k, v in pub.hrs.items()}
        covs = pub.covariates
    elif mode == "refit":
        covs = tuple(covariates) if covariates is not None else pub.covariates
        res = fit_cox(cohort, duration, event, list(covs), horizon_days=horizon_days)
        hr = dict(zip(res.summary["covariate"], res.summary["hr"], strict=True))
    else:
        raise ValueError(f"mode must be 'published' or 'refit', got {mode!r}")
    return CalculatorModel(mode, res, covs, hr, horizon_days, duration, event)


def extra_candidates(cohort: pd.DataFrame) -> list[str]:
    """Columns a refit model may add to the paper's covariates, in the cohort's order.

    Numeric or boolean columns that are neither identifiers, endpoints nor outcomes
    (:data:`core.cohort.variables.NOT_PREDICTORS`) nor already among the paper's covariates
    (or the column one of them is derived from, e.g. ``icu_reason`` for ``reason_dp``).
    """
    covariates = paper_model().covariates
    sources = {DERIVED_INDICATORS[c][0] for c in covariates if c in DERIVED_INDICATORS}
    taken = NOT_PREDICTORS | set(covariates) | sources
    return [
        c
        for c in cohort.columns
        if c not in taken
        and (pd.api.types.is_numeric_dtype(cohort[c]) or pd.api.types.is_bool_dtype(cohort[c]))
    ]


def _profiles_frame(model: CalculatorModel, profiles: Sequence[PatientProfile]) -> pd.DataFrame:
    rows = [profile_row(p) for p in profiles]
    frame = pd.DataFrame(rows)
    missing = [c for c in model.covariates if c not in frame.columns or frame[c].isna().any()]
    if missing:
        raise ProfileError(
            "Invalid patient profile: the model needs value(s) for "
            + ", ".join(missing)
            + " (give them in the profile's extra covariates)"
        )
    return frame


@dataclass(frozen=True, eq=False)
class ProfilePrediction:
    """Survival curves and landmark table for up to four profiles.

    ``curves``: profile, time, surv, lower, upper (step function with an origin row).
    ``table``: profile, day, surv, lower, upper (NaN beyond the last follow-up time).
    """

    curves: pd.DataFrame
    table: pd.DataFrame
    labels: tuple[str, ...]
    model: CalculatorModel


_TIME = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(d|days?|m|mo|months?|y|years?)?\s*$", re.I)


def parse_times(text: str, horizon_days: float | None = None) -> tuple[int, ...]:
    """Time points typed by a clinician, in days: ``"28, 6 months, 1 year"`` -> (28, 183, 365).

    A bare number is days; ``m``/``mo``/``months`` are months of 30.4375 days (rounded to a
    day), ``y``/``years`` 365.25 days.  Raises ValueError naming the entry that is not a time,
    or is beyond the model's horizon (the model says nothing after it).
    """
    out: list[int] = []
    for part in filter(None, (p.strip() for p in re.split(r"[;\n]|,(?!\d)", text or ""))):
        m = _TIME.match(part)
        if m is None:
            raise ValueError(f"'{part}' is not a time: write days (28), months (6 months) or years")
        value = float(m.group(1).replace(",", "."))
        unit = (m.group(2) or "d").lower()
        days = value * (30.4375 if unit.startswith("m") else 365.25 if unit.startswith("y") else 1)
        days = round(days)
        if days <= 0:
            raise ValueError(f"'{part}' is not after ICU admission")
        if horizon_days is not None and days > horizon_days:
            raise ValueError(
                f"'{part}' ({days:g} days) is after the model's horizon ({horizon_days:g} days)"
            )
        out.append(days)
    return tuple(sorted(set(out)))


def predict_profiles(
    model: CalculatorModel,
    profiles: Sequence[PatientProfile],
    *,
    days: Sequence[float] = TABLE_DAYS,
    conf_int: float = 0.95,
) -> ProfilePrediction:
    """S(t | profile) with a 95% band for each profile (at most :data:`MAX_PROFILES`)."""
    profiles = list(profiles)
    if not profiles:
        raise ValueError("at least one profile is needed")
    if len(profiles) > MAX_PROFILES:
        raise ValueError(f"at most {MAX_PROFILES} profiles can be compared")
    labels = [p.label for p in profiles]
    if len(set(labels)) != len(labels):
        labels = [f"{i + 1}. {lab}" for i, lab in enumerate(labels)]
    frame = _profiles_frame(model, profiles)
    sp = predict_survival(model.result, frame, conf_int=conf_int, var=model.coef_var)
    curves = sp.frame(labels)
    if model.horizon_days is not None:
        curves = curves[curves["time"] <= model.horizon_days].reset_index(drop=True)
    at = sp.at(days)
    rows = []
    for j, lab in enumerate(labels):
        for i, d in enumerate(days):
            rows.append(
                {
                    "profile": lab,
                    "day": d,
                    "surv": at["surv"][i, j],
                    "lower": at["lower"][i, j],
                    "upper": at["upper"][i, j],
                }
            )
    return ProfilePrediction(curves, pd.DataFrame(rows), tuple(labels), model)


# --------------------------------------------------------------------------------------
# relative hazard with a factor-by-factor breakdown
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class RelativeHazard:
    """Hazard ratio of ``profile`` vs ``reference`` and its factors.

    ``breakdown``: covariate, label, value, reference, delta, hr_per_unit, factor
    (= hr_per_unit ** delta); ``hr`` is the product of the factors (= exp(beta' dx)).
    ``lower``/``upper``: 95% CI from the model's :attr:`CalculatorModel.coef_var` (published
    mode without a model: the published CIs' diagonal); NaN when that variance is zero.
    """

    hr: float
    lower: float
    upper: float
    breakdown: pd.DataFrame
    formula: str


def relative_hazard(
    profile: PatientProfile,
    reference: PatientProfile,
    model: CalculatorModel | None = None,
) -> RelativeHazard:
    """Relative hazard of ``profile`` vs ``reference`` (default: the published model)."""
    if model is None:
        pub = paper_model()
        hr = {k: v[0] for k, v in pub.hrs.items()}
        design = None
        columns = list(pub.covariates)
        xa = np.array([profile_row(profile)[c] for c in columns], dtype=float)
        xb = np.array([profile_row(reference)[c] for c in columns], dtype=float)
        var = pub.var_from_cis(columns)
    else:
        design = model.result.model.design
        columns = list(design.columns)
        hr = model.hr
        xa = design.matrix(_profiles_frame(model, [profile]))[0]
        xb = design.matrix(_profiles_frame(model, [reference]))[0]
        var = model.coef_var
    delta = xa - xb
    per_unit = np.array([hr[c] for c in columns], dtype=float)
    factors = per_unit**delta
    total = float(np.prod(factors))
    if np.any(var):
        se = float(np.sqrt(delta @ var @ delta))
        lo, hi = total * math.exp(-1.959963984540054 * se), total * math.exp(1.959963984540054 * se)
    else:
        lo = hi = float("nan")
    terms = design.terms if design is not None else columns
    breakdown = pd.DataFrame(
        {
            "covariate": columns,
            "label": [covariate_label(c) for c in columns],
            "term": list(terms),
            "value": xa,
            "reference": xb,
            "delta": delta,
            "hr_per_unit": per_unit,
            "factor": factors,
        }
    )
    parts = []
    for h, d in zip(per_unit, delta, strict=True):
        if d == 0:
            continue
        parts.append(f"{h:.2f}" if d == 1 else f"{h:.2f}^{d:g}")
    formula = " x ".join(parts) + f" = {total:.2f}" if parts else "1 (identical profiles)"
    return RelativeHazard(total, lo, hi, breakdown, formula)


# --------------------------------------------------------------------------------------
# extrapolation warnings
# --------------------------------------------------------------------------------------
def range_warnings(profile: PatientProfile, cohort: pd.DataFrame) -> list[str]:
    """Warnings for inputs outside what the active cohort observed (extrapolation)."""
    out: list[str] = []
    if len(cohort) == 0:
        return ["The active cohort is empty: no prediction is possible"]
    row = profile_row(profile)
    if "icu_reason" in cohort.columns:
        k = int((cohort["icu_reason"] == profile.icu_reason).sum())
        if k == 0:
            out.append(
                f"Reason for ICU admission {profile.icu_reason!r}: no patient of the active "
                "cohort had it; the prediction extrapolates"
            )
        elif k < 5:
            out.append(
                f"Reason for ICU admission {profile.icu_reason!r}: only {k} patient(s) in the "
                "active cohort; the estimate is very uncertain"
            )
    numeric = {"ecog_ps": row["ecog_ps"], "sofa": row["sofa"]}
    for k, v in profile.extra.items():
        if isinstance(v, bool | int | float) and not isinstance(v, str):
            numeric[k] = v
        elif k in cohort.columns and v not in set(cohort[k].dropna().astype(str)):
            out.append(f"{k} = {v!r} was not observed in the active cohort")
    for col, v in numeric.items():
        if col not in cohort.columns:
            continue
        s = pd.to_numeric(cohort[col], errors="coerce").dropna()
        if s.empty:
            continue
        lo, hi = float(s.min()), float(s.max())
        if float(v) < lo or float(v) > hi:
            name = _FIELD_LABELS.get(col, col)
            out.append(
                f"{name} = {float(v):g} is outside the active cohort's observed range "
                f"({lo:g}-{hi:g}); the prediction extrapolates"
            )
    return out
