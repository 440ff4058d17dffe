"""Altair builders for the Cox model and calculator pages (pure: no streamlit).

* :func:`forest_chart` - hazard ratios with 95% CIs on a log x-axis; refitted and published
  estimates side by side (colour *and* marker shape differ).
* :func:`schoenfeld_chart` - scaled Schoenfeld residuals against (transformed) time, one
  panel per covariate, with a LOESS smooth and the constant-effect line (plot.cox.zph idea).
* :func:`calibration_chart` - predicted vs Kaplan-Meier observed survival at the horizon by
  risk group, with the observed 95% CI and the identity line.
* :func:`profile_curves_chart` - predicted S(t) step curves with 95% bands, up to 4 profiles.
* :func:`chart_png` / :func:`chart_svg` - static exports with vl-convert.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.charts import MAX_POINTS, point_sample
from core.charts.survival import DASHES, FONT_SIZE, OKABE_ITO

__all__ = [
    "calibration_chart",
    "chart_png",
    "chart_svg",
    "forest_chart",
    "forest_data",
    "profile_curves_chart",
    "schoenfeld_chart",
    "schoenfeld_panels",
]

HR_MIN, HR_MAX = 0.05, 50.0  # forest x-axis range; CIs beyond are clipped (and flagged)
SOURCE_REFIT = "Refitted (active cohort)"
SOURCE_PUBLISHED = "Published (paper)"


def forest_data(
    summary: pd.DataFrame,
    published: pd.DataFrame | None = None,
    labels: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Long table for :func:`forest_chart`.

    ``summary``: a :class:`core.stats.cox.fit.CoxResult` summary (covariate, hr, lower, upper, p).
    ``published``: covariate, hr, lower, upper (e.g. ``PublishedModel.table()``).
    Returns covariate, label, source, hr, lower, upper, p, lower_plot, upper_plot, clipped, text.
    """
    labels = labels or {}
    parts = []
    cols = ["covariate", "hr", "lower", "upper"]
    s = summary[[*cols, "p"]].copy()
    s["source"] = SOURCE_REFIT
    parts.append(s)
    if published is not None and len(published):
        pub = published[cols].copy()
        pub["p"] = np.nan
        pub["source"] = SOURCE_PUBLISHED
        parts.append(pub)
    out = pd.concat(parts, ignore_index=True)
    out["label"] = [labels.get(c, c) for c in out["covariate"]]
    with np.errstate(invalid="ignore"):
        out["lower_plot"] = out["lower"].clip(HR_MIN, HR_MAX)
        out["upper_plot"] = out["upper"].clip(HR_MIN, HR_MAX)
        out["hr_plot"] = out["hr"].clip(HR_MIN, HR_MAX)
    bad = ~np.isfinite(out[["hr", "lower", "upper"]]).all(axis=1)
    out["clipped"] = (
        (out["lower"] < HR_MIN) | (out["upper"] > HR_MAX) | (out["hr"] < HR_MIN) | bad
    ) | (out["hr"] > HR_MAX)

    def fmt(r):
        if not np.isfinite(r["hr"]):
            return "not estimable"
        txt = f"{r['hr']:.2f} [{r['lower']:.2f}-{r['upper']:.2f}]"
        return txt + (" (CI clipped)" if r["clipped"] else "")

    out["text"] = out.apply(fmt, axis=1)
    return out


def forest_chart(
    summary: pd.DataFrame,
    published: pd.DataFrame | None = None,
    labels: dict[str, str] | None = None,
    *,
    width: int | str = 640,
    step: int = 28,
    title: str | None = None,
) -> alt.Chart:
    """Forest plot: HR (point) and 95% CI (rule) per covariate, log x-axis, reference at 1.

    ``width="container"`` fits the plot to the page column (static exports need a number).
    """
    data = forest_data(summary, published, labels)
    order = list(dict.fromkeys(data["label"]))
    sources = [s for s in (SOURCE_REFIT, SOURCE_PUBLISHED) if s in set(data["source"])]
    colour = alt.Color(
        "source:N",
        scale=alt.Scale(domain=sources, range=[OKABE_ITO[0], OKABE_ITO[1]][: len(sources)]),
        legend=alt.Legend(title=None, orient="top", labelFontSize=FONT_SIZE),
    )
    shape = alt.Shape(
        "source:N",
        scale=alt.Scale(domain=sources, range=["circle", "diamond"][: len(sources)]),
        legend=None,
    )
    x_scale = alt.Scale(type="log", domain=[HR_MIN, HR_MAX], clamp=True)
    y = alt.Y(
        "label:N",
        sort=order,
        title=None,
        axis=alt.Axis(labelFontSize=FONT_SIZE, labelLimit=260),
    )
    y_off = alt.YOffset("source:N", sort=sources)
    tooltip = [
        alt.Tooltip("label:N", title="Covariate"),
        alt.Tooltip("source:N", title="Source"),
        alt.Tooltip("text:N", title="HR [95% CI]"),
        alt.Tooltip("p:Q", title="p (Wald)", format=".3g"),
    ]
    base = alt.Chart(data)
    rules = base.mark_rule(strokeWidth=2).encode(
        x=alt.X(
            "lower_plot:Q",
            scale=x_scale,
            title="Hazard ratio (95% CI, log scale)",
            axis=alt.Axis(
                values=[0.1, 0.25, 0.5, 1, 2, 4, 10, 25],
                labelFontSize=FONT_SIZE,
                titleFontSize=FONT_SIZE,
            ),
        ),
        x2="upper_plot:Q",
        y=y,
        yOffset=y_off,
        color=colour,
        tooltip=tooltip,
    )
    points = base.mark_point(size=110, filled=True, opacity=1).encode(
        x=alt.X("hr_plot:Q", scale=x_scale),
        y=y,
        yOffset=y_off,
        color=colour,
        shape=shape,
        tooltip=tooltip,
    )
    ref = (
        alt.Chart(pd.DataFrame({"x": [1.0]}))
        .mark_rule(color="#555555", strokeDash=[4, 4])
        .encode(x=alt.X("x:Q", scale=x_scale))
    )
    # height as a step per covariate band (a fixed pixel height collapses with yOffset in
    # Streamlit's renderer)
    chart = alt.layer(ref, rules, points).properties(width=width, height=alt.Step(step))
    if title:
        chart = chart.properties(
            title=alt.TitleParams(title, fontSize=FONT_SIZE + 2, anchor="start")
        )
    return chart


def schoenfeld_chart(
    residuals: pd.DataFrame,
    coefs: dict[str, float],
    *,
    x: str = "time",
    labels: dict[str, str] | None = None,
    columns: int = 2,
    width: int | str = 270,
    height: int = 200,
) -> alt.VConcatChart | alt.HConcatChart | alt.Chart:
    """Scaled Schoenfeld residuals (R ``cox.zph(fit)$y``) vs time, one panel per term.

    Points: residuals (their mean is the coefficient); orange line: LOESS smooth (a visual
    aid; R's ``plot.cox.zph`` draws a natural spline); dashed line: the fitted constant
    coefficient.  A smooth that wanders away from the dashed line suggests a time-varying
    effect (non-proportional hazards).
    """
    panels = schoenfeld_panels(residuals, coefs, x=x, labels=labels, width=width, height=height)
    rows = [alt.hconcat(*panels[i : i + columns]) for i in range(0, len(panels), columns)]
    return alt.vconcat(*rows) if len(rows) > 1 else rows[0]


def schoenfeld_panels(
    residuals: pd.DataFrame,
    coefs: dict[str, float],
    *,
    x: str = "time",
    labels: dict[str, str] | None = None,
    width: int | str = "container",
    height: int = 200,
) -> list[alt.LayerChart]:
    """One scaled-Schoenfeld panel per term (see :func:`schoenfeld_chart`).

    With ``width="container"`` each panel fits the page column it is drawn in, so a page can
    lay the panels out in as many columns as fit (nothing is clipped at narrow widths).
    """
    labels = labels or {}
    terms = [c for c in residuals.columns if c not in ("time", "x")]
    x_title = "Days since ICU admission" if x == "time" else "1 - KM(t) (cox.zph 'km' scale)"
    panels = []
    for term in terms:
        d = residuals[[x, term]].rename(columns={x: "t", term: "r"}).dropna()
        title = labels.get(term, term)
        if len(d) > MAX_POINTS:  # the test uses every event; the panel draws a seeded sample
            title = f"{title} ({MAX_POINTS:,} of {len(d):,} events drawn)"
            d = point_sample(d)
        base = alt.Chart(d)
        pts = base.mark_circle(size=40, opacity=0.6, color=OKABE_ITO[0]).encode(
            x=alt.X("t:Q", title=x_title, axis=alt.Axis(tickCount=5)),
            y=alt.Y("r:Q", title="beta(t)"),
            tooltip=[
                alt.Tooltip("t:Q", title="time", format=".3g"),
                alt.Tooltip("r:Q", format=".3f"),
            ],
        )
        layers = [pts]
        if len(d) >= 5 and d["t"].nunique() >= 3:
            smooth = (
                base.transform_loess("t", "r", bandwidth=0.6)
                .mark_line(color=OKABE_ITO[1], strokeWidth=2.5)
                .encode(x="t:Q", y="r:Q")
            )
            layers.append(smooth)
        coef = coefs.get(term)
        if coef is not None and np.isfinite(coef):
            layers.append(
                alt.Chart(pd.DataFrame({"c": [coef]}))
                .mark_rule(color="#333333", strokeDash=[5, 4])
                .encode(y="c:Q")
            )
        panels.append(
            alt.layer(*layers).properties(width=width, height=height, title=_title_lines(title))
        )
    return panels


def _title_lines(label: str, width: int = 28) -> str | list[str]:
    """A long panel title on two lines, broken before its parenthesis (else Vega clips it)."""
    head, sep, tail = label.partition(" (")
    return [head, f"({tail}"] if len(label) > width and sep else label


def calibration_chart(
    table: pd.DataFrame, horizon: float, *, width: int | str = 380, height: int | None = None
) -> alt.Chart:
    """Predicted (x) vs observed KM survival (y) at ``horizon`` days, per risk group."""
    d = table[np.isfinite(table["observed"])].copy()
    legend_orient = "right" if isinstance(width, int) else "bottom"  # container: keep the plot wide
    axis = alt.Axis(
        format="%",
        values=[0, 0.25, 0.5, 0.75, 1],
        labelFontSize=FONT_SIZE,
        titleFontSize=FONT_SIZE,
    )
    sc = alt.Scale(domain=[0, 1])
    diag = (
        alt.Chart(pd.DataFrame({"a": [0.0, 1.0], "b": [0.0, 1.0]}))
        .mark_line(color="#888888", strokeDash=[4, 4])
        .encode(x=alt.X("a:Q", scale=sc), y=alt.Y("b:Q", scale=sc))
    )
    x = alt.X("predicted:Q", scale=sc, axis=axis, title=f"Predicted survival at {horizon:g} days")
    tooltip = [
        alt.Tooltip("label:N", title="Group"),
        alt.Tooltip("n:Q", title="Patients"),
        alt.Tooltip("events:Q", title="Events"),
        alt.Tooltip("predicted:Q", format=".1%"),
        alt.Tooltip("observed:Q", format=".1%", title="Observed (KM)"),
        alt.Tooltip("obs_lower:Q", format=".1%", title="95% CI low"),
        alt.Tooltip("obs_upper:Q", format=".1%", title="95% CI high"),
    ]
    bars = (
        alt.Chart(d)
        .mark_rule(color=OKABE_ITO[0], strokeWidth=2)
        .encode(x=x, y=alt.Y("obs_lower:Q", scale=sc), y2="obs_upper:Q", tooltip=tooltip)
    )
    pts = (
        alt.Chart(d)
        .mark_point(filled=True, size=120, color=OKABE_ITO[0])
        .encode(
            x=x,
            y=alt.Y("observed:Q", scale=sc, axis=axis, title=f"Observed (KM) at {horizon:g} days"),
            shape=alt.Shape(
                "label:N",
                sort=list(d["label"]),
                legend=alt.Legend(
                    title="Risk group",
                    orient=legend_orient,
                    direction="vertical",
                    labelLimit=0,
                ),
            ),
            tooltip=tooltip,
        )
    )
    if height is None:
        height = width if isinstance(width, int) else 320
    return alt.layer(diag, bars, pts).properties(width=width, height=height)


def profile_curves_chart(
    curves: pd.DataFrame,
    *,
    horizon: float | None = 365,
    band: bool = True,
    width: int | str = 680,
    height: int = 360,
) -> alt.Chart:
    """Predicted survival curves (step-after) with 95% bands; colour and dash per profile."""
    d = curves.copy()
    if horizon is not None:
        d = d[d["time"] <= horizon]
        # carry each curve flat to the horizon
        last = d.sort_values("time").groupby("profile", sort=False).tail(1).copy()
        last["time"] = float(horizon)
        d = pd.concat([d, last], ignore_index=True).sort_values(["profile", "time"])
    profiles = list(dict.fromkeys(curves["profile"]))
    legend = alt.Legend(
        title=None,
        orient="top",
        labelFontSize=FONT_SIZE,
        symbolType="stroke",
        symbolStrokeWidth=3,
        symbolSize=500,
    )  # the same legend on colour and dash: Vega-Lite merges them into one
    colour = alt.Color(
        "profile:N",
        sort=profiles,
        scale=alt.Scale(domain=profiles, range=OKABE_ITO[: len(profiles)]),
        legend=legend,
    )
    dash = alt.StrokeDash(
        "profile:N",
        sort=profiles,
        scale=alt.Scale(domain=profiles, range=DASHES[: len(profiles)]),
        legend=legend,
    )
    x = alt.X(
        "time:Q",
        title="Days since ICU admission",
        scale=alt.Scale(domain=[0, horizon or float(d["time"].max())], nice=False),
        axis=alt.Axis(
            values=[0, 30, 90, 180, 270, 365], labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE
        ),
    )
    y_axis = alt.Axis(format="%", labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE)
    tooltip = [
        alt.Tooltip("profile:N", title="Profile"),
        alt.Tooltip("time:Q", title="Day", format=".0f"),
        alt.Tooltip("surv:Q", title="S(t)", format=".1%"),
        alt.Tooltip("lower:Q", title="95% low", format=".1%"),
        alt.Tooltip("upper:Q", title="95% high", format=".1%"),
    ]
    layers = []
    if band:
        layers.append(
            alt.Chart(d)
            .mark_area(interpolate="step-after", opacity=0.15)
            .encode(
                x=x,
                y=alt.Y("lower:Q", scale=alt.Scale(domain=[0, 1])),
                y2="upper:Q",
                fill=alt.Fill(  # fill, not color: the band must not replace the line legend
                    "profile:N",
                    sort=profiles,
                    scale=alt.Scale(domain=profiles, range=OKABE_ITO[: len(profiles)]),
                    legend=None,
                ),
            )
        )
    layers.append(
        alt.Chart(d)
        .mark_line(interpolate="step-after", strokeWidth=2.5)
        .encode(
            x=x,
            y=alt.Y(
                "surv:Q", scale=alt.Scale(domain=[0, 1]), axis=y_axis, title="Predicted survival"
            ),
            color=colour,
            strokeDash=dash,
            tooltip=tooltip,
        )
    )
    # the band's fill legend is hidden; resolving it independently keeps the line legend
    return (
        alt.layer(*layers).resolve_legend(fill="independent").properties(width=width, height=height)
    )


def _as_spec(chart: alt.TopLevelMixin | dict) -> dict:
    return chart if isinstance(chart, dict) else chart.to_dict()


def chart_png(chart: alt.TopLevelMixin | dict, scale: float = 2.0) -> bytes:
    """PNG bytes of a chart or of its Vega-Lite dict (vl-convert; no browser)."""
    import vl_convert as vlc

    return vlc.vegalite_to_png(_as_spec(chart), scale=scale)


def chart_svg(chart: alt.TopLevelMixin | dict) -> bytes:
    """SVG bytes of a chart or of its Vega-Lite dict (vl-convert)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(_as_spec(chart)).encode("utf-8")
