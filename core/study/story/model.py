"""Step 5: the paper's three prognostic factors, refitted vs published."""

from __future__ import annotations

import math

import pandas as pd

from core.cohort.variables import DERIVED_INDICATORS
from core.stats.cox.fit import CoxFitError, fit_cox
from core.study.model import paper_model
from core.study.story.common import StoryFigure, StoryStep, _link, _pub


def cox_step_fit(df: pd.DataFrame):
    """The paper's model refitted on ``df``: 1-year mortality ~ reason_dp + ecog_ps + sofa.

    Returns the :class:`core.stats.cox.fit.CoxResult`, or a string saying why it cannot be fitted.
    """
    model = paper_model()
    needed = [model.duration, model.event, *model.covariates]
    needed = [DERIVED_INDICATORS[c][0] if c in DERIVED_INDICATORS else c for c in needed]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        return f"the active cohort has no column {', '.join(missing)}"
    if len(df) == 0:
        return "no patient passes the filter"
    try:
        return fit_cox(
            df,
            model.duration,
            model.event,
            list(model.covariates),
            horizon_days=model.horizon_days,
        )
    except (CoxFitError, ValueError) as exc:
        return str(exc)


def step_cox(df: pd.DataFrame) -> StoryStep:
    """Step 5 — the three prognostic factors: Cox hazard ratios, refitted vs published."""
    model = paper_model()
    pub = {t.name: t for t in model.terms}
    fit = cox_step_fit(df)
    notes: list[str] = []
    summary = None
    if isinstance(fit, str):
        notes.append(f"The paper's model cannot be fitted on the active cohort: {fit}.")
    else:
        summary = fit.summary.set_index("covariate")
        notes.extend(fit.warnings)
    figures = []
    for name in model.covariates:
        term = pub[name]
        published = f"{term.hr:.2f} [{term.lower:.2f}–{term.upper:.2f}]"
        if summary is not None and name in summary.index:
            r = summary.loc[name]
            live = f"{r['hr']:.2f} [{r['lower']:.2f}–{r['upper']:.2f}]"
            value = float(r["hr"])
        else:
            live, value = "not estimable", math.nan
        figures.append(
            StoryFigure(
                f"Hazard ratio: {term.paper_label.split(': ')[-1]}",
                live,
                published,
                _pub()["cox"]["source"],
                value,
                term.hr,
                "hazard_ratio",
            )
        )
    if summary is not None:
        live = (
            f"Refitted on the active cohort ({fit.n} patients, {fit.events} deaths within "
            f"one year): C-index {fit.concordance:.2f}."
        )
    else:
        live = "The model cannot be refitted on the active cohort."
    return StoryStep(
        key="cox",
        title="Three prognostic factors",
        finding=(
            "In a multivariable Cox model of 1-year mortality, three factors were associated "
            "with death: admission for disease progression (vs sepsis or CRS), a worse ECOG "
            "performance status and a higher SOFA score — per point for PS and SOFA."
        ),
        live_text=live,
        figures=tuple(figures),
        link=_link(
            "cox",
            "Open the Cox model (the paper's model, 1 year)",
            mode="paper",
            endpoint="os",
            hz="365",  # the paper's horizon (Cox page's "1 year" choice)
        ),
        terms=("cox_model", "hazard_ratio", "ci95", "c_index"),
        chart="forest" if summary is not None else None,
        notes=tuple(notes),
    )
