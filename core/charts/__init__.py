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


_FONT_KEYS = ("fontSize", "labelFontSize", "titleFontSize", "symbolSize")


def scale_fonts(spec, factor: float):
    """A copy of a Vega-Lite dict with every font size (and legend symbol) times ``factor``.

    For a projector: the charts' builders set their sizes per axis and mark, which a theme's
    ``config`` cannot override, so the finished spec is walked instead (data are left alone).
    """
    if isinstance(spec, dict):
        return {
            k: (
                v
                if k in ("datasets", "data", "values")
                else round(v * factor * (factor if k == "symbolSize" else 1), 1)
                if k in _FONT_KEYS and isinstance(v, int | float) and not isinstance(v, bool)
                else scale_fonts(v, factor)
            )
            for k, v in spec.items()
        }
    if isinstance(spec, list):
        return [scale_fonts(v, factor) for v in spec]
    return spec
