"""AppTest of app_pages/compare.py: grouping widgets change the table and p-values; no exception.

Expected numbers are not typed here: the page must show what core.stats.compare computes on the
same active cohort (core.stats.compare itself is checked against R in tests/test_compare.py).
"""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app_pages._ui.views.common import NONE
from app_pages._ui.views.compare import COMPARE, COMPARE_PRESETS, option_label
from core.cohort.schema import column_label
from core.cohort.variables import cut_variable
from core.stats.compare import TEST_KRUSKAL, compare_groups
from core.study.paper_tables import PRESETS, variable_label
from core.tables.compare import fmt_p
from tests.apptest import (
    ROOT,
    USER_KEY,
    frame_with,
    run_page,
    shipped_cohort,
    uploaded_cohort,
)
from tests.r_oracle import run_r

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
    assert default_page.selectbox(key="cmp_preset").value == "table3"
    assert default_page.selectbox(key="cmp_by").value == "icu_reason"


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
    assert at.selectbox(key="cmp_by").value == "outcome_1y"
    assert at.selectbox(key="cmp_preset").value == "custom"  # a new grouping leaves the preset
    p_before = before.set_index("Characteristic")["p"]
    p_after = after.set_index("Characteristic")["p"]
    common = p_before.index.intersection(p_after.index)
    common = [c for c in common if p_before[c] != "" and p_after[c] != ""]
    assert common and any(p_before[c] != p_after[c] for c in common)


def test_cut_at_threshold_from_url():
    at = run_page(PAGE, **COMPARE.link(preset="custom", by="sofa", cut=6, vars=("age", "sex")))
    assert at.number_input(key="cmp_cut").value == 6
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
    at = run_page(PAGE, **COMPARE.link(preset="table1"))
    assert at.selectbox(key="cmp_by").value == NONE  # the preset's grouping: the whole cohort
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
    at = run_page(PAGE, **COMPARE.link(var="male"))
    assert at.selectbox(key="cmp_var").value == "male"
    assert default_page.selectbox(key="cmp_var").value == PRESETS["table3"].variables[0].name


def test_one_patient_group_is_named_and_kept_in_the_rank_test():
    at = run_page(PAGE, **COMPARE.link(preset="custom", by="malignancy", vars=("age", "sofa")))
    warnings = [w.value for w in at.warning]
    assert any("MM (n = 1)" in w and "with care" in w for w in warnings), warnings
    tab = frame_with(at, "Characteristic")
    age = tab[tab["Characteristic"] == "Age (years)"].iloc[0]
    assert age["test"] == TEST_KRUSKAL
    df = shipped_cohort()
    r = run_r(
        "d <- read.csv(Sys.getenv('ORACLE_IN'))\n"
        "write.csv(data.frame(p = kruskal.test(age ~ factor(malignancy), data = d)$p.value),"
        " Sys.getenv('ORACLE_OUT'), row.names = FALSE)",
        df[["age", "malignancy"]],
    )
    assert age["p"] == fmt_p(float(r["p"].iloc[0])) != ""
    # the grouping is titled by its label, not its raw code
    assert any(h.value == "By Hematological malignancy" for h in at.subheader)


def test_grouping_column_comes_back_when_the_grouping_changes():
    at = run_page(PAGE, **COMPARE.link(preset="custom", by="sofa", vars=("age", "sofa")))
    assert at.multiselect(key="cmp_vars").value == ["age"]  # sofa is the grouping
    assert at.expander[0].label.startswith("Variables (1 of ")  # the count of the URL's
    at.selectbox(key="cmp_by").set_value("malignancy").run()
    assert not at.exception, [e.value for e in at.exception]
    assert set(at.multiselect(key="cmp_vars").value) == {"age", "sofa"}
    assert "SOFA score" in set(frame_with(at, "Characteristic")["Characteristic"])
    # through a preset and back: the selection is kept, the preset's grouping left out
    at.selectbox(key="cmp_preset").set_value("table4").run()
    assert at.selectbox(key="cmp_by").value == "outcome_1y"
    at.selectbox(key="cmp_preset").set_value("custom").run()
    assert at.selectbox(key="cmp_by").value == "outcome_1y"
    assert set(at.multiselect(key="cmp_vars").value) == {"age", "sofa"}
    # the whole selection (the default): all variables listed again
    at = run_page(PAGE, **COMPARE.link(preset="custom", by="sofa"))
    n_catalog = len(at.multiselect(key="cmp_vars").options) + 1  # + sofa, the grouping
    at.selectbox(key="cmp_by").set_value("malignancy").run()
    ms = at.multiselect(key="cmp_vars")
    chosen = ms.value
    assert "sofa" in chosen and len(chosen) == n_catalog - 1  # all but malignancy
    assert [option_label(c) for c in chosen] == ms.options  # the default: not in the URL


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
    table1 = COMPARE.link(preset="table1")
    unfiltered = frame_with(run_page(PAGE, **table1), "Characteristic")
    filtered = frame_with(run_page(PAGE, **table1, f_reason="Sepsis"), "Characteristic")
    n_col = [c for c in unfiltered.columns if str(c).startswith("Overall (n = ")]
    assert n_col == [f"Overall (n = {sum(sizes.values())})"]
    assert [c for c in filtered.columns if str(c).startswith("Overall (n = ")] == [
        f"Overall (n = {sizes['Sepsis']})"
    ]
    # the same rows uploaded by a session: its own key, its own (equal) numbers
    page = AppTest.from_file(str(ROOT / PAGE), default_timeout=180)
    page.session_state[USER_KEY] = uploaded_cohort(shipped_cohort().head(30))
    page.query_params.update(table1)
    page.run()
    uploaded = frame_with(page, "Characteristic")
    assert [c for c in uploaded.columns if str(c).startswith("Overall (n = ")] == [
        "Overall (n = 30)"
    ]


def test_links_write_the_shown_text_of_each_setting():
    link = COMPARE.link(
        preset="custom", by="age", as_cut=True, cut=55, vars=("age", "sex"), adj="BH", all=True,
        paper=False, var="sex",
    )  # fmt: skip
    assert link == {
        "cmp_preset": COMPARE_PRESETS["custom"],
        "cmp_by": column_label("age"),
        "cmp_as_cut": "true",
        "cmp_cut": "55",
        "cmp_vars": [option_label("age"), option_label("sex")],
        "cmp_adj": "Benjamini-Hochberg",
        "cmp_all": "true",
        "cmp_paper": "false",
        "cmp_var": variable_label("sex"),
    }
    empty = run_page(PAGE, **COMPARE.link(preset="custom", vars=()))  # the empty selection
    assert empty.multiselect(key="cmp_vars").value == []
    assert any("No variable is chosen" in i.value for i in empty.info)
    assert COMPARE.link(var="male", preset="table1") == {
        "cmp_preset": COMPARE_PRESETS["table1"],
        # the label of the row in that table
        "cmp_var": next(s.label for s in PRESETS["table1"].variables if s.name == "male"),
    }
    with pytest.raises(ValueError):
        COMPARE.link(preset="table9")


def test_adjustment_and_every_level_from_the_url():
    at = run_page(PAGE, **COMPARE.link(adj="holm", all=True))
    assert at.selectbox(key="cmp_adj").value == "holm"
    assert at.toggle(key="cmp_all").value is True
    tab = frame_with(at, "p (adj.)")
    cohort = shipped_cohort()
    preset = PRESETS["table3"]
    specs = [s for s in preset.variables if s.column in cohort.columns]
    res = compare_groups(
        cohort, "icu_reason", specs, adjust="holm", group_order=preset.group_order,
        exclude_small_groups=True,
    )  # fmt: skip
    sofa = res[res["variable"] == "sofa"].iloc[0]
    row = tab[tab["Characteristic"] == "SOFA score"].iloc[0]
    assert row["p (adj.)"] == fmt_p(sofa["p_adjusted"]) != row["p"]
    default = frame_with(run_page(PAGE), "Characteristic")
    assert len(tab) > len(default)  # every level shown: the 'no' rows too
    assert "p (adj.)" not in default.columns


def test_a_preset_fixes_its_grouping_over_the_url():
    at = run_page(PAGE, **COMPARE.link(preset="table1"), **COMPARE.link(by="sofa"))
    assert at.selectbox(key="cmp_preset").value == "table1"
    assert at.selectbox(key="cmp_by").value == NONE
    cols = [str(c) for c in frame_with(at, "Characteristic").columns]
    assert "Overall (paper)" in cols and not any(c.startswith("sofa") for c in cols)
    at = run_page(PAGE, **COMPARE.link(preset="table4"))
    assert at.selectbox(key="cmp_by").value == "outcome_1y"
    cols = [str(c) for c in frame_with(at, "Characteristic").columns]
    for g in PRESETS["table4"].group_order:
        assert f"{g} (paper)" in cols
    assert any(h.value == COMPARE_PRESETS["table4"] for h in at.subheader)


def test_a_threshold_out_of_range_falls_back_to_the_median():
    at = run_page(PAGE, **COMPARE.link(preset="custom", by="sofa", cut=1000))
    median = float(shipped_cohort()["sofa"].median())
    assert at.number_input(key="cmp_cut").value == median
    cols = [str(c) for c in frame_with(at, "Characteristic").columns]
    assert any(c.startswith(f"sofa ≥ {median:g} (n = ") for c in cols)


def test_select_all_and_clear():
    at = run_page(PAGE, **COMPARE.link(preset="custom", by="sofa", vars=("age",)))
    ms = at.multiselect(key="cmp_vars")
    assert ms.value == ["age"]
    next(b for b in at.button if b.label == "Select all").click().run()
    ms = at.multiselect(key="cmp_vars")
    assert [option_label(c) for c in ms.value] == ms.options
    next(b for b in at.button if b.label == "Clear").click().run()
    assert at.multiselect(key="cmp_vars").value == []
    assert any("No variable is chosen" in i.value for i in at.info)
    at.multiselect(key="cmp_vars").set_value(["sex", "age"]).run()
    rows = frame_with(at, "Characteristic")["Characteristic"].tolist()
    assert rows.index("Age (years)") < rows.index("Sex")  # the table keeps the catalog's order


def test_settings_survive_a_page_switch():
    at = run_page("app.py", timeout=120, check=False)
    at.switch_page(PAGE).run()
    at.selectbox(key="cmp_by").set_value("sofa").run()
    at.number_input(key="cmp_cut").set_value(6.0).run()
    at.multiselect(key="cmp_vars").set_value(["age", "sex"]).run()
    at.selectbox(key="cmp_adj").set_value("BH").run()
    at.toggle(key="cmp_all").set_value(True).run()
    assert not at.exception
    before = frame_with(at, "Characteristic")
    at.switch_page("app_pages/survival.py").run()
    assert not at.exception
    for key in list(at.query_params):  # a sidebar link drops the query string
        del at.query_params[key]
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.selectbox(key="cmp_preset").value == "custom"
    assert at.selectbox(key="cmp_by").value == "sofa"
    assert at.number_input(key="cmp_cut").value == 6
    assert at.multiselect(key="cmp_vars").value == ["age", "sex"]
    assert at.selectbox(key="cmp_adj").value == "BH"
    assert at.toggle(key="cmp_all").value is True
    assert frame_with(at, "Characteristic").equals(before)


def test_the_story_links_open_their_views():
    """The story names Compare settings by field (core.study.story); COMPARE makes the URL."""
    from core.study.story import build_story

    links = [s.link for s in build_story(shipped_cohort()) if s.link.page == "compare"]
    assert links
    for link in links:
        want = link.settings
        at = run_page(PAGE, **COMPARE.link(**want))
        assert at.selectbox(key="cmp_preset").value == want["preset"], want
        if "by" in want:
            assert at.selectbox(key="cmp_by").value == want["by"]
        if "vars" in want:
            shown = [v for v in want["vars"] if v in shipped_cohort().columns]
            assert at.multiselect(key="cmp_vars").value == shown
        title = at.subheader[0].value
        if want["preset"] != "custom":
            assert title == COMPARE_PRESETS[want["preset"]]
