"""Altair chart specs per topic (no Streamlit).

Altair refuses to embed more than 5,000 rows in a spec; the charts here are built from
summaries whose size does not grow with the cohort (one row per distinct time for curves, five
numbers per group for boxes, a seeded sample for point clouds), so that cap is lifted once.
"""

import altair as alt

alt.data_transformers.disable_max_rows()

MAX_POINTS = 2_000  # points of a cloud drawn at most; above, a seeded sample (summaries stay exact)


def point_sample(data, n: int = MAX_POINTS, seed: int = 2024):
    """The rows of a point cloud to draw: all of them, or a seeded sample of ``n``."""
    return data.sample(n=n, random_state=seed) if len(data) > n else data
