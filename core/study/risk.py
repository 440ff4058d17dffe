"""The calculator's risk as clinicians read it: "of 100 patients like this one", an icon array,
where each input lies in the derivation data, and the model's scope (no Streamlit).

Every number comes from :func:`core.study.calculator.predict_profiles` (the table and curves
use the same), from ``data/published.yaml`` or from the active cohort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.study.calculator import PatientProfile, ProfilePrediction
from core.study.model import paper_model
from core.study.published import load_published

#: icon states, in drawing order (an icon array of 100, row by row)
ALIVE, ALIVE_UNSURE, DEAD_UNSURE, DEAD = (
    "Alive",
    "Alive (within the plausible range)",
    "Died (within the plausible range)",
    "Died",
)
ICON_STATES = (ALIVE, ALIVE_UNSURE, DEAD_UNSURE, DEAD)
MIN_SUPPORT = 3  # fewer similar patients in the cohort: the prediction is "extrapolated"


@dataclass(frozen=True)
class AbsoluteRisk:
    """One profile at one day: survival with its band, as counts out of 100."""

    profile: str
    day: float
    surv: float
    lower: float
    upper: float

    @property
    def alive(self) -> int:
        return _per100(self.surv)

    @property
    def alive_range(self) -> tuple[int, int]:
        return _per100(self.lower), _per100(self.upper)

    def sentence(self, extrapolated: bool = False) -> str:
        if not np.isfinite(self.surv):
            return f"{self.profile}: no estimate at day {self.day:g} (beyond the follow-up)."
        lo, hi = self.alive_range
        band = f"; plausible range {lo}–{hi}" if np.isfinite(self.lower) else ""
        tail = " — extrapolated: few or no such patients in the cohort" if extrapolated else ""
        return (
            f"Of 100 patients like {self.profile}, about {self.alive} are alive at day "
            f"{self.day:g} and {100 - self.alive} have died{band}{tail}."
        )

    def icons(self) -> pd.DataFrame:
        """100 icons (10 x 10, filled row by row): the point estimate splits alive / died;
        icons between the band's ends are marked uncertain (shape and fill, not colour alone)."""
        alive = self.alive
        lo, hi = self.alive_range if np.isfinite(self.lower) else (alive, alive)
        states = []
        for i in range(100):
            if i < lo:
                states.append(ALIVE)
            elif i < alive:
                states.append(ALIVE_UNSURE)
            elif i < hi:
                states.append(DEAD_UNSURE)
            else:
                states.append(DEAD)
        idx = np.arange(100)
        return pd.DataFrame(
            {"profile": self.profile, "i": idx, "row": idx // 10, "col": idx % 10, "state": states}
        )


def _per100(p: float) -> int:
    return int(np.rint(100 * p)) if np.isfinite(p) else 0


def absolute_risks(prediction: ProfilePrediction, day: float) -> list[AbsoluteRisk]:
    """Each profile's survival at ``day`` from the prediction's table (same numbers)."""
    t = prediction.table
    out = []
    for label in prediction.labels:
        row = t[(t["profile"] == label) & (t["day"] == day)]
        if row.empty:
            raise ValueError(f"day {day:g} is not among the predicted days")
        r = row.iloc[0]
        out.append(
            AbsoluteRisk(label, float(day), float(r["surv"]), float(r["lower"]), float(r["upper"]))
        )
    return out


# --------------------------------------------------------------------------------------
# inputs against the derivation data
# --------------------------------------------------------------------------------------
#: where an input lies in the cohort's distribution (:func:`input_place`)
IQR, RANGE, OUTSIDE, UNSEEN = "iqr", "range", "outside", "unseen"
#: each place in words (badges, the printable summary: never colour alone)
PLACE_WORDS = {
    IQR: "Typical",
    RANGE: "Less common",
    OUTSIDE: "Outside the data",
    UNSEEN: "Not in the cohort",
}


@dataclass(frozen=True)
class InputPlace:
    """An input against the cohort: ``band`` (:data:`IQR`, :data:`RANGE`, :data:`OUTSIDE`,
    :data:`UNSEEN`), the cohort's quartiles and range, and the sentence."""

    band: str
    text: str
    q1: float = float("nan")
    q3: float = float("nan")
    lo: float = float("nan")
    hi: float = float("nan")


def input_place(value: float, values: pd.Series) -> InputPlace:
    """Where ``value`` lies among the cohort's ``values``: inside the IQR (numpy's default
    percentiles, = R ``quantile(type = 7)``), inside the range, or outside it."""
    s = pd.to_numeric(values, errors="coerce").dropna()
    if s.empty:
        return InputPlace(UNSEEN, "not in the cohort")
    q1, q3 = (float(q) for q in np.percentile(s, [25, 75]))
    lo, hi = float(s.min()), float(s.max())
    if q1 <= value <= q3:
        band, text = IQR, f"inside the cohort's IQR ({q1:g}–{q3:g})"
    elif lo <= value <= hi:
        band, text = RANGE, f"outside the IQR ({q1:g}–{q3:g}), inside the range ({lo:g}–{hi:g})"
    else:
        band, text = OUTSIDE, f"outside the cohort's range ({lo:g}–{hi:g})"
    return InputPlace(band, text, q1, q3, lo, hi)


def input_position(value: float, values: pd.Series) -> str:
    """Where ``value`` lies among the cohort's ``values``: inside the IQR / range / outside."""
    return input_place(value, values).text


def similar_patients(profile: PatientProfile, cohort: pd.DataFrame) -> int:
    """Patients of the cohort like the profile: the same side of the model's reason term
    (disease progression or not), ECOG PS within 1 point and SOFA within 2 points."""
    need = {"icu_reason", "ecog_ps", "sofa"}
    if not need <= set(cohort.columns) or cohort.empty:
        return 0
    dp = cohort["icu_reason"] == "Disease progression"
    same_reason = dp == (profile.icu_reason == "Disease progression")
    ps = pd.to_numeric(cohort["ecog_ps"], errors="coerce")
    sofa = pd.to_numeric(cohort["sofa"], errors="coerce")
    near = (ps - profile.ecog_ps).abs().le(1) & (sofa - profile.sofa).abs().le(2)
    return int((same_reason & near).sum())


def support_warning(profile: PatientProfile, cohort: pd.DataFrame) -> str | None:
    """A plain warning when the cohort holds fewer than :data:`MIN_SUPPORT` similar patients."""
    k = similar_patients(profile, cohort)
    if k >= MIN_SUPPORT:
        return None
    reason = "disease progression" if profile.icu_reason == "Disease progression" else (
        "a reason other than disease progression"
    )  # fmt: skip
    return (
        f"{profile.label}: n = {k} patient(s) in the active cohort admitted for {reason} with "
        f"ECOG PS {profile.ecog_ps}±1 and SOFA {profile.sofa}±2 — the prediction is "
        "extrapolated."
    )


# --------------------------------------------------------------------------------------
# scope card (TRIPOD+AI 3b/3c, 5, 6)
# --------------------------------------------------------------------------------------
def discrimination(model) -> str:
    """Harrell's C of the calculator's model on the active cohort with its 95% CI (R's
    ``concordance(fit)``, infinitesimal-jackknife SE: :attr:`CoxResult.concordance_ci`)."""
    res = model.result
    lo, hi = res.concordance_ci
    who = "Published coefficients" if model.mode == "published" else "Model refitted"
    tail = "" if model.mode == "published" else " — optimistic: judged on the data it was fitted to"
    return (
        f"{who} on the active cohort (n = {res.n}, {res.events} deaths within the horizon): "
        f"Harrell's C {res.concordance:.3f} (95% CI {lo:.3f}–{hi:.3f}){tail}"
    )


def scope_card(cohort: pd.DataFrame, horizon: float | None, model=None) -> pd.DataFrame:
    """What the model is for and what it has seen: published figures and the active cohort's;
    with ``model`` (a :class:`core.study.calculator.CalculatorModel`) its discrimination."""
    pub = load_published()
    paper = paper_model()
    deaths = pub["survival"]["deaths_within_1y"]["value"]
    rows = [
        ("Intended use", "Teaching and research: reading the published model. Not for "
         "clinical decisions."),
        ("Population", pub["meta"]["setting"]),
        ("Derivation", f"n = {pub['meta']['n']} patients, {deaths} deaths within one year "
         f"({pub['survival']['deaths_within_1y']['source']})"),
        ("Outcome and horizon", f"{pub['cox']['endpoint']}"
         + (f"; predictions shown up to day {horizon:g}" if horizon else "")),
        ("Predictors", "; ".join(f"{t.label}: HR {t.hr:g} ({t.lower:g}–{t.upper:g})"
                                 for t in paper.terms)),
        ("Selection", pub["cox"]["source"]),
        ("Not checked for", "external validity (one centre; use Validate on your cohort), "
         "proportional hazards beyond the reconstruction, patients outside the predictors' "
         "observed ranges, treatments after admission"),
    ]  # fmt: skip
    if model is not None:
        rows.insert(4, ("Discrimination", discrimination(model)))
    if not cohort.empty and {"icu_reason", "ecog_ps", "sofa"} <= set(cohort.columns):
        for level, part in cohort.groupby("icu_reason", observed=True):
            ps = pd.to_numeric(part["ecog_ps"], errors="coerce").dropna()
            sofa = pd.to_numeric(part["sofa"], errors="coerce").dropna()
            if ps.empty or sofa.empty:
                continue
            rows.append(
                (
                    f"Observed in the active cohort: {level}",
                    f"n = {len(part)}; ECOG PS {ps.min():g}–{ps.max():g}; "
                    f"SOFA {sofa.min():g}–{sofa.max():g}",
                )
            )
    return pd.DataFrame(rows, columns=["Item", "Value"])


def is_extrapolated(profile: PatientProfile, cohort: pd.DataFrame) -> bool:
    return support_warning(profile, cohort) is not None


__all__ = [
    "ICON_STATES",
    "IQR",
    "OUTSIDE",
    "PLACE_WORDS",
    "RANGE",
    "UNSEEN",
    "AbsoluteRisk",
    "InputPlace",
    "absolute_risks",
    "discrimination",
    "input_place",
    "input_position",
    "is_extrapolated",
    "scope_card",
    "similar_patients",
    "support_warning",
]


# --------------------------------------------------------------------------------------
# what drives a profile's risk: each factor of its relative hazard, with its CI
# --------------------------------------------------------------------------------------
def factor_table(profile: PatientProfile, reference: PatientProfile, model) -> pd.DataFrame:
    """One row per model term whose value differs: HR per unit ^ difference and its 95% CI
    ``factor x exp(+-1.96 |difference| se)`` (se from the model's coefficient variance: the
    published CIs in published mode, the fit's in refit mode)."""
    from core.study.calculator import relative_hazard
    from core.study.model import Z95

    rh = relative_hazard(profile, reference, model)
    b = rh.breakdown
    se = np.sqrt(np.diag(model.coef_var)) if model is not None else np.full(len(b), np.nan)
    out = b.assign(
        se=se,
        lower=lambda d: d["factor"] * np.exp(-Z95 * d["delta"].abs() * d["se"]),
        upper=lambda d: d["factor"] * np.exp(Z95 * d["delta"].abs() * d["se"]),
        profile=profile.label,
    )
    return out[out["delta"] != 0][
        ["profile", "label", "value", "reference", "delta", "hr_per_unit", "factor", "lower",
         "upper"]
    ].reset_index(drop=True)  # fmt: skip
