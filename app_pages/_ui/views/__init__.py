"""The pages' view states: one declarative model per page, and the registry of pages.

Each page's module here holds a pydantic model of what the page shows (a field per setting:
default, allowed values, bounds) and its :class:`~app_pages._ui.state.PageState`, which binds
the fields to widgets, the URL and the session.  :data:`PAGES` maps a page name to its file and
view state: the story builds its links from it, so no URL key is written outside these modules.
"""

from __future__ import annotations

from dataclasses import dataclass

from app_pages._ui.state import PageState
from app_pages._ui.views.calculator import CALCULATOR
from app_pages._ui.views.compare import COMPARE
from app_pages._ui.views.cox import COX
from app_pages._ui.views.pages import GLOSSARY, YOUR_DATA
from app_pages._ui.views.survival import SURVIVAL
from app_pages._ui.views.validation import VALIDATION


@dataclass(frozen=True)
class PageEntry:
    """A page of the app: its file (for ``st.page_link``) and its view state (None: no state)."""

    file: str
    state: PageState | None = None


PAGES: dict[str, PageEntry] = {
    "overview": PageEntry("app_pages/overview.py"),
    "story": PageEntry("app_pages/story.py"),
    "reproduction": PageEntry("app_pages/reproduction.py"),
    "compare": PageEntry("app_pages/compare.py", COMPARE),
    "survival": PageEntry("app_pages/survival.py", SURVIVAL),
    "cox": PageEntry("app_pages/cox.py", COX),
    "calculator": PageEntry("app_pages/calculator.py", CALCULATOR),
    "validation": PageEntry("app_pages/validation.py", VALIDATION),
    "your_data": PageEntry("app_pages/your_data.py", YOUR_DATA),
    "glossary": PageEntry("app_pages/glossary.py", GLOSSARY),
    "about": PageEntry("app_pages/about.py"),
}
