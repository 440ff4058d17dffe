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
_FILLED = [True, False, False, True]


def icon_array(icons: pd.DataFrame, title: str, *, size: int = 210) -> alt.Chart:
    """10 x 10 icons of one profile (``core.study.risk.AbsoluteRisk.icons``)."""
    d = icons.assign(filled=icons["state"].map(dict(zip(ICON_STATES, _FILLED, strict=True))))
    return (
        alt.Chart(d)
        .mark_point(size=size // 2, strokeWidth=2)
        .encode(
            x=alt.X("col:O", axis=None),
            y=alt.Y("row:O", axis=None),
            shape=alt.Shape(
                "state:N",
                scale=alt.Scale(domain=list(ICON_STATES), range=_SHAPES),
                legend=alt.Legend(
                    title=None, orient="bottom", columns=1, labelFontSize=FONT_SIZE, labelLimit=0
                ),
            ),
            color=alt.Color(
                "state:N", scale=alt.Scale(domain=list(ICON_STATES), range=_COLOURS), legend=None
            ),
            fill=alt.condition("datum.filled", alt.Color("state:N", legend=None), alt.value(None)),
            tooltip=[alt.Tooltip("state:N", title="")],
        )
        .properties(width=size, height=size, title=alt.Title(title, fontSize=FONT_SIZE + 1))
    )
