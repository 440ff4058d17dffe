"""AppTest of app_pages/compare.py: grouping widgets change the table and p-values; no exception.

Expected numbers are not typed here: the page must show what core.stats.compare computes on the
same active cohort (core.stats.compare itself is checked against R in tests/test_compare.py).
"""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.cohort.variables import cut_variable
from core.stats.compare import compare_groups
from core.study.paper_tables import PRESETS
from core.tables.compare import fmt_p
from tests.apptest import (
    ROOT,
    USER_KEY,
    frame_with,
    query_value,
    run_page,
    shipped_cohort,
    uploaded_cohort,
)

PAGE = "app_pages/compare.py"


@pytest.fixture(scope="module")
def default_page() -> AppTest:
    return run_page(PAGE)


def test_default_is_table3_with_published_values(default_page):
    tab = frame_with(default_page, "Characteristic")
    cols = [str(c) for c in tab.columns]
    for g in PRESETS["table3"].group_order:
        assert any(c.startswith(f"{g} (n = ") for c in cols), cols
        assert f"{g} (paper)" in cols
    assert "p" in cols and "p (paper)" in cols
    # the page's p-value for age is core.stats.compare's on the same cohort
    res = compare_groups(
        shipped_cohort(), "icu_reason", ["age"], group_order=PRESETS["table3"].group_order
    )
    age = tab[tab["Characteristic"] == "Age (years)"].iloc[0]
    assert age["p"] == fmt_p(res["p_value"].iloc[0])
    assert query_value(default_page, "cmp_preset") == "table3"


def test_change_grouping_changes_columns_and_p_values(default_page):
    at = run_page(PAGE)
    before = frame_with(at, "Characteristic")
    at.selectbox(key="cmp_by").set_value("outcome_1y").run()
    assert not at.exception, [e.value for e in at.exception]
    after = frame_with(at, "Characteristic")
    cols = [str(c) for c in after.columns]
    assert any(c.startswith("1-year survivor (n = ") for c in cols)
    assert "SMD" in cols  # two groups
    assert not any("(paper)" in c for c in cols)  # custom grouping: no published column
    assert query_value(at, "cmp_by") == "outcome_1y"
    assert query_value(at, "cmp_preset") == "custom"
    p_before = before.set_index("Characteristic")["p"]
    p_after = after.set_index("Characteristic")["p"]
    common = p_before.index.intersection(p_after.index)
    common = [c for c in common if p_before[c] != "" and p_after[c] != ""]
    assert common and any(p_before[c] != p_after[c] for c in common)


def test_cut_at_threshold_from_url():
    at = run_page(PAGE, cmp_preset="custom", cmp_by="sofa", cmp_cut="6", cmp_vars="age,sex")
    tab = frame_with(at, "Characteristic")
    cols = [str(c) for c in tab.columns]
    assert any(c.startswith("sofa < 6 (n = ") for c in cols)
    assert any(c.startswith("sofa ≥ 6 (n = ") for c in cols)
    cut = cut_variable(shipped_cohort(), "sofa", 6)
    res = compare_groups(cut, "sofa ≥ 6", ["age"])
    age = tab[tab["Characteristic"] == "Age (years)"].iloc[0]
    assert age["p"] == fmt_p(res["p_value"].iloc[0])
    # only the two chosen variables: section, age, sex header + its two levels (+ section)
    assert len(tab) <= 6 and "Age (years)" in set(tab["Characteristic"])


def test_table1_preset_has_no_tests():
    at = run_page(PAGE, cmp_preset="table1")
    tab = frame_with(at, "Characteristic")
    cols = [str(c) for c in tab.columns]
    assert "p" not in cols
    assert any(c.startswith("Overall (n = ") for c in cols)
    assert "Overall (paper)" in cols


def test_variable_chart_and_downloads_render(default_page):
    assert len(default_page.get("download_button")) >= 3
    labels = [b.proto.label for b in default_page.get("download_button")]
    assert any("CSV" in x for x in labels) and any("Excel" in x for x in labels)
    assert any("LaTeX" in x for x in labels)
    at = run_page(PAGE, cmp_var="male")
    assert query_value(at, "cmp_var") == "male"


def test_one_patient_group_is_named_and_the_other_groups_are_tested():
    at = run_page(PAGE, cmp_preset="custom", cmp_by="malignancy", cmp_vars="age,sofa")
    warnings = [w.value for w in at.warning]
    assert any("MM (n = 1)" in w and "sidebar" in w for w in warnings), warnings
    tab = frame_with(at, "Characteristic")
    age = tab[tab["Characteristic"] == "Age (years)"].iloc[0]
    assert age["test"].endswith("excluding MM (n=1)")
    res = compare_groups(shipped_cohort(), "malignancy", ["age"], exclude_small_groups=True)
    assert age["p"] == fmt_p(res["p_value"].iloc[0]) != ""
    # the grouping is titled by its label, not its raw code
    assert any(h.value == "By Hematological malignancy" for h in at.subheader)


def test_grouping_column_comes_back_when_the_grouping_changes():
    at = run_page(PAGE, cmp_preset="custom", cmp_by="sofa", cmp_vars="age,sofa")
    assert at.multiselect(key="cmp_vars").value == ["age"]  # sofa is the grouping
    at.selectbox(key="cmp_by").set_value("malignancy").run()
    assert not at.exception, [e.value for e in at.exception]
    assert set(at.multiselect(key="cmp_vars").value) == {"age", "sofa"}
    assert query_value(at, "cmp_vars") == "age,sofa"
    assert "SOFA score" in set(frame_with(at, "Characteristic")["Characteristic"])
    # the whole selection: no vars in the URL, all variables listed again
    at = run_page(PAGE, cmp_preset="custom", cmp_by="sofa")
    n_catalog = len(at.multiselect(key="cmp_vars").options) + 1  # + sofa, the grouping
    at.selectbox(key="cmp_by").set_value("malignancy").run()
    chosen = at.multiselect(key="cmp_vars").value
    assert "sofa" in chosen and len(chosen) == n_catalog - 1  # all but malignancy
    assert query_value(at, "cmp_vars") is None


def test_uploaded_cohort_has_no_published_columns_and_a_grouping_title():
    df = pd.read_csv(ROOT / "data" / "cohort.csv")
    at = run_page(PAGE, session_state={USER_KEY: uploaded_cohort(df)})
    cols = [str(c) for c in frame_with(at, "Characteristic").columns]
    assert not any("(paper)" in c for c in cols), cols
    titles = [h.value for h in at.subheader]
    assert "By Reason for ICU admission" in titles, titles
    assert not any(t.startswith("Table 3") for t in titles)
    assert not any("published" in str(t.label).lower() for t in at.toggle)


def test_cached_table_follows_the_filter_and_the_cohort():
    """Results are cached on the cohort + filter: a new filter or upload is never served stale."""
    from core.study.published import load_published

    sizes = load_published()["groupings"]["icu_reason"]["levels"]
    unfiltered = frame_with(run_page(PAGE, cmp_preset="table1"), "Characteristic")
    filtered = frame_with(run_page(PAGE, cmp_preset="table1", f_reason="Sepsis"), "Characteristic")
    n_col = [c for c in unfiltered.columns if str(c).startswith("Overall (n = ")]
    assert n_col == [f"Overall (n = {sum(sizes.values())})"]
    assert [c for c in filtered.columns if str(c).startswith("Overall (n = ")] == [
        f"Overall (n = {sizes['Sepsis']})"
    ]
    # the same rows uploaded by a session: its own key, its own (equal) numbers
    page = AppTest.from_file(str(ROOT / PAGE), default_timeout=180)
    page.session_state[USER_KEY] = uploaded_cohort(shipped_cohort().head(30))
    page.query_params["cmp_preset"] = "table1"
    page.run()
    uploaded = frame_with(page, "Characteristic")
    assert [c for c in uploaded.columns if str(c).startswith("Overall (n = ")] == [
        "Overall (n = 30)"
    ]
