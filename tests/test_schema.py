"""core.cohort.schema: labels, level order and the readable dictionary, checked against the CSV
itself."""

import csv

from core.cohort.db import PATIENTS_VIEW_SQL
from core.cohort.schema import (
    DERIVED_LABELS,
    DICTIONARY_PATH,
    column_label,
    dictionary_table,
    level_order,
)
from core.study.published import load_published


def _rows() -> dict[str, dict[str, str]]:
    with open(DICTIONARY_PATH, newline="", encoding="utf-8") as fh:
        return {r["column"]: r for r in csv.DictReader(fh)}


def test_label_has_unit_only_when_the_dictionary_gives_one():
    rows = _rows()
    with_unit = next(c for c, r in rows.items() if r["unit"])
    without_unit = next(c for c, r in rows.items() if not r["unit"])
    r = rows[with_unit]
    assert column_label(with_unit) == f"{r['label']} ({r['unit']})"
    assert column_label(with_unit, unit=False) == r["label"]
    assert column_label(without_unit) == rows[without_unit]["label"]


def test_unknown_column_keeps_its_name_and_derived_columns_have_labels():
    assert column_label("<b>not a column</b>") == "<b>not a column</b>"
    for name, label in DERIVED_LABELS.items():
        assert name in PATIENTS_VIEW_SQL  # the view really derives it
        assert column_label(name) == label


def test_level_order_covers_the_published_reason_groups():
    order = level_order("icu_reason")
    published = load_published()["groupings"]["icu_reason"]["levels"]
    assert sorted(order) == sorted(published)
    assert order == _rows()["icu_reason"]["allowed"].split("|")
    assert level_order("age") is None  # numeric
    assert level_order("os_event") is None  # an event, not a grouping
    assert level_order("no_such_column") is None


def test_dictionary_table_has_one_row_per_column_with_ranges_spelled_out():
    rows = _rows()
    table = dictionary_table()
    assert list(table["column"]) == list(rows)
    age = table.set_index("column").loc["age"]
    lo, hi = rows["age"]["allowed"].split("..")
    assert age["allowed"] == f"{float(lo):g} to {float(hi):g}"
    sex = table.set_index("column").loc["sex"]
    assert sex["allowed"] == " | ".join(rows["sex"]["allowed"].split("|"))


def test_filter_in_words_for_the_export_stamp():
    from core.cohort.schema import CohortFilter

    assert CohortFilter().describe() == "no filter"
    words = CohortFilter(ecog_ps=(2, 3), age_min=40, sofa_max=8).describe()
    assert words == "ECOG PS 2, 3; age 40–… years; SOFA …–8 points"
