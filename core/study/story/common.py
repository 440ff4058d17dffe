"""The story's building blocks: steps, figures and links, and the helpers that set a live figure
beside its published value (data/published.yaml).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.cohort.variables import DERIVED_INDICATORS
from core.cohort.variables import has_values as _has
from core.stats.compare import OVERALL, SEP, compare_groups, level_str
from core.study.published import DAYS_PER_MONTH, load_published, tolerance

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

    @property
    def agreement(self) -> str:
        """Live vs published: ✓ within the printed precision, ≈ close, ✗ apart, "" unknown.

        Counts and medians: ✓ within half a unit of the last printed digit, ≈ within 10%.
        p-values (label starting with "p "): ✓ within a factor of 3 (the reconstruction's
        target), ≈ on the same side of 0.05, ✗ on the other side — a teacher showing
        p = 0.0012 beside the paper's 0.023 sees the mark.
        """
        live, pub = self.live_value, self.published_value
        if live is None or pub is None or _isnan(live) or _isnan(pub):
            return ""
        if self.label.startswith("p "):
            if live > 0 and pub > 0 and abs(math.log10(live / pub)) <= math.log10(3):
                return "✓"
            return "≈" if (live < 0.05) == (pub < 0.05) else "✗"
        if abs(live - pub) <= tolerance(pub) + 1e-9:
            return "✓"
        return "≈" if pub and abs(live / pub - 1) <= 0.10 else "✗"


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
