"""Reading an uploaded file (stage 1 of 3): CSV / TSV / Excel / Parquet bytes to a table of text
cells, with size, encoding, delimiter and decimal-comma detection and zip-bomb guards.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # same as .streamlit/config.toml server.maxUploadSize = 10


MAX_CELL_CHARS = 32_767  # Excel's own cell limit: a longer cell is cut (and said so)
# a text file can only hold a longer cell on a line at least that long (a C-speed scan)
LONG_LINE = re.compile(r"[^\n]{" + str(MAX_CELL_CHARS + 1) + "}")
DEFAULT_MAX_ROWS = 200_000


MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # zip-bomb guard for .xlsx
# Longest run of text between two XML tags accepted in a workbook: a 32,767-character cell is at
# most 4 bytes per character in UTF-8 and 6 per character as an entity (&quot;), so a longer
# run cannot be a cell Excel wrote; it is refused before openpyxl loads it into memory.
MAX_XML_TEXT_BYTES = 6 * MAX_CELL_CHARS


MAX_COLUMNS = 1_000


MAX_HEADER_CHARS = 200


class IngestError(ValueError):
    """The uploaded file cannot be read; the message says what is wrong and how to fix it."""


_NA_TOKENS = frozenset(
    {
        "",
        "na",
        "n/a",
        "nan",
        "null",
        "none",
        "nd",
        ".",
        "-",
        "?",
        "#n/a",
        "missing",
        "<na>",
        "nat",
    }
)


# --------------------------------------------------------------------------------------------
# Raw reading
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawTable:
    """The file as read: ``df`` (object dtype, cleaned unique headers, index = user row number).

    Row numbers are what the user sees in a spreadsheet: the header is row 1, so the first data
    row is 2 (for XLSX, the actual sheet row).
    """

    df: pd.DataFrame
    format: Literal["csv", "xlsx", "parquet"]
    original_columns: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str = "."


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _ext(filename: str) -> str:
    name = str(filename or "").strip().lower()
    return name.rsplit(".", 1)[-1] if "." in name else ""


_BINARY_MAGIC = {
    b"\xd0\xcf\x11\xe0": "a legacy Excel 97-2003 (.xls) or password-protected Office file",
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"SQLite format 3": "a SQLite database",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"Rar!": "a RAR archive",
    b"\x7fELF": "an executable",
    b"MZ": "a Windows executable",
    b"RDX": "an R data file",
    b"X\n": "an R data file",
}


def read_table(
    data: bytes,
    filename: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    sheet: str | None = None,
) -> RawTable:
    """Parse an uploaded file into a :class:`RawTable`, sniffing the format from magic bytes.

    Parameters
    ----------
    data : bytes
        File content (never written to disk).
    filename : str
        Name as uploaded; only its extension is used, to catch renamed files.
    max_bytes, max_rows : int
        Limits; exceeding them raises :class:`IngestError` without parsing the whole file.
    sheet : str, optional
        XLSX worksheet name (default: the first sheet).

    Raises
    ------
    IngestError
        Empty, oversize, too many rows, binary junk, renamed file, unreadable structure.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise IngestError(f"expected the file content as bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise IngestError(
            f"file is {_size(len(data))}; the upload limit is {_size(max_bytes)}. "
            "Remove unused columns or rows, or save as Parquet."
        )
    if not data.strip():
        raise IngestError("file is empty")
    ext = _ext(filename)
    head = data[:16]
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        table = _read_xlsx(data, max_rows=max_rows, sheet=sheet)
        kind = "an Excel workbook"
    elif head.startswith(b"PAR1"):
        table = _read_parquet(data, max_rows=max_rows)
        kind = "a Parquet file"
    else:
        for magic, what in _BINARY_MAGIC.items():
            if head.startswith(magic):
                raise IngestError(
                    f"'{filename}' is {what}, not a data table. Upload CSV, TSV, XLSX or Parquet."
                )
        text, encoding, enc_warnings = _decode(data, filename)
        if ext in {"xlsx", "xlsm", "xls"}:
            raise IngestError(
                f"'{filename}' has the extension .{ext} but its content is plain text, not an "
                "Excel workbook. Rename it to .csv (or re-save it from Excel as .xlsx)."
            )
        if ext == "parquet":
            raise IngestError(
                f"'{filename}' has the extension .parquet but its content is plain text, not "
                "Parquet (no 'PAR1' signature). Rename it to .csv."
            )
        table = _read_text(text, encoding, enc_warnings, max_rows=max_rows)
        kind = None
    if kind and ext in {"csv", "tsv", "txt"}:
        table = _with_warnings(
            table, f"'{filename}' is named .{ext} but is {kind}; it was read as such."
        )
    return table


def _with_warnings(table: RawTable, *msgs: str) -> RawTable:
    return RawTable(
        df=table.df,
        format=table.format,
        original_columns=table.original_columns,
        warnings=(*table.warnings, *msgs),
        encoding=table.encoding,
        delimiter=table.delimiter,
        decimal=table.decimal,
    )


def _decode(data: bytes, filename: str) -> tuple[str, str, list[str]]:
    warnings: list[str] = []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text, enc = data.decode("utf-16"), "utf-16"
    else:
        if b"\x00" in data:
            raise IngestError(
                f"'{filename}' looks like binary data (it contains NUL bytes), not a text table. "
                "Upload CSV, TSV, XLSX or Parquet."
            )
        try:
            text, enc = data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            try:
                text, enc = data.decode("cp1252"), "windows-1252"
            except UnicodeDecodeError:
                text, enc = data.decode("latin-1"), "latin-1"
            warnings.append(f"file is not UTF-8; it was decoded as {enc} (Latin-1).")
    sample = text[:65536]
    bad = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\t\r\n")
    if bad > max(2, len(sample) // 200):
        raise IngestError(
            f"'{filename}' looks like binary data ({bad} control characters in the first "
            f"{len(sample)} characters), not a text table."
        )
    stripped = sample.lstrip().lower()
    if stripped.startswith(("<!doctype html", "<html", "<?xml", "<svg")):
        raise IngestError(f"'{filename}' is an HTML/XML document, not a data table.")
    if stripped.startswith(("{", "[{")):
        raise IngestError(f"'{filename}' looks like JSON, not a data table. Export it as CSV.")
    return text, enc, warnings


def _sniff_delimiter(text: str) -> str:
    lines = text[:65536].splitlines()
    if len(text) > 65536 and len(lines) > 1:
        lines = lines[:-1]  # the last sampled line may be cut
    lines = [ln for ln in lines[:200] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", (-1.0, 0)
    for delim in (",", ";", "\t", "|"):
        try:
            rows = list(csv.reader(lines, delimiter=delim))
        except csv.Error:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        consistency = sum(len(r) == width for r in rows) / len(rows)
        score = (consistency, width)
        if score > best_score:
            best, best_score = delim, score
    return best


_DELIM_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


_DEC_COMMA = re.compile(r"^\s*[+-]?\d+,\d+\s*$")


_DEC_DOT = re.compile(r"^\s*[+-]?\d*\.\d+\s*$")


def _read_text(text: str, encoding: str, warnings: list[str], *, max_rows: int) -> RawTable:
    body_text = text.lstrip("\r\n")
    skipped = text[: len(text) - len(body_text)]
    n_skipped = skipped.count("\n") or skipped.count("\r")
    text = body_text
    delim = _sniff_delimiter(text)
    approx_rows = text.count("\n") - 1 if "\n" in text else text.count("\r") - 1
    if approx_rows > max_rows * 1.05 + 10:
        raise IngestError(
            f"file has about {approx_rows:,} rows; the limit is {max_rows:,} rows per upload."
        )
    first_line = text[: (text.find("\n") + 1 or len(text))]
    if first_line.count(delim) + 1 > MAX_COLUMNS:
        raise IngestError(
            f"the header has about {first_line.count(delim) + 1:,} columns; "
            f"the limit is {MAX_COLUMNS:,}."
        )
    try:
        raw = pd.read_csv(
            io.StringIO(text),
            sep=delim,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            nrows=max_rows + 2,
            engine="c",
            quotechar='"',
            doublequote=True,
            escapechar=None,
            comment=None,
            skipinitialspace=False,
        )
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            want, row, got = found.groups()
            hint = (
                " If the file starts with title lines, delete them so the header is row 1."
                if want == "1"
                else ""
            )
            raise IngestError(
                f"row {int(row) + n_skipped} has {got} fields but the rows above have {want} "
                f"(separator {_DELIM_NAMES[delim]}); check quoting or stray separators.{hint}"
            ) from exc
        raise IngestError(f"cannot parse the file as delimited text: {exc}") from exc
    except pd.errors.EmptyDataError as exc:
        raise IngestError("file is empty") from exc
    # pad ragged short rows: pandas gives NaN there
    raw = raw.where(raw.notna(), "")
    header = [str(v) for v in raw.iloc[0].tolist()]
    body = raw.iloc[1:]
    if len(body) > max_rows:
        raise IngestError(f"file has more than {max_rows:,} data rows; the limit is {max_rows:,}.")
    body.index = pd.RangeIndex(2 + n_skipped, 2 + n_skipped + len(body))
    decimal = "."
    if delim != ",":
        sample = body.iloc[:2000].to_numpy().ravel()
        n_comma = sum(1 for v in sample if isinstance(v, str) and _DEC_COMMA.match(v))
        n_dot = sum(1 for v in sample if isinstance(v, str) and _DEC_DOT.match(v))
        if n_comma and not n_dot:
            decimal = ","
        elif n_comma and n_dot:
            warnings.append(
                "numbers use both decimal commas and points; commas are read as decimal marks."
            )
            decimal = ","
    # a long cell needs a long line, unless quotes let a cell span lines: then check them all
    maybe_long = '"' in text or LONG_LINE.search(text) is not None
    df, cols, col_warn = _finish(body, header, long_cells=maybe_long)
    info = f"read as {_DELIM_NAMES[delim]}-separated text ({encoding}"
    info += ", decimal comma)" if decimal == "," else ")"
    return RawTable(
        df=df,
        format="csv",
        original_columns=cols,
        warnings=(info, *warnings, *col_warn),
        encoding=encoding,
        delimiter=delim,
        decimal=decimal,
    )


def _read_xlsx(data: bytes, *, max_rows: int, sheet: str | None) -> RawTable:
    import openpyxl  # local: only needed for workbooks

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestError(f"corrupt ZIP/XLSX file: {exc}") from exc
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        if "mimetype" in names or any(n.startswith("content.xml") for n in names):
            raise IngestError("OpenDocument spreadsheets (.ods) are not supported; save as .xlsx.")
        raise IngestError("the file is a ZIP archive but not an Excel workbook (.xlsx).")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED_BYTES:
        raise IngestError(
            f"workbook expands to {_size(total)} when unzipped (limit {_size(MAX_UNZIPPED_BYTES)})"
            "; it is too large or a zip bomb."
        )
    has_formulas = False
    for i in infos:
        if i.filename.startswith("xl/") and i.filename.endswith(".xml"):
            scan = _scan_xml(zf, i)
            if scan.doctype:
                raise IngestError("workbook XML contains a DOCTYPE declaration; refused.")
            if scan.longest_text > MAX_XML_TEXT_BYTES:
                raise IngestError(
                    f"a cell of the workbook holds about {_size(scan.longest_text)} of text, far "
                    f"over Excel's own limit of {MAX_CELL_CHARS:,} characters per cell; the "
                    "file was not read. Save it again from Excel or as CSV."
                )
            has_formulas |= scan.formulas and i.filename.startswith("xl/worksheets/")
    warnings: list[str] = []
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types
        raise IngestError(f"cannot read the Excel workbook: {exc}") from exc
    try:
        if not wb.sheetnames:
            raise IngestError("the workbook has no worksheets")
        if sheet is not None and sheet not in wb.sheetnames:
            raise IngestError(f"no worksheet named {sheet!r}; sheets: {', '.join(wb.sheetnames)}")
        name = sheet or wb.sheetnames[0]
        if sheet is None and len(wb.sheetnames) > 1:
            warnings.append(
                f"the workbook has {len(wb.sheetnames)} sheets; read the first, {name!r}."
            )
        rows = _sheet_rows(wb[name], max_rows=max_rows)
    finally:
        wb.close()
    n_uncached = 0
    if has_formulas:
        wbf = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        try:
            frows = _sheet_rows(wbf[name], max_rows=max_rows)
        finally:
            wbf.close()
        n_formula = 0
        for (_, vals), (_, fvals) in zip(rows, frows, strict=False):
            for j, fv in enumerate(fvals):
                if isinstance(fv, str) and fv.startswith("="):
                    n_formula += 1
                    if j >= len(vals) or vals[j] is None:
                        n_uncached += 1
        if n_formula:
            warnings.append(
                f"{n_formula} cells contain formulas: formulas are never evaluated; the values "
                "Excel last saved were used"
                + (
                    f", and {n_uncached} cells without a saved value are empty."
                    if n_uncached
                    else "."
                )
            )
    # header = first row at least half as full as the fullest of the first 50 non-empty rows
    # (skips title lines such as "Cohort export" above the real header)
    filled = [(k, sum(_present(x) for x in v)) for k, (_, v) in enumerate(rows)]
    filled = [(k, n) for k, n in filled if n][:50]
    if not filled:
        raise IngestError(f"worksheet {name!r} is empty")
    most = max(n for _, n in filled)
    start = next(k for k, n in filled if n * 2 >= most)
    header_row, header_vals = rows[start]
    width = max(len(v) for _, v in rows[start:])
    if width > MAX_COLUMNS:
        raise IngestError(f"the sheet has {width:,} columns; the limit is {MAX_COLUMNS:,}.")
    body_rows = rows[start + 1 :]
    index = [r for r, _ in body_rows]
    body = pd.DataFrame(
        [list(v) + [None] * (width - len(v)) for _, v in body_rows],
        index=pd.Index(index, dtype="int64"),
        columns=range(width),
        dtype=object,
    )
    header = [header_vals[j] if j < len(header_vals) else None for j in range(width)]
    if header_row != 1:
        warnings.append(f"the header is on sheet row {header_row}; rows above it were skipped.")
    df, cols, col_warn = _finish(body, header)
    return RawTable(
        df=df,
        format="xlsx",
        original_columns=cols,
        warnings=(
            f"read worksheet {name!r} of an Excel workbook",
            *warnings,
            *col_warn,
        ),
    )


@dataclass(frozen=True)
class _XmlScan:
    doctype: bool
    formulas: bool
    longest_text: int  # bytes between a '>' and the next '<'


def _scan_xml(zf: zipfile.ZipFile, info: zipfile.ZipInfo, chunk: int = 1 << 20) -> _XmlScan:
    """One streaming pass over a workbook part in 1 MB pieces, so memory stays flat whatever
    the part's size: a DOCTYPE at the start, any formula element, the longest run of bytes
    holding no '<' (a cell's text lies in such a run)."""
    doctype = formulas = False
    longest = run = 0
    tail = b""
    with zf.open(info) as fh:
        piece = fh.read(chunk)
        doctype = b"<!DOCTYPE" in piece[:4096].upper()
        while piece:
            joined = tail + piece
            formulas = formulas or b"<f>" in joined or b"<f " in joined
            tail = piece[-3:]
            parts = piece.split(b"<")
            if len(parts) == 1:  # no tag in this piece: the run goes on
                run += len(piece)
            else:
                inner = max(map(len, parts[1:-1]), default=0)
                longest = max(longest, run + len(parts[0]), inner)
                run = len(parts[-1])
            piece = fh.read(chunk)
    return _XmlScan(doctype=doctype, formulas=formulas, longest_text=max(longest, run))


def _sheet_rows(ws: Any, *, max_rows: int) -> list[tuple[int, tuple[Any, ...]]]:
    ws.reset_dimensions()  # do not trust the (possibly wrong) stored dimension
    out: list[tuple[int, tuple[Any, ...]]] = []
    n_data = -1  # the header row is not a data row
    for r, vals in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
        if n_data < 0 and not any(_present(x) for x in vals):
            out.append((r, tuple(vals)))
            continue
        n_data += 1
        if n_data > max_rows:
            raise IngestError(
                f"the sheet has more than {max_rows:,} data rows; the limit is {max_rows:,}."
            )
        out.append((r, tuple(vals)))
    return out


def _read_parquet(data: bytes, *, max_rows: int) -> RawTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not data.rstrip(b"\x00").endswith(b"PAR1"):
        raise IngestError("the Parquet file is truncated or corrupt (no closing 'PAR1').")
    try:
        pf = pq.ParquetFile(pa.BufferReader(data))
        n = pf.metadata.num_rows
        if n > max_rows:
            raise IngestError(f"file has {n:,} rows; the limit is {max_rows:,} rows per upload.")
        if pf.metadata.num_columns > MAX_COLUMNS:
            raise IngestError(
                f"file has {pf.metadata.num_columns:,} columns (limit {MAX_COLUMNS})."
            )
        table = pf.read()
    except IngestError:
        raise
    except Exception as exc:  # pyarrow raises many types
        raise IngestError(f"cannot read the Parquet file: {exc}") from exc
    warnings: list[str] = []
    header = list(table.column_names)
    arrays = []
    for j, col in enumerate(table.columns):
        t = col.type
        if pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
            warnings.append(f"column {header[j]!r} has type {t}; its values were read as text.")
            arrays.append([None if v is None else str(v) for v in col.to_pylist()])
        elif pa.types.is_dictionary(t):
            arrays.append(col.cast(t.value_type).to_pylist())
        elif pa.types.is_timestamp(t) or pa.types.is_date(t):
            arrays.append(list(col.to_pandas()))
        else:
            arrays.append(col.to_pylist())
    body = pd.DataFrame(
        dict(enumerate(arrays)),
        index=pd.RangeIndex(2, 2 + table.num_rows),
        dtype=object,
    )
    if body.shape[1] == 0:
        raise IngestError("the Parquet file has no columns")
    df, cols, col_warn = _finish(body, header)
    return RawTable(
        df=df,
        format="parquet",
        original_columns=cols,
        warnings=("read as Parquet", *warnings, *col_warn),
    )


def _present(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    if isinstance(v, str):
        return v.strip() != ""
    try:
        return not bool(pd.isna(v))
    except (TypeError, ValueError):
        return True


def _clean_header(value: Any, j: int) -> str:
    if not _present(value):
        return f"column_{j + 1}"
    s = str(value) if not isinstance(value, float) or not value.is_integer() else str(int(value))
    s = unicodedata.normalize("NFC", s)
    # drop control and invisible format characters (zero-width, bidi overrides) from headers
    s = "".join(ch for ch in s if unicodedata.category(ch) not in {"Cc", "Cf"} or ch == " ")
    s = re.sub(r"\s+", " ", s).strip()
    if len(s) > MAX_HEADER_CHARS:
        s = s[:MAX_HEADER_CHARS] + "…"
    return s or f"column_{j + 1}"


def _finish(
    body: pd.DataFrame, header: Sequence[Any], *, long_cells: bool = True
) -> tuple[pd.DataFrame, tuple[str, ...], list[str]]:
    """Clean headers (unique, case-insensitively), drop empty rows and all-empty columns."""
    warnings: list[str] = []
    if len(header) > MAX_COLUMNS:
        raise IngestError(f"the file has {len(header):,} columns; the limit is {MAX_COLUMNS:,}.")
    originals = tuple("" if not _present(h) else str(h) for h in header)
    names: list[str] = []
    seen: dict[str, int] = {}
    for j, h in enumerate(header):
        name = _clean_header(h, j)
        if _present(h) and name != str(h).strip():
            warnings.append(f"column {j + 1}: header cleaned of invisible/control characters.")
        key = name.casefold()
        if key in seen:
            k = 2
            while f"{name} ({k})".casefold() in seen:
                k += 1
            new = f"{name} ({k})"
            warnings.append(
                f"duplicate column name {name!r} (columns {seen[key] + 1} and {j + 1}); "
                f"the second is called {new!r}."
            )
            name, key = new, new.casefold()
        seen[key] = j
        names.append(name)
    body = body.copy()
    body.columns = names
    if body.shape[0]:
        present = body.apply(
            lambda col: (
                col.str.strip().ne("")
                if _all_text(col)
                else _per_unique(col, _present).astype(bool)
            )
        )
        empty_rows = ~present.any(axis=1)
        if empty_rows.any():
            body = body.loc[~empty_rows]
            present = present.loc[~empty_rows]
        empty_cols = [c for c in names if not present[c].any()] if len(body) else []
    else:
        empty_cols = []
    if len(body) == 0:
        raise IngestError("the file has a header row but no data rows.")
    if empty_cols:
        body = body.drop(columns=empty_cols)
        warnings.append(
            f"{len(empty_cols)} all-empty column(s) ignored: "
            + ", ".join(map(repr, empty_cols[:10]))
            + (" …" if len(empty_cols) > 10 else "")
        )
    if body.shape[1] == 0:
        raise IngestError("every column of the file is empty.")
    body = body.astype(object)
    n_long = 0
    for c in body.columns if long_cells else ():  # a cell over Excel's limit is cut, and said so
        col = body[c]
        try:
            is_long = col.str.len().gt(MAX_CELL_CHARS)  # non-text cells: NaN, never long
        except AttributeError:  # no text cell in the column
            continue
        if is_long.any():
            n_long += int(is_long.sum())
            body[c] = col.where(~is_long, col[is_long].map(lambda v: v[:MAX_CELL_CHARS]))
    if n_long:
        warnings.append(
            f"{n_long} cell(s) longer than {MAX_CELL_CHARS:,} characters (Excel's limit) "
            "were cut to that length."
        )
    body.index.name = "row"
    return body, originals, warnings


def _per_unique(series: pd.Series, fn: Any) -> pd.Series:
    """``series.map(fn)``, computing ``fn`` once per distinct value (fast on 200k rows)."""
    arr = series.to_numpy(dtype=object)
    try:
        codes, uniques = pd.factorize(arr, use_na_sentinel=False)
    except TypeError:  # unhashable cells
        return pd.Series([fn(v) for v in arr], index=series.index, dtype=object)
    res = np.empty(len(uniques), dtype=object)
    res[:] = [fn(u) for u in uniques]
    return pd.Series(res[codes] if len(arr) else [], index=series.index, dtype=object)


def _all_text(series: pd.Series) -> bool:
    return pd.api.types.infer_dtype(series, skipna=False) == "string"
