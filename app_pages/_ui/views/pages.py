"""View states of the smaller pages: the glossary's search and the upload's kind of file."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app_pages._ui.state import PageState


class GlossaryView(BaseModel):
    model_config = ConfigDict(frozen=True)
    q: str = Field("", max_length=100)  # the search text (shown as typed, never as Markdown)


GLOSSARY = PageState(GlossaryView, prefix="gl_")

UPLOAD_MODES = {
    "paper": "This paper's cohort columns (all views incl. the published model)",
    "generic": "Any survival data (choose duration, event and groups)",
}


class YourDataView(BaseModel):
    model_config = ConfigDict(frozen=True)
    mode: Literal["paper", "generic"] = "paper"


YOUR_DATA = PageState(YourDataView, prefix="ud_", formats={"mode": UPLOAD_MODES.get})
