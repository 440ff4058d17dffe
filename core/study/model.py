"""The paper's prognostic model, written once.

The multivariable Cox model for 1-year mortality of the paper (abstract and Results): reason
for ICU admission = disease progression (vs the three other reasons), ECOG performance status
(per point) and SOFA at admission (per point), ``os_days`` censored at 365 days, selected
stepwise (entry p < 0.2, removal p > 0.1).  Everything here is read from the ``cox`` section of
``data/published.yaml``; the calculator, the story, the reproduction and the Cox page ask this
module instead of spelling the model out.

``reason_dp`` is a derived indicator defined in :mod:`core.cohort.variables`
(``DERIVED_INDICATORS``), never recomputed elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from core.study.published import PUBLISHED_PATH, load_published
from core.tables.cox import covariate_label

Z95 = 1.959963984540054  # qnorm(0.975)

#: Baseline (admission) characteristics offered to the stepwise selection (the Cox page's
#: default candidates, the ensemble's check); outcomes and ICU treatments are not.
STEPWISE_CANDIDATES = (
    "age",
    "sex",
    "hypertension",
    "ecog_ps",
    "prior_lines",
    "days_infusion_to_icu",
    "reason_dp",
    "map_mmhg",
    "temperature_c",
    "neutropenia",
    "sofa",
    "vasopressors_day1",
)


@dataclass(frozen=True)
class ModelTerm:
    """One published term: design column, the paper's wording, HR with its 95% CI."""

    name: str
    paper_label: str
    hr: float
    lower: float
    upper: float

    @property
    def coef(self) -> float:
        """log(HR): the Cox coefficient."""
        return math.log(self.hr)

    @property
    def label(self) -> str:
        """The term as the app prints it (``core.tables.cox.covariate_label``)."""
        return covariate_label(self.name)

    @property
    def se(self) -> float:
        """Standard error of log(HR) implied by the printed 95% CI (Wald):
        ``(log(upper) - log(lower)) / (2 x 1.96)``; the CI's rounding limits its precision."""
        return (math.log(self.upper) - math.log(self.lower)) / (2 * Z95)


@dataclass(frozen=True)
class PaperModel:
    """The published Cox model: terms, endpoint, horizon and selection rule."""

    terms: tuple[ModelTerm, ...]
    duration: str
    event: str
    horizon_days: float
    entry_p: float
    removal_p: float
    source: str

    @property
    def covariates(self) -> tuple[str, ...]:
        """Design columns in the published order (``reason_dp, ecog_ps, sofa``)."""
        return tuple(t.name for t in self.terms)

    @property
    def hrs(self) -> dict[str, tuple[float, float, float]]:
        """``{term: (hr, lower, upper)}`` as printed."""
        return {t.name: (t.hr, t.lower, t.upper) for t in self.terms}

    @property
    def coef(self) -> dict[str, float]:
        """``{term: log(HR)}``."""
        return {t.name: t.coef for t in self.terms}

    def var_from_cis(self, names: Sequence[str] | None = None) -> np.ndarray:
        """Covariance of the log-HRs implied by the published CIs: diagonal (``se**2``), an
        approximation, since the paper gives no covariances. Rows in ``names`` order."""
        names = self.covariates if names is None else tuple(names)
        return np.diag([self.term(n).se ** 2 for n in names])

    def term(self, name: str) -> ModelTerm:
        for t in self.terms:
            if t.name == name:
                return t
        raise KeyError(f"the paper's model has no term {name!r}; terms: {self.covariates}")

    def table(self) -> pd.DataFrame:
        """covariate, label, hr, lower, upper, coef (one row per term)."""
        return pd.DataFrame(
            [
                {
                    "covariate": t.name,
                    "label": t.label,
                    "hr": t.hr,
                    "lower": t.lower,
                    "upper": t.upper,
                    "coef": t.coef,
                }
                for t in self.terms
            ]
        )


@lru_cache(maxsize=8)
def _load(path: str) -> PaperModel:
    cox = load_published(path)["cox"]
    terms = tuple(
        ModelTerm(
            name=t["name"],
            paper_label=t["label"],
            hr=float(t["hr"]),
            lower=float(t["lower"]),
            upper=float(t["upper"]),
        )
        for t in cox["terms"]
    )
    if not terms:
        raise ValueError(f"{path}: the cox section lists no terms")
    return PaperModel(
        terms=terms,
        duration=cox["duration"],
        event=cox["event"],
        horizon_days=float(cox["horizon_days"]),
        entry_p=float(cox["selection"]["entry"]),
        removal_p=float(cox["selection"]["removal"]),
        source=cox["source"],
    )


def paper_model(path: str | Path = PUBLISHED_PATH) -> PaperModel:
    """The paper's Cox model read from ``data/published.yaml`` (or ``path``)."""
    return _load(str(path))
