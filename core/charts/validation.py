"""Altair builders for the validation page (pure: no streamlit).

* :func:`calibration_plot` - predicted vs observed risk at the horizon: quantile groups with
  their Kaplan-Meier 95% CI, the smoothed curve (Austin et al. 2020) and the identity line.
* :func:`decision_curve` - net benefit of the model, of treating all and of treating none
  across risk thresholds.
* :func:`lp_density` - the linear predictor of the published model in the cohort against
  the reconstruction's (step histograms on a shared binning).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.charts.survival import FONT_SIZE, OKABE_ITO

__all__ = ["calibration_plot", "decision_curve", "lp_density"]


def _pct_axis(title: str, top: float) -> dict:
    return {
        "scale": alt.Scale(domain=[0, top]),
        "axis": alt.Axis(format="%", labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE),
        "title": title,
    }


def calibration_plot(
    grouped: pd.DataFrame, smooth: pd.DataFrame, horizon: float, *, width: int | str = 420
) -> alt.LayerChart:
    """Observed (y) against predicted (x) risk of death by ``horizon`` days."""
    top = float(
        np.nanmax([1e-9, *grouped["obs_upper"], *grouped["predicted"], *smooth.get("observed", [])])
    )
    top = min(1.0, max(0.1, np.ceil(top * 10) / 10))
    x = alt.X("predicted:Q", **_pct_axis(f"Predicted risk of death by day {horizon:g}", top))
    y = alt.Y("observed:Q", **_pct_axis("Observed (Kaplan-Meier)", top))
    diag = (
        alt.Chart(pd.DataFrame({"predicted": [0.0, top], "observed": [0.0, top]}))
        .mark_line(color="#888888", strokeDash=[4, 4])
        .encode(x=x, y=y)
    )
    tip = [
        alt.Tooltip("group:O", title="Group"),
        alt.Tooltip("n:Q", title="Patients"),
        alt.Tooltip("events:Q", title="Deaths"),
        alt.Tooltip("predicted:Q", format=".1%"),
        alt.Tooltip("observed:Q", format=".1%"),
        alt.Tooltip("obs_lower:Q", format=".1%", title="95% CI low"),
        alt.Tooltip("obs_upper:Q", format=".1%", title="95% CI high"),
    ]
    d = grouped.assign(kind="Groups (95% CI)")
    bars = (
        alt.Chart(d)
        .mark_rule(color=OKABE_ITO[0], strokeWidth=2)
        .encode(x=x, y="obs_lower:Q", y2="obs_upper:Q", tooltip=tip)
    )
    colour = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=["Groups (95% CI)", "Smoothed"], range=[OKABE_ITO[0], OKABE_ITO[1]]),
        legend=alt.Legend(title=None, orient="bottom", labelFontSize=FONT_SIZE),
    )
    pts = alt.Chart(d).mark_point(filled=True, size=110).encode(x=x, y=y, color=colour, tooltip=tip)
    layers = [diag, bars, pts]
    if len(smooth):
        line = (
            alt.Chart(smooth.assign(kind="Smoothed"))
            .mark_line(strokeWidth=2.5, strokeDash=[8, 3])
            .encode(x=x, y=y, color=colour)
        )
        layers.append(line)
    return alt.layer(*layers).properties(width=width, height=360)


def decision_curve(nb: pd.DataFrame, *, width: int | str = 520) -> alt.Chart:
    """Net benefit (y) against the risk threshold (x): model, treat all, treat none."""
    long = nb.melt(
        id_vars="threshold",
        value_vars=["model", "treat_all", "treat_none"],
        var_name="strategy",
        value_name="net_benefit",
    )
    names = {
        "model": "Published model",
        "treat_all": "Treat all",
        "treat_none": "Treat none",
    }
    long["strategy"] = long["strategy"].map(names)
    top = float(max(0.05, long["net_benefit"].max() * 1.1))
    lo = float(max(-0.05, min(0.0, long["net_benefit"].min())))
    long["shown"] = long["net_benefit"].clip(lower=lo)
    return (
        alt.Chart(long)
        .mark_line(strokeWidth=2.5)
        .encode(
            x=alt.X(
                "threshold:Q",
                title="Risk threshold",
                axis=alt.Axis(format="%", labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE),
            ),
            y=alt.Y(
                "shown:Q",
                title="Net benefit",
                scale=alt.Scale(domain=[lo, top]),
                axis=alt.Axis(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE),
            ),
            color=alt.Color(
                "strategy:N",
                sort=list(names.values()),
                scale=alt.Scale(range=[OKABE_ITO[0], OKABE_ITO[1], "#666666"]),
                legend=alt.Legend(title=None, orient="bottom", labelFontSize=FONT_SIZE),
            ),
            strokeDash=alt.StrokeDash(
                "strategy:N",
                sort=list(names.values()),
                legend=None,
                scale=alt.Scale(range=[[1, 0], [6, 3], [2, 2]]),
            ),
            tooltip=[
                alt.Tooltip("strategy:N"),
                alt.Tooltip("threshold:Q", format=".0%"),
                alt.Tooltip("net_benefit:Q", format=".3f", title="Net benefit"),
            ],
        )
        .properties(width=width, height=320)
    )


def lp_density(cohort_lp: np.ndarray, reference_lp: np.ndarray, cohort_name: str) -> alt.Chart:
    """Share of patients per bin of the linear predictor, cohort vs the reconstruction."""
    both = np.concatenate([cohort_lp, reference_lp])
    edges = np.histogram_bin_edges(both, bins=20)
    rows = []
    for name, v in ((cohort_name, cohort_lp), ("Saint-Louis (reconstruction)", reference_lp)):
        counts, _ = np.histogram(v, bins=edges)
        share = counts / max(1, len(v))
        rows += [
            {"cohort": name, "lp": float(m), "share": float(s)}
            for m, s in zip((edges[:-1] + edges[1:]) / 2, share, strict=True)
        ]
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_line(interpolate="step", strokeWidth=2.5)
        .encode(
            x=alt.X("lp:Q", title="Linear predictor of the published model (log relative hazard)"),
            y=alt.Y("share:Q", title="Share of patients", axis=alt.Axis(format="%")),
            color=alt.Color(
                "cohort:N",
                scale=alt.Scale(range=[OKABE_ITO[0], OKABE_ITO[1]]),
                legend=alt.Legend(title=None, orient="bottom", labelLimit=0),
            ),
            tooltip=[
                "cohort:N",
                alt.Tooltip("lp:Q", format=".2f"),
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
        .properties(width="container", height=240)
    )
