"""Altair builders for competing risks: Aalen-Johansen cumulative incidence (pure: no streamlit).

* :func:`cif_chart` - progression and death without progression: stacked areas, or step
  curves with optional 95% CI bands, one panel per group.
* :func:`cif_curve_data` / :func:`cif_ci_data` - the long tables the chart draws.

Inputs are results of :func:`core.stats.survival.cumulative_incidence` (times in days); the
palette, sizes and time axis are the Kaplan-Meier charts' (:mod:`core.charts.survival`).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.charts.survival import FONT_SIZE, OKABE_ITO, WIDTH, _scale, _time_x
from core.tables.survival import level_label

CIF_STATES = {"progression": "Progression", "death": "Death without progression"}
CIF_COLORS = [OKABE_ITO[4], OKABE_ITO[5]]  # orange, sky blue (both views)
CIF_DASHES = [[1, 0], [6, 3]]  # progression solid, death without progression dashed


def cif_ci_data(
    cif: pd.DataFrame, time_unit: str = "days", horizon: float | None = None
) -> pd.DataFrame:
    """Long table of both cumulative incidences with their 95% CIs, one row per state and step.

    From :func:`core.stats.survival.cumulative_incidence` (with its se / lower / upper columns), cut
    and carried to ``horizon`` as :func:`cif_curve_data`.  Columns: group_label, t (display
    unit), time (days), n_risk, state ("progression" / "death"), state_label, cif, se, lower,
    upper (R's limits; NaN where F = 0), and lower_band / upper_band (the limits, or the
    estimate where they are undefined: a zero-width band).
    """
    sc = _scale(time_unit)
    data = cif_curve_data(cif, horizon)
    data["t"] = data["time"] * sc
    data["group_label"] = data["group"].map(level_label)
    parts = []
    for state, label in CIF_STATES.items():
        part = data[["group_label", "t", "time", "n_risk"]].copy()
        part["state"] = state
        part["state_label"] = label
        part["cif"] = data[f"cif_{state}"]
        for col in ("se", "lower", "upper"):
            name = f"{col}_{state}"
            part[col] = data[name] if name in data else np.nan
        part["lower_band"] = part["lower"].where(part["lower"].notna(), part["cif"])
        part["upper_band"] = part["upper"].where(part["upper"].notna(), part["cif"])
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _cif_legend(size: int = 400) -> alt.Legend:
    return alt.Legend(
        title=None,
        orient="top",
        labelFontSize=FONT_SIZE,
        symbolType="stroke",
        symbolStrokeWidth=3,
        symbolSize=size,
    )


def _cif_facet(chart, data: pd.DataFrame, width, height: int, group_title, columns: int):
    """One panel per group (rows of ``columns``) when there are several groups."""
    n = data["group_label"].nunique()
    if n <= 1:
        return chart
    per_row = min(n, columns)
    w = max(180, width // per_row - 70) if isinstance(width, int) else width
    return chart.properties(width=w, height=min(height, 240)).facet(
        facet=alt.Facet(
            "group_label:N",
            title=group_title,
            sort=list(dict.fromkeys(data["group_label"])),
            header=alt.Header(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE),
        ),
        columns=per_row,
    )


def _cif_curves(
    cif: pd.DataFrame,
    time_unit: str,
    horizon: float | None,
    show_ci: bool,
    width,
    height: int,
    x_label: str,
    group_title: str | None,
    columns: int,
):
    """Unstacked view: one step line per state (dash + colour), optional 95% CI bands."""
    sc = _scale(time_unit)
    data = cif_ci_data(cif, time_unit, horizon)
    x_max = (horizon if horizon is not None else float(cif["time"].max())) * sc
    x = _time_x(time_unit, x_label, x_max, sc)
    labels = list(CIF_STATES.values())
    legend = _cif_legend()
    y = alt.Y(
        "cif:Q",
        title="Cumulative incidence",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format="%", labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE),
    )
    color = alt.Color(
        "state_label:N", scale=alt.Scale(domain=labels, range=CIF_COLORS), legend=legend
    )
    base = alt.Chart()
    layers = []
    if show_ci:
        layers.append(
            base.mark_area(interpolate="step-after", opacity=0.18).encode(
                x=x,
                y=alt.Y("lower_band:Q"),
                y2="upper_band:Q",
                fill=alt.Fill(
                    "state_label:N",
                    scale=alt.Scale(domain=labels, range=CIF_COLORS),
                    legend=None,
                ),
            )
        )
    layers.append(
        base.mark_line(interpolate="step-after", strokeWidth=2.5).encode(
            x=x,
            y=y,
            color=color,
            # the dash tells the two event types apart without colour
            strokeDash=alt.StrokeDash(
                "state_label:N", scale=alt.Scale(domain=labels, range=CIF_DASHES), legend=legend
            ),
        )
    )
    nearest = alt.selection_point(
        nearest=True,
        on="pointerover",
        fields=["t", "state_label"],
        empty=False,
        clear="pointerout",
    )
    layers.append(
        base.mark_point(size=70, filled=True)
        .encode(
            x=x,
            y=y,
            color=alt.Color("state_label:N", scale=alt.Scale(domain=labels, range=CIF_COLORS)),
            opacity=alt.when(nearest).then(alt.value(1)).otherwise(alt.value(0)),
            tooltip=[
                alt.Tooltip("group_label:N", title="Group"),
                alt.Tooltip("state_label:N", title="Event"),
                alt.Tooltip("t:Q", title=f"Time ({time_unit})", format=".1f"),
                alt.Tooltip("cif:Q", title="Cumulative incidence", format=".3f"),
                alt.Tooltip("lower:Q", title="95% CI lower", format=".3f"),
                alt.Tooltip("upper:Q", title="95% CI upper", format=".3f"),
                alt.Tooltip("n_risk:Q", title="At risk"),
            ],
        )
        .add_params(nearest)
    )
    chart = alt.layer(*layers, data=data).resolve_legend(fill="independent")
    chart = chart.properties(width=width, height=height)
    return _cif_facet(chart, data, width, height, group_title, columns)


def cif_chart(
    cif: pd.DataFrame,
    time_unit: str = "days",
    horizon: float | None = None,
    *,
    width: int | str = WIDTH,
    height: int = 320,
    x_label: str = "Time since ICU admission",
    group_title: str | None = None,
    columns: int = 2,
    stacked: bool = True,
    show_ci: bool = False,
) -> alt.Chart | alt.LayerChart | alt.FacetChart:
    """Aalen-Johansen cumulative incidence from :func:`core.stats.survival.cumulative_incidence`.

    ``stacked=True`` (default): stacked areas.  Bottom band: progression (solid outline); top
    band: death without progression (dashed outline); the remainder up to 1 is alive without
    progression.  ``stacked=False``: the two incidences as separate step curves from 0
    (progression solid, death without progression dashed, Okabe-Ito colours), with their 95%
    pointwise CIs as shaded step bands when ``show_ci`` (R's ``lower`` / ``upper`` of
    ``survfit``, see :func:`core.stats.survival.cumulative_incidence`).  Bands cannot be read on
    stacked areas, so ``show_ci`` needs ``stacked=False``.  Each group's steps are carried to
    the horizon (see :func:`cif_curve_data`).  Several groups: one panel per group, wrapped in
    rows of ``columns`` panels of width ``width / columns``.

    Raises
    ------
    ValueError
        ``show_ci=True`` with ``stacked=True``; an unknown ``time_unit``.
    """
    if stacked and show_ci:
        raise ValueError("show_ci=True needs stacked=False (CI bands on stacked areas mislead)")
    if not stacked:
        return _cif_curves(
            cif, time_unit, horizon, show_ci, width, height, x_label, group_title, columns
        )
    sc = _scale(time_unit)
    data = cif_curve_data(cif, horizon)
    data["t"] = data["time"] * sc
    data["group_label"] = data["group"].map(level_label)
    states = {"cif_progression": "Progression", "cif_death": "Death without progression"}
    data["p_progression"] = data["cif_progression"]
    data["p_death"] = data["cif_death"]
    long = data.melt(
        id_vars=["group_label", "t", "n_risk", "event_free", "p_progression", "p_death"],
        value_vars=list(states),
        var_name="state",
        value_name="cif",
    )
    long["state_label"] = long["state"].map(states)
    long["order"] = long["state"].map({"cif_progression": 0, "cif_death": 1})
    x_max = (horizon if horizon is not None else float(cif["time"].max())) * sc
    legend = _cif_legend()
    chart = (
        alt.Chart(long)
        .mark_area(interpolate="step-after", opacity=0.7, line={"strokeWidth": 2})
        .encode(
            x=_time_x(time_unit, x_label, x_max, sc),
            y=alt.Y(
                "cif:Q",
                stack="zero",
                title="Cumulative incidence",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%", labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE),
            ),
            color=alt.Color(
                "state_label:N",
                scale=alt.Scale(domain=list(states.values()), range=CIF_COLORS),
                legend=legend,
            ),
            # the outline's dash tells the two event types apart without colour
            strokeDash=alt.StrokeDash(
                "state_label:N",
                scale=alt.Scale(domain=list(states.values()), range=CIF_DASHES),
                legend=legend,
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("group_label:N", title="Group"),
                alt.Tooltip("t:Q", title=f"Time ({time_unit})", format=".1f"),
                alt.Tooltip("p_progression:Q", title="Progression", format=".3f"),
                alt.Tooltip("p_death:Q", title="Death w/o progression", format=".3f"),
                alt.Tooltip("event_free:Q", title="Alive, no progression", format=".3f"),
                alt.Tooltip("n_risk:Q", title="At risk"),
            ],
        )
        .properties(width=width, height=height)
    )
    return _cif_facet(chart, data, width, height, group_title, columns)


def cif_curve_data(cif: pd.DataFrame, horizon: float | None = None) -> pd.DataFrame:
    """Cumulative-incidence steps cut at ``horizon`` (days) and carried forward to it.

    A group's last estimate is repeated at the horizon when its follow-up reaches it *or* when
    nobody is left event-free (every patient had an event, e.g. all progressed on day 1: the
    incidences are final).  Otherwise the steps stop at the group's last follow-up, as R's
    ``plot(survfit(...))``.  Without a horizon, the latest follow-up of any group is used.
    """
    end = float(cif["time"].max()) if horizon is None else float(horizon)
    parts = []
    for _, sub in cif.groupby("group", sort=False):
        inside = sub[sub["time"] <= end]
        last = inside.iloc[[-1]].copy()
        final = sub["event_free"].iloc[-1] <= 0
        if last["time"].iloc[0] < end and (sub["time"].max() > end or final):
            last["time"] = end
            later = sub.loc[sub["time"] > end, "n_risk"]
            last["n_risk"] = int(later.iloc[0]) if len(later) else 0  # at risk just after
            inside = pd.concat([inside, last])
        parts.append(inside)
    return pd.concat(parts, ignore_index=True)
