"""Hostile / awkward upload corpus for core.cohort.ingest, built in memory.

``build_corpus()`` returns ``{name: (filename, bytes)}``; tests use it directly, so nothing is
written to disk. ``python -m tests.hostile.make_corpus OUT_DIR`` writes the files for manual
trials in the app (OUT_DIR must be given explicitly).
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import sys
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HEADER = "patient_id,age,sex,ecog_ps,sofa,icu_reason,os_days,os_event"
ROWS = [
    ("P1", 60, "M", 1, 7, "CRS", 30.5, 1),
    ("P2", 45, "F", 2, 4, "Sepsis", 400, 0),
    ("P3", 71, "M", 0, 10, "Disease progression", 12, 1),
]


def csv_text(sep: str = ",", decimal: str = ".", newline: str = "\n") -> str:
    lines = [HEADER.replace(",", sep)]
    for r in ROWS:
        cells = [str(v) for v in r]
        cells[6] = cells[6].replace(".", decimal)
        lines.append(sep.join(cells))
    return newline.join(lines) + newline


def xlsx_bytes(rows: list[list[object]], *, formulas: dict[str, str] | None = None) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    for ref, f in (formulas or {}).items():
        ws[ref] = f
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def with_cached_values(xlsx: bytes, values: dict[str, str]) -> bytes:
    """Store Excel-style cached results for formula cells (openpyxl writes none)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                for ref, v in values.items():
                    text = re.sub(
                        rf'(<c r="{ref}"[^>]*>)(<f>.*?</f>)(?:<v\s*/>|<v></v>)',
                        lambda m, v=v: f"{m.group(1)}{m.group(2)}<v>{v}</v>",
                        text,
                    )
                data = text.encode()
            dst.writestr(info, data)
    return buf.getvalue()


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def zip_bomb() -> bytes:
    """A ZIP that looks like an xlsx and expands to > 200 MB (written in chunks)."""
    buf = io.BytesIO()
    chunk = b"\x00" * (1024 * 1024)
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            for _ in range(210):
                fh.write(chunk)
    return buf.getvalue()


def huge_cell_xlsx(n_chars: int = 150_000_000) -> bytes:
    """A ~150 KB workbook whose one cell holds ``n_chars`` characters (Excel allows 32,767):
    written in 1 MB pieces into a real sheet made by openpyxl, so it is otherwise valid."""
    base = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["note", "os_days"], ["PLACEHOLDER", 10]])))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in base.infolist():
            data = base.read(info)
            if info.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(info, data)
                continue
            head, tail = data.split(b"PLACEHOLDER")
            with dst.open(info.filename, "w", force_zip64=True) as fh:
                fh.write(head)
                chunk = b"A" * (1 << 20)
                left = n_chars
                while left > 0:
                    fh.write(chunk[: min(left, len(chunk))])
                    left -= len(chunk)
                fh.write(tail)
    return buf.getvalue()


def build_corpus() -> dict[str, tuple[str, bytes]]:
    """Every hostile case as ``{name: (filename, content)}``."""
    rng = random.Random(20240601)
    base = csv_text()
    c: dict[str, tuple[str, bytes]] = {
        "comma": ("cohort.csv", base.encode()),
        "semicolon_decimal_comma": ("cohort.csv", csv_text(";", ",").encode()),
        "tab": ("cohort.tsv", csv_text("\t").encode()),
        "utf8_bom": ("cohort.csv", b"\xef\xbb\xbf" + base.encode()),
        "latin1": (
            "cohort.csv",
            "id;âge;statut;durée\nP1;60;décédé;12\nP2;50;vivant;30\n".encode("latin-1"),
        ),
        "crlf": ("cohort.csv", csv_text(newline="\r\n").encode()),
        "utf16": ("cohort.txt", base.encode("utf-16")),
        "xlsx": (
            "cohort.xlsx",
            xlsx_bytes([HEADER.split(","), *[list(r) for r in ROWS]]),
        ),
        "xlsx_dates": (
            "cohort.xlsx",
            xlsx_bytes(
                [
                    ["id", "ICU admission date", "Date of last follow-up", "dead"],
                    ["a", dt.datetime(2020, 1, 1), dt.datetime(2020, 3, 1), "yes"],
                    ["b", dt.date(2019, 12, 31), dt.date(2021, 1, 1), "no"],
                ]
            ),
        ),
        "xlsx_formulas": (
            "cohort.xlsx",
            xlsx_bytes(
                [["patient_id", "os_days", "os_event"], ["P1", 10, 1], ["P2", 20, 0]],
                formulas={"B3": "=B2*2", "A2": '=HYPERLINK("http://evil.example","x")'},
            ),
        ),
        "parquet": (
            "cohort.parquet",
            parquet_bytes(
                pa.table(
                    {
                        "patient_id": [r[0] for r in ROWS],
                        "Age": [r[1] for r in ROWS],
                        "ECOG": [r[3] for r in ROWS],
                        "time": [float(r[6]) for r in ROWS],
                        "death": [bool(r[7]) for r in ROWS],
                    }
                )
            ),
        ),
        "empty": ("cohort.csv", b""),
        "whitespace_only": ("cohort.csv", b"  \r\n\n\t\n"),
        "binary_junk": ("cohort.csv", bytes(rng.randrange(256) for _ in range(4096))),
        "binary_junk_no_nul": (
            "cohort.csv",
            bytes(
                rng.choice([*range(1, 9), *range(14, 32), *range(128, 256)]) for _ in range(4096)
            ),
        ),
        "text_as_xlsx": ("cohort.xlsx", base.encode()),
        "text_as_parquet": ("cohort.parquet", base.encode()),
        "legacy_xls": ("cohort.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512),
        "pdf": ("cohort.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"),
        "zip_not_xlsx": ("cohort.xlsx", _plain_zip()),
        "truncated_parquet": ("cohort.parquet", b"PAR1" + b"\x01" * 100),
        "html_page": ("cohort.csv", b"<!DOCTYPE html><html><body><script>alert(1)</script>"),
        "json": ("cohort.csv", b'[{"a": 1}]'),
        "header_only": ("cohort.csv", (HEADER + "\n").encode()),
        "ragged": ("cohort.csv", b"a,b\n1,2\n3,4,5,6\n"),
        "duplicate_headers": (
            "cohort.csv",
            b"id,age,Age,time,status,age\n1,60,61,10,1,62\n2,50,51,20,0,52\n",
        ),
        "all_empty_column": (
            "cohort.csv",
            b"id,empty,time,status,,\n1,,10,1,,\n2, ,20,0,,\n",
        ),
        "html_sql_injection": (
            "cohort.csv",
            (
                b"\"<script>alert('h')</script>\","
                b'"x""); DROP TABLE patients; --",time,status\n'
                b'"<img src=x onerror=alert(1)>","\'; DROP TABLE patients; --",10,1\n'
                b'"**bold** [link](http://evil.example)",'
                b'"1 OR 1=1; SELECT * FROM duckdb_settings()",20,0\n'
            ),
        ),
        "formula_cells": (
            "cohort.csv",
            (
                b"patient_id,os_days,os_event,note\n"
                b'"=HYPERLINK(""http://evil.example"",""x"")",10,1,+cmd|\' /C calc\'!A0\n'
                b"@SUM(A1),20,0,-2+3\n"
                b'"\tTAB",30,1,safe\n'
            ),
        ),
        "unicode_junk": (
            "cohort.csv",
            (
                "a\u200bge,\u202etime,status\u2060,id\n"
                "60,10,1,\U0001f600\u0301\n"
                "50,20,0,Z\u0327\ufeff\n"
            ).encode(),
        ),
        "zip_bomb": ("cohort.xlsx", zip_bomb()),
    }
    return c


def _plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    return buf.getvalue()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.hostile.make_corpus OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, (filename, data) in build_corpus().items():
        (out / f"{name}__{filename}").write_bytes(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
