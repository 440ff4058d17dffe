"""CAR-T ICU prognosis explorer: page configuration and navigation only."""

import base64
import logging
from pathlib import Path

import streamlit as st

from app_pages._ui.memory import collect_dropped, release_freed_memory, tune_malloc
from app_pages._ui.preload import preload_script
from app_pages._ui.warm import warm_imports

HERE = Path(__file__).parent


@st.cache_resource(show_spinner=False)
def _icon_url() -> str:
    """The favicon (assets/icon.png, 717 bytes) as a data: URL, read once per process.

    Local, so it works offline (a Material icon's favicon is fetched from the internet). Given
    as a file path, Streamlit read, hashed and stored the file in its media store on every
    run: 1.7% of the server's time under 30 sessions (py-spy).
    """
    return "data:image/png;base64," + base64.b64encode((HERE / ICON).read_bytes()).decode()


ICON = "assets/icon.png"
st.set_page_config(
    page_title="CAR-T ICU prognosis explorer",
    page_icon=_icon_url(),
    layout="wide",
    initial_sidebar_state="auto",  # collapsed on a phone, open on a desktop
)


@st.cache_resource(show_spinner=False)
def _tune_malloc() -> bool:
    return tune_malloc()  # once per process


_tune_malloc()

# (file, title, icon, section). Views from later issues are listed here and appear in the
# navigation as soon as their page file exists.
PAGES = [
    ("app_pages/overview.py", "Overview", ":material/home:", "Study"),
    ("app_pages/story.py", "What the study found", ":material/slideshow:", "Study"),
    ("app_pages/reproduction.py", "Reproduction", ":material/fact_check:", "Study"),
    ("app_pages/compare.py", "Compare groups", ":material/table_chart:", "Explore"),
    ("app_pages/survival.py", "Survival curves", ":material/show_chart:", "Explore"),
    ("app_pages/cox.py", "Cox model", ":material/forest:", "Explore"),
    ("app_pages/calculator.py", "Hazard calculator", ":material/calculate:", "Explore"),
    ("app_pages/validation.py", "Validate on your cohort", ":material/verified:", "Explore"),
    ("app_pages/your_data.py", "Your data", ":material/upload_file:", "Data"),
    ("app_pages/glossary.py", "Glossary and methods", ":material/menu_book:", "Learn"),
    ("app_pages/about.py", "About the data", ":material/info:", "Learn"),
]


@st.cache_resource(show_spinner=False)
def _existing_pages() -> list[tuple[str, str, str, str]]:
    return [p for p in PAGES if (HERE / p[0]).exists()]  # once per process, not every run


sections: dict[str, list] = {}
for path, title, icon, section in _existing_pages():
    page = st.Page(path, title=title, icon=icon, default=path == "app_pages/overview.py")
    sections.setdefault(section, []).append(page)

# One history entry per view.  Streamlit pushes a history entry for every query-string change:
# leaving a page it first pushes the page's path without its query, then the new page; coming
# back it pushes the path, then the path with the restored query, so Back landed on an address
# without the view's settings (and showed the defaults).  Here a push that only changes the
# query of the current path replaces the entry instead, and a push that clears it is held back
# briefly: when a switch to another page follows, the entry keeps the view's address.  Widget
# changes already replace the entry (Streamlit's binding).  A constant script of the app's own.
ONE_ENTRY_PER_VIEW = """<script>
(function () {
  const h = window.history;
  if (h.__oneEntryPerView) { return; }
  h.__oneEntryPerView = true;
  const push = h.pushState.bind(h);
  const replace = h.replaceState.bind(h);
  let held = null;
  h.replaceState = function (state, title, url) {  // a newer address wins over a held clear
    if (held !== null) { clearTimeout(held); held = null; }
    return replace(state, title, url);
  };
  h.pushState = function (state, title, url) {
    const next = new URL(url, window.location.href);
    if (next.pathname === window.location.pathname) {
      if (next.search === "" && window.location.search !== "") {
        clearTimeout(held);
        held = setTimeout(function () { held = null; replace(state, title, url); }, 1500);
        return;
      }
      return h.replaceState(state, title, url);
    }
    if (held !== null) { clearTimeout(held); held = null; }  // a page switch: keep the address
    return push(state, title, url);
  };
})();
</script>"""
# the chart code of the later pages, loaded in the browser once it is idle (app_pages/_ui/preload)
st.html(ONE_ENTRY_PER_VIEW + preload_script(), unsafe_allow_javascript=True, width="content")

page = st.navigation(sections)
try:
    page.run()
    # the other pages' modules, in the background, once this page is drawn
    warm_imports(tuple(p[0] for p in PAGES))
    collect_dropped(st.session_state)  # an uploaded cohort let go: its reference cycles too
    release_freed_memory()
except Exception:  # a page failed: a message in the clinician's words, the details in the log
    logging.getLogger("cart_icu").exception("page %r failed", page.title)
    st.error(
        "This view could not be drawn with the active cohort and settings. Nothing you entered "
        "is lost: go back, change a setting or widen the filter in the sidebar. If it happens "
        "again, please report which page and settings (the details are in the server log).",
        icon=":material/error:",
    )
