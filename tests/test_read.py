"""Tests for core.cohort.read: formats, encodings, spreadsheet formulas, hostile input and limits,
headers and user row numbers (through core.cohort.ingest.read_cohort where the cohort shows them).

Expected values are hand calculations. The hostile corpus is built in memory by
tests/hostile/make_corpus.py; nothing is written to disk.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.cohort.ingest import IngestReport, read_cohort
from core.cohort.read import DEFAULT_MAX_BYTES, IngestError, read_table
from tests.hostile import make_corpus as M


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


def test_leading_blank_lines_title_lines_and_negative_event_codes():
    rep = read_cohort(b"\n\nid,time,status\na,1,1\nb,2,-1\nc,3,0\n", "x.csv")
    assert list(rep.accepted.index) == [4, 6]
    assert rep.rejected[["row", "column", "value"]].values.tolist() == [[5, "status", "-1"]]
    with pytest.raises(IngestError, match="delete them so the header is row 1"):
        read_cohort(b"My cohort\nid,time,status\na,1,1\n", "x.csv")


def test_a_cell_longer_than_excels_limit_is_cut_and_said():
    from core.cohort.read import MAX_CELL_CHARS, read_table

    long = "x" * (MAX_CELL_CHARS * 3)
    for name, data in (
        ("line.csv", f"patient_id,os_days,os_event,note\n1,10,1,{long}\n2,20,0,ok\n".encode()),
        ("quoted.csv", f'patient_id,note\n1,"{long[:40000]}\n{long[:40000]}"\n2,ok\n'.encode()),
    ):
        table = read_table(data, name)
        assert len(table.df.iloc[0]["note"]) == MAX_CELL_CHARS, name
        assert table.df.iloc[1]["note"] == "ok"
        assert any("were cut" in w for w in table.warnings), name


def test_a_workbook_cell_of_150_mb_is_refused_without_loading_it():
    """A 150 KB workbook holding one 150,000,000-character cell (Excel's limit is 32,767) is
    refused with a message; the check streams the sheet in pieces, so the read allocates a
    small fraction of the cell's size (tracemalloc sees every bytes object zipfile makes)."""
    import tracemalloc

    data = M.huge_cell_xlsx(150_000_000)
    assert len(data) < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(IngestError, match="far over Excel's own limit of 32,767"):
            read_table(data, "huge_cell.xlsx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, f"peak {peak / 2**20:.0f} MB"


def test_a_workbook_cell_just_over_excels_limit_is_cut_not_refused():
    """(openpyxl itself writes at most 32,767 characters, so the sheet XML is written here.)"""
    from core.cohort.read import MAX_CELL_CHARS

    table = read_table(M.huge_cell_xlsx(MAX_CELL_CHARS + 5), "long.xlsx")
    assert len(table.df.iloc[0]["note"]) == MAX_CELL_CHARS
    assert any("were cut" in w for w in table.warnings)
