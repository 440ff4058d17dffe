"""Text of a comparison table: ``median [Q1–Q3]`` / ``n (%)`` cells, the published columns, the
styled table, notes and the tests used (presentation only; exports keep the raw result).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.stats.compare import MIN_GROUP_SIZE, OVERALL, SEP, result_groups
from core.tables.styler import styler

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler


# ---------------------------------------------------------------------------------------
# formatting (presentation only; exports keep the raw result)
# ---------------------------------------------------------------------------------------
def fmt_number(x: float) -> str:
    """Compact number: 3 significant digits below 100, integers above (``67.5``, ``0.66``)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    ax = abs(x)
    if ax >= 100:
        s = f"{x:.0f}"
    elif ax >= 10:
        s = f"{x:.1f}"
    else:
        s = f"{x:.2f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def fmt_pct(x: float) -> str:
    if x is None or math.isnan(x):
        return "–"
    s = f"{x:.1f}".rstrip("0").rstrip(".")
    return s


def fmt_p(p: float) -> str:
    """p-value as printed in the paper: two significant digits, ``<0.001`` below."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    if p < 0.001:
        return "<0.001"
    return f"{p:.2g}"


def format_table(
    result: pd.DataFrame,
    *,
    show_all_levels: bool = False,
    smd: bool | None = None,
    published: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Printable table: ``Characteristic``, ``Overall``, one column per group, then the
    statistics (``p``, ``p (adj.)``, ``SMD``, ``test``), then any published columns.

    Continuous rows read ``median [Q1–Q3]`` (or ``mean (SD)``), categorical ``n (%)``;
    a categorical variable with several shown levels gets a header row carrying its
    p-value and one indented row per level.  ``show_all_levels`` also prints hidden levels
    (e.g. ``False`` of a yes/no variable).  ``smd`` adds an SMD column (default: when
    there are exactly two groups).  ``published`` (output of :func:`compare_with_published`)
    adds ``<group> (paper)`` columns and ``p (paper)`` *after* the recomputed columns and
    their statistics, so the recomputed p-value stays next to the recomputed groups.
    The hidden column ``_kind`` (section / variable / level) is for styling.
    """
    groups = result_groups(result)
    gcols = [OVERALL, *groups]
    want_smd = len(groups) == 2 if smd is None else smd
    has_test = len(groups) >= 2
    lines: list[dict[str, str]] = []
    section = None
    for var, block in result.groupby("variable", sort=False):
        first = block.iloc[0]
        if first["section"] and first["section"] != section:
            section = first["section"]
            if first["label"] != section:  # else the variable's own header row names it
                lines.append({"Characteristic": section, "_kind": "section"})
        ptxt = fmt_p(first["p_value"])
        extra: dict[str, str] = {}
        if has_test:
            extra["p"] = ptxt
            extra["test"] = first["test"] or ""
            if "p_adjusted" in result and result["p_adjusted"].notna().any():
                extra["p (adj.)"] = fmt_p(first["p_adjusted"])
        if want_smd:
            extra["SMD"] = "" if pd.isna(first["smd"]) else f"{first['smd']:.2f}"
        if first["kind"] == "continuous":
            line = {"Characteristic": first["label"], "_kind": "variable", "_var": var}
            for g in gcols:
                if first["stat"] == "mean (SD)":
                    line[g] = (
                        f"{fmt_number(first[f'{g}{SEP}mean'])} ({fmt_number(first[f'{g}{SEP}sd'])})"
                    )
                elif first[f"{g}{SEP}n"] == 0:
                    line[g] = "–"
                else:
                    med, q1, q3 = (first[f"{g}{SEP}{k}"] for k in ("median", "q1", "q3"))
                    line[g] = f"{fmt_number(med)} [{fmt_number(q1)}–{fmt_number(q3)}]"
            lines.append({**line, **extra})
            continue
        shown = block if show_all_levels else block[block["show"]]
        if len(shown) == 1 and not show_all_levels:
            # yes/no variable (or one printed level, e.g. male): a single line
            r = shown.iloc[0]
            cells = _count_cells(r, gcols)
            lines.append(
                {
                    "Characteristic": first["label"],
                    "_kind": "variable",
                    "_var": var,
                    "_level": r["level"],
                    **cells,
                    **extra,
                }
            )
            continue
        lines.append({"Characteristic": first["label"], "_kind": "variable", "_var": var, **extra})
        for _, r in shown.iterrows():
            lines.append(
                {
                    "Characteristic": f"    {r['level']}",
                    "_kind": "level",
                    "_var": var,
                    "_level": r["level"],
                    **_count_cells(r, gcols),
                }
            )
    has_pub = published is not None and not published.empty
    if has_pub:
        _add_published(lines, published, gcols, has_test)
    cols = ["Characteristic", *gcols]
    if has_test:
        cols.append("p")
        if "p_adjusted" in result and result["p_adjusted"].notna().any():
            cols.append("p (adj.)")
    if want_smd:
        cols.append("SMD")
    if has_test:
        cols.append("test")
    if has_pub:
        cols += [f"{g} (paper)" for g in gcols]
        if has_test:
            cols.append("p (paper)")
    out = pd.DataFrame(lines).reindex(columns=[*cols, "_kind"]).fillna("")
    rename = {g: f"{g} (n = {_group_n(result, g)})" for g in gcols}
    return out.rename(columns=rename)


def _add_published(
    lines: list[dict[str, Any]], published: pd.DataFrame, gcols: list[str], has_test: bool
) -> None:
    pub = published.copy()
    pub["group"] = pub["group"].replace("", OVERALL)
    figs: dict[tuple[str, str, str], dict[str, float]] = {}
    for r in pub.to_dict("records"):
        figs.setdefault((r["variable"], r["level"], r["group"]), {})[r["statistic"]] = r[
            "published"
        ]
    for line in lines:
        var = line.get("_var")
        if var is None:
            continue
        level = line.get("_level")
        level = "" if level is None or (isinstance(level, float) and math.isnan(level)) else level
        for g in gcols:
            f = figs.get((var, level, g))
            if not f:
                continue
            if "median" in f:
                q1, q3 = f.get("q1", math.nan), f.get("q3", math.nan)
                line[f"{g} (paper)"] = (
                    f"{fmt_number(f['median'])} [{fmt_number(q1)}–{fmt_number(q3)}]"
                )
            elif "n" in f:
                n = int(f["n"])
                line[f"{g} (paper)"] = f"{n} ({fmt_pct(f['pct'])}%)" if "pct" in f and n else str(n)
        if has_test and line["_kind"] == "variable":
            p = figs.get((var, "", OVERALL), {}).get("p")
            if p is not None:
                line["p (paper)"] = f"{p:g}"


def _count_cells(r: pd.Series, gcols: list[str]) -> dict[str, str]:
    out = {}
    for g in gcols:
        n = r[f"{g}{SEP}n"]
        out[g] = "0" if n == 0 else f"{int(n)} ({fmt_pct(r[f'{g}{SEP}pct'])}%)"
    return out


def group_sizes(result: pd.DataFrame) -> dict[str, int]:
    """Patients per group (missing values included) of a :func:`compare_groups` result."""
    return {g: _group_n(result, g) for g in result_groups(result)}


def _group_n(result: pd.DataFrame, g: str) -> int:
    r = result.iloc[0]
    if r["kind"] == "continuous":
        return int(r[f"{g}{SEP}n"] + r[f"{g}{SEP}missing"])
    return int(r[f"{g}{SEP}N"] + r[f"{g}{SEP}missing"])


# ---------------------------------------------------------------------------------------
# display helpers (presentation of a result and its formatted table)
# ---------------------------------------------------------------------------------------
SECTION_CSS = "font-weight: 700; background-color: #eef2f7"


PAPER_CSS = "color: #6b7280; font-style: italic"


SIGNIFICANT_CSS = "font-weight: 700"


def is_significant(p_text: str, alpha: float = 0.05) -> bool:
    """Whether a printed p-value (:func:`fmt_p`) is below ``alpha``.

    Parameters
    ----------
    p_text : str
        ``'0.012'``, ``'<0.001'``, or ``''`` (no test).
    alpha : float, default 0.05

    Returns
    -------
    bool
        True for ``'<…'`` and for numbers below ``alpha``; False for empty or other text.
    """
    if not p_text:
        return False
    if p_text.startswith("<"):
        return True
    try:
        return float(p_text) < alpha
    except ValueError:
        return False


def style_table(table: pd.DataFrame) -> Styler:
    """Styled view of :func:`format_table`'s output, without its hidden ``_kind`` column.

    Section rows bold on a light background, published ``(paper)`` columns grey italic, and
    significant p-values (:func:`is_significant`, column ``p``) bold.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`format_table` (with ``_kind``), default integer index.

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    kinds = table["_kind"].tolist()
    shown = table.drop(columns=["_kind"])
    paper_cols = [c for c in shown.columns if "(paper)" in str(c)]

    def rows(row: pd.Series) -> list[str]:
        if kinds[row.name] == "section":
            return [SECTION_CSS] * len(row)
        out = []
        for c in row.index:
            css = ""
            if c in paper_cols:
                css = PAPER_CSS
            if c == "p" and is_significant(row[c]):
                css = SIGNIFICANT_CSS
            out.append(css)
        return out

    return styler(shown).apply(rows, axis=1)


def too_small_groups(result: pd.DataFrame) -> list[tuple[str, int]]:
    """Groups of fewer than :data:`MIN_GROUP_SIZE` patients (too few for a test).

    Parameters
    ----------
    result : DataFrame
        Output of :func:`compare_groups`.

    Returns
    -------
    list of (group, size)
        In the result's group order (:func:`group_sizes`).
    """
    return [(g, n) for g, n in group_sizes(result).items() if n < MIN_GROUP_SIZE]


def notes_table(result: pd.DataFrame) -> pd.DataFrame:
    """The notes of a result, one row per variable that has one: ``label``, ``note``.

    The leading ``'tested without …'`` / ``'includes … a single patient'`` clause is removed:
    :func:`too_small_groups` says it once for the whole table (the page's warning).

    Parameters
    ----------
    result : DataFrame
        Output of :func:`compare_groups`.

    Returns
    -------
    DataFrame
        Columns ``label`` and ``note``; variables without a (remaining) note are left out.
    """
    notes = result.drop_duplicates("variable").copy()
    notes["note"] = notes["note"].str.replace(
        r"^(tested without|includes) [^;]*(; )?", "", regex=True
    )
    return notes[notes["note"] != ""][["label", "note"]]


def tests_used(result: pd.DataFrame) -> list[str]:
    """Names of the tests of a result, each once, sorted (``[]`` without groups to compare)."""
    tests = result.drop_duplicates("variable")["test"].replace("", pd.NA).dropna()
    return sorted(set(tests))


def published_agreement(published: pd.DataFrame) -> tuple[int, int]:
    """How many published figures (p-values aside) are reproduced.

    Parameters
    ----------
    published : DataFrame
        Output of :func:`compare_with_published` (columns statistic, matches).

    Returns
    -------
    (reproduced, total) : tuple of int
        Counts, percentages and quartiles that match their printed precision, out of all.
    """
    figures = published[published["statistic"] != "p"]
    return int(figures["matches"].sum()), len(figures)
