"""View state of the Cox model page (URL keys ``cox_*``).

Choice fields are written in the URL as their shown text (Streamlit's binding), covariate lists
as repeated keys of their labels: ``cox_covs=Age (per year)&cox_covs=SOFA (per point)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app_pages._ui.state import BIND, PageState, _url_text
from core.study.model import paper_model
from core.tables.cox import covariate_label

PAPER = paper_model()
ENDPOINTS = {
    "os": (PAPER.duration, PAPER.event, "Overall survival (death)"),
    "pfs": ("pfs_days", "pfs_event", "Progression-free survival (progression or death)"),
}
HORIZONS = {
    "paper": f"1 year ({PAPER.horizon_days:g} days, the paper)",
    "none": "All follow-up",
    "custom": "Custom",
}
MODES = {
    "paper": "The paper's model (reason + ECOG PS + SOFA)",
    "pick": "Choose covariates",
    "stepwise": f"Stepwise selection (entry p < {PAPER.entry_p:g}, removal p > {PAPER.removal_p:g})",
}
TESTS = {"wald": "Wald (coxph)", "lrt": "Likelihood ratio"}
ZPH_X = {"time": "Days", "x": "KM scale (as cox.zph's test)"}
# baseline (admission) characteristics offered as candidates; outcomes and ICU treatments are not
DEFAULT_CANDIDATES = (
    "age",
    "sex",
    "hypertension",
    "ecog_ps",
    "prior_lines",
    "days_infusion_to_icu",
    "reason_dp",
    "map_mmhg",
    "temperature_c",
    "neutropenia",
    "sofa",
    "vasopressors_day1",
)


class CoxView(BaseModel):
    """What the Cox page shows; each field is a widget, its default and its URL key."""

    model_config = ConfigDict(frozen=True)
    endpoint: Literal["os", "pfs"] = "os"
    hz: Literal["paper", "none", "custom"] = "paper"  # horizon: the paper's, none, custom
    hd: int = Field(int(PAPER.horizon_days), ge=1, le=5000)  # custom horizon (days)
    mode: Literal["paper", "pick", "stepwise"] = "paper"
    covs: tuple[str, ...] = PAPER.covariates  # mode "pick"
    cands: tuple[str, ...] = DEFAULT_CANDIDATES  # mode "stepwise"
    test: Literal["wald", "lrt"] = "wald"  # stepwise p-values
    zph_x: Literal["time", "x"] = "time"  # Schoenfeld residuals' x-axis
    nboot: int = Field(200, ge=20, le=1000)
    seed: int = Field(2024, ge=0, le=10**6)
    boot_sel: bool = True  # repeat the stepwise selection in each bootstrap replicate


class ListPageState(PageState):
    """PageState with list fields (multiselect): repeated URL keys of the options' shown text.

    Streamlit binds a multiselect to repeated query parameters of its ``format_func`` text
    (``?k=A&k=B``; ``?k=`` is the empty selection).  To be folded into PageState.
    """

    def is_list(self, name: str) -> bool:
        return isinstance(self.default(name), tuple | list)

    def widget(self, name: str, options: Sequence[Any] | None = None) -> dict[str, Any]:
        if not self.is_list(name):
            return super().widget(name, options)
        kept = [v for v in self.default(name) if options is None or v in list(options)]
        kw: dict[str, Any] = {"key": self.key(name), "default": kept, **BIND}
        if name in self.formats:
            kw["format_func"] = self.formats[name]
        return kw  # the multiselect drops kept values that are no longer options itself

    def link(self, **values: Any) -> dict[str, str | list[str]]:
        lists = {n: values.pop(n) for n in list(values) if self.is_list(n)}
        out: dict[str, str | list[str]] = dict(super().link(**values))
        view = self.model(**lists)
        for name in lists:
            v = getattr(view, name)
            if tuple(v) != tuple(self.default(name)):
                fmt = self.formats.get(name, str)
                out[self.key(name)] = [_url_text(fmt(x)) for x in v] or ""
        return out


COX = ListPageState(
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
    out = {}
    for m in CoxView.model_fields[name].metadata:
        if hasattr(m, "ge"):
            out["min_value"] = m.ge
        if hasattr(m, "le"):
            out["max_value"] = m.le
    return out


def horizon_days(view: CoxView) -> float | None:
    """Follow-up censored at this day (None: all follow-up)."""
    return {"paper": PAPER.horizon_days, "none": None}.get(view.hz, float(view.hd))


def file_stem(view: CoxView) -> str:
    """Download file names as before: ``cox_os_365``, ``cox_pfs_none``, ``cox_os_custom``."""
    hz = f"{PAPER.horizon_days:g}" if view.hz == "paper" else view.hz
    return f"cox_{view.endpoint}_{hz}"
