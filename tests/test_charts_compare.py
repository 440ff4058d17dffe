"""core.charts.compare: the small multiples build valid Vega-Lite with readable titles."""

from __future__ import annotations

import pandas as pd

from core.charts import compare as ch

DATA = pd.DataFrame(
    {
        "delay": [0.5, 1.0, 2.0, 3.0, 8.0, 9.0],
        "sex": ["M", "F", "M", "F", "M", None],
        "reason": ["CRS", "CRS", "Sepsis", "Sepsis", "Sepsis", "CRS"],
    }
)
LONG = "Time from CAR-T cell infusion to ICU admission (days)"


def test_long_continuous_label_keeps_its_unit_on_the_axis_and_wraps_the_title():
    spec = ch.variable_chart(DATA, "delay", "continuous", "reason", LONG).to_dict()
    titles = [layer["encoding"]["y"]["title"] for layer in spec["layer"]]
    assert titles == ["(days)", "(days)"]
    assert isinstance(spec["title"], list) and " ".join(spec["title"]) == LONG


def test_short_label_is_kept_whole():
    spec = ch.variable_chart(DATA, "delay", "continuous", None, "Age (years)").to_dict()
    assert spec["layer"][0]["encoding"]["y"]["title"] == "Age (years)"
    assert spec["title"] == "Age (years)"


def test_categorical_bars_count_within_groups():
    chart = ch.variable_chart(DATA, "sex", "categorical", "reason", "Sex")
    spec = chart.to_dict()
    assert spec["title"] == "Sex"
    counts = chart.data  # the facet's data: n and % of each level within each group
    crs = counts[counts["group"] == "CRS"].set_index("level")
    assert crs["n"].to_dict() == {"F": 1, "M": 1}  # the CRS patient without sex is left out
    assert crs["pct"].tolist() == [50.0, 50.0]


def test_large_cohort_chart_summarises_instead_of_embedding_every_row():
    """6,000 patients (Altair's cap is 5,000 rows): exact box, a sample of points."""
    import numpy as np
    import pandas as pd

    from core.charts.compare import MAX_POINTS, _box_stats, variable_chart

    rng = np.random.default_rng(7)
    df = pd.DataFrame({"x": rng.normal(50, 8, 6000), "g": rng.choice(["A", "B"], 6000)})
    spec = variable_chart(df, "x", "continuous", "g", "X").to_dict()
    rows = sum(len(v) for v in spec["datasets"].values())
    assert rows <= MAX_POINTS + 2  # the sample plus one row of box numbers per group
    stats = _box_stats(pd.DataFrame({"value": [1.0, 2, 3, 4, 100], "group": "A"})).iloc[0]
    # R: quantile(c(1,2,3,4,100), c(.25,.5,.75)) = 2, 3, 4; IQR 2 -> whiskers 1 .. 4 (100 out)
    assert (stats["q1"], stats["median"], stats["q3"]) == (2.0, 3.0, 4.0)
    assert (stats["lo"], stats["hi"]) == (1.0, 4.0)
