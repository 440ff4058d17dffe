"""app_pages/_ui/ helpers that need no running page."""

from __future__ import annotations

import io
import pickle

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

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


def test_groupable_columns_are_those_of_the_rows_and_follow_the_view_key():
    """The cached grouping choices equal core's on the view's rows, per cohort and filter:
    a view with another key (another upload or filter) gets its own columns, never the
    previous view's."""
    from app_pages._ui.active import ActiveCohort, groupable_columns
    from core.cohort.schema import CohortFilter
    from core.cohort.variables import grouping_columns
    from tests.apptest import shipped_cohort

    def view(df: pd.DataFrame, key: str) -> ActiveCohort:
        return ActiveCohort(df, "test", True, len(df), len(df), CohortFilter(), key=key)

    full = shipped_cohort()
    one_reason = full[full["icu_reason"] == full["icu_reason"].iloc[0]]
    for outcomes in (True, False):
        assert groupable_columns(view(full, "a"), outcomes=outcomes) == grouping_columns(
            full, outcomes=outcomes
        )
    narrowed = groupable_columns(view(one_reason, "b"))
    assert narrowed == grouping_columns(one_reason)
    assert "icu_reason" in groupable_columns(view(full, "a")) and "icu_reason" not in narrowed
    assert groupable_columns(view(full, "")) == grouping_columns(full)  # no key: not cached


CALLS: list[int] = []


def _counting_chart(frame: pd.DataFrame, title: str, fmt=None) -> alt.Chart:
    CALLS.append(len(frame))
    return alt.Chart(frame, title=title).mark_point().encode(x="t:Q", y="s:Q")


def test_chart_spec_is_built_once_per_distinct_input():
    from app_pages._ui.render import chart_spec

    CALLS.clear()
    frame = pd.DataFrame({"t": [0.0, 1.0, 2.0], "s": [1.0, 0.9, 0.7]})
    first = chart_spec(_counting_chart, frame, "a")
    again = chart_spec(_counting_chart, frame.copy(), "a")  # equal data, another object
    assert first == again and CALLS == [3]
    changed = frame.assign(s=[1.0, 0.9, 0.6])
    spec = chart_spec(_counting_chart, changed, "a")
    (values,) = spec["datasets"].values()
    assert [v["s"] for v in values] == [1.0, 0.9, 0.6] and CALLS == [3, 3]
    assert chart_spec(_counting_chart, frame, "b")["title"] == "b" and len(CALLS) == 3
    with pytest.raises((AttributeError, pickle.PicklingError)):  # never a stale chart
        chart_spec(_counting_chart, frame, "c", fmt=lambda v: v)


def test_content_key_is_equal_for_equal_content_however_laid_out():
    from app_pages._ui.keys import content_key

    fresh = pd.DataFrame({"a": [1.0, 2.0]})
    fresh["b"] = [3.0, 4.0]  # a second float block, merged when pickled copies are consolidated
    fresh["g"] = pd.Categorical(["x", "y"], categories=["y", "x"])
    fresh["s"] = ["text" + str(i % 1) for i in range(2)]  # two distinct str objects
    copy = pickle.loads(pickle.dumps(fresh))
    copy._consolidate_inplace()
    shared = fresh.copy()
    shared["s"] = [shared["s"].iloc[0]] * 2  # one str object twice
    assert content_key(fresh) == content_key(copy) == content_key(shared)
    assert content_key({"x": fresh, "k": (1, "a")}) == content_key({"x": copy, "k": (1, "a")})


def test_content_key_differs_for_different_content():
    from app_pages._ui.keys import content_key

    base = pd.DataFrame({"t": [0.0, 1.0], "g": pd.Categorical(["a", "b"])})
    variants = [
        base.assign(t=[0.0, 1.5]),  # a value
        base.astype({"t": "int64"}),  # a dtype
        base.rename(columns={"t": "time"}),  # a name
        base.assign(g=pd.Categorical(["a", "b"], categories=["b", "a"])),  # level order
        base.set_axis([5, 6]),  # the index
        base.iloc[:1],  # a row fewer
    ]
    keys = {content_key(v) for v in [base, *variants]}
    assert len(keys) == len(variants) + 1
    assert content_key(["ab", "c"]) != content_key(["a", "bc"])
    assert content_key([1, 2]) != content_key((1, 2)) != content_key([1.0, 2.0])
    assert content_key(np.array([1, 2])) != content_key(np.array([1.0, 2.0]))
