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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.cohort.db import ONE_YEAR_DAYS
from core.cohort.variables import DERIVED_INDICATORS
from core.stats.compare import OVERALL, SEP, compare_groups, level_str
from core.stats.cox.fit import CoxFitError, fit_cox
from core.stats.logrank import logrank
from core.stats.survival import kaplan_meier
from core.study.model import paper_model
from core.study.published import DAYS_PER_MONTH, load_published

__all__ = [
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

MISSING = "not in this cohort"
EMPTY = "no patient"
DP = DERIVED_INDICATORS["reason_dp"][1]  # the level of the paper's indicator
DECEDENT = "1-year decedent"
# "3 in 4 patients were deceased 3 months later": the figure is named dp_deaths_within_90d
EARLY_DEATH_DAYS = 90
REASON_PREFIX = "Reason for admission: "


# --------------------------------------------------------------------------------------
# result types
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoryFigure:
    """One number of a step: recomputed from the cohort and as published.

    ``live`` / ``published`` are display strings; ``live_value`` / ``published_value`` the
    headline numbers behind them (None when absent) for tests and comparisons.
    """

    label: str
    live: str
    published: str
    source: str
    live_value: float | None = None
    published_value: float | None = None
    term: str | None = None  # glossary key for a tooltip


@dataclass(frozen=True)
class ViewLink:
    """A view of another page of the app, set up by that page's view state.

    ``page`` names the page in the app's page registry (``"survival"``) and ``view`` holds
    settings of that page's view model by field name (``("preset", "fig2")``), never URL keys:
    the app turns them into a URL with the page's own view state, so a renamed key or a new
    binding changes no story.
    """

    page: str
    label: str
    view: tuple[tuple[str, Any], ...] = ()

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.view)


@dataclass(frozen=True)
class StoryStep:
    """One screen of the story."""

    key: str
    title: str
    finding: str  # the paper's claim, in one or two sentences
    live_text: str  # what the active cohort shows, in words (markdown)
    figures: tuple[StoryFigure, ...]
    link: ViewLink
    terms: tuple[str, ...] = ()
    chart: str | None = None  # "km_ecog_ps", "km_icu_reason", "forest" or None
    notes: tuple[str, ...] = ()
    table: pd.DataFrame | None = field(default=None, compare=False)


# --------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------
def _isnan(x: Any) -> bool:
    return x is None or (isinstance(x, float | np.floating) and math.isnan(float(x)))


def _num(x: float | None, decimals: int | None = None) -> str:
    if _isnan(x):
        return "NA"
    if decimals is not None:
        return f"{x:.{decimals}f}"
    x = float(x)
    if x.is_integer():
        return str(int(x))
    return f"{x:.2f}".rstrip("0").rstrip(".") if abs(x) < 10 else f"{x:.1f}".rstrip("0")


def format_median_iqr(median: float | None, q1: float | None, q3: float | None) -> str:
    """``60 [37–67.5]``."""
    if _isnan(median):
        return "NA"
    return f"{_num(median)} [{_num(q1)}–{_num(q3)}]"


def format_n_pct(n: float | None, pct: float | None = None, of: int | None = None) -> str:
    """``42 (59%)``; ``pct`` may be None (count only) and ``of`` gives ``4 of 4``."""
    if _isnan(n):
        return "NA"
    text = f"{round(float(n))}"
    if of is not None:
        text += f" of {of}"
    if not _isnan(pct):
        pct = float(pct)
        text += f" ({pct:.0f}%)" if pct >= 10 or pct == 0 else f" ({pct:.1f}%)"
    return text


def _p(p: float | None) -> str:
    """p-value as printed: ``< 0.001``, two significant digits below 0.1, else two decimals."""
    if _isnan(p):
        return "NA"
    return "< 0.001" if p < 0.001 else f"{p:.2g}" if p < 0.1 else f"{p:.2f}"


def _p_eq(p: float | None) -> str:
    """``p < 0.001`` / ``p = 0.023``."""
    text = _p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _deaths_within(df: pd.DataFrame, days: float) -> int:
    return int(((df["os_event"] == 1) & (df["os_days"] <= days)).sum())


def _months(days: float | None) -> float:
    return math.nan if _isnan(days) else float(days) / DAYS_PER_MONTH


# --------------------------------------------------------------------------------------
# published figures (data/published.yaml)
# --------------------------------------------------------------------------------------
def _pub() -> dict[str, Any]:
    return load_published()


def _var(name: str) -> dict[str, Any]:
    for v in _pub()["variables"]:
        if v["name"] == name:
            return v
    raise KeyError(f"variable {name!r} is not in data/published.yaml")


def _pub_cont(name: str, grouping: str = "overall", group: str | None = None) -> list:
    spec = _var(name)[grouping]
    return spec if grouping == "overall" else spec[group]


def _pub_cat(name: str, level: Any, grouping: str = "overall", group: str | None = None):
    """(n, printed pct or None) of a categorical level."""
    levels = _var(name)["levels"]
    by_str = {level_str(k): v for k, v in levels.items()}
    spec = by_str[level_str(level)][grouping]
    return spec if grouping == "overall" else spec[group]


def _source(name: str, grouping: str = "overall") -> str:
    return _var(name).get("source", {}).get(grouping, "")


def _text_count(name: str) -> dict[str, Any]:
    for t in _pub()["text_counts"]:
        if t["name"] == name:
            return t
    raise KeyError(f"text count {name!r} is not in data/published.yaml")


# --------------------------------------------------------------------------------------
# live figures
# --------------------------------------------------------------------------------------
def _has(df: pd.DataFrame, *cols: str) -> bool:
    """Columns present and holding at least one value (an upload may leave them empty)."""
    return set(cols) <= set(df.columns) and all(df[c].notna().any() for c in cols)


def _sentence(*clauses: tuple[str, str, str]) -> str:
    """Join ``(name, template, value)`` clauses, leaving out those not in the cohort.

    ``template`` holds ``{}`` for the value; a clause whose value is :data:`MISSING` is dropped
    and its ``name`` listed once at the end ("not recorded in this cohort: age"), never printed
    as "median age not in this cohort years".
    """
    shown = [t.format(v) for _, t, v in clauses if v not in (MISSING, EMPTY)]
    absent = [name for name, _, v in clauses if v in (MISSING, EMPTY)]
    if absent:
        shown.append("not recorded in this cohort: " + ", ".join(absent))
    return "; ".join(shown) + "."


def _describe(df: pd.DataFrame, columns: list[str], by: str | None = None) -> pd.DataFrame:
    """compare_groups on the columns holding values (empty frame when none or no patient)."""
    present = [c for c in columns if c != by and _has(df, c)]
    if not present or len(df) == 0 or (by is not None and by not in df.columns):
        return pd.DataFrame(columns=["variable", "level"])
    return compare_groups(df, by, present)


def _row(result: pd.DataFrame, column: str, level: Any = None) -> pd.Series | None:
    rows = result[result["variable"] == column] if len(result) else result
    if level is not None and len(rows):
        rows = rows[rows["level"].map(level_str) == level_str(level)]
    return rows.iloc[0] if len(rows) else None


def _live_cont(result: pd.DataFrame, column: str, group: str = OVERALL) -> tuple[str, float]:
    r = _row(result, column)
    if r is None:
        return MISSING, math.nan
    med = r.get(f"{group}{SEP}median", math.nan)
    return format_median_iqr(med, r[f"{group}{SEP}q1"], r[f"{group}{SEP}q3"]), med


def _live_cat(
    result: pd.DataFrame, column: str, level: Any, group: str = OVERALL
) -> tuple[str, float]:
    if _row(result, column) is None:
        return MISSING, math.nan
    r = _row(result, column, level)
    if r is None:  # the level does not occur in the cohort
        return format_n_pct(0, 0.0), 0.0
    n = r.get(f"{group}{SEP}n", math.nan)
    return format_n_pct(n, r.get(f"{group}{SEP}pct", math.nan)), float(n)


def _cont_figure(result, name: str, label: str, term: str | None = None) -> StoryFigure:
    column = _var(name)["column"]
    med, q1, q3 = _pub_cont(name)
    live, value = _live_cont(result, column)
    return StoryFigure(label, live, format_median_iqr(med, q1, q3), _source(name), value, med, term)


def _cat_figure(result, name: str, level: Any, label: str, term: str | None = None) -> StoryFigure:
    column = _var(name)["column"]
    n, pct = _pub_cat(name, level)
    live, value = _live_cat(result, column, level)
    return StoryFigure(label, live, format_n_pct(n, pct), _source(name), value, n, term)


def _missing_note(df: pd.DataFrame, cols: list[str]) -> tuple[str, ...]:
    missing = [c for c in cols if c not in df.columns]
    notes = []
    if len(df) == 0:
        notes.append("No patient passes the current filter: widen it in the sidebar.")
    if missing:
        notes.append(f"The active cohort has no column {', '.join(missing)}.")
    return tuple(notes)


def _link(page: str, label: str, **view: Any) -> ViewLink:
    return ViewLink(page, label, tuple(view.items()))


# --------------------------------------------------------------------------------------
# steps
# --------------------------------------------------------------------------------------
def step_admission(df: pd.DataFrame) -> StoryStep:
    """Step 1 — who was admitted (Table 1): size, age, sex, malignancy, PS, timing."""
    cols = ["age", "sex", "malignancy", "ecog_ps", "days_infusion_to_icu"]
    res = _describe(df, cols)
    n_pub = _pub()["meta"]["n"]
    figures = (
        StoryFigure("Patients", str(len(df)), str(n_pub), "Abstract and Table 1", len(df), n_pub),
        _cont_figure(res, "age", "Age (years)", "median_iqr"),
        _cat_figure(res, "male", "M", "Men"),
        _cat_figure(res, "malignancy", "DLBCL", "Diffuse large B-cell lymphoma"),
        _cat_figure(res, "malignancy", "ALL", "Acute lymphoblastic leukaemia"),
        _cont_figure(res, "ecog_ps", "ECOG performance status", "ecog_ps"),
        _cont_figure(
            res, "days_infusion_to_icu", "Days from CAR-T infusion to ICU admission", "car_t"
        ),
    )
    age = figures[1].live
    days = figures[6].live
    live = (
        f"The active cohort has **{len(df)} patients**: "
        + _sentence(
            ("age", "median age {} years", age),
            (
                "days from infusion to ICU",
                "ICU admission a median of {} days after the CAR-T cell infusion",
                days,
            ),
        )
        if len(df)
        else "No patient in the active cohort."
    )
    return StoryStep(
        key="admission",
        title="Who was admitted to the ICU",
        finding=(
            "Consecutive CAR-T cell recipients admitted to the ICU within 30 days of infusion "
            f"({_pub()['meta']['setting'].split(';')[0]}): mostly adults with diffuse large "
            "B-cell lymphoma, in fairly good general condition, admitted about a week after "
            "the infusion."
        ),
        live_text=live,
        figures=figures,
        link=_link("compare", "Open Table 1 (compare groups)", preset="table1"),
        terms=("ecog_ps", "car_t", "median_iqr", "reconstructed_cohort"),
        notes=_missing_note(df, cols),
    )


def step_reason(df: pd.DataFrame) -> StoryStep:
    """Step 2 — why they were admitted: the four reasons, SOFA, CRS, ICANS, infection."""
    cols = ["icu_reason", "sofa", "icans", "bacterial_infection"]
    res = _describe(df, cols)
    reasons = list(_pub()["groupings"]["icu_reason"]["levels"])
    figures = [
        _cat_figure(res, "icu_reason", r, f"{REASON_PREFIX}{r}", "crs" if "CRS" in r else None)
        for r in reasons
    ]
    figures += [
        _cont_figure(res, "sofa", "SOFA score at admission", "sofa"),
        _cat_figure(res, "icans", True, "Neurotoxicity (ICANS)", "icans"),
        _cat_figure(res, "bacterial_infection", True, "Documented bacterial infection", "sepsis"),
    ]
    top = max(figures[: len(reasons)], key=lambda f: -1 if _isnan(f.live_value) else f.live_value)
    top_reason = top.label.removeprefix(REASON_PREFIX)
    live = (
        f"In the active cohort the most frequent reason is **{top_reason}** ({top.live}); "
        f"median SOFA {figures[len(reasons)].live}."
        if len(df) and not _isnan(top.live_value)
        else "The reason for ICU admission is not available in the active cohort."
    )
    return StoryStep(
        key="reason",
        title="Why they came to the ICU",
        finding=(
            "Isolated cytokine release syndrome was the commonest reason, then documented "
            "bacterial sepsis (mostly catheter-related) and CRS that could not be told apart "
            "from sepsis; a few patients came for progression of their lymphoma. Organ "
            "failure was moderate (SOFA)."
        ),
        live_text=live,
        figures=tuple(figures),
        link=_link(
            "compare",
            "Open Table 3 (by reason for ICU admission)",
            preset="table3",
        ),
        terms=("crs", "sepsis", "icans", "sofa"),
        notes=_missing_note(df, cols),
    )


def step_treatment(df: pd.DataFrame) -> StoryStep:
    """Step 3 — how they were treated: tocilizumab, steroids, organ support, ICU stay."""
    cols = [
        "tocilizumab",
        "steroids",
        "vasopressors_day1",
        "mech_vent_icu",
        "icu_los_days",
    ]
    res = _describe(df, cols)
    both = _text_count("both_tocilizumab_steroids")
    if _has(df, "tocilizumab", "steroids") and len(df):
        known = df[["tocilizumab", "steroids"]].notna().all(axis=1)  # both recorded
        both_given = df["tocilizumab"].fillna(False).astype(bool) & df["steroids"].fillna(
            False
        ).astype(bool)
        n_both = int((both_given & known).sum())
        live_both = format_n_pct(n_both, 100 * n_both / int(known.sum()))
    else:
        n_both, live_both = math.nan, MISSING
    figures = (
        _cat_figure(res, "tocilizumab", True, "Tocilizumab", "tocilizumab"),
        _cat_figure(res, "steroids", True, "Steroids", "steroids"),
        StoryFigure(
            "Both tocilizumab and steroids",
            live_both,
            format_n_pct(both["value"]),
            both["source"],
            n_both,
            both["value"],
        ),
        _cat_figure(res, "vasopressors_day1", True, "Vasopressors at day 1"),
        _cat_figure(res, "mech_vent_icu", True, "Mechanical ventilation during the ICU stay"),
        _cont_figure(res, "icu_los_days", "ICU length of stay (days)", "median_iqr"),
    )
    live = (
        "In the active cohort: "
        + _sentence(
            ("tocilizumab", "tocilizumab {}", figures[0].live),
            ("steroids", "steroids {}", figures[1].live),
            ("ICU length of stay", "ICU stay {} days", figures[5].live),
        )
        if len(df)
        else "No patient in the active cohort."
    )
    return StoryStep(
        key="treatment",
        title="How they were treated",
        finding=(
            "Most patients received the specific CRS treatments (tocilizumab, then steroids) "
            "and broad-spectrum antibiotics; about a quarter needed vasopressors on the first "
            "day, invasive ventilation was rare and ICU stays were short."
        ),
        live_text=live,
        figures=figures,
        link=_link(
            "compare",
            "Compare treatments by reason for ICU admission",
            preset="custom",
            by="icu_reason",
            vars=[*cols, "antibiotics", "siltuximab", "anakinra"],
        ),
        terms=("tocilizumab", "steroids", "siltuximab", "anakinra"),
        notes=_missing_note(df, cols),
    )


def step_one_year(df: pd.DataFrame) -> StoryStep:
    """Step 4 — who died: 1-year deaths, ICU/hospital deaths, median OS and follow-up."""
    sv = _pub()["survival"]
    cols = ["os_days", "os_event", "icu_death", "hospital_death"]
    res = _describe(df, ["icu_death", "hospital_death"])
    ok = _has(df, "os_days", "os_event") and len(df) > 0
    n = len(df)
    if ok:
        d1y = _deaths_within(df, ONE_YEAR_DAYS)
        deaths = int((df["os_event"] == 1).sum())
        med = kaplan_meier(df, "os_days", "os_event").medians.iloc[0]
        fu = np.quantile(df["os_days"].to_numpy(dtype=float) / DAYS_PER_MONTH, [0.5, 0.25, 0.75])
        live_d1y = format_n_pct(d1y, 100 * d1y / n)
        live_deaths = format_n_pct(deaths, 100 * deaths / n)
        med_m, lo_m, hi_m = (_months(med[k]) for k in ("median", "lower", "upper"))
        live_med = (
            "not reached"
            if _isnan(med_m)
            else f"{med_m:.1f} [95% CI {_num(round(lo_m, 1))}–{_num(round(hi_m, 1))}]"
        )
        live_fu = format_median_iqr(*(round(float(x), 1) for x in fu))
    else:
        d1y = deaths = med_m = math.nan
        fu = [math.nan] * 3
        live_d1y = live_deaths = live_med = live_fu = MISSING if len(df) else EMPTY
    pub_d1y = sv["deaths_within_1y"]["value"]
    n_pub = _pub()["meta"]["n"]
    os_pub = sv["median_os_months"]
    fu_pub = sv["median_followup_months"]
    upper = "NA" if os_pub["upper"] is None else _num(os_pub["upper"])
    figures = (
        StoryFigure(
            "Died within one year of ICU admission",
            live_d1y,
            format_n_pct(pub_d1y, 100 * pub_d1y / n_pub),
            sv["deaths_within_1y"]["source"],
            d1y,
            pub_d1y,
            "os_pfs",
        ),
        _cat_figure(res, "icu_death", True, "Died in the ICU"),
        _cat_figure(res, "hospital_death", True, "Died in the hospital"),
        StoryFigure(
            "Deaths at last follow-up",
            live_deaths,
            format_n_pct(sv["deaths_at_last_followup"]["value"]),
            sv["deaths_at_last_followup"]["source"],
            deaths,
            sv["deaths_at_last_followup"]["value"],
        ),
        StoryFigure(
            "Median overall survival (months)",
            live_med,
            f"{_num(os_pub['value'])} [95% CI {_num(os_pub['lower'])}–{upper}]",
            os_pub["source"],
            med_m,
            os_pub["value"],
            "kaplan_meier",
        ),
        StoryFigure(
            "Follow-up (months)",
            live_fu,
            format_median_iqr(fu_pub["value"], fu_pub["q1"], fu_pub["q3"]),
            fu_pub["source"],
            float(fu[0]),
            fu_pub["value"],
            "follow_up",
        ),
    )
    notes = list(_missing_note(df, cols))
    conflict = next((c for c in _pub()["conflicts"] if c["id"] == "a"), None)
    if conflict is not None:
        notes.append(f"Paper conflict (a): {conflict['resolution']}")
    live = (
        f"In the active cohort **{live_d1y}** died within a year: "
        + _sentence(
            ("ICU deaths", "{} in the ICU", figures[1].live),
            ("hospital deaths", "{} in the hospital", figures[2].live),
        )
        if ok
        else "Survival times are not available in the active cohort."
    )
    return StoryStep(
        key="one_year",
        title="Who died within a year",
        finding=(
            "Very few patients died in the ICU, but about a third died within a year, mostly "
            "of their haematological disease; median overall survival was about a year and a "
            "half (“meaningful survival could be achieved in up to half” of the patients)."
        ),
        live_text=live,
        figures=figures,
        link=_link(
            "compare",
            "Open Table 4 (1-year survivors vs decedents)",
            preset="table4",
        ),
        terms=("os_pfs", "censoring", "kaplan_meier", "follow_up"),
        notes=tuple(notes),
    )


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
            "page."
        ),
        figures=figures,
        link=_link("reproduction", "Check every published figure (Reproduction)"),
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
