"""Rendering pieces of the Compare groups page: the cached comparison, the variables' picker,
the threshold, the table with its warnings and notes, the one-variable chart, the downloads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.active import STAMP_KEY
from app_pages._ui.keys import content_key
from app_pages._ui.render import chart_download, chart_spec, md, show_chart
from app_pages._ui.state import BIND, PageState
from app_pages._ui.views.compare import option_label
from core.charts import compare as ch
from core.export import export_csv, export_excel, export_latex
from core.stats.compare import VariableSpec, compare_groups, result_groups
from core.study.paper_tables import compare_with_published
from core.tables.compare import (
    format_table,
    notes_table,
    published_agreement,
    tests_used,
    too_small_groups,
)

# not a widget: the user's whole selection, the grouping column included (the multiselect
# shows it minus the grouping column, which comes back when the grouping changes)
SELECTION = "cmp__selection"


# Cached on the identity of the rows (ActiveCohort.key: cohort + filter) and a digest of the
# other inputs, not on the frame itself: Streamlit's hashing of the frame, the result and the
# ~30 variable specs cost ~60 ms per run.
def compute(inputs: tuple, data: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The comparison, and the published values beside it when the preset's table is shown.

    ``inputs`` = (cohort key, cut, by, specs, group order, adjustment, published preset).
    """
    return _compute(content_key(inputs), inputs, data)


@st.cache_data(show_spinner="Computing the comparison…", max_entries=32)
def _compute(key: str, _inputs: tuple, _data: pd.DataFrame):
    _, _, by, specs, group_order, adjust, published_preset = _inputs
    result = compare_groups(
        _data, by, list(specs), adjust=adjust, group_order=group_order, exclude_small_groups=True
    )
    published = compare_with_published(result, published_preset) if published_preset else None
    return result, published


def display_table(
    inputs: tuple, show_all: bool, with_published: bool, data: pd.DataFrame
) -> pd.DataFrame:
    """The formatted table of ``compute(inputs, data)`` (a cache hit: computed just before)."""
    return _display_table(content_key(inputs, show_all, with_published), inputs, show_all,
                          with_published, data)  # fmt: skip


@st.cache_data(show_spinner=False, max_entries=32)
def _display_table(key: str, _inputs: tuple, show_all: bool, with_published: bool, _data):
    result, published = compute(_inputs, _data)
    return format_table(
        result, show_all_levels=show_all, published=published if with_published else None
    )


def hold(view: PageState, name: str, wanted) -> None:
    """Before a widget: give field ``name`` the value ``wanted`` if it holds another one."""
    if view.value(name) != wanted:
        view.set(name, wanted)


def settle(view: PageState, name: str, wanted) -> None:
    """After a widget: a URL read at the first run overrides :func:`hold` (the URL wins on the
    first load); run again, now with the value held."""
    if view.value(name) != wanted:
        st.rerun()


def threshold_input(view: PageState, x: pd.Series, by: str, on_change) -> float:
    """The threshold of a numeric grouping; a kept one outside (min, max] falls back to the
    median (the maximum when the median is the minimum)."""
    x = x.dropna()
    median = float(x.median())
    default = median if x.min() < median else float(x.max())
    kept = view.value("cut")
    if kept is not None and not x.min() < kept <= x.max():
        view.set("cut", default)
    kw = view.widget("cut")
    kw["value"] = default
    cut = st.number_input(
        f"Threshold: groups '{by} < t' and '{by} ≥ t'", step=1.0, on_change=on_change, **kw
    )
    if not x.min() < cut <= x.max():  # out of range in the URL
        st.rerun()
    return cut


def _select(columns: list[str]) -> None:
    st.session_state[SELECTION] = columns


def _edited(view: PageState, by: str | None) -> None:
    """Multiselect edited: keep the grouping column in the selection if it was there."""
    kept = [c for c in st.session_state.get(SELECTION, []) if c == by]
    st.session_state[SELECTION] = [*view.value("vars"), *kept]


def variables_picker(view: PageState, order: list[str], by: str | None) -> list[str]:
    """Expander with the variables' multiselect (every one by default); the chosen columns."""
    options = [c for c in order if c != by]
    sel = st.session_state.get(SELECTION)
    shown = view.value("vars")
    shown = options if shown is None else [c for c in shown if c in options]
    if sel is not None and set(sel) & set(options) != set(shown):  # e.g. a new grouping
        shown = [c for c in options if c in sel]
        view.set("vars", shown)
    with st.expander(f"Variables ({len(shown)} of {len(options)})"):
        b1, b2 = st.columns(2)
        b1.button("Select all", on_click=_select, args=(order,))
        b2.button("Clear", on_click=_select, args=([],))
        chosen = st.multiselect(
            "Variables (grouped by section)", options, default=options, key=view.key("vars"),
            format_func=option_label, on_change=_edited, args=(view, by), **BIND,
        )  # fmt: skip
    if sel is None or set(sel) & set(options) != set(chosen):  # first run, or a URL's
        keep = by is not None and (sel is None or by in sel)  # the grouping counts as chosen
        st.session_state[SELECTION] = [*chosen, *([by] if keep else [])]
        if len(chosen) != len(shown):  # the expander's count: right on the next run
            st.rerun()
    return chosen


def small_groups_warning(result: pd.DataFrame) -> None:
    small = too_small_groups(result)
    if small:
        names = ", ".join(f"{md(g)} (n = {k})" for g, k in small)
        it = "it" if len(small) == 1 else "them"
        st.warning(
            f"{names}: a single patient. Fisher's exact and the rank tests (Wilcoxon, "
            f"Kruskal–Wallis) include {it}, as R does — read those p-values with care; a "
            "t-test or ANOVA cannot, and compares the other groups only (the test column "
            f"says so). To leave {it} out entirely, filter {it} out in the sidebar or regroup.",
            icon="⚠️",
        )


def published_caption(published: pd.DataFrame | None) -> None:
    if published is not None:
        ok, n_fig = published_agreement(published)
        st.caption(
            f"Grey columns: the published values. {ok} of {n_fig} published counts, "
            "percentages and quartiles are reproduced to their printed precision; p-values "
            "are recomputed (the paper's own printed p-values are not all consistent with its "
            "counts)."
        )


def table_config(table: pd.DataFrame) -> dict:
    """Column widths; the label and the p-value(s) pinned: at 1400 px the group columns (and
    the published ones, after them) scroll while the p-value stays next to its label."""
    config = {
        # narrower when the adjusted p is pinned too: the pinned block must leave the group
        # columns room to scroll at 1280 px (else Streamlit unpins them all)
        "Characteristic": st.column_config.TextColumn(
            "Characteristic", width=300 if "p (adj.)" in table.columns else 380, pinned=True
        ),
        "p": st.column_config.TextColumn("p", width=62, pinned=True),
        "p (adj.)": st.column_config.TextColumn("p (adj.)", width=70, pinned=True),
        "test": st.column_config.TextColumn("test", width="large"),
    }
    for c in table.columns:
        if " (n = " in str(c) or "(paper)" in str(c):
            config[c] = st.column_config.TextColumn(str(c), width=150)
    return config


def notes_and_tests(result: pd.DataFrame) -> None:
    # the exclusion of groups of size < 2 is said once, in the warning above the table
    notes = notes_table(result)
    if not notes.empty:
        with st.expander(f"Notes ({len(notes)})"):
            st.dataframe(notes, hide_index=True, width="stretch")
    tests = tests_used(result)
    if tests:
        st.caption("Tests used: " + "; ".join(md(t) for t in tests) + ". Two-sided.")


def variable_chart(
    result: pd.DataFrame, data: pd.DataFrame, spec: VariableSpec, group_by: str | None
) -> dict:
    """Small multiples of one variable in each group (box plots, or percentage bars)."""
    kind = result.loc[result["variable"] == spec.name, "kind"].iloc[0]
    chart = chart_spec(
        ch.variable_chart, data, spec.column, kind, group_by, spec.label,
        result_groups(result) or None,
    )  # fmt: skip
    show_chart(
        chart,
        width="content",
        alt=f"{spec.label} in each group ("
        + ("box plot with every patient" if kind == "continuous" else "percentage bars")
        + "); the numbers are in the table above.",
    )
    return chart


def downloads(
    result: pd.DataFrame, table: pd.DataFrame, title: str, chart: dict, stem: str, var: str
) -> None:
    """CSV / Excel / LaTeX of the table, PNG / SVG of the chart of ``var``: each made when
    clicked only (on_click="ignore": no rerun on click, so the deferred file is served at once).
    """
    d1, d2, d3, d4, d5 = st.columns(5)
    stamp = st.session_state.get(STAMP_KEY, "")  # the cohort, the filter and the date
    d1.download_button(
        "CSV (raw numbers)", lambda: export_csv(result, stamp), f"{stem}.csv", "text/csv",
        on_click="ignore",
    )  # fmt: skip
    d2.download_button(
        "Excel",
        lambda: export_excel(result, table, title, stamp),
        f"{stem}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
    )
    d3.download_button(
        "LaTeX", lambda: export_latex(table, title, stamp), f"{stem}.tex", "text/x-tex",
        on_click="ignore",
    )  # fmt: skip
    chart_download("Chart PNG", chart, f"{stem}_{var}.png", where=d4)
    chart_download("Chart SVG", chart, f"{stem}_{var}.svg", where=d5)
