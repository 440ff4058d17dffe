"""View state of the Survival page (URL keys ``km_*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app_pages._ui.state import PageState
from app_pages._ui.views.common import group_label
from core.stats.parametric import LABELS as PARAMETRIC_LABELS
from core.stats.survival import DAYS_PER_MONTH
from core.study.published import load_published

ENDPOINTS = {
    "os": ("os_days", "os_event", "Overall survival", "Survival probability"),
    "pfs": ("pfs_days", "pfs_event", "Progression-free survival", "Progression-free probability"),
}
SURVIVAL_PRESETS = {
    "custom": "Custom",
    "fig2": "Figure 2 (by ECOG PS)",
    "fig3": "Figure 3 (by reason for ICU admission)",
}
PRESET_GROUP = {"fig2": "ecog_ps", "fig3": "icu_reason"}
TREND_LABELS = {"levels": "The levels", "equal": "Equally spaced 1, 2, …, k (survminer)"}
# The tabs run lazily: only the selected one computes (st.tabs with a key, rerun on change).
TAB_KEY = "km_tab"
TAB_CR, TAB_PAR = "Competing risks (progression / death)", "Parametric fits (all patients)"
HORIZON = int(load_published()["survival"]["horizon_days"]["value"])  # the paper's KM window


class SurvivalView(BaseModel):
    """What the Survival page shows; each field is a widget, its default and its URL key."""

    model_config = ConfigDict(frozen=True)
    preset: Literal["custom", "fig2", "fig3"] = "custom"
    endpoint: Literal["os", "pfs"] = "os"
    group: str = "ecog_ps"
    unit: Literal["days", "months"] = "days"
    h: int = Field(HORIZON, ge=1, le=36_500)  # horizon in days (days axis)
    mo: int = Field(round(HORIZON / DAYS_PER_MONTH), ge=1, le=1_200)  # in months (months axis)
    cut: float | None = Field(None, allow_inf_nan=False)  # a numeric grouping cut at this value
    split: bool = False  # an ordinal or categorical grouping made two groups
    merge: tuple[str, ...] = ()  # the levels of the first group (categorical split)
    ci: bool = True
    cens: bool = True
    lm: bool = True
    trunc: bool = False
    trend: Literal["levels", "equal"] = "levels"  # trend-test scores: the levels or 1..k
    cr_by: bool = False  # competing risks: split by group
    cr_ci: bool = False  # competing risks: curves with 95% CI (off: stacked areas)
    par: tuple[Literal["weibull", "lognormal", "loglogistic", "exponential"], ...] = (
        "weibull",
        "lognormal",
    )  # parametric fits drawn
    ext: int = Field(730, ge=30, le=3650)  # parametric curves drawn up to this day


SURVIVAL = PageState(
    SurvivalView,
    prefix="km_",
    formats={
        "preset": SURVIVAL_PRESETS.get,
        "endpoint": lambda k: ENDPOINTS[k][2],
        "group": group_label,
        "par": PARAMETRIC_LABELS.get,
        "trend": TREND_LABELS.get,
    },
)
