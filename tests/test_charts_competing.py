"""The cumulative-incidence chart builders of core/charts/competing.py: the Vega-Lite specs
(stacked areas, step curves with 95% CI bands, facets) and the long tables they draw."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.charts import competing as ch
from core.stats.competing import cumulative_incidence
from tests.helpers_survival import _competing_set


def test_cif_chart_spec():
    d = _competing_set(7)
    spec = ch.cif_chart(cumulative_incidence(d), "days", 90).to_dict()
    assert spec["mark"]["type"] == "area" and spec["encoding"]["y"]["stack"] == "zero"
    faceted = ch.cif_chart(cumulative_incidence(d, group="arm"), "months").to_dict()
    assert "facet" in faceted


def test_cif_curve_data_runs_to_horizon():
    # hand calculation: 4 patients, all progress on day 1 -> CIF(progression) = 1 from day 1 on;
    # nobody is left event-free, so the estimate is carried to the horizon (day 360)
    d = pd.DataFrame(
        {"pfs_days": [1.0] * 4, "pfs_event": [1] * 4, "os_days": [30.0] * 4, "os_event": [1] * 4}
    )
    cd = ch.cif_curve_data(cumulative_incidence(d), 360)
    assert cd["time"].tolist() == [0.0, 1.0, 360.0]
    assert cd["cif_progression"].tolist() == [0.0, 1.0, 1.0]
    spec = ch.cif_chart(cumulative_incidence(d), "days", 360).to_dict()
    assert spec["encoding"]["strokeDash"]["field"] == "state_label"  # not colour alone
    # a group censored before the horizon stops at its last follow-up (as R's plot.survfit)
    d2 = pd.DataFrame(
        {"pfs_days": [5.0, 50.0], "pfs_event": [1, 0], "os_days": [9.0, 50.0], "os_event": [1, 0]}
    )
    assert ch.cif_curve_data(cumulative_incidence(d2), 360)["time"].max() == 50.0
    # four groups wrap into rows of two panels
    d4 = _competing_set(3).assign(arm=lambda x: np.arange(len(x)) % 4)
    faceted = ch.cif_chart(cumulative_incidence(d4, group="arm"), "days", 90).to_dict()
    assert faceted["columns"] == 2


def test_cif_chart_curves_with_ci_spec():
    import altair as alt

    d = _competing_set(7)
    cif = cumulative_incidence(d)
    # the default stays the stacked area chart
    assert ch.cif_chart(cif, "days", 90).to_dict()["mark"]["type"] == "area"
    chart = ch.cif_chart(cif, "months", 90, stacked=False, show_ci=True)
    assert isinstance(chart, alt.LayerChart)
    spec = chart.to_dict(validate=True)
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks[:2] == ["area", "line"]
    band, line = spec["layer"][0], spec["layer"][1]
    assert band["encoding"]["y"]["field"] == "lower_band"
    assert band["encoding"]["y2"]["field"] == "upper_band"
    assert line["mark"]["interpolate"] == "step-after"
    assert "stack" not in line["encoding"]["y"] or line["encoding"]["y"]["stack"] is None
    # states told apart by dash (solid progression, dashed death), not colour alone
    assert line["encoding"]["strokeDash"]["field"] == "state_label"
    assert line["encoding"]["strokeDash"]["scale"]["range"] == [[1, 0], [6, 3]]
    assert line["encoding"]["color"]["scale"]["range"] == [ch.OKABE_ITO[4], ch.OKABE_ITO[5]]
    # band data: undefined CIs (F = 0) drawn as zero width, the rest as R's limits
    data = ch.cif_ci_data(cif, "days", 90)
    assert data["lower_band"].notna().all() and (data["lower_band"] <= data["cif"] + 1e-12).all()
    assert (data["upper_band"] >= data["cif"] - 1e-12).all() and data["t"].max() == 90
    no_ci = ch.cif_chart(cif, stacked=False).to_dict(validate=True)
    assert [layer["mark"]["type"] for layer in no_ci["layer"]] == ["line", "point"]
    faceted = ch.cif_chart(
        cumulative_incidence(d, group="arm"), "days", 90, stacked=False, show_ci=True
    ).to_dict(validate=True)
    assert "facet" in faceted and faceted["spec"]["layer"][0]["mark"]["type"] == "area"
    with pytest.raises(ValueError, match="show_ci"):
        ch.cif_chart(cif, show_ci=True)
