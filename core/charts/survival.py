"""Altair builders for survival curves (pure: no streamlit).

* :func:`km_chart` - Kaplan-Meier step curves (``interpolate="step-after"``), optional 95% CI bands,
  censor ticks, landmark rules and a hover tooltip (S(t), CI, number at risk).
* :func:`risk_table_chart` - KMunicate-style table (at risk / events / censored) under the plot,
  on the same x scale.
* :func:`km_figure` - both, stacked.

Cumulative incidence (competing risks) is drawn by :mod:`core.charts.competing`.

Groups are told apart by the Okabe-Ito palette *and* a dash pattern, never by colour alone.
All inputs are results of :mod:`core.stats.survival`; times in the inputs are days.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.stats.survival import DAYS_PER_MONTH, KMResult, n_at_risk
from core.tables.survival import level_label

# Okabe & Ito (2008) colour-blind safe palette, ordered for lines on white (yellow last)
OKABE_ITO = [
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
]
DASHES = [[1, 0], [8, 4], [2, 3], [10, 3, 2, 3], [4, 4], [1, 4], [12, 2], [6, 2, 2, 2]]
TIME_UNITS = ("days", "months")
WIDTH = 720
HEIGHT = 380
FONT_SIZE = 13
Y_TOP = 1.06  # y-axis top of the KM chart (ticks stop at 100%)


def _check_unit(time_unit: str) -> None:
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {TIME_UNITS}, got {time_unit!r}")


def _scale(time_unit: str) -> float:
    _check_unit(time_unit)
    return 1.0 if time_unit == "days" else 1.0 / DAYS_PER_MONTH


def time_ticks(horizon_days: float, time_unit: str = "days") -> list[float]:
    """Tick positions **in days** from 0 to ``horizon_days`` (about 4-8 intervals).

    Days: multiples of 30, 60, 90, 180 or 365; months: whole months (1, 2, 3, 6, 12).
    """
    _check_unit(time_unit)
    if not np.isfinite(horizon_days) or horizon_days <= 0:
        raise ValueError(f"horizon must be positive, got {horizon_days}")
    if time_unit == "days":
        steps, unit = [7, 14, 30, 60, 90, 180, 365, 730], 1.0
    else:
        steps, unit = [1, 2, 3, 6, 12, 24], DAYS_PER_MONTH
    span = horizon_days / unit
    step = next((s for s in steps if span / s <= 8), steps[-1])
    n = int(np.floor(span / step + 1e-9))
    return [float(k * step * unit) for k in range(n + 1)]


def landmark_times(horizon_days: float, time_unit: str = "days") -> list[float]:
    """Landmarks (days) at 1/4, 1/2 and 3/4 of the horizon plus the horizon itself.

    Rounded to whole days, or to whole months for ``time_unit="months"``; duplicates dropped.
    """
    _check_unit(time_unit)
    if not np.isfinite(horizon_days) or horizon_days <= 0:
        raise ValueError(f"horizon must be positive, got {horizon_days}")
    unit = 1.0 if time_unit == "days" else DAYS_PER_MONTH
    out = []
    for q in (0.25, 0.5, 0.75):
        t = round(horizon_days * q / unit) * unit
        if 0 < t < horizon_days and t not in out:
            out.append(float(t))
    return [*out, float(horizon_days)]


def _axis_title(label: str, time_unit: str) -> str:
    return f"{label} ({time_unit})"


def _levels(km: KMResult) -> list[str]:
    return [level_label(v) for v in km.levels]


def _color(levels: list[str], title: str | None, legend: bool = True) -> dict:
    scale_c = alt.Scale(domain=levels, range=OKABE_ITO[: len(levels)] or OKABE_ITO[:1])
    scale_d = alt.Scale(domain=levels, range=DASHES[: len(levels)])
    lg = (
        alt.Legend(
            title=title,
            orient="top",
            labelFontSize=FONT_SIZE,
            titleFontSize=FONT_SIZE,
            symbolType="stroke",
            symbolStrokeWidth=3,
            symbolSize=500,
        )
        if legend
        else None
    )
    return {
        "fill": alt.Fill("group_label:N", scale=scale_c, sort=levels, legend=None),
        "color": alt.Color("group_label:N", scale=scale_c, sort=levels, legend=lg),
        "strokeDash": alt.StrokeDash("group_label:N", scale=scale_d, sort=levels, legend=lg),
    }


def curve_data(km: KMResult, time_unit: str = "days", horizon: float | None = None) -> pd.DataFrame:
    """KM table cut at ``horizon`` (days), with a carried-forward point at the horizon.

    Adds ``t`` (time in ``time_unit``), ``group_label`` (str) and CI columns filled for drawing
    (S = 1 or 0 rows, where R's CI is undefined, get a zero-width band).
    """
    sc = _scale(time_unit)
    tab = km.table.copy()
    tab["group_label"] = tab["group"].map(level_label)
    if horizon is not None:
        parts = []
        for _, sub in tab.groupby("group_label", sort=False):
            inside = sub[sub["time"] <= horizon]
            if sub["time"].max() > horizon and len(inside):
                last = inside.iloc[[-1]].copy()
                last["time"] = float(horizon)
                last[["n_event", "n_censor"]] = 0
                later = sub[sub["time"] > horizon]
                last["n_risk"] = int(later["n_risk"].iloc[0])  # still at risk just after
                inside = pd.concat([inside, last])
            parts.append(inside)
        tab = pd.concat(parts, ignore_index=True)
    tab["t"] = tab["time"] * sc
    for col in ("lower", "upper"):
        tab[col + "_band"] = tab[col].where(tab[col].notna(), tab["survival"])
    return tab


def km_chart(
    km_result: KMResult,
    time_unit: str = "days",
    horizon: float | None = None,
    show_ci: bool = True,
    show_censor: bool = True,
    landmarks: tuple | list = (),
    *,
    width: int | str = WIDTH,
    height: int = HEIGHT,
    x_label: str = "Time since ICU admission",
    y_title: str = "Survival probability",
    group_title: str | None = None,
    axis_extent: int | None = None,
) -> alt.LayerChart:
    """Kaplan-Meier curves as an Altair layer chart.

    Parameters
    ----------
    km_result : KMResult
        From :func:`core.stats.survival.kaplan_meier` (times in days).
    time_unit : {"days", "months"}
        Display unit of the x axis (months = days / 30.4375).
    horizon : float, optional
        Last day shown (x axis domain [0, horizon]); curves are carried to it.
    show_ci, show_censor : bool
        95% CI bands (step-after areas); censor ticks ("|") at censoring times.
    landmarks : sequence of float
        Days at which a dashed vertical rule is drawn.
    axis_extent : int, optional
        Fixed width (px) of the y axis' ticks and labels, so that a risk table drawn as a
        separate chart of the same width (:func:`km_screen`) has its columns under the ticks.
    """
    sc = _scale(time_unit)
    data = curve_data(km_result, time_unit, horizon)
    levels = _levels(km_result)
    enc = _color(levels, group_title if group_title is not None else km_result.group)
    x_max = (horizon if horizon is not None else float(km_result.table["time"].max())) * sc
    x = _time_x(time_unit, x_label, x_max, sc, grid=True)
    y = alt.Y(
        "survival:Q",
        title=y_title,
        scale=alt.Scale(domain=[0, Y_TOP]),  # headroom: S = 1 lines and landmark labels
        axis=alt.Axis(
            format="%",
            labelFontSize=FONT_SIZE,
            titleFontSize=FONT_SIZE,
            values=[0, 0.25, 0.5, 0.75, 1],
            **_extent(axis_extent),
        ),
    )
    base = alt.Chart(data)
    layers = []
    if show_ci:
        layers.append(
            base.mark_area(interpolate="step-after", opacity=0.15).encode(
                x=x, y=alt.Y("lower_band:Q"), y2="upper_band:Q", fill=enc["fill"]
            )
        )
    layers.append(
        base.mark_line(interpolate="step-after", strokeWidth=2.5).encode(
            x=x, y=y, color=enc["color"], strokeDash=enc["strokeDash"]
        )
    )
    if show_censor:
        cens = data[(data["n_censor"] > 0)]
        layers.append(
            alt.Chart(cens)
            .mark_tick(orient="vertical", size=10, thickness=1.5)
            .encode(x=x, y=y, color=enc["color"])
        )
    for lm in landmarks or ():
        if horizon is not None and lm > horizon:
            continue
        label = f"day {lm:g}" if time_unit == "days" else f"{round(lm * sc, 1):g} mo"
        rule = pd.DataFrame({"t": [lm * sc], "label": [label]})
        layers.append(
            alt.Chart(rule)
            .mark_rule(strokeDash=[4, 4], color="#555555")
            .encode(x=alt.X("t:Q", scale=alt.Scale(domain=[0, x_max], nice=False)))
        )
        layers.append(
            alt.Chart(rule)
            .mark_text(align="left", baseline="top", dx=4, fontSize=FONT_SIZE - 1, color="#333333")
            .encode(x=alt.X("t:Q"), y=alt.value(1), text="label:N")
        )
    nearest = alt.selection_point(
        nearest=True, on="pointerover", fields=["t", "group_label"], empty=False, clear="pointerout"
    )
    unit_fmt = ".0f" if time_unit == "days" else ".1f"
    tooltip = [
        alt.Tooltip("group_label:N", title=group_title or km_result.group or "Group"),
        alt.Tooltip("t:Q", title=f"Time ({time_unit})", format=unit_fmt),
        alt.Tooltip("survival:Q", title="S(t)", format=".3f"),
        alt.Tooltip("lower:Q", title="95% CI lower", format=".3f"),
        alt.Tooltip("upper:Q", title="95% CI upper", format=".3f"),
        alt.Tooltip("n_risk:Q", title="At risk"),
        alt.Tooltip("n_event:Q", title="Events at t"),
        alt.Tooltip("n_censor:Q", title="Censored at t"),
    ]
    layers.append(
        base.mark_point(size=80, filled=True)
        .encode(
            x=x,
            y=y,
            color=enc["color"],
            opacity=alt.when(nearest).then(alt.value(1)).otherwise(alt.value(0)),
            tooltip=tooltip,
        )
        .add_params(nearest)
    )
    # the CI fill has no legend of its own: one legend (colour + dash) from the curves
    return (
        alt.layer(*layers).resolve_legend(fill="independent").properties(width=width, height=height)
    )


def _numeric(level) -> bool:
    """A level that names nothing on its own ("2"): it is shown after its group's title."""
    return isinstance(level, int | float | np.integer | np.floating) and not isinstance(level, bool)


def _row_prefix(km_result: KMResult, title: str | None) -> dict:
    """Row label per level: numeric levels get a short group title ("sofa 2"), others not.

    Titles longer than 12 characters are left out (they are in the table title and legend).
    """
    title = title if title is not None else km_result.group
    out = {}
    for v in km_result.levels:
        lab = level_label(v)
        out[lab] = f"{title} {lab}" if _numeric(v) and title and len(title) <= 12 else lab
    return out


def plot_width(
    km_result: KMResult, total: int = 740, group_title: str | None = None, min_width: int = 360
) -> int:
    """Plot-area width so that the KM figure (risk-table row labels included) is ~``total`` px.

    The risk table's row labels ("<level> · Censored") sit left of the shared plot area; their
    width is estimated at 6.5 px per character (12-px sans-serif) plus axis padding.
    """
    prefix = _row_prefix(km_result, group_title)
    longest = max((len(f"{p} · Censored") for p in prefix.values()), default=10)
    return max(min_width, int(total - 6.5 * longest - 40))


def risk_table_data(
    km_result: KMResult,
    ticks: list[float],
    time_unit: str = "days",
    group_title: str | None = None,
) -> pd.DataFrame:
    """Long table for :func:`risk_table_chart`: group, metric, t (display unit), value, row."""
    sc = _scale(time_unit)
    nar = n_at_risk(km_result, ticks)
    long = nar.melt(
        id_vars=["group", "time"],
        value_vars=["at_risk", "events", "censored"],
        var_name="metric",
        value_name="value",
    )
    names = {"at_risk": "At risk", "events": "Events", "censored": "Censored"}
    long["group_label"] = long["group"].map(level_label)
    long["metric_label"] = long["metric"].map(names)
    prefix = _row_prefix(km_result, group_title)
    long["row"] = long["group_label"].map(prefix) + " · " + long["metric_label"]
    long["t"] = long["time"] * sc
    return long


def risk_table_chart(
    km_result: KMResult,
    ticks: list[float] | None = None,
    time_unit: str = "days",
    horizon: float | None = None,
    *,
    width: int | str = WIDTH,
    metrics: tuple = ("at_risk", "events", "censored"),
    group_title: str | None = None,
    x_label: str = "Time since ICU admission",
) -> alt.Chart:
    """KMunicate number-at-risk table (Morris et al. 2019) on the KM chart's x scale.

    One text row per group and metric (at risk / cumulative events / cumulative censored) at the
    tick times (days); the group's colour *and* its name label each row.
    """
    sc = _scale(time_unit)
    if horizon is None:
        horizon = float(km_result.table["time"].max())
    if ticks is None:
        ticks = time_ticks(horizon, time_unit)
    title_g = group_title if group_title is not None else km_result.group
    long = risk_table_data(km_result, ticks, time_unit, group_title)
    long = long[long["metric"].isin(metrics)]
    levels = _levels(km_result)
    prefix = _row_prefix(km_result, group_title)
    order = [f"{prefix[g]} · {m}" for g in levels for m in long["metric_label"].unique()]
    # same legend definition as km_chart so that, stacked, the two merge into one legend
    enc = _color(levels, group_title if group_title is not None else km_result.group)
    return (
        alt.Chart(long)
        .mark_text(fontSize=FONT_SIZE)
        .encode(
            x=_risk_x(horizon * sc, [t * sc for t in ticks]),
            y=alt.Y(
                "row:N",
                sort=order,
                title=None,
                axis=alt.Axis(
                    labelFontSize=FONT_SIZE - 1,
                    ticks=False,
                    domain=False,
                    labelLimit=260,
                    labelPadding=18,
                ),
            ),
            text=alt.Text("value:Q", format="d"),
            color=enc["color"],
        )
        .properties(
            width=width,
            height=18 * len(order) + 8,
            title=alt.TitleParams(
                "Number at risk / cumulative events / censored"
                + (f" by {title_g}" if title_g else "")
                + f" ({time_unit})",
                fontSize=FONT_SIZE,
                anchor="start",
                fontWeight="normal",
            ),
        )
    )


def _risk_x(x_max: float, values: list[float]) -> alt.X:
    """The risk table's x: the KM chart's scale, with no axis drawn (the chart above has it)."""
    return alt.X(
        "t:Q",
        scale=alt.Scale(domain=[0, x_max], nice=False),
        axis=alt.Axis(
            values=values, labels=False, ticks=False, domain=False, grid=False, title=None
        ),
    )


def _extent(px: int | None) -> dict:
    return {} if px is None else {"minExtent": px, "maxExtent": px}


SCREEN_EXTENT = 76  # px: y-axis labels of the on-screen KM chart and of its risk table
SCREEN_LABELS = {"at_risk": "At risk", "events": "Events", "censored": "Censored"}


def risk_table_screen(
    km_result: KMResult,
    ticks: list[float],
    time_unit: str,
    horizon: float,
    *,
    y_title: str,
    group_title: str | None = None,
) -> alt.LayerChart:
    """The risk table for a screen of any width: :func:`risk_table_chart`'s numbers, laid out
    so that the row labels stay short.

    Each group gets a header line (its name, in its colour) above its three rows, which are
    labelled "At risk" / "Events" / "Censored" only, so the label column is
    :data:`SCREEN_EXTENT` px whatever the group names. The chart is ``width="container"``
    and its y axis is exactly as wide as :func:`km_chart`'s with ``axis_extent=SCREEN_EXTENT``;
    the KM chart's axis title is repeated, invisible, so that both plot areas start at the
    same x and the numbers sit under the ticks. (Vega-Lite sizes a single or layered view to
    its container, never a concatenation: the stacked :func:`km_figure` keeps a fixed width
    and remains the exported figure.)
    """
    sc = _scale(time_unit)
    long = risk_table_data(km_result, ticks, time_unit, group_title)
    levels = _levels(km_result)
    title_g = group_title if group_title is not None else km_result.group
    names = [  # a bare "0" header names nothing: "ECOG performance status 0"
        f"{title_g} {level_label(v)}" if _numeric(v) and title_g else level_label(v)
        for v in km_result.levels
    ]
    long["row"] = long["group_label"] + " · " + long["metric_label"]
    heads = pd.DataFrame({"group_label": levels, "row": levels, "label": names})
    heads["t"] = 0.0
    order = [r for g in levels for r in (g, *(f"{g} · {m}" for m in SCREEN_LABELS.values()))]
    enc = _color(levels, None, legend=False)
    y = alt.Y(
        "row:N",
        sort=order,
        scale=alt.Scale(domain=order),
        axis=alt.Axis(
            title=y_title,  # invisible: the same width as the KM chart's axis title
            titleOpacity=0,
            titleFontSize=FONT_SIZE,
            labelFontSize=FONT_SIZE - 1,
            # the metric only ("Disease progression · Events" -> "Events"); headers blank
            labelExpr="indexof(datum.label, ' · ') < 0 ? '' : peek(split(datum.label, ' · '))",
            ticks=False,
            domain=False,
            labelLimit=SCREEN_EXTENT - 16,
            labelPadding=16,  # clear of the numbers at time 0, centred on the axis
            **_extent(SCREEN_EXTENT),
        ),
    )
    x = _risk_x(horizon * sc, [t * sc for t in ticks])
    numbers = (
        alt.Chart(long)
        .mark_text(fontSize=FONT_SIZE)
        .encode(x=x, y=y, text=alt.Text("value:Q", format="d"), color=enc["color"])
    )
    headers = (
        alt.Chart(heads)
        .mark_text(fontSize=FONT_SIZE, align="left", fontWeight="bold", dx=-4)
        .encode(x=x, y=y, text="label:N", color=enc["color"])
    )
    return alt.layer(headers, numbers).properties(
        width="container",
        height=18 * len(order) + 8,
        title=alt.TitleParams(
            "At risk / cumulative events / censored" + (f" by {title_g}" if title_g else ""),
            fontSize=FONT_SIZE,
            anchor="start",
            fontWeight="normal",
            limit=alt.ExprRef("width"),
        ),
    )


def km_screen(
    km_result: KMResult,
    time_unit: str,
    horizon: float,
    show_ci: bool = True,
    show_censor: bool = True,
    landmarks: tuple | list = (),
    *,
    height: int = HEIGHT,
    y_title: str = "Survival probability",
    group_title: str | None = None,
    title: str | None = None,
) -> list[alt.LayerChart]:
    """:func:`km_figure` for the screen: the curves and the risk table as two charts that each
    fill their container (a phone's 360 px as a 1920-px screen), plot areas aligned."""
    ticks = time_ticks(horizon, time_unit)
    top = km_chart(
        km_result, time_unit, horizon, show_ci, show_censor, landmarks,
        width="container", height=height, y_title=y_title, group_title=group_title,
        axis_extent=SCREEN_EXTENT,
    )  # fmt: skip
    if title:
        top = top.properties(
            title=alt.TitleParams(
                title, fontSize=FONT_SIZE + 3, anchor="start", limit=alt.ExprRef("width")
            )
        )
    bottom = risk_table_screen(
        km_result, ticks, time_unit, horizon, y_title=y_title, group_title=group_title
    )
    return [top.configure_view(stroke=None), bottom.configure_view(stroke=None)]


def km_figure(
    km_result: KMResult,
    time_unit: str = "days",
    horizon: float | None = None,
    show_ci: bool = True,
    show_censor: bool = True,
    landmarks: tuple | list = (),
    *,
    width: int | str = WIDTH,
    height: int = HEIGHT,
    y_title: str = "Survival probability",
    group_title: str | None = None,
    title: str | None = None,
) -> alt.VConcatChart:
    """KM curves with the KMunicate risk table aligned underneath."""
    if horizon is None:
        horizon = float(km_result.table["time"].max())
    ticks = time_ticks(horizon, time_unit)
    top = km_chart(
        km_result,
        time_unit,
        horizon,
        show_ci,
        show_censor,
        landmarks,
        width=width,
        height=height,
        y_title=y_title,
        group_title=group_title,
    )
    bottom = risk_table_chart(
        km_result, ticks, time_unit, horizon, width=width, group_title=group_title
    )
    fig = alt.vconcat(top, bottom, spacing=12)
    if title:
        fig = fig.properties(title=alt.TitleParams(title, fontSize=FONT_SIZE + 3, anchor="start"))
    return fig.configure_view(stroke=None)


def _time_x(time_unit: str, x_label: str, x_max: float, sc: float, **axis) -> alt.X:
    """Time axis from 0 to ``x_max`` (display unit) with the ticks of :func:`time_ticks`."""
    ticks = [t * sc for t in time_ticks(x_max / sc, time_unit)] if x_max > 0 else None
    return alt.X(
        "t:Q",
        title=_axis_title(x_label, time_unit),
        scale=alt.Scale(domain=[0, x_max], nice=False),
        axis=alt.Axis(
            values=ticks,
            format="d" if time_unit == "days" else ".0f",
            labelFontSize=FONT_SIZE,
            titleFontSize=FONT_SIZE,
            **axis,
        ),
    )
