"""app_pages/_ui/ helpers that need no running page."""

from __future__ import annotations

import io

import altair as alt
import pandas as pd
import pyarrow as pa

from app_pages._ui.render import _arrow_datasets


def test_datasets_become_arrow_bytes_with_the_same_rows_and_the_spec_is_not_mutated():
    frame = pd.DataFrame({"t": [0.0, 30.0, 60.0], "s": [1.0, 0.8, 0.5], "g": ["a", "a", "b"]})
    spec = alt.Chart(frame).mark_line().encode(x="t:Q", y="s:Q", color="g:N").to_dict()
    (name,) = spec["datasets"]
    shown = _arrow_datasets(spec)
    assert isinstance(spec["datasets"][name], list)  # the export spec stays plain JSON
    table = pa.ipc.open_stream(io.BytesIO(shown["datasets"][name])).read_all().to_pandas()
    pd.testing.assert_frame_equal(table[["t", "s", "g"]], frame)
    assert _arrow_datasets(spec)["datasets"][name] is shown["datasets"][name]  # converted once


def test_specs_without_named_datasets_pass_through():
    spec = {"mark": "point", "data": {"values": [{"x": 1}]}}
    assert _arrow_datasets(spec) is spec


def test_every_chart_of_the_analysis_pages_has_a_text_alternative():
    """Screen readers get a sentence per chart (axe only sees 'Vega visualization')."""
    import pytest

    from tests.apptest import run_page

    for page in (
        "app_pages/survival.py",
        "app_pages/compare.py",
        "app_pages/cox.py",
        "app_pages/calculator.py",
    ):
        at = run_page(page)
        charts = at.get("vega_lite_chart")
        if not charts:
            pytest.fail(f"{page}: no chart found")
        for chart in charts:
            assert len(chart.proto.alt) > 30, (page, chart.proto.alt)
