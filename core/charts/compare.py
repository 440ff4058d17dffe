"""Altair small multiples for one row block of a group comparison (pure, no streamlit).

* continuous variable: one box plot per group (Tukey whiskers; the box is Q1-Q3 — Vega-Lite
  computes its quartiles itself, the table shows R's type-7 values) with the patients as
  jittered points on top;
* categorical variable: one bar chart per group (percent of the group's non-missing values),
  counts in the tooltip.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import altair as alt
import pandas as pd

from core.charts import MAX_POINTS, point_sample

__all__ = ["categorical_bars", "continuous_strip", "variable_chart"]

PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#E45756", "#72B7B2", "#9D755D"]
WIDTH_PER_GROUP = 150
HEIGHT = 260


def _short_axis_title(label: str, limit: int = 28) -> str:
    """A y-axis title that fits the plot height: the unit of a long label, e.g. '(days)'."""
    if len(label) <= limit:
        return label
    if label.endswith(")") and " (" in label:
        return label[label.rindex(" (") + 1 :]
    return label[: limit - 1] + "…"


def _title_lines(label: str, width_px: int) -> str | list[str]:
    """The chart title (the full label), wrapped to the chart's width so it is never clipped."""
    chars = max(16, width_px // 8)  # ~8 px per character of the 13-px bold title font
    return textwrap.wrap(label, chars) if len(label) > chars else label


def _box_stats(data: pd.DataFrame) -> pd.DataFrame:
    """Per group: quartiles (R type 7) and Tukey whiskers (furthest values within 1.5 IQR)."""
    rows = []
    for g, v in data.groupby("group", observed=True)["value"]:
        x = v.astype(float)
        q1, med, q3 = x.quantile([0.25, 0.5, 0.75]).tolist()
        iqr = q3 - q1
        inside = x[(x >= q1 - 1.5 * iqr) & (x <= q3 + 1.5 * iqr)]
        rows.append(
            {"group": g, "q1": q1, "median": med, "q3": q3, "lo": inside.min(),
             "hi": inside.max(), "n": len(x)}
        )  # fmt: skip
    return pd.DataFrame(rows)


def _aggregated_strip(data, x, y, color, label: str, order: list) -> alt.LayerChart:
    """A large cohort: the box from five numbers per group, a sample of the points.

    The chart's size then no longer grows with the number of patients (Altair refuses more
    than 5,000 rows, and every row would travel to the browser).
    """
    stats = _box_stats(data)
    base = alt.Chart(stats).encode(x=x, color=color)
    whisker = base.mark_rule().encode(
        y=alt.Y("lo:Q", title=_short_axis_title(label), scale=alt.Scale(zero=False)), y2="hi:Q"
    )
    box = base.mark_bar(size=38, opacity=0.45).encode(y="q1:Q", y2="q3:Q")
    mid = base.mark_tick(size=38, thickness=2, color="#222").encode(y="median:Q")
    sample = point_sample(data)
    pts = (
        alt.Chart(sample)
        .transform_calculate(jitter="(random() - 0.5) * 30")
        .mark_circle(size=14, opacity=0.35)
        .encode(x=x, xOffset=alt.XOffset("jitter:Q", scale=alt.Scale(domain=[-40, 40])), y=y,
                color=color)
    )  # fmt: skip
    width = max(WIDTH_PER_GROUP * len(order), 220)
    title = _title_lines(f"{label} ({len(sample):,} of {len(data):,} points shown)", width)
    return (whisker + box + mid + pts).properties(width=width, height=HEIGHT, title=title)


def continuous_strip(
    df: pd.DataFrame, column: str, by: str | None, label: str, groups: Sequence[str] | None = None
) -> alt.Chart:
    """Box plot and jittered points of ``column`` per group of ``by`` (or overall).

    Above :data:`MAX_POINTS` patients the box is computed here (same quartiles and whiskers)
    and a seeded sample of the points is drawn.
    """
    data = _frame(df, column, by, groups)
    order = list(groups) if groups else sorted(data["group"].unique())
    x = alt.X("group:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, labelLimit=160))
    color = alt.Color("group:N", sort=order, scale=alt.Scale(range=PALETTE), legend=None)
    y = alt.Y("value:Q", title=_short_axis_title(label), scale=alt.Scale(zero=False))
    if len(data) > MAX_POINTS:
        return _aggregated_strip(data, x, y, color, label, order)
    box = (
        alt.Chart(data)
        .mark_boxplot(size=38, opacity=0.45, extent=1.5, outliers=False)
        .encode(x=x, y=y, color=color)
    )
    pts = (
        alt.Chart(data)
        .transform_calculate(jitter="(random() - 0.5) * 30")
        .mark_circle(size=28, opacity=0.75)
        .encode(
            x=x,
            xOffset=alt.XOffset("jitter:Q", scale=alt.Scale(domain=[-40, 40])),
            y=y,
            color=color,
            tooltip=[
                alt.Tooltip("group:N", title="Group"),
                alt.Tooltip("value:Q", title=label),
            ],
        )
    )
    width = max(WIDTH_PER_GROUP * len(order), 220)
    return (box + pts).properties(width=width, height=HEIGHT, title=_title_lines(label, width))


def categorical_bars(
    df: pd.DataFrame, column: str, by: str | None, label: str, groups: Sequence[str] | None = None
) -> alt.Chart:
    """Percent of each level within each group (facetted small multiples)."""
    data = _frame(df, column, by, groups)
    data["level"] = data["value"].map(str)
    counts = data.groupby(["group", "level"], observed=True).size().rename("n").reset_index()
    totals = counts.groupby("group", observed=True)["n"].transform("sum")
    counts["pct"] = 100 * counts["n"] / totals
    counts["N"] = totals
    order = list(groups) if groups else sorted(counts["group"].unique())
    levels = list(dict.fromkeys(sorted(counts["level"])))
    base = alt.Chart(counts).encode(
        x=alt.X("level:N", sort=levels, title=None, axis=alt.Axis(labelAngle=-30, labelLimit=120)),
        y=alt.Y("pct:Q", title="% of group", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("level:N", sort=levels, scale=alt.Scale(range=PALETTE), title=label),
        tooltip=[
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("level:N", title=label),
            alt.Tooltip("n:Q", title="n"),
            alt.Tooltip("N:Q", title="of"),
            alt.Tooltip("pct:Q", title="%", format=".1f"),
        ],
    )
    bars = base.mark_bar()
    text = base.mark_text(dy=-6, fontSize=11).encode(text=alt.Text("n:Q"), color=alt.value("#333"))
    width = max(28 * len(levels), 110)
    return (
        alt.layer(bars, text)
        .properties(width=width, height=HEIGHT - 40)
        .facet(
            column=alt.Column(
                "group:N", sort=order, title=None, header=alt.Header(labelFontSize=12)
            )
        )
        .properties(title=_title_lines(label, len(order) * (width + 20)))
    )


def variable_chart(
    df: pd.DataFrame,
    column: str,
    kind: str,
    by: str | None,
    label: str,
    groups: Sequence[str] | None = None,
) -> alt.Chart:
    """Small multiple for one variable: box/strip if continuous, bars if categorical."""
    if kind == "continuous":
        return continuous_strip(df, column, by, label, groups)
    return categorical_bars(df, column, by, label, groups)


def _frame(
    df: pd.DataFrame, column: str, by: str | None, groups: Sequence[str] | None
) -> pd.DataFrame:
    if column not in df.columns:
        raise ValueError(f"column {column!r} is not in the data")
    if by is not None and by not in df.columns:
        raise ValueError(f"grouping column {by!r} is not in the data")
    out = pd.DataFrame(
        {
            "value": df[column],
            "group": df[by].astype(object).map(str) if by else "Overall",
        }
    )
    if by:
        out = out[df[by].notna().to_numpy()]
    out = out[out["value"].notna()]
    if groups:
        out = out[out["group"].isin([str(g) for g in groups])]
    if pd.api.types.is_bool_dtype(out["value"]):
        out["value"] = out["value"].map({True: "yes", False: "no"})
    return out.reset_index(drop=True)
