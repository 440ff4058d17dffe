"""Presentation mode of the story page (``?present=1&step=N``): larger type, no sidebar, one
step per screen moved by buttons, a clicker or the keyboard; the step lives in the URL."""

from __future__ import annotations

import streamlit as st

PRESENT, STEP = "present", "step"  # query-parameter keys of the story page
PRESENT_FONT = 1.45  # chart type on a projector, beside the 1.4-rem text (core.charts)
PRESENT_CSS = """
<style>
[data-testid="stMainBlockContainer"] {
  max-width: 1800px; padding-top: 2.5rem; padding-bottom: 1rem;
}
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] li {
  font-size: 1.4rem; line-height: 1.5;
}
[data-testid="stMain"] [data-testid="stTable"] td,
[data-testid="stMain"] [data-testid="stTable"] th { font-size: 1.2rem; }
[data-testid="stMain"] h1 { font-size: 2.4rem; }
[data-testid="stMain"] [data-testid="stCaptionContainer"] p { font-size: 1.1rem; }
[data-testid="stMain"] button p, [data-testid="stMain"] a p { font-size: 1.2rem; }
/* one step per screen: no sidebar at all (Streamlit alternated collapsed / expanded between
   steps, cutting the step buttons); leaving presentation mode brings it back */
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"] { display: none; }
</style>
"""


def projector(spec: dict) -> dict:
    """The chart's type scaled for a projector, defaults included (Vega-Lite's 11 px)."""
    from core.charts import scale_fonts

    big = scale_fonts(spec, PRESENT_FONT)
    config = big.setdefault("config", {})
    base = round(11 * PRESENT_FONT)
    for part in ("axis", "legend"):
        config.setdefault(part, {}).update(
            {k: config[part].get(k, base) for k in ("labelFontSize", "titleFontSize")}
        )
    return big


def set_step(value: int) -> None:
    st.query_params[STEP] = str(value)


def start_presentation() -> None:
    st.query_params[PRESENT] = "1"
    st.query_params[STEP] = "1"


def stop_presentation() -> None:
    for key in (PRESENT, STEP):
        if key in st.query_params:
            del st.query_params[key]


def current_step(n: int) -> int:
    try:
        step = int(st.query_params.get(STEP, "1"))
    except ValueError:
        step = 1
    step = min(max(step, 1), n)
    if st.query_params.get(STEP) != str(step):
        st.query_params[STEP] = str(step)
    return step


# A clicker or the keyboard moves between steps in presentation mode (PageDown / PageUp, the
# arrow keys): the buttons Next / Previous are clicked for the presenter.  A constant script of
# the app's own (never user text); typing in a text box is left alone.
PRESENT_KEYS = """<script>
(function () {
  if (window.__storyKeys) { return; }
  window.__storyKeys = true;
  document.addEventListener("keydown", function (e) {
    if (!new URLSearchParams(window.location.search).get("present")) { return; }
    const t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) { return; }
    const next = e.key === "PageDown" || e.key === "ArrowRight";
    const prev = e.key === "PageUp" || e.key === "ArrowLeft";
    if (!next && !prev) { return; }
    const key = next ? ".st-key-story_next button" : ".st-key-story_prev button";
    const b = document.querySelector(key);
    if (b && !b.disabled) { e.preventDefault(); b.click(); }
  });
})();
</script>"""
