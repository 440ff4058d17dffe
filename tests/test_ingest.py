"""Tests for core.cohort.ingest: durations, event values, validation and rejected rows, hostile
text, generic mode, session.

Expected values are hand calculations (dates, 30.4375 days/month). The hostile corpus is built in
memory by tests/hostile/make_corpus.py; nothing is written to disk.  Reading the file is tested in
tests/test_read.py, the column mapping and event codings in tests/test_mapping.py, the downloads
in tests/test_export.py.
"""

from __future__ import annotations

import os
import sys
import tempfile

import duckdb
import numpy as np
import pytest

from core.cohort import ingest as ingest_module
from core.cohort.db import quote_ident
from core.cohort.ingest import IngestReport, load_into_session, read_cohort
from core.cohort.mapping import COHORT_COLUMNS
from core.cohort.read import IngestError
from core.export import accepted_csv, rejected_csv
from tests.hostile import make_corpus as M


@pytest.fixture(scope="module")
def corpus() -> dict[str, tuple[str, bytes]]:
    return M.build_corpus()


def _read(corpus, name: str, **kw) -> IngestReport:
    filename, data = corpus[name]
    return read_cohort(data, filename, **kw)


# ------------------------------------------------------------------ durations


def test_os_days_from_dates_in_xlsx(corpus):
    rep = _read(corpus, "xlsx_dates")
    assert rep.mapping["os_start_date"] == "ICU admission date"
    assert rep.mapping["os_end_date"] == "Date of last follow-up"
    # 2020-01-01 -> 2020-03-01: 31 + 29 (leap year) = 60 days; 2019-12-31 -> 2021-01-01: 367
    assert rep.accepted["os_days"].tolist() == [60.0, 367.0]
    assert rep.accepted["os_event"].tolist() == [1, 0]


def test_os_days_from_text_dates_iso_and_dayfirst():
    iso = b"id,admission date,date of death,dead\na,2021-02-01,2021-02-11,1\nb,2021-02-01,,0\n"
    rep = read_cohort(iso, "d.csv")
    assert rep.accepted["os_days"].tolist() == [10.0]
    assert rep.rejected[["row", "column"]].values.tolist() == [[3, "date of death"]]
    fr = (
        b"id;date_entree;date_ddn;deces\na;25/12/2020;05/01/2021;oui\nb;13/01/2021;13/02/2021;non\n"
    )
    rep = read_cohort(fr, "d.csv")
    assert rep.accepted["os_days"].tolist() == [11.0, 31.0]
    assert rep.accepted["os_event"].tolist() == [1, 0]


def test_ambiguous_dates_need_the_date_order():
    data = b"id,admission_date,last_seen,status\na,01/02/2021,03/02/2021,dead\n"
    with pytest.raises(IngestError, match="ambiguous"):
        read_cohort(data, "d.csv")
    assert read_cohort(data, "d.csv", dayfirst=True).accepted["os_days"].tolist() == [2.0]
    # month first: 2021-01-02 -> 2021-03-02 = 29 + 28 + 2 = 59 days
    assert read_cohort(data, "d.csv", dayfirst=False).accepted["os_days"].tolist() == [59.0]


def test_end_date_before_start_date_is_rejected():
    data = (
        b"id,admission_date,last_seen,status\na,2021-03-01,2021-02-01,dead\nb,2021-03-01,x,alive\n"
    )
    rep = read_cohort(data, "d.csv")
    assert rep.accepted.empty
    assert rep.rejected[["row", "column", "value"]].values.tolist() == [
        [2, "last_seen", "2021-02-01"],
        [3, "last_seen", "x"],
    ]
    assert rep.rejected["reason"].tolist() == ["date is before 'admission_date'", "not a date"]


def test_months_from_header_name_and_stated_unit():
    rep = read_cohort(b"OS (months),status\n12,1\n0.5,0\n", "m.csv")
    assert rep.units == {"os_days": "months"}
    np.testing.assert_allclose(rep.accepted["os_days"], [12 * 30.4375, 0.5 * 30.4375], atol=1e-12)
    rep = read_cohort(b"time,status\n2,dead\n", "m.csv", units={"os_days": "months"})
    assert rep.accepted["os_days"].tolist() == [60.875]
    rep = read_cohort(b"time,status\n2,dead\n", "m.csv")
    assert rep.accepted["os_days"].tolist() == [2.0]  # no unit stated: days
    with pytest.raises(IngestError, match="unknown unit"):
        read_cohort(b"time,status\n2,dead\n", "m.csv", units={"os_days": "fortnights"})


# ------------------------------------------------------------------ event values


def test_unrecognised_event_values_are_rejected_rows():
    rep = read_cohort(b"time,status\n1,dead\n2,alive\n3,unknown\n4,\n", "a.csv")
    assert rep.accepted["os_event"].tolist() == [1, 0]
    assert rep.rejected[["row", "column", "value"]].values.tolist() == [
        [4, "status", "unknown"],
        [5, "status", ""],
    ]


# ------------------------------------------------------------------ refusals


def test_missing_survival_columns_are_named():
    with pytest.raises(IngestError, match="no survival time"):
        read_cohort(b"a,status\n1,1\n", "x.csv")
    with pytest.raises(IngestError, match="no event column"):
        read_cohort(b"time,b\n1,1\n", "x.csv")
    with pytest.raises(IngestError, match="not a column of the file"):
        read_cohort(b"time,status\n1,1\n", "x.csv", mapping={"os_days": "nope"})
    with pytest.raises(IngestError, match="mapped to more than one"):
        read_cohort(
            b"time,status\n1,1\n",
            "x.csv",
            mapping={"os_days": "time", "age": "time", "os_event": "status"},
        )


# ------------------------------------------------------------------ rejected rows & hostile text


def test_rejected_rows_named_by_row_and_column():
    data = (
        "id,age,sex,PS,SOFA,reason,time,status,bmi,hta\n"
        "A,60,M,1,5,CRS,10,1,25.1,oui\n"
        "B,200,X,7,,Foo,-3,1,abc,peut-être\n"
        "A,50,F,2,3,Sepsis,5,0,22,non\n"
        "D,50.5,F,2,3,Sepsis,5,0,22,0\n"
    ).encode()
    rep = read_cohort(data, "r.csv")
    assert rep.accepted["patient_id"].tolist() == ["A"]
    got = {(r, c): reason for r, c, _v, reason in rep.rejected.values.tolist()}
    assert got == {
        (3, "time"): "negative duration",
        (3, "age"): "outside 0–110",  # data/dictionary.csv: age 0..110
        (3, "sex"): "not one of: M, F",
        (3, "PS"): "outside 0–4",
        (3, "SOFA"): "sofa is required for the published model but empty",
        (3, "reason"): "not one of: CRS, CRS or sepsis, Sepsis, Disease progression",
        (3, "bmi"): "not a number",
        (3, "hta"): "not yes/no (expected 1/0, yes/no, true/false, oui/non)",
        (4, "id"): "duplicate patient_id (first at row 2)",
        (5, "age"): "not a whole number",
    }
    assert rep.n_rejected_rows == 3
    assert rep.accepted["hypertension"].tolist() == [True]


def test_html_script_and_sql_are_plain_text(corpus):
    fn, data = corpus["html_sql_injection"]
    h1, h2 = "<script>alert('h')</script>", 'x"); DROP TABLE patients; --'
    rep = read_cohort(data, fn, mode="generic")
    assert list(rep.accepted.columns) == [h1, h2, "os_days", "os_event"]
    assert rep.accepted[h1].tolist() == [
        "<img src=x onerror=alert(1)>",
        "**bold** [link](http://evil.example)",
    ]
    assert rep.accepted[h2].tolist() == [
        "'; DROP TABLE patients; --",
        "1 OR 1=1; SELECT * FROM duckdb_settings()",
    ]
    con = load_into_session(rep)
    q = f"SELECT {quote_ident(h1)}, {quote_ident(h2)} FROM patients ORDER BY os_days"
    assert con.execute(q).fetchall() == list(zip(rep.accepted[h1], rep.accepted[h2], strict=True))
    assert con.execute("SELECT count(*) FROM patients").fetchone() == (2,)
    # paper mode: the columns are simply unused, named (as text) in a warning
    rep = read_cohort(data, fn)
    assert any(h1 in w for w in rep.warnings)


def test_quote_ident():
    assert quote_ident('a"b') == '"a""b"'
    con = duckdb.connect(":memory:")
    name = 'x"; DROP TABLE t; --'
    con.execute(f"CREATE TABLE t ({quote_ident(name)} INT)")
    assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)


# ------------------------------------------------------------------ mapping


def test_missing_optional_columns_listed_in_warnings():
    rep = read_cohort(b"time,status\n1,dead\n", "x.csv")
    assert rep.missing_columns[:2] == ("age", "sex")
    assert "icu_reason" in rep.missing_columns
    assert any(
        "published-model calculator needs icu_reason, ecog_ps, sofa" in w for w in rep.warnings
    )
    assert list(rep.full_table().columns) == list(COHORT_COLUMNS)
    assert not set(rep.missing_columns) & set(rep.accepted.columns)  # never stored
    assert rep.full_table()["age"].isna().all() and str(rep.full_table()["age"].dtype) == "Int64"
    assert rep.accepted["patient_id"].tolist() == ["row-2"]


# ------------------------------------------------------------------ generic mode


def test_generic_mode_any_columns():
    data = b"futime;fustat;rx;weight;site\n59;1;1;70,5;A\n115;1;2;80;B\n156;0;1;;A\n"
    rep = read_cohort(
        data,
        "ov.csv",
        mode="generic",
        mapping={"os_days": "futime", "os_event": "fustat", "groups": ["rx", "site"]},
    )
    assert list(rep.accepted.columns) == ["rx", "weight", "site", "os_days", "os_event"]
    assert rep.groups == ("rx", "site")
    assert str(rep.accepted["rx"].dtype) == "Int64"
    assert rep.accepted["weight"].tolist()[:2] == [70.5, 80.0]
    assert rep.accepted["os_days"].tolist() == [59.0, 115.0, 156.0]
    con = load_into_session(rep)
    assert con.execute("SELECT sum(os_event), count(DISTINCT site) FROM patients").fetchone() == (
        2,
        2,
    )
    with pytest.raises(IngestError, match="grouping column 'arm' is not in the file"):
        read_cohort(
            data,
            "ov.csv",
            mode="generic",
            mapping={"os_days": "futime", "os_event": "fustat", "groups": "arm"},
        )
    with pytest.raises(IngestError, match="in generic mode map only"):
        read_cohort(
            data,
            "ov.csv",
            mode="generic",
            mapping={"os_days": "futime", "os_event": "fustat", "age": "rx"},
        )


# ------------------------------------------------------------------ session store


def test_derived_one_year_columns_boundary():
    """death_1y = died within 365 days (core.cohort.db view), by hand: 365 -> yes, 366 -> no."""
    rep = read_cohort(b"time,status\n365,1\n366,1\n100,0\n", "d.csv")
    con = load_into_session(rep)
    got = con.execute("SELECT death_1y, outcome_1y FROM patients ORDER BY os_days DESC").df()
    assert got["death_1y"].tolist() == [False, True, False]
    assert got["outcome_1y"].tolist() == [
        "1-year survivor",
        "1-year decedent",
        "1-year survivor",
    ]
    assert rep.accepted["os_days"].tolist() == [365.0, 366.0, 100.0]


def test_load_into_session_is_private_and_in_memory(corpus):
    rep = _read(corpus, "comma")
    con = load_into_session(rep)
    other = load_into_session(_read(corpus, "xlsx"))
    assert con.execute("SELECT count(*) FROM patients").fetchone() == (3,)
    (stored,) = con.execute(  # the one stored table (the absent columns are in a view)
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
    ).fetchone()
    con.execute(f"DELETE FROM {stored}")
    assert other.execute("SELECT count(*) FROM patients").fetchone() == (3,)
    assert con.execute("SELECT count(*) FROM patients").fetchone() == (0,)
    assert con.execute("SELECT current_setting('temp_directory')").fetchone() == ("",)
    cols = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE patients)").fetchall())
    assert cols["malignancy"] == "VARCHAR"  # all-empty text column still typed
    assert cols["os_event"] == "BIGINT" and cols["death_1y"] == "BOOLEAN"
    for sql in (
        "SELECT * FROM read_csv('/etc/passwd')",
        "COPY patients TO 'leak.csv'",
        "ATTACH 'x.duckdb' AS x",
        "INSTALL httpfs",
    ):
        with pytest.raises(duckdb.Error):
            con.execute(sql)
    with pytest.raises(IngestError, match="no valid rows"):
        load_into_session(read_cohort(b"time,status\n-1,dead\n", "x.csv"))


def test_nothing_is_written_to_disk(corpus, tmp_path, monkeypatch):
    """Read every format, validate, export and load into DuckDB: no file is created."""
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # lazy imports must not count
    writes: list[tuple[str, tuple]] = []
    armed = [True]

    def hook(event: str, args: tuple) -> None:
        if not armed[0]:
            return
        if event == "open":
            _path, mode, flags = [*args, None, None, None][:3]
            writing = isinstance(mode, str) and any(ch in mode for ch in "wax+")
            writing |= isinstance(flags, int) and bool(
                flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            )
            if writing:
                writes.append((event, args))
        elif event in {"os.mkdir", "os.rename", "os.remove", "shutil.copyfile", "os.truncate"}:
            writes.append((event, args))

    sys.addaudithook(hook)
    try:
        for name in (
            "comma",
            "semicolon_decimal_comma",
            "latin1",
            "xlsx",
            "xlsx_dates",
            "parquet",
            "formula_cells",
        ):
            fn, data = corpus[name]
            rep = read_cohort(data, fn)
            rejected_csv(rep)
            accepted_csv(rep)
            con = load_into_session(rep)
            con.execute("SELECT * FROM patients ORDER BY os_days").df()
            con.close()
    finally:
        armed[0] = False
    assert writes == []
    assert list(cwd.iterdir()) == [] and list(tmp.iterdir()) == []


# ------------------------------------------------------------------ validation


def test_pfs_event_ambiguity_falls_back_to_os_coding():
    data = b"time,status,pfs,pfs_status\n10,1,5,1\n20,0,20,1\n"
    rep = read_cohort(data, "x.csv")
    assert rep.accepted["pfs_event"].tolist() == [1, 1]
    assert any("'pfs_status'" in w and "os_event coding was used" in w for w in rep.warnings)


def test_dictionary_rules_and_pydantic_cross_check():
    """Ranges/levels come from data/dictionary.csv; core.cohort.schema.Patient adds pfs <= os."""
    data = (
        b"id,time,status,pfs,pfs_status,bacterium,crs_grade\n"
        b"a,100,1,50,1,E. coli,4\n"
        b"b,100,1,150,1,,\n"
        b"c,20000,0,,,,\n"
        b"d,10,0,,,,5\n"
    )
    rep = read_cohort(data, "x.csv")
    assert rep.accepted["patient_id"].tolist() == ["a"]
    assert rep.accepted["bacterium"].tolist() == ["E. coli"]  # dictionary-only column
    assert rep.accepted["crs_grade"].tolist() == [4]  # dictionary: crs_grade 1..4
    got = rep.rejected[["row", "column", "value", "reason"]].values.tolist()
    assert got == [
        [3, "pfs", "150", "pfs_days is later than os_days"],
        [4, "time", "20000", "above 10000 days"],
        [5, "crs_grade", "5", "outside 1–4"],
    ]


def test_pydantic_errors_become_rejected_rows(monkeypatch):
    """Errors of core.cohort.schema.validate_frame are mapped back to file rows and columns."""
    from core.cohort import schema

    seen = {}

    def fake(df, row_offset=1):
        seen["rows"] = len(df)
        return [
            schema.RowError(1, "age", 61, "model says no"),
            schema.RowError(1, "(row)", None, "cross-field"),
        ]

    monkeypatch.setattr(schema, "validate_frame", fake)
    data = b"id,Age,time,status\na,60,10,1\nb,61,20,0\nc,62,30,1\nd,63,40,0\n"
    rep = read_cohort(data, "x.csv")
    assert seen["rows"] == 4
    assert rep.accepted["patient_id"].tolist() == ["a", "c", "d"]
    assert rep.rejected.values.tolist() == [
        [3, "Age", "61", "model says no"],
        [3, "pfs_days / time", "", "cross-field"],
    ]
    monkeypatch.setattr(ingest_module, "PYDANTIC_FULL_ROWS", 2)
    rep = read_cohort(data, "x.csv")
    assert seen["rows"] == 2  # rows 2 and 4 of the file (every 2nd): position 1 -> row 4
    assert rep.rejected["row"].unique().tolist() == [4]
    assert any("checked 1 row in 2" in w for w in rep.warnings)


def test_dates_in_a_duration_column_say_to_map_the_date_columns():
    """Each date cell is rejected with the hint, not as 'not a number'; a warning says it once."""
    from core.cohort.ingest import DATE_IN_DURATION

    data = b"patient_id,os_days,os_event\n1,2019-03-04,1\n2,04/03/2019,0\n3,abc,1\n4,40,1\n"
    rep = read_cohort(data, "dates.csv")
    reasons = dict(zip(rep.rejected["value"], rep.rejected["reason"], strict=True))
    assert reasons["2019-03-04"] == reasons["04/03/2019"] == DATE_IN_DURATION
    assert reasons["abc"] == "not a number"
    assert any("are dates, not durations" in w for w in rep.warnings)
