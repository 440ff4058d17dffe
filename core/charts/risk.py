"""Icon array of 100 patients for the calculator (pure: no streamlit).

Alive and died differ by shape (circle / cross) and by colour; the icons inside the plausible
range are drawn open (unfilled), so the uncertainty reads without colour too.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from core.charts.survival import FONT_SIZE, OKABE_ITO
from core.study.risk import ICON_STATES

__all__ = ["icon_array"]

_SHAPES = ["circle", "circle", "cross", "cross"]
_COLOURS = [OKABE_ITO[2], OKABE_ITO[2], "#444444", "#444444"]
_FILLS = [OKABE_ITO[2], "#ffffff", "#ffffff", "#444444"]  # open (white) inside the band


def icon_array(
    icons: pd.DataFrame, title: str, *, subtitle: str | None = None, size: int = 210
) -> alt.Chart:
    """10 x 10 icons of one profile (``core.study.risk.AbsoluteRisk.icons``), with a legend
    naming each state (shape, outline and fill of the same field: one merged legend)."""
    domain = list(ICON_STATES)
    # a long label is cut with an ellipsis at the plot's width (whole in the sentence and the
    # accessible name); the subtitle (the day) always shows
    heading = alt.Title(title, fontSize=FONT_SIZE + 1, limit=size, subtitleFontSize=FONT_SIZE,
                        **({"subtitle": subtitle} if subtitle else {}))  # fmt: skip
    legend = alt.Legend(
        title=None, orient="bottom", direction="vertical", columns=1, labelFontSize=FONT_SIZE,
        labelLimit=0, symbolSize=size // 2, symbolStrokeWidth=2,
    )  # fmt: skip
    return (
        alt.Chart(icons)
        .mark_point(size=size // 2, strokeWidth=2, opacity=1)
        .encode(
            x=alt.X("col:O", axis=None),
            y=alt.Y("row:O", axis=None),
            shape=alt.Shape(
                "state:N", scale=alt.Scale(domain=domain, range=_SHAPES), legend=legend
            ),
            color=alt.Color(
                "state:N", scale=alt.Scale(domain=domain, range=_COLOURS), legend=legend
            ),
            fill=alt.Fill("state:N", scale=alt.Scale(domain=domain, range=_FILLS), legend=legend),
            tooltip=[alt.Tooltip("state:N", title="")],
        )
        .properties(width=size, height=size, title=heading)
        # the 10 x 10 plot keeps its size; title and legend are added around it (Streamlit's
        # default "fit" would squeeze the rows together to make room for the legend)
        .properties(autosize=alt.AutoSizeParams(type="pad", contains="padding"))
    )


def factor_chart(factors: pd.DataFrame, reference: str, *, width: int | str = 520) -> alt.Chart:
    """Each factor of the relative hazard (log axis) with its 95% CI, one row per profile and
    term (``core.study.risk.factor_table``)."""
    d = factors.assign(
        text=factors.apply(
            lambda r: f"{r['profile'][:30]} · {r['label']}: {r['value']:g} vs {r['reference']:g}",
            axis=1,
        )
    )
    x_title = f"Factor of the hazard vs {reference[:30]} (log scale)"
    x = alt.X("factor:Q", scale=alt.Scale(type="log"), title=x_title)
    y = alt.Y("text:N", title=None, sort=None,
              axis=alt.Axis(labelLimit=360, labelFontSize=FONT_SIZE))  # fmt: skip
    rule = alt.Chart(d).mark_rule(strokeWidth=2, color=OKABE_ITO[0]).encode(x=x, x2="upper:Q", y=y)
    rule = rule.encode(x=alt.X("lower:Q", scale=alt.Scale(type="log"), title=x_title))
    pts = alt.Chart(d).mark_point(filled=True, size=90, shape="square", color=OKABE_ITO[0])
    pts = pts.encode(
        x=x,
        y=y,
        tooltip=[
            alt.Tooltip("profile:N"),
            alt.Tooltip("label:N", title="Term"),
            alt.Tooltip("factor:Q", format=".2f"),
            alt.Tooltip("lower:Q", format=".2f", title="95% CI low"),
            alt.Tooltip("upper:Q", format=".2f", title="95% CI high"),
        ],
    )
    one = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    return alt.layer(one, rule, pts).properties(width=width, height=max(60, 28 * len(d)))
