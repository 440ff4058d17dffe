"""What the study found: a guided story of the paper's findings on the active cohort.

Thin page: core.study.story builds each step (live numbers beside the published ones) ->
tables, charts (core.charts) and a link that opens the matching view set up by its URL.
Presentation mode (``?present=1&step=N``): larger type, sidebar collapsed, one step per
screen with previous / next buttons; the step is mirrored in the URL.
"""

from __future__ import annotations

import streamlit as st

from app_pages._ui.cohort import cohort_sidebar, page_header
from app_pages._ui.present import (
    PRESENT,
    PRESENT_CSS,
    PRESENT_KEYS,
    current_step,
    set_step,
    start_presentation,
    stop_presentation,
)
from app_pages._ui.story import show_step, story_steps
from core.study.published import load_published
from core.study.story import STEPS

# ---------------------------------------------------------------------------------------------
# page
# ---------------------------------------------------------------------------------------------
present = st.query_params.get(PRESENT) == "1"
if present:  # app.py expands the sidebar on every run; leaving presentation restores it
    st.set_page_config(initial_sidebar_state="collapsed")
    st.html(PRESENT_CSS)

pub = load_published()
if not present:  # the header first: cohort_sidebar() completes its badge with the size
    page_header(
        "What the study found",
        f"The paper's main findings in {len(STEPS)} steps. Each step shows the numbers "
        "**recomputed live from the active cohort** beside the **published figure**, and a "
        "link that opens the matching view already set up. Filter the cohort in the sidebar "
        "to see which findings hold in a subgroup.",
    )
view = cohort_sidebar()
fingerprint = view.key  # the rows' identity (cohort + filter): the cache key of this page
steps = story_steps(fingerprint, view.df)
n_steps = len(steps)

if present:
    st.html(PRESENT_KEYS, unsafe_allow_javascript=True, width="content")
    i = current_step(n_steps)
    b1, b2, b3, b4 = st.columns([1, 1, 4, 1], vertical_alignment="center")
    b1.button(
        "Previous",
        icon=":material/arrow_back:",
        on_click=set_step,
        args=(i - 1,),
        disabled=i == 1,
        width="stretch",
        key="story_prev",
    )
    b2.button(
        "Next",
        icon=":material/arrow_forward:",
        on_click=set_step,
        args=(i + 1,),
        disabled=i == n_steps,
        width="stretch",
        key="story_next",
        type="primary",
    )
    b3.progress(i / n_steps, text=f"What the study found — step {i} of {n_steps}")
    b4.button("Exit", icon=":material/close:", on_click=stop_presentation, key="story_exit")
    show_step(i, n_steps, steps[i - 1], fingerprint, view.df, present=True)
    st.caption(
        f"{view.name}: {view.n} of {view.n_total} patients — reconstructed from published "
        "aggregates, not patient data. For teaching and research, not for clinical decisions."
        if view.reconstructed
        else f"{view.name}: {view.n} of {view.n_total} patients (your data)."
    )
else:
    c1, c2 = st.columns([1, 4])
    c1.button(
        "Start presentation",
        icon=":material/slideshow:",
        on_click=start_presentation,
        key="story_start",
        help="One step per screen, larger type, sidebar collapsed (?present=1&step=N).",
    )
    c2.markdown(" · ".join(f"[{i}. {s.title}](#{s.key})" for i, s in enumerate(steps, start=1)))
    if not view.cohort_filter.is_empty or not view.reconstructed:
        st.info(
            "The published figures describe the full cohort; the active cohort is filtered or "
            "uploaded, so differences from the paper are expected."
        )
    for i, step in enumerate(steps, start=1):
        show_step(i, n_steps, step, fingerprint, view.df, present=False)
        st.divider()
    st.caption(
        "For teaching and research only — not for clinical decisions. "
        f"Published figures: {pub['meta']['title']} ({pub['meta']['setting']})."
    )
