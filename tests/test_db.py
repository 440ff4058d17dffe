"""core/cohort/db.py and core/cohort/schema.py: shipped read-only database, validation, filter
SQL."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from core.cohort import db
from core.cohort.schema import CohortFilter, load_dictionary, validate_frame
from core.study.published import load_published


@pytest.fixture(scope="module")
def con():
    c = db.connect()
    yield c
    c.close()


def test_shipped_database_is_read_only(con):
    with pytest.raises(duckdb.Error):
        con.execute("DELETE FROM patients_raw")
    with pytest.raises(duckdb.Error):
        con.execute("CREATE TABLE x (a INTEGER)")


def test_database_matches_csv_and_dictionary(con):
    from_db = con.execute("SELECT * FROM patients_raw ORDER BY patient_id").df()
    from_csv = db.read_cohort_csv().sort_values("patient_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(from_db, from_csv, check_dtype=False)
    assert list(from_csv.columns) == [c for c in load_dictionary() if c in from_csv.columns]
    assert len(from_csv) == load_published()["meta"]["n"]


def test_derived_outcome_matches_definition(con):
    df = con.execute("SELECT os_days, os_event, death_1y, outcome_1y FROM patients").df()
    expected = (df["os_event"] == 1) & (df["os_days"] <= 365)
    assert (df["death_1y"] == expected).all()
    assert set(df.loc[expected, "outcome_1y"]) == {"1-year decedent"}
    assert set(df.loc[~expected, "outcome_1y"]) == {"1-year survivor"}


def test_filter_is_parameterised_and_quoted():
    f = CohortFilter(icu_reason=("Sepsis", "x'); DROP TABLE patients; --"), age_min=40, sofa_max=6)
    sql, params = db.filter_clause(f, ["icu_reason", "age", "sofa"])
    assert "DROP" not in sql and "'" not in sql
    assert sql.count("?") == len(params) == 4
    assert '"icu_reason" IN (?, ?)' in sql
    assert params == ["Sepsis", "x'); DROP TABLE patients; --", 40, 6]


def test_filter_selects_published_group_sizes(con):
    groups = load_published()["groupings"]["icu_reason"]["levels"]
    for reason, n in groups.items():
        assert len(db.fetch_cohort(con, CohortFilter(icu_reason=(reason,)))) == n
    assert len(db.fetch_cohort(con, CohortFilter(icu_reason=()))) == 0
    both = db.fetch_cohort(con, CohortFilter(sex=("F",), sofa_min=3, sofa_max=6))
    assert ((both["sex"] == "F") & both["sofa"].between(3, 6)).all()


def test_filter_skips_columns_absent_from_an_upload():
    sql, params = db.filter_clause(CohortFilter(icu_reason=("CRS",), age_min=30), ["age"])
    assert sql == '"age" >= ?' and params == [30]


def test_filter_rejects_inverted_range():
    with pytest.raises(ValueError, match="age"):
        CohortFilter(age_min=70, age_max=40)


def test_schema_names_row_and_column_of_bad_cells():
    df = db.read_cohort_csv().head(3).copy()
    df["ecog_ps"] = df["ecog_ps"].astype(object)
    df.loc[1, "ecog_ps"] = 7
    df.loc[2, "icu_reason"] = "Flu"
    df.loc[0, "pfs_days"] = df.loc[0, "os_days"] + 10
    errors = validate_frame(df)
    found = {(e.row, e.column) for e in errors}
    assert (2, "ecog_ps") in found
    assert (3, "icu_reason") in found
    assert any(e.row == 1 and "pfs_days" in e.message for e in errors)


def test_bad_csv_is_refused_with_row_and_column(tmp_path):
    df = db.read_cohort_csv()
    df.loc[4, "sofa"] = 40
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    with pytest.raises(db.CohortError, match=r"row 5, sofa"):
        db.read_cohort_csv(path)


def test_session_connection_is_private_and_in_memory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    df = db.read_cohort_csv().head(10)
    a = db.session_connection(df)
    b = db.session_connection(df.head(3))
    assert db.cohort_size(a) == 10 and db.cohort_size(b) == 3
    a.execute("DROP VIEW patients")
    assert db.cohort_size(b) == 3
    assert list(tmp_path.iterdir()) == []


def test_replacement_scans_are_disabled():
    secret = pd.DataFrame({"x": [1]})  # noqa: F841 - must not be reachable from SQL
    c = db.session_connection(db.read_cohort_csv().head(2))
    with pytest.raises(duckdb.Error):
        c.execute("SELECT * FROM secret")


def test_value_range_is_min_and_max_and_refuses_unknown_columns():
    df = pd.DataFrame({"age": [61, 18, None, 80], "sofa": [None, None, None, None]})
    con = db.session_connection(df)
    assert db.value_range(con, "age") == (18.0, 80.0)
    assert db.value_range(con, "sofa") is None
    with pytest.raises(KeyError):
        db.value_range(con, 'age"; DROP TABLE patients; --')
