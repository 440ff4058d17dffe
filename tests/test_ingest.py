"""Tests for core.cohort.ingest: formats, mapping, durations, event codings, hostile input, session.

Expected values are hand calculations (dates, 30.4375 days/month) or R (survival::Surv status
coding, via tests/r_oracle.py). The hostile corpus is built in memory by
tests/hostile/make_corpus.py; nothing is written to disk.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.cohort import ingest as ingest_module
from core.cohort.db import quote_ident
from core.cohort.ingest import IngestReport, build_cohort, load_into_session, read_cohort
from core.cohort.mapping import (
    COHORT_COLUMNS,
    apply_event_coding,
    detect_event_coding,
    suggest_mapping,
    suggest_units,
)
from core.cohort.read import DEFAULT_MAX_BYTES, IngestError, read_table
from core.export import (
    accepted_csv,
    dictionary_csv,
    neutralise_formulas,
    rejected_csv,
    template_csv,
)
from tests.hostile import make_corpus as M
from tests.r_oracle import run_r


@pytest.fixture(scope="module")
def corpus() -> dict[str, tuple[str, bytes]]:
    return M.build_corpus()


def _read(corpus, name: str, **kw) -> IngestReport:
    filename, data = corpus[name]
    return read_cohort(data, filename, **kw)


def _raises(corpus, name: str, match: str, **kw) -> None:
    filename, data = corpus[name]
    with pytest.raises(IngestError, match=match):
        read_cohort(data, filename, **kw)


def _expected_base() -> pd.DataFrame:
    return pd.DataFrame(
        M.ROWS, columns=M.HEADER.split(","), index=pd.Index([2, 3, 4], name="row")
    ).astype({"os_days": float})


# ------------------------------------------------------------------ formats


@pytest.mark.parametrize(
    "name", ["comma", "semicolon_decimal_comma", "tab", "utf8_bom", "crlf", "utf16", "xlsx"]
)
def test_text_and_xlsx_variants_give_the_same_cohort(corpus, name):
    rep = _read(corpus, name)
    exp = _expected_base()
    assert rep.rejected.empty
    assert list(rep.accepted.index) == [2, 3, 4]
    got = rep.accepted[exp.columns]
    assert got["patient_id"].tolist() == exp["patient_id"].tolist()
    assert got["age"].tolist() == exp["age"].tolist()
    assert got["sex"].tolist() == ["M", "F", "M"]
    assert got["icu_reason"].tolist() == ["CRS", "Sepsis", "Disease progression"]
    np.testing.assert_allclose(got["os_days"].to_numpy(), [30.5, 400.0, 12.0], atol=1e-12)
    assert got["os_event"].tolist() == [1, 0, 1]


def test_sniffed_delimiter_and_decimal(corpus):
    t = read_table(corpus["semicolon_decimal_comma"][1], "c.csv")
    assert (t.delimiter, t.decimal) == (";", ",")
    t = read_table(corpus["tab"][1], "c.tsv")
    assert (t.delimiter, t.decimal) == ("\t", ".")
    t = read_table(corpus["utf8_bom"][1], "c.csv")
    assert t.df.columns[0] == "patient_id"  # BOM stripped


def test_latin1_fallback(corpus):
    rep = _read(corpus, "latin1")
    assert any("not UTF-8" in w for w in rep.warnings)
    assert rep.mapping["os_event"] == "statut" and rep.mapping["age"] == "âge"
    assert rep.accepted["os_event"].tolist() == [1, 0]  # décédé / vivant
    assert rep.accepted["os_days"].tolist() == [12.0, 30.0]


def test_parquet(corpus):
    rep = _read(corpus, "parquet")
    assert rep.source_format == "parquet"
    assert rep.mapping == {
        "patient_id": "patient_id",
        "age": "Age",
        "ecog_ps": "ECOG",
        "os_days": "time",
        "os_event": "death",
    }
    assert rep.event_coding.name == "true/false"
    assert rep.accepted["os_event"].tolist() == [1, 0, 1]
    assert rep.accepted["ecog_ps"].tolist() == [1, 2, 0]
    assert list(rep.accepted.index) == [2, 3, 4]


def test_xlsx_named_csv_is_read_as_xlsx_with_warning(corpus):
    rep = read_cohort(corpus["xlsx"][1], "cohort.csv")
    assert rep.source_format == "xlsx"
    assert any("named .csv" in w for w in rep.warnings)


def test_xlsx_header_below_row_1_keeps_sheet_row_numbers():
    data = M.xlsx_bytes(
        [["Cohort export"], [], ["patient_id", "os_days", "os_event"], ["A", 5, 1], ["B", -1, 0]]
    )
    rep = read_cohort(data, "x.xlsx")
    assert list(rep.accepted.index) == [4]
    assert rep.rejected[["row", "column", "value"]].values.tolist() == [[5, "os_days", "-1"]]


# ------------------------------------------------------------------ formulas


def test_xlsx_formulas_are_never_evaluated():
    data = M.xlsx_bytes(
        [["patient_id", "os_days", "os_event"], ["P1", 10, 1], ["P2", 20, 0]],
        formulas={"B3": "=B2*2"},
    )
    # Excel's cached result (999) is used; the formula (=20) is not computed.
    rep = read_cohort(M.with_cached_values(data, {"B3": "999"}), "x.xlsx")
    assert rep.accepted["os_days"].tolist() == [10.0, 999.0]
    assert any("formulas are never evaluated" in w for w in rep.warnings)


def test_xlsx_formula_without_cached_value_is_empty_and_rejected(corpus):
    rep = _read(corpus, "xlsx_formulas")
    assert any("without a saved value" in w for w in rep.warnings)
    assert sorted(map(tuple, rep.rejected[["row", "column"]].values.tolist())) == [
        (2, "patient_id"),
        (3, "os_days"),
    ]


def test_formula_text_kept_then_neutralised_on_export(corpus):
    rep = _read(
        corpus,
        "formula_cells",
        mode="generic",
        mapping={"os_days": "os_days", "os_event": "os_event"},
    )
    ids = rep.accepted["patient_id"].tolist()
    assert ids == ['=HYPERLINK("http://evil.example","x")', "@SUM(A1)", "TAB"]  # stripped \t
    assert rep.accepted["note"].tolist() == ["+cmd|' /C calc'!A0", "-2+3", "safe"]
    safe = neutralise_formulas(rep.accepted)
    assert safe["patient_id"].tolist() == [
        '\'=HYPERLINK("http://evil.example","x")',
        "'@SUM(A1)",
        "TAB",
    ]
    assert safe["note"].tolist() == ["'+cmd|' /C calc'!A0", "'-2+3", "safe"]
    assert safe["os_days"].tolist() == [10.0, 20.0, 30.0]  # numbers untouched
    csv_text = accepted_csv(rep).decode("utf-8-sig")
    assert "\n=" not in csv_text and ",=" not in csv_text and ",+" not in csv_text


def test_neutralise_formulas_every_trigger_and_headers():
    df = pd.DataFrame({"=cmd": ["=1+1", "+1", "-1", "@x", "\tx", "\rx", "ok", None], "n": range(8)})
    out = neutralise_formulas(df)
    assert list(out.columns) == ["'=cmd", "n"]
    assert out["'=cmd"].tolist() == ["'=1+1", "'+1", "'-1", "'@x", "'\tx", "'\rx", "ok", None]
    assert out["n"].tolist() == list(range(8))


def test_neutralise_formulas_after_spaces_and_full_width_signs():
    df = pd.DataFrame({"v": ["  =HYPERLINK(1)", " +1", "\uff1d1", "a=1", "1-2"]})
    out = neutralise_formulas(df)["v"].tolist()
    assert out == ["'  =HYPERLINK(1)", "' +1", "'\uff1d1", "a=1", "1-2"]


def test_rejected_csv_is_neutralised():
    data = b"patient_id,os_days,os_event\nP1,=1+1,1\n=evil(),5,1\nP3,7,0\n"
    rep = read_cohort(data, "f.csv")
    out = pd.read_csv(io.BytesIO(rejected_csv(rep)), encoding="utf-8-sig", dtype=str)
    assert out.columns.tolist() == ["row", "column", "value", "reason"]
    assert out[["row", "column", "value"]].values.tolist() == [["2", "os_days", "'=1+1"]]
    # '=evil()' is a valid (text) patient id: accepted, neutralised on export
    assert rep.accepted["patient_id"].tolist() == ["=evil()", "P3"]
    assert "'=evil()" in accepted_csv(rep).decode("utf-8-sig")


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


# ------------------------------------------------------------------ event coding


@pytest.mark.parametrize(
    ("event", "censored", "coding"),
    [
        ("1", "0", "0/1"),
        ("1.0", "0.0", "0/1"),
        ("2", "1", "1/2"),
        ("TRUE", "FALSE", "true/false"),
        ("yes", "no", "yes/no"),
        ("Oui", "Non", "yes/no"),
        ("dead", "alive", "dead/alive"),
        ("Décédé", "Vivant", "dead/alive"),
        ("DECEDEE", "vivante", "dead/alive"),
    ],
)
def test_event_codings(event, censored, coding):
    data = f"time,status\n10,{event}\n20,{censored}\n30,{event}\n".encode()
    t = read_table(data, "e.csv")
    assert detect_event_coding(t.df["status"]).name == coding
    rep = build_cohort(t)
    assert rep.event_coding.name == coding
    assert rep.accepted["os_event"].tolist() == [1, 0, 1]


def test_r_surv_status_agrees_for_codings_r_accepts():
    """survival::Surv(time, status) turns 0/1, TRUE/FALSE and 1/2 into status 1 = event."""
    d = pd.DataFrame(
        {
            "time": [10, 20, 30, 40],
            "s01": [1, 0, 1, 0],
            "s12": [2, 1, 2, 1],
            "stf": ["TRUE", "FALSE", "TRUE", "FALSE"],
        }
    )
    r = run_r(
        'd <- read.csv(Sys.getenv("ORACLE_IN"))\n'
        "res <- data.frame("
        "s01 = Surv(d$time, d$s01)[, 'status'], "
        "s12 = Surv(d$time, d$s12)[, 'status'], "
        "stf = Surv(d$time, as.logical(d$stf))[, 'status'])\n"
        'write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)\n',
        d,
    )
    for col in ("s01", "s12", "stf"):
        ours, bad = apply_event_coding(d[col], detect_event_coding(d[col]))
        assert not bad.any()
        assert ours.tolist() == r[col].astype(int).tolist()


def test_event_coding_ambiguous_or_unknown():
    with pytest.raises(IngestError, match="every value is 1"):
        detect_event_coding(pd.Series(["1", "1"]))
    with pytest.raises(IngestError, match="0, 1 and 2"):
        detect_event_coding(pd.Series([0, 1, 2]))
    with pytest.raises(IngestError, match="not recognised"):
        detect_event_coding(pd.Series(["maybe", "perhaps"]))
    with pytest.raises(IngestError, match="no values"):
        detect_event_coding(pd.Series(["", None]))
    # all-1 column once the user states the coding
    rep = read_cohort(b"time,status\n1,1\n2,1\n", "a.csv", event_coding="0/1")
    assert rep.accepted["os_event"].tolist() == [1, 1]
    rep = read_cohort(b"time,status\n1,1\n2,1\n", "a.csv", event_coding="1/2")
    assert rep.accepted["os_event"].tolist() == [0, 0]
    with pytest.raises(IngestError, match="unknown event coding"):
        read_cohort(b"time,status\n1,1\n", "a.csv", event_coding="sometimes")


def test_unrecognised_event_values_are_rejected_rows():
    rep = read_cohort(b"time,status\n1,dead\n2,alive\n3,unknown\n4,\n", "a.csv")
    assert rep.accepted["os_event"].tolist() == [1, 0]
    assert rep.rejected[["row", "column", "value"]].values.tolist() == [
        [4, "status", "unknown"],
        [5, "status", ""],
    ]


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("empty", "file is empty"),
        ("whitespace_only", "file is empty"),
        ("binary_junk", "binary data"),
        ("binary_junk_no_nul", "binary data"),
        ("text_as_xlsx", r"extension \.xlsx but its content is plain text"),
        ("text_as_parquet", r"extension \.parquet but its content is plain text"),
        ("legacy_xls", r"legacy Excel 97-2003 \(\.xls\)"),
        ("pdf", "PDF document"),
        ("zip_not_xlsx", "ZIP archive but not an Excel workbook"),
        ("truncated_parquet", "truncated or corrupt"),
        ("html_page", "HTML/XML document"),
        ("json", "JSON"),
        ("header_only", "header row but no data rows"),
        ("ragged", "row 3 has 4 fields but the rows above have 2"),
        ("zip_bomb", "zip bomb"),
    ],
)
def test_hostile_files_are_refused_with_a_clear_message(corpus, name, match):
    _raises(corpus, name, match)


def test_ingest_error_is_a_value_error():
    assert issubclass(IngestError, ValueError)


def test_oversize_is_refused_before_parsing():
    data = b"time,status\n" + b"1,1\n" * (DEFAULT_MAX_BYTES // 4 + 1)
    assert len(data) > DEFAULT_MAX_BYTES
    with pytest.raises(IngestError, match=r"file is 10\.0 MB; the upload limit is 10\.0 MB"):
        read_cohort(data, "big.csv")
    with pytest.raises(IngestError, match="upload limit is 1 KB"):
        read_cohort(b"x" * 2000, "big.csv", max_bytes=1024)


def test_one_million_rows_csv_ends_in_a_clear_message():
    data = b"os_days,os_event\n" + b"1,0\n" * 1_000_000  # 4 MB: under the size limit
    assert len(data) < DEFAULT_MAX_BYTES
    with pytest.raises(IngestError, match=r"about 1,000,000 rows; the limit is 200,000"):
        read_cohort(data, "big.csv")


def test_one_million_rows_parquet_uses_metadata():
    table = pa.table({"os_days": np.ones(1_000_000), "os_event": np.zeros(1_000_000, "int8")})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    with pytest.raises(IngestError, match=r"1,000,000 rows; the limit is 200,000"):
        read_cohort(buf.getvalue(), "big.parquet")


def test_too_many_columns_is_refused_before_parsing():
    wide = b",".join(b"c%d" % i for i in range(5_000)) + b"\n" + b"1," * 4_999 + b"1\n"
    with pytest.raises(IngestError, match="about 5,000 columns; the limit is 1,000"):
        read_cohort(wide, "wide.csv")


def test_row_limit_exact_boundary_csv_and_xlsx():
    rows = b"".join(b"%d,%d\n" % (i, i % 2) for i in range(1, 11))
    assert len(read_cohort(b"time,status\n" + rows, "r.csv", max_rows=10).accepted) == 10
    with pytest.raises(IngestError, match="more than 9 data rows"):
        read_cohort(b"time,status\n" + rows, "r.csv", max_rows=9)
    x = M.xlsx_bytes([["time", "status"], *[[i, i % 2] for i in range(1, 11)]])
    assert len(read_cohort(x, "r.xlsx", max_rows=10).accepted) == 10
    with pytest.raises(IngestError, match="more than 9 data rows"):
        read_cohort(x, "r.xlsx", max_rows=9)


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


# ------------------------------------------------------------------ headers & text


def test_duplicate_headers_are_renamed_and_reported(corpus):
    rep = _read(corpus, "duplicate_headers")
    t = read_table(corpus["duplicate_headers"][1], "d.csv")
    assert list(t.df.columns) == ["id", "age", "Age (2)", "time", "status", "age (3)"]
    assert sum("duplicate column name" in w for w in rep.warnings) == 2
    assert rep.mapping["age"] == "age"
    assert rep.accepted["age"].tolist() == [60, 50]


def test_all_empty_columns_dropped(corpus):
    t = read_table(corpus["all_empty_column"][1], "e.csv")
    assert list(t.df.columns) == ["id", "time", "status"]
    assert any("3 all-empty column(s) ignored" in w for w in t.warnings)


def test_blank_lines_keep_user_row_numbers():
    data = b"patient_id,os_days,os_event\nP1,10,1\n\nP3,abc,1\nP4,5,x\nP5,1e3,0\n"
    rep = read_cohort(data, "r.csv")
    assert list(rep.accepted.index) == [2, 6]
    assert rep.rejected[["row", "column", "value", "reason"]].values.tolist() == [
        [4, "os_days", "abc", "not a number"],
        [5, "os_event", "x", "not a valid event value for coding '0/1'"],
    ]


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


def test_unicode_junk_in_headers_and_values(corpus):
    rep = _read(corpus, "unicode_junk")
    assert rep.mapping == {
        "patient_id": "id",
        "age": "age",
        "os_days": "time",
        "os_event": "status",
    }
    assert rep.accepted["patient_id"].tolist() == ["\U0001f600\u0301", "Z\u0327\ufeff"]
    assert any("invisible/control" in w for w in rep.warnings)


# ------------------------------------------------------------------ mapping


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("Age (years)", "age"),
        ("AGE", "age"),
        ("âge", "age"),
        (" Age ", "age"),
        ("time", "os_days"),
        ("survival_days", "os_days"),
        ("Survival (days)", "os_days"),
        ("OS_months", "os_days"),
        ("status", "os_event"),
        ("death", "os_event"),
        ("dead", "os_event"),
        ("Décès", "os_event"),
        ("PS", "ecog_ps"),
        ("ECOG", "ecog_ps"),
        ("SOFA score", "sofa"),
        ("Sexe", "sex"),
        ("Reason for ICU admission", "icu_reason"),
        ("ICU admission date", "os_start_date"),
        ("Date of death", "os_end_date"),
    ],
)
def test_suggest_mapping_synonyms(header, target):
    assert suggest_mapping([header, "unrelated"]) == {target: header}


def test_suggest_mapping_uses_each_column_once_and_prefers_exact_names():
    cols = ["time", "os_days", "status", "icu_death", "death"]
    m = suggest_mapping(cols)
    assert m["os_days"] == "os_days" and m["icu_death"] == "icu_death"
    assert m["os_event"] == "status"
    assert len(set(m.values())) == len(m)
    assert suggest_units({"os_days": "OS (months)", "pfs_days": "pfs"}) == {
        "os_days": "months",
        "pfs_days": "days",
    }
    assert set(suggest_mapping(["age", "time", "status"], mode="generic")) == {
        "os_days",
        "os_event",
    }


def test_missing_optional_columns_listed_in_warnings():
    rep = read_cohort(b"time,status\n1,dead\n", "x.csv")
    assert rep.missing_columns[:2] == ("age", "sex")
    assert "icu_reason" in rep.missing_columns
    assert any(
        "published-model calculator needs icu_reason, ecog_ps, sofa" in w for w in rep.warnings
    )
    assert list(rep.accepted.columns)[: len(COHORT_COLUMNS)] == list(COHORT_COLUMNS)
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
    con.execute("DELETE FROM patients_raw")
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


def test_template_and_dictionary_downloads():
    t = pd.read_csv(io.BytesIO(template_csv()))
    assert list(t.columns) == list(COHORT_COLUMNS) and t.empty
    d = pd.read_csv(io.BytesIO(dictionary_csv()))
    assert "column" in d.columns and set(COHORT_COLUMNS) <= set(d["column"])


def test_leading_blank_lines_title_lines_and_negative_event_codes():
    rep = read_cohort(b"\n\nid,time,status\na,1,1\nb,2,-1\nc,3,0\n", "x.csv")
    assert list(rep.accepted.index) == [4, 6]
    assert rep.rejected[["row", "column", "value"]].values.tolist() == [[5, "status", "-1"]]
    with pytest.raises(IngestError, match="delete them so the header is row 1"):
        read_cohort(b"My cohort\nid,time,status\na,1,1\n", "x.csv")


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
