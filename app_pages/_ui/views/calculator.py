"""View state of the Hazard calculator page (URL keys ``calc_*``).

Four fixed profile slots (``label0``..``label3``, ``reason0``.., ``ps0``.., ``sofa0``..), of
which the first ``n`` are shown; the others keep their values for the session.  Bounds and
reasons come from the calculator core (:class:`core.study.calculator.PatientProfile`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app_pages._ui.state import PageState
from core.study.calculator import (
    ICU_REASONS,
    MAX_PROFILES,
    baseline_profile,
    describe_profile,
    input_bounds,
)

MODES = {
    "published": "Published model (paper's coefficients)",
    "refit": "Refit on the active cohort",
}
UNCERTAINTY = {
    "published_ci": "Published HRs' 95% CIs + baseline hazard",
    "baseline": "Baseline hazard only (HRs treated as known)",
}
REF_BASELINE = "baseline"  # the reference profile of the model's zero (baseline_profile)
BASELINE_TEXT = describe_profile(baseline_profile())  # "CRS, PS 0, SOFA 0"
PROFILE_FIELDS = {"label": "label", "reason": "icu_reason", "ps": "ecog_ps", "sofa": "sofa"}

Label = Annotated[str, Field(max_length=input_bounds("label")[1])]  # blank: "Profile i"
Reason = Literal[ICU_REASONS]  # type: ignore[valid-type]  # the dictionary's four reasons
PS = Annotated[int, Field(ge=input_bounds("ecog_ps")[0], le=input_bounds("ecog_ps")[1])]
SOFA = Annotated[int, Field(ge=input_bounds("sofa")[0], le=input_bounds("sofa")[1])]


class CalculatorView(BaseModel):
    """What the calculator shows; each field is a widget, its default and its URL key."""

    model_config = ConfigDict(frozen=True)
    mode: Literal["published", "refit"] = "published"
    n: int = Field(2, ge=1, le=MAX_PROFILES)  # profiles shown
    band: bool = True  # 95% band on the curves
    unc: Literal["published_ci", "baseline"] = "published_ci"  # published mode: what the band holds
    extra: tuple[str, ...] = ()  # refit mode: extra covariates (cohort columns)
    ref: Literal["0", "1", "2", "3", "baseline"] = "0"  # relative-hazard reference
    times: str = Field("", max_length=80)  # extra time points, typed ("28, 6 months")
    day: int = Field(365, ge=1, le=3650)  # the day of the absolute risk (one of the table's)
    # the profile examples (defaults of the four slots)
    label0: Label = "Profile 1"
    reason0: Reason = ICU_REASONS[0]
    ps0: PS = 1
    sofa0: SOFA = 4
    label1: Label = "Profile 2"
    reason1: Reason = ICU_REASONS[3]
    ps1: PS = 2
    sofa1: SOFA = 5
    label2: Label = "Profile 3"
    reason2: Reason = ICU_REASONS[2]
    ps2: PS = 2
    sofa2: SOFA = 6
    label3: Label = "Profile 4"
    reason3: Reason = ICU_REASONS[1]
    ps3: PS = 0
    sofa3: SOFA = 2

    def profile(self, i: int) -> dict[str, Any]:
        """Slot ``i`` as make_profile's keywords (a blank label becomes the slot's name)."""
        values = {arg: getattr(self, f"{name}{i}") for name, arg in PROFILE_FIELDS.items()}
        return {**values, "label": values["label"] or slot_name(i)}


def slot_name(i: int) -> str:
    """Slot ``i`` as the page names it (its column, the reference and SOFA choices)."""
    return f"Profile {i + 1}"


def ref_text(ref: str) -> str:
    """A reference as shown in its selectbox, and so in the URL (``calc_ref=Profile 2``).

    The slot's name, not its label: a selectbox whose shown options change while it keeps its
    value loses the selection in the browser (and the link would go stale with each edit).
    """
    return BASELINE_TEXT if ref == REF_BASELINE else slot_name(int(ref))


CALCULATOR = PageState(
    CalculatorView,
    prefix="calc_",
    formats={"mode": MODES.get, "ref": ref_text, "unc": UNCERTAINTY.get},
)
