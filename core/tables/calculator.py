"""Text of calculator results: each profile's survival table and the relative-hazard breakdown."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.study.calculator import (
    CalculatorModel,
    PatientProfile,
    ProfilePrediction,
    relative_hazard,
)
from core.tables.format import MISSING, interval, percent


# --------------------------------------------------------------------------------------
# display tables (presentation only; exports keep the raw frames)
# --------------------------------------------------------------------------------------
def format_survival_table(prediction: ProfilePrediction) -> pd.DataFrame:
    """Predicted survival as shown: one row per profile, one column per landmark day.

    Parameters
    ----------
    prediction : ProfilePrediction
        Output of :func:`predict_profiles`.

    Returns
    -------
    DataFrame
        Index: the profile labels in input order; columns ``'Day 30'``, ``'Day 90'``, ...;
        cells ``'S [lower – upper]'`` in percent with one decimal (``'81.2% [70.3% – 93.8%]'``),
        each number a lone en dash when not estimable (beyond the last follow-up).
    """
    t = prediction.table
    cells = t.assign(
        cell=[
            f"{percent(s)} [{percent(lo)} – {percent(hi)}]"
            for s, lo, hi in zip(t["surv"], t["lower"], t["upper"], strict=True)
        ]
    )
    wide = cells.pivot(index="profile", columns="day", values="cell")
    wide = wide.reindex(list(prediction.labels))
    wide.columns = [f"Day {d}" for d in wide.columns]
    return wide


RELATIVE_HAZARD_COLUMNS = ("Profile", "vs", "HR", "95% CI", "Breakdown")


def relative_hazard_table(
    profiles: Sequence[PatientProfile],
    reference: PatientProfile,
    model: CalculatorModel | None = None,
) -> pd.DataFrame:
    """Relative hazard of every profile but the reference, as shown.

    Parameters
    ----------
    profiles : sequence of PatientProfile
        The profiles; the one that *is* ``reference`` (same object) is left out.
    reference : PatientProfile
    model : CalculatorModel, optional
        As for :func:`relative_hazard` (default: the published model).

    Returns
    -------
    DataFrame
        Columns :data:`RELATIVE_HAZARD_COLUMNS`: profile label, reference label, HR rounded
        to 2 decimals, ``'lo – hi'`` (a lone en dash without CI, as in published mode) and
        the factor-by-factor formula; no row when only the reference is given.
    """
    rows = []
    for p in profiles:
        if p is reference:
            continue
        rh = relative_hazard(p, reference, model)
        rows.append(
            {
                "Profile": p.label,
                "vs": reference.label,
                "HR": round(rh.hr, 2),
                "95% CI": MISSING if not np.isfinite(rh.lower) else interval(rh.lower, rh.upper),
                "Breakdown": rh.formula,
            }
        )
    return pd.DataFrame(rows, columns=list(RELATIVE_HAZARD_COLUMNS))


def observed_range(cohort: pd.DataFrame, column: str) -> str:
    """Observed range of a numeric column as text, ``'min-max'`` (``'0-4'``), for input help.

    Parameters
    ----------
    cohort : DataFrame
    column : str
        A column of ``cohort``; non-numeric values are ignored.

    Returns
    -------
    str
        ``'<min>-<max>'`` in ``:g`` format, or ``'no data'`` without a numeric value.
    """
    s = pd.to_numeric(cohort[column], errors="coerce").dropna()
    return "no data" if s.empty else f"{s.min():g}-{s.max():g}"
