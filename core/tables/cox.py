"""Text of Cox results: covariate labels, the coefficient, PH-test, calibration and stepwise
tables as shown (presentation only; exports keep the raw frames).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from core.cohort.schema import load_dictionary
from core.tables.format import MISSING, estimate_interval, interval, p_phrase, p_value

# --------------------------------------------------------------------------------------
# display tables (presentation only; exports keep the raw frames)
# --------------------------------------------------------------------------------------
#: Labels of the paper's model terms, as the app prints them.
COVARIATE_LABELS: dict[str, str] = {
    "reason_dp": "Disease progression (vs other reasons)",
    "ecog_ps": "ECOG PS (per point)",
    "sofa": "SOFA (per point)",
    "age": "Age (per year)",
}


def covariate_label(name: str, labels: Mapping[str, str] = COVARIATE_LABELS) -> str:
    """Display label of a covariate or design column.

    Parameters
    ----------
    name : str
        Covariate (``'sofa'``) or design column of a factor level (``'sex=M'``).
    labels : mapping, default :data:`COVARIATE_LABELS`
        Labels that take precedence over the data dictionary.

    Returns
    -------
    str
        ``labels[name]``; else the dictionary's label with unit (``data/dictionary.csv``,
        :attr:`core.cohort.schema.ColumnSpec.display`); for a factor level ``'<label>: <level>'``
        (``'Sex: M'``); else ``name`` itself.
    """
    if name in labels:
        return labels[name]
    spec = load_dictionary()
    if name in spec:
        return spec[name].display
    term, sep, level = name.partition("=")
    if sep and term in spec:
        return f"{spec[term].label}: {level}"
    return name


def format_summary(
    summary: pd.DataFrame,
    published: pd.DataFrame | None = None,
    label: Callable[[str], str] = covariate_label,
) -> pd.DataFrame:
    """The coefficient table as shown: label, HR, 95% CI and Wald p, beside the paper's HR.

    Parameters
    ----------
    summary : DataFrame
        :attr:`CoxResult.summary` (covariate, hr, lower, upper, p).
    published : DataFrame, optional
        Published HRs, columns covariate, hr, lower, upper
        (:meth:`core.study.calculator.PublishedModel.table`).  When given, a column
        ``Published HR [95% CI]`` holds them (empty for the other covariates).
    label : callable, default :func:`covariate_label`
        Display label of a design column.

    Returns
    -------
    DataFrame
        ``Covariate``, ``HR`` (rounded to 2 decimals), ``95% CI`` (``'lo – hi'``),
        ``p (Wald)`` (:func:`core.tables.format.p_value`) and optionally
        ``Published HR [95% CI]`` (``'hr [lo – hi]'``); one row per design column.
    """
    table = pd.DataFrame(
        {
            "Covariate": [label(c) for c in summary["covariate"]],
            "HR": summary["hr"].round(2),
            "95% CI": [
                interval(lo, hi) for lo, hi in zip(summary["lower"], summary["upper"], strict=True)
            ],
            "p (Wald)": [p_value(p) for p in summary["p"]],
        }
    )
    if published is not None:
        pub = {
            r.covariate: estimate_interval(r.hr, r.lower, r.upper) for r in published.itertuples()
        }
        table["Published HR [95% CI]"] = [pub.get(c, "") for c in summary["covariate"]]
    return table


def format_ph_table(
    table: pd.DataFrame, label: Callable[[str], str] = covariate_label
) -> pd.DataFrame:
    """The ``cox.zph`` table as shown: labelled terms, chi-square to 3 decimals, p as text.

    Parameters
    ----------
    table : DataFrame
        :attr:`PHTest.table` (term, chisq, df, p; last row ``GLOBAL``).
    label : callable, default :func:`covariate_label`
        Display label of a term (``GLOBAL`` is kept as is).

    Returns
    -------
    DataFrame
        Same columns and rows; ``term`` labelled, ``chisq`` rounded, ``p`` formatted by
        :func:`core.tables.format.p_value`.
    """
    return table.assign(
        term=[label(t) if t != "GLOBAL" else "GLOBAL" for t in table["term"]],
        chisq=table["chisq"].round(3),
        p=[p_value(p) for p in table["p"]],
    )


def format_calibration(table: pd.DataFrame) -> pd.DataFrame:
    """The calibration table as shown: risk group, size, predicted and observed survival.

    Parameters
    ----------
    table : DataFrame
        :attr:`Calibration.table` (label, n, events, predicted, observed, obs_lower,
        obs_upper; proportions).

    Returns
    -------
    DataFrame
        ``Risk group``, ``Patients``, ``Events``, ``Predicted`` (``'81.2%'``) and
        ``Observed (KM) [95% CI]`` (``'75.0% [60.1% – 93.6%]'``, a lone en dash when the
        Kaplan-Meier estimate is missing).
    """
    return pd.DataFrame(
        {
            "Risk group": table["label"],
            "Patients": table["n"],
            "Events": table["events"],
            "Predicted": [f"{v:.1%}" for v in table["predicted"]],
            "Observed (KM) [95% CI]": [
                MISSING if not np.isfinite(o) else estimate_interval(o, lo, hi, ".1%")
                for o, lo, hi in zip(
                    table["observed"], table["obs_lower"], table["obs_upper"], strict=True
                )
            ],
        }
    )


def format_stepwise(
    frame: pd.DataFrame, label: Callable[[str], str] = covariate_label
) -> pd.DataFrame:
    """A stepwise table as shown: a ``label`` column added and ``p`` as text.

    Parameters
    ----------
    frame : DataFrame
        :attr:`StepwiseResult.trace` or :attr:`StepwiseResult.candidates_table` (columns
        variable and p among others).
    label : callable, default :func:`covariate_label`

    Returns
    -------
    DataFrame
        ``frame`` with ``label`` (display label of ``variable``) appended and ``p``
        formatted by :func:`core.tables.format.p_value`.
    """
    return frame.assign(
        label=[label(str(c)) for c in frame["variable"]],
        p=[p_value(p) for p in frame["p"]],
    )


def published_comparison(
    summary: pd.DataFrame,
    terms: Sequence[Mapping[str, float | str]],
    label: Callable[[str], str] = covariate_label,
) -> list[str]:
    """One phrase per published term: the refitted HR beside the paper's.

    Parameters
    ----------
    summary : DataFrame
        :attr:`CoxResult.summary` of the paper's model refitted.
    terms : sequence of mappings
        The paper's terms (``published.yaml``, ``cox.terms``): name, hr, lower, upper.
        Terms absent from ``summary`` are skipped.
    label : callable, default :func:`covariate_label`

    Returns
    -------
    list of str
        e.g. ``'SOFA (per point): HR 1.18 [1.04–1.34], p = 0.012 (paper 1.16 [1.01–1.33])'``.
    """
    fitted = summary.set_index("covariate")
    parts = []
    for t in terms:
        name = str(t["name"])
        if name not in fitted.index:
            continue
        r = fitted.loc[name]
        parts.append(
            f"{label(name)}: HR {r['hr']:.2f} [{r['lower']:.2f}–{r['upper']:.2f}], "
            f"{p_phrase(r['p'])} "
            f"(paper {t['hr']:.2f} [{t['lower']:.2f}–{t['upper']:.2f}])"
        )
    return parts
