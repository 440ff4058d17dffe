"""The guided story "What the study found": each step's live numbers beside the paper's.

Every step function takes the active cohort (one row per patient, the columns of
``data/dictionary.csv``) and returns a :class:`StoryStep`: a finding of the paper, figures
recomputed **live** from the cohort next to the **published** value read from
``data/published.yaml`` (via :mod:`core.study.published`; no published number is typed here), the
view of the app that shows it in full (page + query parameters) and the glossary terms it
uses.  Statistics come from the core modules, which match R:

* counts, percentages, medians [IQR] and Wilcoxon / Fisher p-values:
  :func:`core.stats.compare.compare_groups` (R ``quantile(type = 7)``, ``wilcox.test``,
  ``fisher.test``);
* Kaplan-Meier survival, medians and log-rank tests: :func:`core.stats.survival.kaplan_meier`,
  :func:`core.stats.survival.logrank` (R ``survfit``, ``survdiff``);
* the paper's Cox model for 1-year mortality: :func:`core.stats.cox.fit.fit_cox` (R ``coxph``,
Efron).

A filtered or uploaded cohort may lack a column or a group: the figure then says so in
``live`` (and the step in ``notes``) instead of failing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd

from core.stats.survival import kaplan_meier
from core.study.story.cohort import step_admission, step_one_year, step_reason, step_treatment
from core.study.story.common import (
    EMPTY,
    MISSING,
    StoryFigure,
    StoryStep,
    ViewLink,
    _has,
    _isnan,
    _link,
    _missing_note,
    _months,
    _num,
    _pub,
    format_median_iqr,
    format_n_pct,
)
from core.study.story.model import cox_step_fit, step_cox
from core.study.story.survival import one_year_by_group, step_survival_ps, step_survival_reason

__all__ = [
    "EMPTY",
    "MISSING",
    "STEPS",
    "StoryFigure",
    "StoryStep",
    "ViewLink",
    "build_story",
    "cox_step_fit",
    "format_median_iqr",
    "format_n_pct",
    "one_year_by_group",
    "step_admission",
    "step_cox",
    "step_one_year",
    "step_reason",
    "step_survival_ps",
    "step_survival_reason",
    "step_takeaways",
    "step_treatment",
]


def step_takeaways(df: pd.DataFrame) -> StoryStep:
    """Step 8 — what it means, with progression-free survival and the caveats."""
    pfs = _pub()["survival"]["median_pfs_months"]
    if _has(df, "pfs_days", "pfs_event") and len(df):
        med = kaplan_meier(df, "pfs_days", "pfs_event").medians.iloc[0]
        m, lo = _months(med["median"]), _months(med["lower"])
        hi = _months(med["upper"])
        live = (
            "not reached"
            if _isnan(m)
            else f"{m:.1f} [95% CI {_num(round(lo, 1))}–{_num(round(hi, 1))}]"
        )
    else:
        live, m = (MISSING if len(df) else EMPTY), math.nan
    upper = "NA" if pfs["upper"] is None else _num(pfs["upper"])
    figures = (
        StoryFigure(
            "Median progression-free survival (months)",
            live,
            f"{_num(pfs['value'])} [95% CI {_num(pfs['lower'])}–{upper}]",
            pfs["source"],
            m,
            pfs["value"],
            "os_pfs",
        ),
    )
    return StoryStep(
        key="takeaways",
        title="What it means — and what it does not",
        finding=(
            "ICU admission after CAR-T cells is worthwhile for CRS and sepsis; performance "
            "status and disease progression should weigh in the decision. The study is "
            "single-centre and small (wide confidence intervals), patients were selected for "
            "CAR-T therapy, and the categories of admission were defined by the authors."
        ),
        live_text=(
            "Everything here is recomputed from a **reconstructed** cohort: it reproduces the "
            "published aggregates, not real patients. Check any number on the *Reproduction* "
            "page; to see whether the published model holds for your own patients, upload them "
            "and open *Validate on your cohort*."
        ),
        figures=figures,
        link=_link("validation", "Does the model hold in your ICU? (Validate on your cohort)"),
        terms=("reconstructed_cohort", "ci95", "p_value"),
        notes=_missing_note(df, ["pfs_days", "pfs_event"]),
    )


STEPS: tuple[Callable[[pd.DataFrame], StoryStep], ...] = (
    step_admission,
    step_reason,
    step_treatment,
    step_one_year,
    step_cox,
    step_survival_ps,
    step_survival_reason,
    step_takeaways,
)


def build_story(df: pd.DataFrame) -> tuple[StoryStep, ...]:
    """Every step of the story for the cohort ``df`` (in order)."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError("the cohort must be a pandas DataFrame")
    return tuple(step(df) for step in STEPS)
