"""core.charts.cox: the Cox-page charts build valid Vega-Lite (Altair validates on to_dict)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.charts import cox as ch

SUMMARY = pd.DataFrame(
    {
        "covariate": ["reason_dp", "ecog_ps", "sofa"],
        "hr": [4.0, 2.0, 1.1],
        "lower": [1.1, 1.2, 0.99],
        "upper": [14.6, 3.4, 1.3],
        "p": [0.03, 0.01, 0.06],
    }
)
PUBLISHED = SUMMARY.drop(columns="p").assign(hr=[4.02, 1.97, 1.16])


def test_forest_data_has_both_sources_and_readable_text():
    d = ch.forest_data(SUMMARY, PUBLISHED, {"sofa": "SOFA (per point)"})
    assert len(d) == 6
    assert set(d["source"]) == {ch.SOURCE_REFIT, ch.SOURCE_PUBLISHED}
    sofa = d[(d["covariate"] == "sofa") & (d["source"] == ch.SOURCE_REFIT)].iloc[0]
    assert sofa["label"] == "SOFA (per point)"
    assert sofa["text"] == "1.10 [0.99-1.30]"  # hand-written from SUMMARY's sofa row
    assert not sofa["clipped"]


def test_forest_chart_validates_and_marks_a_non_estimable_row():
    bad = SUMMARY.copy()
    bad.loc[0, ["hr", "lower", "upper"]] = [math.inf, math.nan, math.inf]
    d = ch.forest_data(bad)
    assert d.loc[0, "text"] == "not estimable" and bool(d.loc[0, "clipped"])
    spec = ch.forest_chart(SUMMARY, PUBLISHED, width="container").to_dict()
    assert spec["width"] == "container"


def test_schoenfeld_panels_one_per_term_with_unclipped_titles():
    rng = np.random.default_rng(3)
    res = pd.DataFrame(
        {"time": np.sort(rng.uniform(1, 300, 20)), "x": np.linspace(0, 1, 20)}
        | {t: rng.normal(size=20) for t in ("reason_dp", "sofa")}
    )
    labels = {"reason_dp": "Disease progression (vs other reasons)", "sofa": "SOFA"}
    panels = ch.schoenfeld_panels(res, {"reason_dp": 1.3, "sofa": 0.1}, labels=labels)
    specs = [p.to_dict() for p in panels]
    assert len(specs) == 2
    assert specs[0]["title"] == ["Disease progression", "(vs other reasons)"]
    assert specs[1]["title"] == "SOFA"


def test_profile_curves_carry_to_the_horizon_and_export():
    curves = pd.DataFrame(
        {
            "profile": ["A"] * 3 + ["B"] * 3,
            "time": [0.0, 30.0, 90.0] * 2,
            "survival": [1.0, 0.9, 0.8, 1.0, 0.6, 0.4],
            "lower": [1.0, 0.8, 0.7, 1.0, 0.5, 0.3],
            "upper": [1.0, 0.95, 0.9, 1.0, 0.7, 0.5],
        }
    )
    chart = ch.profile_curves_chart(curves, horizon=365, width=400)
    spec = chart.to_dict()
    png = ch.chart_png(spec, scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert ch.chart_svg(chart).lstrip().startswith(b"<svg")


def test_schoenfeld_panels_of_a_large_cohort_draw_a_sample_and_say_so():
    """10,000 events: each panel embeds at most MAX_POINTS residuals (the browser runs the
    LOESS on what it is sent) and its title says how many of how many are drawn."""
    from core.charts import MAX_POINTS

    rng = np.random.default_rng(3)
    n = 10_000
    res = pd.DataFrame({"time": np.sort(rng.uniform(1, 365, n)), "sofa": rng.normal(size=n)})
    res["x"] = np.linspace(0.01, 0.9, n)  # the km-scale x of cox.zph
    (panel,) = ch.schoenfeld_panels(res, {"sofa": 0.1}, labels={"sofa": "SOFA"})
    spec = panel.to_dict()
    n_rows = max(len(v) for v in spec["datasets"].values())
    assert n_rows == MAX_POINTS
    assert f"{MAX_POINTS:,} of {n:,} events drawn" in str(spec["title"])
