"""Rendering pieces of the story page: cached story and charts, links through the page registry,
the steps (presentation mode: app_pages._ui.present)."""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from app_pages._ui.present import projector
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

CHART_HEIGHT, CHART_HEIGHT_PRESENT = 260, 380  # px; charts take their column's width
KM_CHARTS = {"km_ecog_ps": ("ecog_ps", "ECOG PS"), "km_icu_reason": ("icu_reason", "Reason")}


@st.cache_data(show_spinner="Recomputing the story…", max_entries=16)
def story_steps(fingerprint: str, _df: pd.DataFrame) -> tuple[StoryStep, ...]:
    return build_story(_df)


@st.cache_data(show_spinner=False, max_entries=64)
def chart_spec(fingerprint: str, chart: str, height: int, _df: pd.DataFrame) -> dict | None:
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
    spec = chart_spec(fingerprint, step.chart, height, df)
    if spec is not None:
        alt, how = CHART_TEXT[step.chart]
        if height == CHART_HEIGHT_PRESENT:
            spec = projector(spec)
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


def show_step(
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
