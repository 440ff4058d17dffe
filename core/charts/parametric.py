"""Kaplan-Meier with parametric fits overlaid (pure: no streamlit)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from core.charts.survival import FONT_SIZE, OKABE_ITO, _scale, curve_data
from core.stats.parametric import LABELS, ParametricFit
from core.stats.survival import KMResult

__all__ = ["parametric_chart"]


def parametric_chart(
    km: KMResult, fits: list[ParametricFit], last_follow_up: float, time_unit: str = "days",
    *, width: int | str = 640, height: int = 340,
) -> alt.LayerChart:  # fmt: skip
    """The overall Kaplan-Meier step curve and each fitted S(t); beyond the last follow-up the
    fitted curves are dashed (extrapolation) and a rule marks where the data end."""
    sc = _scale(time_unit)
    kmd = curve_data(km, time_unit).assign(model="Kaplan-Meier")
    rows = []
    for f in fits:
        c = f.curve.assign(model=LABELS[f.distribution], t=f.curve["time"] * sc)
        c["part"] = (c["time"] > last_follow_up).map({False: "observed", True: "extrapolated"})
        rows.append(c)
    fitted = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    domain = ["Kaplan-Meier", *[LABELS[f.distribution] for f in fits]]
    colour = alt.Color(
        "model:N",
        scale=alt.Scale(domain=domain, range=["#222222", *OKABE_ITO[: len(fits)]]),
        legend=alt.Legend(title=None, orient="bottom", labelFontSize=FONT_SIZE),
    )
    x = alt.X("t:Q", title=f"Time since ICU admission ({time_unit})")
    y = alt.Y("surv:Q", title="Survival probability", scale=alt.Scale(domain=[0, 1]),
              axis=alt.Axis(format="%"))  # fmt: skip
    step = (
        alt.Chart(kmd)
        .mark_line(interpolate="step-after", strokeWidth=2.5)
        .encode(x=x, y=alt.Y("survival:Q", scale=alt.Scale(domain=[0, 1])), color=colour)
    )
    layers = [step]
    if len(fitted):
        layers.append(
            alt.Chart(fitted)
            .mark_line(strokeWidth=2)
            .encode(
                x=x,
                y=y,
                color=colour,
                detail="part:N",
                strokeDash=alt.StrokeDash(
                    "part:N",
                    scale=alt.Scale(domain=["observed", "extrapolated"], range=[[1, 0], [6, 4]]),
                    legend=alt.Legend(title=None, orient="bottom"),
                ),
                tooltip=[
                    "model:N",
                    alt.Tooltip("t:Q", format=".0f", title=time_unit),
                    alt.Tooltip("surv:Q", format=".1%"),
                ],
            )
        )
    rule = (
        alt.Chart(pd.DataFrame({"t": [last_follow_up * sc]}))
        .mark_rule(color="#888888", strokeDash=[2, 2])
        .encode(x="t:Q")
    )
    layers.append(rule)
    return alt.layer(*layers).properties(width=width, height=height)
