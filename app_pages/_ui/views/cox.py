"""View state of the Cox model page (URL keys ``cox_*``).

Choice fields are written in the URL as their shown text (Streamlit's binding), covariate lists
as repeated keys of their labels: ``cox_covs=Age (per year)&cox_covs=SOFA (per point)``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app_pages._ui.state import PageState
from core.study.model import STEPWISE_CANDIDATES, paper_model
from core.tables.cox import covariate_label

PAPER = paper_model()
ENDPOINTS = {
    "os": (PAPER.duration, PAPER.event, "Overall survival (death)"),
    "pfs": ("pfs_days", "pfs_event", "Progression-free survival (progression or death)"),
}
PAPER_HORIZON = f"{PAPER.horizon_days:g}"  # the choice "365": the paper's horizon (days)
HORIZONS = {
    PAPER_HORIZON: f"1 year ({PAPER_HORIZON} days, the paper)",
    "none": "All follow-up",
    "custom": "Custom",
}
MODES = {
    "paper": "The paper's model (reason + ECOG PS + SOFA)",
    "pick": "Choose covariates",
    "stepwise": f"Stepwise selection (entry p < {PAPER.entry_p:g}, "
    f"removal p > {PAPER.removal_p:g})",
}
TESTS = {"wald": "Wald (coxph)", "lrt": "Likelihood ratio"}
ZPH_X = {"time": "Days", "x": "KM scale (as cox.zph's test)"}
# baseline (admission) characteristics offered as candidates; outcomes and ICU treatments are not
DEFAULT_CANDIDATES = STEPWISE_CANDIDATES


class CoxView(BaseModel):
    """What the Cox page shows; each field is a widget, its default and its URL key."""

    model_config = ConfigDict(frozen=True)
    endpoint: Literal["os", "pfs"] = "os"
    hz: Literal[tuple(HORIZONS)] = PAPER_HORIZON  # type: ignore[valid-type]
    hd: int = Field(int(PAPER.horizon_days), ge=1, le=5000)  # custom horizon (days)
    mode: Literal["paper", "pick", "stepwise"] = "paper"
    covs: tuple[str, ...] = PAPER.covariates  # mode "pick"
    cands: tuple[str, ...] = DEFAULT_CANDIDATES  # mode "stepwise"
    test: Literal["wald", "lrt"] = "wald"  # stepwise p-values
    zph_x: Literal["time", "x"] = "time"  # Schoenfeld residuals' x-axis
    nboot: int = Field(200, ge=20, le=1000)
    seed: int = Field(2024, ge=0, le=10**6)
    boot_sel: bool = True  # repeat the stepwise selection in each bootstrap replicate


COX = PageState(
    CoxView,
    prefix="cox_",
    formats={
        "endpoint": lambda k: ENDPOINTS[k][2],
        "hz": HORIZONS.get,
        "mode": MODES.get,
        "covs": covariate_label,
        "cands": covariate_label,
        "test": TESTS.get,
        "zph_x": ZPH_X.get,
    },
)


def bounds(name: str) -> dict[str, int]:
    """``min_value`` / ``max_value`` of a number widget from the field's ``ge`` / ``le``."""
    return COX.bounds(name)


def horizon_days(view: CoxView) -> float | None:
    """Follow-up censored at this day (None: all follow-up)."""
    return {PAPER_HORIZON: PAPER.horizon_days, "none": None}.get(view.hz, float(view.hd))
