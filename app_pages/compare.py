"""Compare groups: the paper's Tables 1, 3 and 4 recomputed on the active cohort, or any grouping.

View state (CompareView) -> active cohort -> core.stats.compare.compare_groups (R-equivalent
tests) -> formatted table, core.charts.compare small multiples, downloads.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.active import groupable_columns
from app_pages._ui.cohort import cohort_sidebar, page_header
from app_pages._ui.compare import (
    compute,
    display_table,
    downloads,
    hold,
    notes_and_tests,
    published_caption,
    settle,
    small_groups_warning,
    table_config,
    threshold_input,
    variable_chart,
    variables_picker,
)
from app_pages._ui.ensemble import across_note
from app_pages._ui.render import md
from app_pages._ui.views.common import NONE
from app_pages._ui.views.compare import ADJUST, by_label
from app_pages._ui.views.compare import COMPARE as VIEW
from app_pages._ui.views.compare import COMPARE_PRESETS as PRESET_LABELS
from core.cohort.variables import cut_variable
from core.study.ensemble import table_p_key
from core.study.paper_tables import PRESETS, by_section, variable_catalog
from core.tables.compare import style_table

FEW_VALUES = 6  # numeric columns with at most this many values can group as categories


def _preset() -> None:
    if VIEW.value("preset") != "custom":  # the preset's grouping is held below
        VIEW.set("as_cut", False)


def _custom() -> None:
    VIEW.set("preset", "custom")


page_header(
    "Compare groups",
    "Patient characteristics by group, as in the paper's Tables 1, 3 and 4: median [IQR] "
    "and n (%), compared with the Wilcoxon rank-sum / Kruskal-Wallis test (continuous) "
    "or Fisher's exact test (categorical), exactly as R computes them.",
)
view = cohort_sidebar()
df = view.df
if view.n == 0:
    st.warning("No patient passes the current filter: widen it in the sidebar.")
    st.stop()
catalog = variable_catalog(df)
options = [NONE, *groupable_columns(view)]  # outcomes too: Table 4 groups by the 1-year outcome

c1, c2, c3 = st.columns([1.3, 1.2, 1])
c1.selectbox(
    "Table", list(PRESET_LABELS), on_change=_preset, **VIEW.widget("preset", PRESET_LABELS)
)
preset_key = VIEW.current().preset
preset = None if preset_key == "custom" else PRESETS[preset_key]
fixed = None if preset is None else (preset.by if preset.by in options else NONE)
if fixed is not None:  # a preset fixes its grouping
    hold(VIEW, "by", fixed)
c2.selectbox("Group by", options, on_change=_custom, **VIEW.widget("by", options))
if fixed is not None:
    settle(VIEW, "by", fixed)
c3.selectbox("p-value adjustment", list(ADJUST), **VIEW.widget("adj", ADJUST))
state = VIEW.current()
by = None if state.by == NONE else state.by
adjust = None if state.adj == "none" else state.adj

data, group_by, cut_value = df, by, None
x = None if by is None else df[by]
if x is not None and pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
    as_cut = True
    if x.nunique() <= FEW_VALUES:
        as_cut = st.checkbox(
            f"Cut {by} at a threshold instead of one group per value", **VIEW.widget("as_cut")
        )
    if as_cut:
        cut_value = threshold_input(VIEW, x, by, on_change=_custom)
        data = cut_variable(df, by, cut_value)
        group_by = f"{by} ≥ {cut_value:g}"

if preset is not None:
    specs = [s for s in preset.variables if s.column in df.columns and s.column != group_by]
    group_order = preset.group_order
else:
    order = by_section(catalog)
    chosen = set(variables_picker(VIEW, order, by))
    specs = [catalog[c] for c in order if c in chosen]
    group_order = None
if not specs:
    st.info("No variable is chosen: open *Variables* above and pick at least one.")
    st.stop()
show_all = st.toggle("Show every level (e.g. 'no' rows of yes/no variables)", **VIEW.widget("all"))

# published values belong to the paper's cohort only, never to an uploaded one
on_paper = preset is not None and group_by == preset.by and view.reconstructed
inputs = (
    view.key,
    None if cut_value is None else (by, float(cut_value)),
    group_by,
    tuple(specs),
    tuple(group_order) if group_order else None,
    adjust,
    preset_key if on_paper else None,
)
try:
    result, published = compute(inputs, data)
except ValueError as exc:
    st.error(f"Cannot compare: {exc}")
    st.stop()
with_published = on_paper and st.toggle("Show the published values beside", **VIEW.widget("paper"))
table = display_table(inputs, show_all, with_published, data)

if on_paper:
    title = PRESET_LABELS[preset_key]
elif group_by is None:
    title = "Whole cohort"
elif cut_value is not None:
    title = f"By {md(by_label(by))}: {md(by)} < {cut_value:g} vs ≥ {cut_value:g}"
else:
    title = f"By {md(by_label(by))}"
st.subheader(title)
small_groups_warning(result)
published_caption(published)
st.dataframe(
    style_table(table),
    hide_index=True,
    width="stretch",
    height=min(38 + 35 * len(table), 900),
    column_config=table_config(table),
)
notes_and_tests(result)

st.subheader("Look at one variable")
by_name = {s.name: s for s in specs}
var = st.selectbox(
    "Variable",
    list(by_name),
    **{**VIEW.widget("var", list(by_name)), "format_func": lambda n: by_name[n].label},
)
if group_by in ("icu_reason", "outcome_1y") and adjust is None:  # Table 3 / Table 4's grouping
    across_note(view, [table_p_key(var, group_by)], "unadjusted p-value", short=True)
chart = variable_chart(result, data, by_name[var], group_by)

st.subheader("Download")
stem = f"compare_{preset_key if preset else (group_by or 'overall')}".replace(" ", "_")
downloads(result, table, title, chart, stem, var)
