"""Compare groups: the paper's Tables 1, 3 and 4 recomputed on the active cohort, or any grouping.

Thin page: widgets -> core.stats.compare.compare_groups (R-equivalent tests) -> formatted table,
core.charts.compare small multiples, downloads.  View state is mirrored in st.query_params
(keys prefixed ``cmp_``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.cohort import cohort_sidebar, page_header
from app_pages._ui.render import chart_download, chart_spec, show_chart
from app_pages._ui.state import sync_url, url_choice, url_param
from core.charts import compare as ch
from core.cohort.schema import column_label
from core.cohort.variables import cut_variable
from core.export import export_csv, export_excel, export_latex
from core.stats.compare import VariableSpec, compare_groups, result_groups
from core.study.paper_tables import PRESETS, compare_with_published
from core.tables.compare import (
    format_table,
    notes_table,
    published_agreement,
    style_table,
    tests_used,
    too_small_groups,
)

P = "cmp_"
NONE = "(none: whole cohort)"
PRESET_LABELS = {
    "custom": "Custom",
    "table1": "Table 1 — whole cohort",
    "table3": "Table 3 — by reason for ICU admission",
    "table4": "Table 4 — by 1-year outcome",
}
EXCLUDE = {"patient_id", "os_days", "os_event", "pfs_days", "pfs_event"}
MAX_GROUP_LEVELS = 8
FEW_VALUES = 6  # numeric columns with at most this many values can group as categories
ADJUST = {"none": "None", "holm": "Holm", "BH": "Benjamini-Hochberg"}


def _catalog(df: pd.DataFrame) -> dict[str, VariableSpec]:
    """Every describable column, labelled and sectioned like the paper where it appears."""
    known: dict[str, VariableSpec] = {}
    for key in ("table1", "table3", "table4"):
        for spec in PRESETS[key].variables:
            if spec.name == spec.column:
                known.setdefault(spec.column, spec)
    out = {}
    for col in df.columns:
        if col in EXCLUDE:
            continue
        spec = known.get(col)
        if spec is None:
            spec = VariableSpec(col, None, col, column_label(col), "Other variables")
        out[col] = spec
    return out


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _group_options(df: pd.DataFrame) -> list[str]:
    opts = [NONE]
    for col in df.columns:
        if col in EXCLUDE:
            continue
        k = df[col].nunique(dropna=True)
        if k < 2:
            continue
        if _is_numeric(df[col]) or k <= MAX_GROUP_LEVELS:
            opts.append(col)
    return opts


def _init_state(df: pd.DataFrame, options: list[str], catalog: dict) -> None:
    def seed(name: str, value) -> None:
        if P + name not in st.session_state:
            st.session_state[P + name] = value

    preset = url_param(P + "preset", "table3")
    preset = preset if preset in PRESET_LABELS else "custom"
    seed("preset", preset)
    by = url_param(P + "by", "icu_reason")
    if preset != "custom":  # a preset fixes its grouping
        by = PRESETS[preset].by or NONE
    seed("by", by if by in options else NONE)
    try:
        cut = float(url_param(P + "cut", ""))
    except ValueError:
        cut = None
    seed("cut", cut)
    seed("as_cut", url_param(P + "as_cut", "0") == "1")
    raw_vars = url_param(P + "vars", "")
    chosen = [v for v in raw_vars.split(",") if v in catalog] if raw_vars else list(catalog)
    # the user's selection, kept whole (the grouping column included) across regroupings;
    # the multiselect ("vars") only shows it minus the current grouping column
    seed("sel", chosen)
    seed("adj", url_choice(P + "adj", ADJUST, "none"))
    seed("all_levels", url_param(P + "all", "0") == "1")
    seed("var", url_param(P + "var", ""))


def _apply_preset() -> None:
    key = st.session_state[P + "preset"]
    if key != "custom":
        st.session_state[P + "by"] = PRESETS[key].by or NONE
        st.session_state[P + "as_cut"] = False


def _to_custom() -> None:
    st.session_state[P + "preset"] = "custom"


def _vars_changed() -> None:
    """Multiselect edited: keep the grouping column in the selection if it was there."""
    by = st.session_state.get(P + "by")
    kept = [c for c in st.session_state.get(P + "sel", []) if c == by]
    st.session_state[P + "sel"] = [*st.session_state[P + "vars"], *kept]


def _group_label(col: str) -> str:
    return col if col == NONE else column_label(col)


# Cached on the identity of the rows (ActiveCohort.key: cohort + filter) and the cut, not on
# the frame itself: hashing the frame and the result on every rerun cost ~60 ms per run.
@st.cache_data(show_spinner="Computing the comparison…", max_entries=32)
def _compute(
    cohort_key: str,
    cut: tuple[str, float] | None,
    by: str | None,
    specs: tuple[VariableSpec, ...],
    group_order: tuple | None,
    adjust: str | None,
    published_preset: str | None,
    _data: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The comparison, and the published values beside it when the preset's table is shown."""
    result = compare_groups(
        _data, by, list(specs), adjust=adjust, group_order=group_order, exclude_small_groups=True
    )
    published = compare_with_published(result, published_preset) if published_preset else None
    return result, published


@st.cache_data(show_spinner=False, max_entries=32)
def _display_table(
    inputs: tuple, show_all: bool, with_published: bool, _data: pd.DataFrame
) -> pd.DataFrame:
    """The formatted table of ``_compute(*inputs, _data)`` (a cache hit: computed just before)."""
    result, published = _compute(*inputs, _data)
    return format_table(
        result, show_all_levels=show_all, published=published if with_published else None
    )


def main() -> None:
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
        return
    catalog = _catalog(df)
    options = _group_options(df)
    _init_state(df, options, catalog)

    c1, c2, c3 = st.columns([1.3, 1.2, 1])
    c1.selectbox(
        "Table",
        list(PRESET_LABELS),
        format_func=PRESET_LABELS.get,
        key=P + "preset",
        on_change=_apply_preset,
    )
    preset_key = st.session_state[P + "preset"]
    if st.session_state[P + "by"] not in options:
        st.session_state[P + "by"] = NONE
    by_col = c2.selectbox(
        "Group by",
        options,
        key=P + "by",
        format_func=lambda c: _group_label(c),
        on_change=_to_custom,
    )
    by = None if by_col == NONE else by_col
    c3.selectbox("p-value adjustment", list(ADJUST), format_func=ADJUST.get, key=P + "adj")
    adjust = None if st.session_state[P + "adj"] == "none" else st.session_state[P + "adj"]

    data = df
    group_by = by
    cut_value = None
    if by is not None and _is_numeric(df[by]):
        few = df[by].nunique() <= FEW_VALUES
        as_cut = True
        if few:
            as_cut = st.checkbox(
                f"Cut {by} at a threshold instead of one group per value", key=P + "as_cut"
            )
        if as_cut:
            x = df[by].dropna()
            if st.session_state.get(P + "cut") is None or not (
                x.min() < st.session_state[P + "cut"] <= x.max()
            ):
                st.session_state[P + "cut"] = (
                    float(x.median()) if x.min() < x.median() else float(x.max())
                )
            cut_value = st.number_input(
                f"Threshold: groups '{by} < t' and '{by} ≥ t'",
                key=P + "cut",
                step=1.0,
                on_change=_to_custom,
            )
            data = cut_variable(df, by, cut_value)
            group_by = f"{by} ≥ {cut_value:g}"

    if preset_key != "custom":
        preset = PRESETS[preset_key]
        specs = [s for s in preset.variables if s.column in df.columns and s.column != group_by]
        group_order = preset.group_order
    else:
        preset = None
        all_vars = [c for c in catalog if c != by]
        by_section: dict[str, list[str]] = {}
        for c in all_vars:
            by_section.setdefault(catalog[c].section, []).append(c)
        ordered = [c for cols in by_section.values() for c in cols]
        sel = st.session_state[P + "sel"]
        st.session_state[P + "vars"] = [v for v in sel if v in all_vars]
        with st.expander(f"Variables ({len(st.session_state[P + 'vars'])} of {len(ordered)})"):
            b1, b2 = st.columns(2)
            if b1.button("Select all"):
                st.session_state[P + "vars"] = ordered
                st.session_state[P + "sel"] = list(catalog)
            if b2.button("Clear"):
                st.session_state[P + "vars"] = []
                st.session_state[P + "sel"] = []
            st.multiselect(
                "Variables (grouped by section)",
                ordered,
                key=P + "vars",
                format_func=lambda c: f"{catalog[c].section} · {catalog[c].label}",
                on_change=_vars_changed,
            )
        chosen = set(st.session_state[P + "vars"])
        specs = [catalog[c] for c in ordered if c in chosen]
        group_order = None
    if not specs:
        st.info("Choose at least one variable.")
        return
    show_all = st.toggle(
        "Show every level (e.g. 'no' rows of yes/no variables)", key=P + "all_levels"
    )

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
        result, published = _compute(*inputs, data)
    except ValueError as exc:
        st.error(f"Cannot compare: {exc}")
        return
    with_published = on_paper and st.toggle(
        "Show the published values beside", value=True, key=P + "paper"
    )
    table = _display_table(inputs, show_all, with_published, data)

    if preset is not None and view.reconstructed and group_by == preset.by:
        title = PRESET_LABELS[preset_key]
    elif group_by is None:
        title = "Whole cohort"
    elif cut_value is not None:
        title = f"By {column_label(by)}: {by} < {cut_value:g} vs ≥ {cut_value:g}"
    else:
        title = f"By {column_label(by)}"
    st.subheader(title)
    small = too_small_groups(result)
    if small:
        names = ", ".join(f"{g} (n = {k})" for g, k in small)
        it = "it" if len(small) == 1 else "them"
        st.warning(
            f"{names}: fewer than 2 patients, too few for a test. The p-values compare the "
            "other groups only (the test column says which groups were left out); the "
            f"descriptive columns include every group. To leave {it} out entirely, filter "
            f"{it} out in the sidebar or regroup.",
            icon="⚠️",
        )
    if published is not None:
        ok, n_fig = published_agreement(published)
        st.caption(
            f"Grey italic columns: the published values. {ok} of {n_fig} published counts, "
            "percentages and quartiles are reproduced to their printed precision; p-values "
            "are recomputed (the paper's own printed p-values are not all consistent with its "
            "counts)."
        )
    # the label and the p-value(s) are pinned: at 1400 px the group columns (and the
    # published ones, after them) scroll while the p-value stays next to its label
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
    st.dataframe(
        style_table(table),
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(table), 900),
        column_config=config,
    )
    # the exclusion of groups of size < 2 is said once, in the warning above the table
    notes = notes_table(result)
    if not notes.empty:
        with st.expander(f"Notes ({len(notes)})"):
            st.dataframe(notes, hide_index=True, width="stretch")
    tests = tests_used(result)
    if tests:
        st.caption("Tests used: " + "; ".join(tests) + ". Two-sided.")

    # small multiples for one variable
    st.subheader("Look at one variable")
    names = [s.name for s in specs]
    if st.session_state[P + "var"] not in names:
        st.session_state[P + "var"] = names[0]
    by_name = {s.name: s for s in specs}
    var = st.selectbox("Variable", names, key=P + "var", format_func=lambda n: by_name[n].label)
    spec = by_name[var]
    kind = result.loc[result["variable"] == var, "kind"].iloc[0]
    groups = result_groups(result)
    chart = chart_spec(
        ch.variable_chart, data, spec.column, kind, group_by, spec.label, groups or None
    )
    show_chart(
        chart,
        width="content",
        alt=f"{spec.label} in each group ("
        + ("box plot with every patient" if kind == "continuous" else "percentage bars")
        + "); the numbers are in the table above.",
    )

    # downloads
    st.subheader("Download")
    stem = f"compare_{preset_key if preset else (group_by or 'overall')}".replace(" ", "_")
    d1, d2, d3, d4, d5 = st.columns(5)
    # every file is made only when its button is clicked (no work on a rerun);
    # on_click="ignore": no rerun on click, so the deferred file is served at once
    d1.download_button(
        "CSV (raw numbers)",
        lambda: export_csv(result),
        f"{stem}.csv",
        "text/csv",
        on_click="ignore",
    )
    d2.download_button(
        "Excel",
        lambda: export_excel(result, table, title),
        f"{stem}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
    )
    d3.download_button(
        "LaTeX",
        lambda: export_latex(table, title),
        f"{stem}.tex",
        "text/x-tex",
        on_click="ignore",
    )
    chart_download("Chart PNG", chart, f"{stem}_{var}.png", where=d4)
    chart_download("Chart SVG", chart, f"{stem}_{var}.svg", where=d5)

    sync_url(
        {
            "preset": preset_key,
            "by": by_col,
            "cut": None if cut_value is None else f"{cut_value:g}",
            "as_cut": "1" if st.session_state.get(P + "as_cut") else None,
            "vars": None
            if preset is not None or set(st.session_state[P + "sel"]) == set(catalog)
            else ",".join(c for c in catalog if c in set(st.session_state[P + "sel"])),
            "adj": None if adjust is None else adjust,
            "all": "1" if show_all else None,
            "var": var,
        },
        prefix=P,
    )


main()
