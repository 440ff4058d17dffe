"""View state of the validation page (URL keys ``val_*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app_pages._ui.state import PageState
from core.study.validation import BASELINES


class ValidationView(BaseModel):
    model_config = ConfigDict(frozen=True)
    horizon: int = Field(365, ge=30, le=730)  # days
    baseline: Literal["paper", "recalibrate", "slope"] = "paper"


VALIDATION = PageState(ValidationView, prefix="val_", formats={"baseline": BASELINES.get})
