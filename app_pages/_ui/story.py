"""Rendering pieces of the story page: cached story and charts, links through the page registry,
steps and presentation mode."""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from app_pages._ui.render import show_chart, static_table
from app_pages._ui.views import PAGES
from core.charts import cox as cox_charts
from core.charts import survival as km_charts
from core.stats.survival import kaplan_meier
from core.study import glossary
from core.study.model import paper_model
from core.study.published import load_published
from core.study.story import build_story
from core.study.story.common import StoryStep, ViewLink
from core.study.story.model import cox_step_fit

PRESENT, STEP = "present", "step"  # query-parameter keys of this page
CHART_HEIGHT, CHART_HEIGHT_PRESENT = 260, 380  # px; charts take their column's width
PRESENT_FONT = 1.45  # chart type on a projector, beside the 1.4-rem text (core.charts)
KM_CHARTS = {"km_ecog_ps": ("ecog_ps", "ECOG PS"), "km_icu_reason": ("icu_reason", "Reason")}
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


@st.cache_data(show_spinner="Recomputing the story…", max_entries=16)
def _story(fingerprint: str, _df: pd.DataFrame) -> tuple[StoryStep, ...]:
    return build_story(_df)


@st.cache_data(show_spinner=False, max_entries=64)
def _chart_spec(fingerprint: str, chart: str, height: int, _df: pd.DataFrame) -> dict | None:
    """Vega-Lite spec of a step's chart, validated once by Altair and then cached."""
    if chart == "forest":
        fit = cox_step_fit(_df)
        if isinstance(fit, str):
            return None
        model = paper_model()
        labels = {t.name: t.label for t in model.terms}
        return cox_charts.forest_chart(
            fit.summary, model.table(), labels, width="container"
        ).to_dict()
    group, title = KM_CHARTS[chart]
    horizon = float(load_published()["survival"]["horizon_days"]["value"])
    km = kaplan_meier(_df.dropna(subset=[group]), "os_days", "os_event", group)
    spec = km_charts.km_chart(
        km,
        "months",
        horizon,
        show_ci=False,
        show_censor=True,
        width="container",  # fills its column (Vega-Lite autosize)
        height=height,
        y_title="Overall survival",
        group_title=title,
    ).to_dict()
    # a narrow column: the legend wraps on two columns instead of running off the chart
    spec.setdefault("config", {}).setdefault("legend", {})["columns"] = 2
    return spec


def _projector(spec: dict) -> dict:
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


def _filter_params() -> dict[str, list[str]]:
    """The shared cohort filter of the current URL (keys ``f_*``), carried into links."""
    return {k: st.query_params.get_all(k) for k in st.query_params if k.startswith("f_")}


def _view_link(link: ViewLink) -> None:
    """st.page_link to the view, its query params made by the page's own view state."""
    entry = PAGES[link.page]
    view = entry.state.link(**link.settings) if entry.state is not None else {}
    params = {**view, **_filter_params()}
    try:
        st.page_link(
            entry.file, label=link.label, icon=":material/open_in_new:", query_params=params
        )
    except StreamlitPageNotFoundError:  # page run on its own (AppTest, no st.navigation)
        path = entry.file.rsplit("/", 1)[-1].removesuffix(".py")
        st.markdown(f"[{link.label}]({path}?{urlencode(params, doseq=True)})")


CHART_TEXT = {
    "km_ecog_ps": (
        "Kaplan-Meier overall survival by ECOG performance status, first 360 days.",
        "PS levels differ by colour and line style; ticks mark censored patients.",
    ),
    "km_icu_reason": (
        "Kaplan-Meier overall survival by reason for ICU admission, first 360 days.",
        "Reasons differ by colour and line style; ticks mark censored patients.",
    ),
    "forest": (
        "Forest plot: refitted and published hazard ratios with 95% CIs (log scale).",
        "Refitted and published estimates differ by colour and marker shape.",
    ),
}


def _chart(step: StoryStep, fingerprint: str, df: pd.DataFrame, height: int) -> None:
    if step.chart is None:
        return
    spec = _chart_spec(fingerprint, step.chart, height, df)
    if spec is not None:
        alt, how = CHART_TEXT[step.chart]
        if height == CHART_HEIGHT_PRESENT:
            spec = _projector(spec)
        show_chart(spec, width="stretch", alt=alt)
        st.caption(f"{alt} {how}")


def _figures_table(step: StoryStep, present: bool) -> pd.DataFrame:
    table = {
        "Figure": [f.label for f in step.figures],
        "This cohort (live)": [f.live for f in step.figures],
        "Paper": [f.published for f in step.figures],
        "Agrees": [f.agreement for f in step.figures],  # ✓ / ≈ / ✗ live vs published
    }
    if not present:
        table["Where in the paper"] = [f.source for f in step.figures]
    return pd.DataFrame(table)


def _terms(step: StoryStep) -> None:
    with st.expander("Key terms"):
        st.markdown(
            "\n".join(
                f"- **{glossary.markdown_link(t)}** — {glossary.help_text(t)}" for t in step.terms
            )
        )


def _step(
    i: int, n: int, step: StoryStep, fingerprint: str, df: pd.DataFrame, present: bool
) -> None:
    if present:  # one step per screen: its title is the page's h1
        st.title(f"Step {i} of {n}: {step.title}", anchor=step.key)
    else:
        st.header(f"{i}. {step.title}", anchor=step.key)
    # the forest plot needs the width for its log axis and labels: under the text, except on
    # a projector's wide screen, where a step must fit without scrolling
    has_chart = step.chart is not None and (present or step.chart != "forest")
    ratio = [1, 1] if present else [3, 2]  # a projector: the chart as wide as the text
    left, right = st.columns(ratio, gap="large") if has_chart else (st.container(), None)
    with left:
        st.markdown(f"**The paper.** {step.finding}")
        st.markdown(f"**This cohort.** {step.live_text}")
        static_table(_figures_table(step, present))
        if step.table is not None and not present:
            static_table(step.table)
        for note in step.notes:
            st.caption(f":material/info: {note}")
        _view_link(step.link)
    if right is not None:
        with right:
            _chart(step, fingerprint, df, CHART_HEIGHT_PRESENT if present else CHART_HEIGHT)
    elif step.chart is not None:
        _chart(step, fingerprint, df, CHART_HEIGHT_PRESENT if present else CHART_HEIGHT)
    _terms(step)


def _set_step(value: int) -> None:
    st.query_params[STEP] = str(value)


def _start_presentation() -> None:
    st.query_params[PRESENT] = "1"
    st.query_params[STEP] = "1"


def _stop_presentation() -> None:
    for key in (PRESENT, STEP):
        if key in st.query_params:
            del st.query_params[key]


def _current_step(n: int) -> int:
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
