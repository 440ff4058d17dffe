"""Steps 6-7: one-year survival by ECOG PS and by reason for ICU admission (Figures 2 and 3)."""

from __future__ import annotations

import math

import pandas as pd

from core.cohort.db import ONE_YEAR_DAYS
from core.stats.compare import level_str
from core.stats.logrank import logrank
from core.stats.survival import kaplan_meier
from core.study.model import paper_model
from core.study.story.common import (
    DECEDENT,
    DP,
    EARLY_DEATH_DAYS,
    EMPTY,
    MISSING,
    StoryFigure,
    StoryStep,
    _deaths_within,
    _describe,
    _has,
    _isnan,
    _link,
    _live_cont,
    _missing_note,
    _p,
    _p_eq,
    _pub,
    _pub_cat,
    _pub_cont,
    _row,
    _source,
    _var,
    format_median_iqr,
    format_n_pct,
)


def one_year_by_group(df: pd.DataFrame, group: str) -> pd.DataFrame:
    """Per group: patients, deaths within one year and Kaplan-Meier survival at one year.

    Returns
    -------
    DataFrame with columns group, n, deaths_1y, surv_1y, lower, upper (``surv_1y`` is the
    Kaplan-Meier estimate at day 365, R ``summary(survfit(...), times = 365)`` with
    ``extend = TRUE``: the last value of the curve when the group's follow-up ends earlier
    after a death to zero; NaN when it ends earlier on a censoring).
    """
    for c in ("os_days", "os_event", group):
        if c not in df.columns:
            raise ValueError(f"column {c!r} is not in the cohort")
    data = df.dropna(subset=[group])
    if len(data) == 0:
        return pd.DataFrame(columns=["group", "n", "deaths_1y", "surv_1y", "lower", "upper"])
    km = kaplan_meier(data, "os_days", "os_event", group)
    rows = []
    for level in km.levels:
        tab = km.table[km.table["group"] == level]
        sub = data[data[group] == level]
        upto = tab[tab["time"] <= ONE_YEAR_DAYS].iloc[-1]
        ends_early = tab["time"].max() < ONE_YEAR_DAYS
        s = float(upto["survival"])
        known = not ends_early or s == 0.0
        rows.append(
            {
                "group": level,
                "n": len(sub),
                "deaths_1y": _deaths_within(sub, ONE_YEAR_DAYS),
                "surv_1y": s if known else math.nan,
                "lower": float(upto["lower"]) if known else math.nan,
                "upper": float(upto["upper"]) if known else math.nan,
            }
        )
    return pd.DataFrame(rows)


def _group_table(by_group: pd.DataFrame, label: str) -> pd.DataFrame:
    def pct(x: float) -> str:
        return "NA" if _isnan(x) else f"{100 * x:.0f}%"

    return pd.DataFrame(
        {
            label: [level_str(g) for g in by_group["group"]],
            "Patients": by_group["n"].astype(int),
            "Died within 1 year": by_group["deaths_1y"].astype(int),
            "1-year survival (KM)": [pct(s) for s in by_group["surv_1y"]],
            "95% CI": [
                "NA" if _isnan(lo) else f"{pct(lo)}–{pct(hi)}"
                for lo, hi in zip(by_group["lower"], by_group["upper"], strict=True)
            ],
        }
    )


def _logrank_text(df: pd.DataFrame, group: str) -> tuple[str, float]:
    data = df.dropna(subset=[group])
    if data[group].nunique() < 2:
        return "only one group: no test", math.nan
    lr = logrank(data, "os_days", "os_event", group)
    if lr.warning:
        return f"log-rank test not reported ({lr.warning.split(':')[0]})", math.nan
    return f"log-rank χ² = {lr.statistic:.1f}, df = {lr.dof}, {_p_eq(lr.p_value)}", lr.p_value


def step_survival_ps(df: pd.DataFrame) -> StoryStep:
    """Step 6 — survival by performance status (Figure 2) and PS by 1-year outcome (Table 4)."""
    cols = ["os_days", "os_event", "ecog_ps"]
    notes = list(_missing_note(df, cols))
    ps = _var("ecog_ps")
    pub_surv = _pub_cont("ecog_ps", "outcome_1y", "1-year survivor")
    pub_dec = _pub_cont("ecog_ps", "outcome_1y", DECEDENT)
    pub_p = ps["p"]["outcome_1y"]
    hr = paper_model().term("ecog_ps")
    table = None
    lr_text, lr_p = MISSING, math.nan
    live_surv = live_dec = live_p = MISSING if len(df) else EMPTY
    live_p_value = math.nan
    if _has(df, *cols) and len(df):
        by = one_year_by_group(df, "ecog_ps")
        table = _group_table(by, "ECOG PS")
        lr_text, lr_p = _logrank_text(df, "ecog_ps")
        if "outcome_1y" in df.columns and df["outcome_1y"].nunique() == 2:
            res = _describe(df, ["ecog_ps"], by="outcome_1y")
            live_surv, _ = _live_cont(res, "ecog_ps", "1-year survivor")
            live_dec, _ = _live_cont(res, "ecog_ps", DECEDENT)
            live_p_value = float(_row(res, "ecog_ps")["p_value"])
            live_p = _p(live_p_value)
        else:
            live_surv = live_dec = live_p = "needs both 1-year outcomes"
    figures = (
        StoryFigure(
            "PS of 1-year survivors",
            live_surv,
            format_median_iqr(*pub_surv),
            _source("ecog_ps", "outcome_1y"),
            term="median_iqr",
        ),
        StoryFigure(
            "PS of 1-year decedents",
            live_dec,
            format_median_iqr(*pub_dec),
            _source("ecog_ps", "outcome_1y"),
            term="median_iqr",
        ),
        StoryFigure(
            "p (survivors vs decedents)",
            live_p,
            _p(pub_p),
            _source("ecog_ps", "outcome_1y"),
            live_p_value,
            pub_p,
            "wilcoxon",
        ),
        StoryFigure(
            "Survival curves by PS",
            lr_text,
            f"Figure 2; HR {hr.hr:.2f} per PS point",
            "Figure 2 and Results",
            lr_p,
            None,
            "logrank",
        ),
    )
    if table is not None and len(table):
        best, worst = table.iloc[0], table.iloc[-1]
        live = (
            f"In the active cohort {best['Died within 1 year']} of {best['Patients']} patients "
            f"with PS {best['ECOG PS']} died within a year, against "
            f"{worst['Died within 1 year']} of {worst['Patients']} with PS {worst['ECOG PS']}; "
            f"{lr_text}."
        )
    else:
        live = "Survival by performance status is not available in the active cohort."
    return StoryStep(
        key="survival_ps",
        title="Survival by performance status",
        finding=(
            "Survival was steady in patients with a very good performance status and fell "
            "with each point of PS (Figure 2): 1-year decedents had a worse PS than survivors "
            "(Table 4)."
        ),
        live_text=live,
        figures=figures,
        link=_link(
            "survival",
            "Open the survival curves by ECOG PS (Figure 2)",
            preset="fig2",
            group="ecog_ps",
            endpoint="os",
            h=int(_pub()["survival"]["horizon_days"]["value"]),
        ),
        terms=("kaplan_meier", "logrank", "ecog_ps", "wilcoxon", "censoring"),
        chart="km_ecog_ps" if table is not None else None,
        notes=tuple(notes),
        table=table,
    )


def step_survival_reason(df: pd.DataFrame) -> StoryStep:
    """Step 7 — survival by reason for admission (Figure 3): disease progression is fatal."""
    sv = _pub()["survival"]
    cols = ["os_days", "os_event", "icu_reason"]
    notes = list(_missing_note(df, cols))
    table = None
    lr_text, lr_p = MISSING, math.nan
    dp_n = dp_deaths = dp_early = math.nan
    figures: list[StoryFigure] = []
    if _has(df, *cols) and len(df):
        by = one_year_by_group(df, "icu_reason")
        table = _group_table(by, "Reason for ICU admission")
        lr_text, lr_p = _logrank_text(df, "icu_reason")
        dp = df[df["icu_reason"] == DP]
        dp_n = len(dp)
        dp_deaths = int((dp["os_event"] == 1).sum())
        dp_early = _deaths_within(dp, EARLY_DEATH_DAYS)
        by_reason = dict(zip(by["group"], by["deaths_1y"], strict=True))
        size = dict(zip(by["group"], by["n"], strict=True))
    else:
        by_reason, size = {}, {}
    for reason in _pub()["groupings"]["icu_reason"]["levels"]:
        n_pub, _ = _pub_cat("icu_reason", reason, "outcome_1y", DECEDENT)
        of_pub = _pub()["groupings"]["icu_reason"]["levels"][reason]
        if reason in by_reason:
            live = format_n_pct(by_reason[reason], of=size[reason])
            value = by_reason[reason]
        else:
            live, value = (MISSING if len(df) else EMPTY), math.nan
        figures.append(
            StoryFigure(
                f"{reason}: died within 1 year",
                live,
                format_n_pct(n_pub, of=of_pub),
                _source("icu_reason", "outcome_1y"),
                value,
                n_pub,
            )
        )
    early = sv["dp_deaths_within_90d"]
    figures.append(
        StoryFigure(
            "Disease progression: died within 3 months",
            format_n_pct(dp_early, of=dp_n) if not _isnan(dp_n) else MISSING,
            format_n_pct(early["value"], of=early["of"]),
            early["source"],
            dp_early,
            early["value"],
        )
    )
    figures.append(
        StoryFigure(
            "Survival curves by reason", lr_text, "Figure 3", "Figure 3", lr_p, None, "logrank"
        )
    )
    live = (
        f"In the active cohort {format_n_pct(dp_deaths, of=dp_n)} patients admitted for "
        f"disease progression died; {lr_text}."
        if not _isnan(dp_n) and dp_n > 0
        else "No patient admitted for disease progression in the active cohort."
    )
    return StoryStep(
        key="survival_reason",
        title="Survival by reason for ICU admission",
        finding=(
            "Every patient admitted for disease progression died, most within three months, "
            "whereas patients admitted for CRS or sepsis — even documented bacterial sepsis — "
            "had a similar, much better outlook (Figure 3)."
        ),
        live_text=live,
        figures=tuple(figures),
        link=_link(
            "survival",
            "Open the survival curves by reason for admission (Figure 3)",
            preset="fig3",
            group="icu_reason",
            endpoint="os",
            h=int(sv["horizon_days"]["value"]),
        ),
        terms=("kaplan_meier", "logrank", "crs", "sepsis"),
        chart="km_icu_reason" if table is not None else None,
        notes=tuple(notes),
        table=table,
    )
