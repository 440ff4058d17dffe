"""core.tables.compare: the comparison table's text, styling and helpers (hand-written
expectations; the numbers come from core.stats.compare, checked against R in
tests/test_compare.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from core.stats.compare import compare_groups, result_groups
from core.tables.compare import format_table
from tests.helpers_compare import _data


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _data()


def test_format_table_shapes(data):
    res = compare_groups(data, "g4", ["cont", "cat3", "flag"], group_order=["D", "C", "B", "A"])
    assert result_groups(res) == ["D", "C", "B", "A"]
    tab = format_table(res)
    assert list(tab.columns[:2]) == ["Characteristic", "Overall (n = 140)"]
    assert "p" in tab.columns and "SMD" not in tab.columns
    flag = tab[tab["Characteristic"] == "flag"].iloc[0]
    n_true = int(data["flag"].sum())
    assert flag.iloc[1].startswith(f"{n_true} (")
    # cat3: a header row with the p-value, then one row per level
    i = tab.index[tab["Characteristic"] == "cat3"][0]
    assert tab.loc[i, "p"] != "" and tab.loc[i + 1, "Characteristic"].strip() == "x"


def test_format_table_puts_statistics_before_published_columns(data):
    res = compare_groups(data, "g2", ["cont"])
    pub = pd.DataFrame(
        {
            "variable": ["cont", "cont"],
            "level": ["", ""],
            "group": ["no", ""],
            "statistic": ["median", "p"],
            "published": [50.0, 0.5],
        }
    )
    cols = [str(c) for c in format_table(res, published=pub).columns]
    assert cols.index("p") < cols.index("SMD") < cols.index("test") < cols.index("no (paper)")
    assert cols.index("no (paper)") < cols.index("p (paper)")
    assert all(cols.index("p") > i for i, c in enumerate(cols) if " (n = " in c)


# --------------------------------------------------------------------------------------
# display helpers (hand-written expectations)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "significant"),
    [("0.049", True), ("0.05", False), ("<0.001", True), ("", False), ("n/a", False)],
)
def test_is_significant(text, significant):
    from core.tables.compare import is_significant

    assert is_significant(text) is significant


def test_is_significant_other_alpha():
    from core.tables.compare import is_significant

    assert is_significant("0.02", alpha=0.01) is False
    assert is_significant("0.009", alpha=0.01) is True


def test_too_small_groups_names_groups_under_two():
    from core.tables.compare import too_small_groups

    d = pd.DataFrame({"g": ["a", "a", "a", "b", "c", "c"], "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    assert too_small_groups(compare_groups(d, "g", ["x"])) == [("b", 1)]
    d2 = d.assign(g=["a", "a", "a", "b", "b", "c"])
    assert too_small_groups(compare_groups(d2, "g", ["x"])) == [("c", 1)]
    d3 = d.assign(g=list("aabbcc"))
    assert too_small_groups(compare_groups(d3, "g", ["x"])) == []


def test_notes_table_drops_the_small_group_clause():
    from core.tables.compare import notes_table

    result = pd.DataFrame(
        {
            "variable": ["a", "a", "b", "c", "d"],
            "label": ["A", "A", "B", "C", "D"],
            "note": [
                "tested without b (n = 1); 3 missing",
                "tested without b (n = 1); 3 missing",
                "",
                "tested without b (n = 1)",
                "ties",
            ],
        }
    )
    notes = notes_table(result)
    assert notes.columns.tolist() == ["label", "note"]
    assert notes["label"].tolist() == ["A", "D"]
    assert notes["note"].tolist() == ["3 missing", "ties"]


def test_tests_used_once_and_sorted():
    from core.tables.compare import tests_used

    result = pd.DataFrame(
        {
            "variable": ["a", "a", "b", "c", "d"],
            "test": ["Fisher's exact", "Fisher's exact", "Kruskal-Wallis", "", "Fisher's exact"],
        }
    )
    assert tests_used(result) == ["Fisher's exact", "Kruskal-Wallis"]
    assert tests_used(result.assign(test="")) == []


def test_published_agreement_counts_figures_not_p_values():
    from core.tables.compare import published_agreement

    published = pd.DataFrame(
        {"statistic": ["n", "pct", "p", "median", "q1"], "matches": [True, False, False, True, 1]}
    )
    assert published_agreement(published) == (3, 4)


def test_style_table_sections_paper_columns_and_significant_p():
    from core.tables.compare import style_table

    table = pd.DataFrame(
        {
            "Characteristic": ["Demographics", "Age (years)", "SOFA score"],
            "Overall (n = 10)": ["", "60 [50–70]", "5 [3–8]"],
            "p": ["", "0.01", "0.2"],
            "Overall (paper)": ["", "61 [50–70]", "5 [3–8]"],
            "_kind": ["section", "variable", "variable"],
        }
    )
    styler = style_table(table)
    assert styler.data.columns.tolist() == [
        "Characteristic",
        "Overall (n = 10)",
        "p",
        "Overall (paper)",
    ]
    styler._compute()
    css = {k: dict(v) for k, v in styler.ctx.items()}
    bold_band = {"font-weight": "700", "background-color": "#eef2f7"}
    assert all(css[(0, j)] == bold_band for j in range(4))  # the section row
    assert css[(1, 2)] == {"font-weight": "700"}  # p = 0.01 < 0.05
    assert (2, 2) not in css or css[(2, 2)] == {}  # p = 0.2: plain
    grey = {"color": "#6b7280", "font-style": "italic"}
    assert css[(1, 3)] == grey and css[(2, 3)] == grey
    assert (1, 0) not in css or css[(1, 0)] == {}
