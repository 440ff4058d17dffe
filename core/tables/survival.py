"""Text of survival results: medians, landmarks, numbers at risk, cumulative incidence, pairwise
tests and hazard ratios as shown (presentation only; exports keep the raw frames).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.stats.survival import KMResult, to_months
from core.tables.format import MISSING, interval, p_phrase

# --------------------------------------------------------------------------------------
# display tables (presentation only; exports keep the raw frames)
# --------------------------------------------------------------------------------------
TIME_UNITS = ("days", "months")


NOT_REACHED = "NR"


"""Shown for a median (or a median's confidence limit) that is not reached (R prints NA)."""


NO_CI = MISSING  # the app-wide dash of core.tables.format


"""Shown for a confidence interval that is not defined: beyond the last follow-up, or an
incidence still 0 (R gives NA).  An em dash, unlike :data:`core.tables.format.MISSING`."""


def level_label(level) -> str:
    """Display label of a group level: a whole float without its decimals (``1.0 -> '1'``).

    Parameters
    ----------
    level : object
        A group level as held in the result frames (``2.0``, ``'CRS'``, ``'Age < 60'``).

    Returns
    -------
    str
        ``'2'`` for ``2.0``, else ``str(level)`` (``'CRS'``, ``'2.5'``).
    """
    if isinstance(level, float | np.floating) and float(level).is_integer():
        return str(int(level))
    return str(level)


def format_time(days: float, unit: str = "days") -> str:
    """A time given in days, as shown on the time axis ``unit``.

    Parameters
    ----------
    days : float
        Time from ICU admission in days; NaN for a median (or limit) that is not reached.
    unit : {"days", "months"}
        ``"days"``: whole days; ``"months"``: days / :data:`DAYS_PER_MONTH`, one decimal.

    Returns
    -------
    str
        e.g. ``'183'`` or ``'6.0'``; :data:`NOT_REACHED` (``'NR'``) when ``days`` is NaN.
    """
    if unit not in TIME_UNITS:
        raise ValueError(f"unit must be one of {TIME_UNITS}, got {unit!r}")
    if pd.isna(days):
        return NOT_REACHED
    return f"{days:.0f}" if unit == "days" else f"{float(to_months(days)):.1f}"


def _ci_cells(lower: pd.Series, upper: pd.Series) -> list[str]:
    """``'lo – hi'`` with 3 decimals per row; :data:`NO_CI` where the lower limit is NaN."""
    return [
        NO_CI if pd.isna(lo) else interval(lo, hi, ".3f")
        for lo, hi in zip(lower, upper, strict=True)
    ]


def format_medians(km: KMResult, unit: str = "days") -> pd.DataFrame:
    """The median survival table as shown: group, size, events, median and its 95% CI.

    Parameters
    ----------
    km : KMResult
        Output of :func:`kaplan_meier`; its ``medians`` are R ``print.survfit``'s.
    unit : {"days", "months"}
        Time unit of the median and its limits (:func:`format_time`).

    Returns
    -------
    DataFrame
        ``Group`` (:func:`level_label`), ``N``, ``Events``, ``Median (<unit>)`` and ``95% CI``
        (``'lo – hi'``); a median or limit not reached is :data:`NOT_REACHED`.
    """
    m = km.medians
    return pd.DataFrame(
        {
            "Group": m["group"].map(level_label),
            "N": m["n"],
            "Events": m["events"],
            f"Median ({unit})": [format_time(v, unit) for v in m["median"]],
            "95% CI": [
                f"{format_time(lo, unit)} – {format_time(hi, unit)}"
                for lo, hi in zip(m["lower"], m["upper"], strict=True)
            ],
        }
    )


def format_landmarks(at: pd.DataFrame, unit: str = "days") -> pd.DataFrame:
    """The landmark survival table as shown: S(t) with its 95% CI at each landmark time.

    Parameters
    ----------
    at : DataFrame
        Output of :func:`survival_at` (group, time in days, n_risk, survival, lower, upper).
    unit : {"days", "months"}
        Time unit of the ``Time`` column (:func:`format_time`).

    Returns
    -------
    DataFrame
        ``Group``, ``Time (<unit>)``, ``At risk``, ``S(t)`` (rounded to 3 decimals) and
        ``95% CI`` (``'0.575 – 0.892'``; :data:`NO_CI` beyond the last follow-up).
    """
    return pd.DataFrame(
        {
            "Group": at["group"].map(level_label),
            f"Time ({unit})": [format_time(v, unit) for v in at["time"]],
            "At risk": at["n_risk"],
            "S(t)": at["survival"].round(3),
            "95% CI": _ci_cells(at["lower"], at["upper"]),
        }
    )


def format_n_at_risk(nar: pd.DataFrame, unit: str = "days") -> pd.DataFrame:
    """The number-at-risk table as shown: group labels and times in ``unit``.

    Parameters
    ----------
    nar : DataFrame
        Output of :func:`n_at_risk` (group, time in days, at_risk, events, censored).
    unit : {"days", "months"}
        Time unit of the ``time`` column (:func:`format_time`).

    Returns
    -------
    DataFrame
        Same columns and rows; ``group`` labelled (:func:`level_label`) and ``time`` as text.
    """
    return nar.assign(
        group=nar["group"].map(level_label),
        time=[format_time(v, unit) for v in nar["time"]],
    )


def format_cif_table(at: pd.DataFrame, unit: str = "days") -> pd.DataFrame:
    """The competing-risks table as shown: both cumulative incidences with their 95% CIs.

    Parameters
    ----------
    at : DataFrame
        Output of :func:`cumulative_incidence_at` with the CI columns (group, time in days,
        n_risk, cif_progression, cif_death, event_free, lower_/upper_progression,
        lower_/upper_death).
    unit : {"days", "months"}
        Time unit of the ``Time`` column (:func:`format_time`).

    Returns
    -------
    DataFrame
        ``Group``, ``Time (<unit>)``, ``At risk``, ``Progression``, ``Prog. 95% CI``,
        ``Death w/o progression``, ``Death 95% CI`` and ``Alive, no progression``; estimates
        rounded to 3 decimals, CIs ``'lo – hi'`` (:data:`NO_CI` while the incidence is 0).
    """
    return pd.DataFrame(
        {
            "Group": at["group"].map(level_label),
            f"Time ({unit})": [format_time(v, unit) for v in at["time"]],
            "At risk": at["n_risk"],
            "Progression": at["cif_progression"].round(3),
            "Prog. 95% CI": _ci_cells(at["lower_progression"], at["upper_progression"]),
            "Death w/o progression": at["cif_death"].round(3),
            "Death 95% CI": _ci_cells(at["lower_death"], at["upper_death"]),
            "Alive, no progression": at["event_free"].round(3),
        }
    )


def format_pairwise(pw: pd.DataFrame) -> pd.DataFrame:
    """The pairwise log-rank table as shown: the two groups, chi-square and both p-values.

    Parameters
    ----------
    pw : DataFrame
        Output of :func:`pairwise_logrank`.

    Returns
    -------
    DataFrame
        ``group_a``, ``group_b`` (:func:`level_label`), ``statistic``, ``p_value`` and
        ``p_adjusted``, numbers unrounded; sizes and warnings left out.
    """
    return pw.assign(
        group_a=pw["group_a"].map(level_label),
        group_b=pw["group_b"].map(level_label),
    )[["group_a", "group_b", "statistic", "p_value", "p_adjusted"]]


def format_hazard_ratios(hr: pd.DataFrame) -> pd.DataFrame:
    """The univariable hazard-ratio table as shown: labelled levels, no ``reference`` column.

    Parameters
    ----------
    hr : DataFrame
        Output of :func:`univariable_hr`.

    Returns
    -------
    DataFrame
        ``level`` (:func:`level_label`), ``n``, ``events``, ``hr``, ``lower``, ``upper``,
        ``p_value``, numbers unrounded (the reference row has hr 1 and NaN CI / p).
    """
    return hr.assign(level=hr["level"].map(level_label)).drop(columns="reference")


def format_chi2_test(statistic: float, dof: int, p: float) -> str:
    """A chi-square test in running text: ``'χ² = 7.81, df = 3, p = 0.050'``.

    Parameters
    ----------
    statistic : float
        Chi-square statistic (:attr:`LogrankResult.statistic`), shown with 2 decimals.
    dof : int
        Degrees of freedom.
    p : float
        p-value, as :func:`core.tables.format.p_phrase` (``'p < 0.001'`` below 0.001).

    Returns
    -------
    str
    """
    return f"χ² = {statistic:.2f}, df = {dof}, {p_phrase(p)}"
