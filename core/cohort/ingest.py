"""Read a user's cohort file (CSV/TSV, XLSX, Parquet) into the cohort schema, safely.

Everything happens in memory: the uploaded bytes are parsed from ``io.BytesIO`` /
``io.StringIO``, validated, and :func:`load_into_session` puts the accepted rows into a private
in-memory DuckDB connection (no file, no spilling, no external access). User text -- headers and
cells -- is only ever data: it is never evaluated (no formulas, no SQL built from it, no HTML).

Public API
----------
- :func:`read_table` -- bytes -> :class:`RawTable` (format sniffed from magic bytes, all cells
  kept as text / native values, user row numbers as the index: header = row 1).
- :func:`suggest_mapping`, :func:`suggest_units` -- cohort column -> file column guesses.
- :func:`detect_event_coding` -- which event coding (0/1, yes/no, dead/alive, R's 1/2 ...)
  a column uses, to be shown to the user before it is applied.
- :func:`build_cohort` / :func:`read_cohort` -- validated :class:`IngestReport`.
- :func:`rejected_csv`, :func:`neutralise_formulas`, :func:`template_csv`,
  :func:`dictionary_csv` -- safe downloads.
- :func:`load_into_session` -- in-memory DuckDB connection with table ``patients``.

Event coding follows R's ``survival::Surv(time, event)``: the status is 0 = alive / 1 = dead,
TRUE/FALSE, or 1 = alive / 2 = dead. Months are converted with 30.4375 days per month.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd

from core.paths import DATA_DIR

__all__ = [
    "COHORT_COLUMNS",
    "DAYS_PER_UNIT",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_ROWS",
    "EVENT_CODINGS",
    "EventCoding",
    "IngestError",
    "IngestReport",
    "RawTable",
    "apply_event_coding",
    "as_event_coding",
    "build_cohort",
    "detect_event_coding",
    "dictionary_csv",
    "load_into_session",
    "neutralise_formulas",
    "read_cohort",
    "read_table",
    "rejected_csv",
    "suggest_mapping",
    "suggest_units",
    "template_csv",
]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # same as .streamlit/config.toml server.maxUploadSize = 10
DEFAULT_MAX_ROWS = 200_000
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # zip-bomb guard for .xlsx
MAX_COLUMNS = 1_000
MAX_HEADER_CHARS = 200
MAX_TEXT_CHARS = 200  # core.cohort.schema: str fields max_length=200
PYDANTIC_FULL_ROWS = 50_000  # above this, the pydantic cross-check runs on a sample
DAYS_PER_MONTH = 30.4375
DAYS_PER_UNIT = {
    "days": 1.0,
    "weeks": 7.0,
    "months": DAYS_PER_MONTH,
    "years": 12 * DAYS_PER_MONTH,
}
REJECTED_COLUMNS = ("row", "column", "value", "reason")

Mode = Literal["paper", "generic"]
Unit = Literal["days", "weeks", "months", "years"]

_DATA_DIR = DATA_DIR


class IngestError(ValueError):
    """The uploaded file cannot be read; the message says what is wrong and how to fix it."""


# --------------------------------------------------------------------------------------------
# Cohort schema (contract columns). core/cohort/schema.py (pydantic) is used on top when it exists.
# --------------------------------------------------------------------------------------------

Kind = Literal["str", "int", "float", "bool", "cat", "event"]


@dataclass(frozen=True)
class _Col:
    name: str
    kind: Kind
    lo: float | None = None
    hi: float | None = None
    allowed: Mapping[str, str] = field(default_factory=dict)  # normalised token -> canonical
    synonyms: tuple[str, ...] = ()


def _norm(text: object) -> str:
    """Case-, accent-, space- and punctuation-insensitive key: 'Âge (years)' -> 'age_years'."""
    s = unicodedata.normalize("NFKD", str(text))
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^0-9a-z]+", "_", s).strip("_")


# name | kind | min | max | synonyms (normalised like _norm; the column name itself is implied)
_SPEC_TABLE = """
patient_id | str | | | id patient subject subject_id record_id pid ipp patient_number patient_no
age | int | 0 | 120 | age_years age_yrs age_at_icu age_y age_at_admission age_ans
sex | cat | | | gender sexe genre
hypertension | bool | | | hta htn arterial_hypertension
diabetes | bool | | | diabete dm diabetes_mellitus
chronic_kidney_disease | bool | | | ckd irc chronic_renal_failure chronic_renal_insufficiency
bmi_kg_m2 | float | 5 | 100 | bmi imc body_mass_index
ecog_ps | int | 0 | 4 | ecog ps performance_status ecog_performance_status who_ps oms ps_ecog
malignancy | cat | | | disease diagnosis hemopathy hemopathie underlying_malignancy
months_diagnosis_to_icu | float | 0 | | months_from_diagnosis time_from_diagnosis_months
prior_lines | int | 0 | 50 | lines prior_lines_of_therapy number_of_prior_lines previous_lines
prior_asct | bool | | | asct prior_autologous_transplant autograft
prior_allo_bmt | bool | | | allo_bmt prior_allo allo_hsct allogreffe
prior_blinatumomab | bool | | | blinatumomab
cart_product | cat | | | product car_t_product cart car_t cart_type
cart_allogeneic | bool | | | allogeneic_cart allogeneic_car_t
days_infusion_to_icu | int | -3650 | 3650 | days_from_infusion infusion_to_icu days_infusion_icu
icu_reason | cat | | | reason icu_admission_reason reason_for_admission admission_reason motif
    reason_for_icu_admission icu_admission_reason motif_admission motif_rea
map_mmhg | float | 0 | 300 | map mean_arterial_pressure pam
temperature_c | float | 20 | 46 | temperature temp
neutropenia | bool | | |
leukocytes_g_l | float | 0 | | leukocytes wbc leucocytes
hemoglobin_g_dl | float | 0 | 30 | hemoglobin hb hgb haemoglobin
platelets_g_l | float | 0 | | platelets plt plaquettes
fibrinogen_g_l | float | 0 | | fibrinogen fibrinogene
creatinine_umol_l | float | 0 | | creatinine creat
bilirubin_umol_l | float | 0 | | bilirubin bili bilirubine
ferritin_ug_l | float | 0 | | ferritin ferritine
ldh_ui_l | float | 0 | | ldh
lactate_mmol_l | float | 0 | | lactate lactates
sofa | int | 0 | 24 | sofa_score sofa_day1 sofa_admission
crs_grade | int | 1 | 3 | crs grade_crs
icans | bool | | | neurotoxicity
icans_grade | int | 1 | 4 | grade_icans
bacterial_infection | bool | | | infection
infection_site | str | | | site_of_infection
fluid_day1_ml | float | 0 | | fluid_day1 fluids_day1
vasopressors_day1 | bool | | |
mech_vent_day1 | bool | | |
rrt_day1 | bool | | |
vasopressors_icu | bool | | |
mech_vent_icu | bool | | |
rrt_icu | bool | | |
antibiotics | bool | | |
tocilizumab | bool | | |
steroids | bool | | | corticosteroids corticoids corticoides
siltuximab | bool | | |
anakinra | bool | | |
icu_los_days | int | 0 | | icu_los los_icu icu_length_of_stay
icu_death | bool | | | icu_mortality death_in_icu deces_rea
hospital_death | bool | | | hospital_mortality in_hospital_death
os_days | float | 0 | | time survival_days os os_time survival survival_time futime follow_up
    followup follow_up_days time_to_death overall_survival os_months survival_months os_month
    duration delai days duree duree_de_survie survie suivi delai_survie
os_event | event | | | status death dead died event os_status vital_status deces deceased
    fustat censor_death statut statut_vital etat deces_oui_non
pfs_days | float | 0 | | pfs pfs_time progression_free_survival pfs_months
pfs_event | event | | | pfs_status progression_or_death
"""

# categorical columns: canonical value -> accepted spellings (compared with _norm)
_CATEGORIES: dict[str, dict[str, str]] = {
    "sex": {"M": "male man homme h masculin", "F": "female woman femme feminin"},
    "malignancy": {
        "DLBCL": "diffuse_large_b_cell_lymphoma lbdgc",
        "ALL": "b_all acute_lymphoblastic_leukemia acute_lymphoblastic_leukaemia lal",
        "MM": "multiple_myeloma myeloma myelome",
    },
    "cart_product": {
        "axi-cel": "axicabtagene_ciloleucel axicabtagene yescarta axicel",
        "tisa-cel": "tisagenlecleucel kymriah tisacel",
        "brexu-cel": "brexucabtagene_autoleucel brexucabtagene tecartus brexucel",
        "bb2121": "ide_cel idecabtagene_vicleucel idecabtagene abecma idecel",
        "UCART19": "ucart_19",
    },
    "icu_reason": {
        "CRS": "cytokine_release_syndrome",
        "CRS or sepsis": "crs_sepsis crs_or_sepsis sepsis_or_crs crs_and_or_sepsis",
        "Sepsis": "septic_shock",
        "Disease progression": "progression progressive_disease",
    },
}


def _parse_spec(text: str) -> tuple[_Col, ...]:
    cols = []
    for line in re.sub(r"\n\s{4}", " ", text).strip().splitlines():
        name, kind, lo, hi, syns = (p.strip() for p in line.split("|"))
        allowed = {
            _norm(v): canon
            for canon, spellings in _CATEGORIES.get(name, {}).items()
            for v in (canon, *spellings.split())
        }
        cols.append(
            _Col(
                name,
                kind,  # type: ignore[arg-type]
                float(lo) if lo else None,
                float(hi) if hi else None,
                allowed,
                tuple(syns.split()),
            )
        )
    return tuple(cols)


_KINDS = {
    "int": "int",
    "float": "float",
    "bool": "bool",
    "category": "cat",
    "str": "str",
    "event": "event",
}


def _dictionary_spec() -> tuple[_Col, ...] | None:
    """The cohort columns from data/dictionary.csv (core.cohort.schema), with our extra synonyms.

    The dictionary is the reference (columns, types, ranges, levels, synonyms first); the
    built-in table above only adds spellings, and is the fallback when the dictionary is absent.
    """
    try:
        from core.cohort.schema import load_dictionary

        specs = load_dictionary()
    except (ImportError, OSError, ValueError, KeyError, AttributeError):
        return None
    mine = {c.name: c for c in _parse_spec(_SPEC_TABLE)}
    cols = []
    for name, sp in specs.items():
        base = mine.get(name)
        allowed: dict[str, str] = {}
        if sp.type == "category":
            allowed = {_norm(v): v for v in sp.allowed}
            extra = base.allowed.items() if base else ()
            allowed.update({k: v for k, v in extra if v in sp.allowed and k not in allowed})
        syns = (*sp.synonyms, sp.label, *(base.synonyms if base else ()))
        event = sp.type == "event"
        cols.append(
            _Col(
                name,
                _KINDS.get(sp.type, "str"),  # type: ignore[arg-type]
                None if event else sp.low,
                None if event else sp.high,
                allowed,
                tuple(dict.fromkeys(s for s in syns if s)),
            )
        )
    return tuple(cols) if {"os_days", "os_event"} <= {c.name for c in cols} else None


_SPEC = _dictionary_spec() or _parse_spec(_SPEC_TABLE)
_SPEC_BY_NAME = {c.name: c for c in _SPEC}
COHORT_COLUMNS: tuple[str, ...] = tuple(c.name for c in _SPEC)

# Extra mapping roles (not cohort columns): durations computed from two dates.
_DATE_ROLE_TABLE = """
os_start_date | icu_admission_date admission_date date_of_admission date_icu icu_date date_entree
    date_admission start_date date_rea
os_end_date | date_of_death death_date last_seen last_seen_date date_last_seen
    date_of_last_follow_up last_follow_up_date date_last_news date_of_last_contact last_contact
    date_ddn date_dernieres_nouvelles end_date date_last_follow_up
pfs_end_date | progression_date date_of_progression pfs_date
"""
DATE_ROLES: dict[str, tuple[str, ...]] = {
    name.strip(): tuple(syns.split())
    for name, syns in (
        line.split("|") for line in re.sub(r"\n\s{4}", " ", _DATE_ROLE_TABLE).strip().splitlines()
    )
}
PAPER_REQUIRED = ("os_days", "os_event")
MODEL_COLUMNS = (
    "icu_reason",
    "ecog_ps",
    "sofa",
)  # required when present (published model)
GENERIC_ROLES = ("os_days", "os_event", "os_start_date", "os_end_date", "groups")

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
_BOOL_TRUE = frozenset({"1", "true", "t", "yes", "y", "oui", "o", "vrai"})
_BOOL_FALSE = frozenset({"0", "false", "f", "no", "n", "non", "faux"})


def _synonym_table() -> dict[str, tuple[str, ...]]:
    table = {c.name: (_norm(c.name), *(_norm(s) for s in c.synonyms)) for c in _SPEC}
    table.update({k: (_norm(k), *(_norm(s) for s in v)) for k, v in DATE_ROLES.items()})
    return table


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
    df, cols, col_warn = _finish(body, header)
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
    for i in infos:
        if i.filename.startswith("xl/") and i.filename.endswith(".xml"):
            with zf.open(i) as fh:
                if b"<!DOCTYPE" in fh.read(4096).upper():
                    raise IngestError("workbook XML contains a DOCTYPE declaration; refused.")
    has_formulas = any(
        b"<f>" in zf.read(i) or b"<f " in zf.read(i)
        for i in infos
        if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")
    )
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
    body: pd.DataFrame, header: Sequence[Any]
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
    body.index.name = "row"
    return body, originals, warnings


# --------------------------------------------------------------------------------------------
# Mapping suggestions
# --------------------------------------------------------------------------------------------

_UNIT_WORDS = {
    "months": ("month", "months", "mois", "mo", "mths", "mth"),
    "weeks": ("week", "weeks", "wk", "wks", "semaine", "semaines"),
    "years": ("year", "years", "yr", "yrs", "annee", "annees", "ans"),
    "days": ("day", "days", "d", "jour", "jours", "j"),
}


def _keys(column: str) -> tuple[str, str]:
    """(full key, key without parenthesised parts and trailing unit words)."""
    full = _norm(column)
    base = _norm(re.sub(r"[\(\[\{].*?[\)\]\}]", " ", str(column)))
    units = {w for ws in _UNIT_WORDS.values() for w in ws}
    parts = [p for p in base.split("_") if p]
    while len(parts) > 1 and parts[-1] in units:
        parts.pop()
    return full, "_".join(parts)


def suggest_mapping(columns: Iterable[str], mode: Mode = "paper") -> dict[str, str]:
    """Guess which file column holds each cohort column (case/accent/space-insensitive).

    Parameters
    ----------
    columns : iterable of str
        File column names (as in :attr:`RawTable.df`).
    mode : {"paper", "generic"}
        In generic mode only the survival roles (duration, event, dates) are suggested.

    Returns
    -------
    dict
        ``{cohort_column_or_role: file_column}``; each file column used at most once.
    """
    cols = list(dict.fromkeys(str(c) for c in columns))
    keys = {c: _keys(c) for c in cols}
    table = _synonym_table()
    targets = list(table) if mode == "paper" else ["os_days", "os_event", *DATE_ROLES]
    # candidates ranked: exact target name, then synonym order; full key beats stripped key
    scored: list[tuple[int, int, int, str, str]] = []
    for t_i, target in enumerate(targets):
        syns = table[target]
        for c_i, c in enumerate(cols):
            full, base = keys[c]
            for rank, s in enumerate(syns):
                if full == s:
                    scored.append((rank * 2, t_i, c_i, target, c))
                    break
                if base == s:
                    scored.append((rank * 2 + 1, t_i, c_i, target, c))
                    break
    out: dict[str, str] = {}
    used: set[str] = set()
    for _, _, _, target, c in sorted(scored):
        if target in out or c in used:
            continue
        out[target] = c
        used.add(c)
    if "os_days" in out and "os_start_date" in out and "os_end_date" in out:
        pass  # both offered; build_cohort prefers the explicit duration column
    return {t: out[t] for t in targets if t in out}


def _unit_of(column: str) -> Unit | None:
    parts = set(_norm(column).split("_"))
    for unit, words in _UNIT_WORDS.items():
        if parts & set(words):
            return unit  # type: ignore[return-value]
    return None


def suggest_units(mapping: Mapping[str, Any]) -> dict[str, Unit]:
    """Unit of each mapped duration column, read from its header ('OS (months)' -> months)."""
    out: dict[str, Unit] = {}
    for target in ("os_days", "pfs_days"):
        src = mapping.get(target)
        if isinstance(src, str):
            out[target] = _unit_of(src) or "days"
    return out


# --------------------------------------------------------------------------------------------
# Event coding
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventCoding:
    """How the event column is coded. ``apply`` maps ``events`` -> 1 and ``censored`` -> 0."""

    name: str
    events: frozenset[str]
    censored: frozenset[str]
    description: str

    def __str__(self) -> str:
        return self.description


_DEAD = frozenset(
    {
        "dead",
        "died",
        "death",
        "deceased",
        "decede",
        "decedee",
        "deces",
        "dcd",
        "dc",
        "mort",
        "morte",
        "event",
        "yes_died",
    }
)
_ALIVE = frozenset(
    {
        "alive",
        "living",
        "censored",
        "vivant",
        "vivante",
        "vie",
        "en_vie",
        "censure",
        "censuree",
        "no_event",
    }
)
EVENT_CODINGS: dict[str, EventCoding] = {
    "0/1": EventCoding("0/1", frozenset({"1"}), frozenset({"0"}), "0 = censored (alive), 1 = died"),
    "1/2": EventCoding(
        "1/2",
        frozenset({"2"}),
        frozenset({"1"}),
        "R survival coding: 1 = censored (alive), 2 = died",
    ),
    "true/false": EventCoding(
        "true/false",
        frozenset({"true", "t", "vrai"}),
        frozenset({"false", "f", "faux"}),
        "TRUE = died, FALSE = censored (alive)",
    ),
    "yes/no": EventCoding(
        "yes/no",
        frozenset({"yes", "y", "oui", "o"}),
        frozenset({"no", "n", "non"}),
        "yes/oui = died, no/non = censored (alive)",
    ),
    "dead/alive": EventCoding(
        "dead/alive", _DEAD, _ALIVE, "dead/décédé = died, alive/vivant = censored"
    ),
}
_TEXT_CODINGS = ("true/false", "yes/no", "dead/alive")


def _token(v: Any) -> str | None:
    """Normalised event/boolean token, or None when missing."""
    if not _present(v):
        return None
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        return str(int(v)) if float(v).is_integer() else str(float(v))
    text = str(v).strip()
    if re.fullmatch(r"[+-]?\d+([.,]0*)?", text):  # '1.0' / '1,0' -> '1'; '-1' stays '-1'
        return str(int(re.split(r"[.,]", text)[0]))
    return _norm(text)


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


def _tokens(series: pd.Series) -> pd.Series:
    return _per_unique(series, _token)


def detect_event_coding(series: pd.Series) -> EventCoding:
    """Detect the coding of a survival status column, before it is applied.

    Recognises 0/1, R's 1 = censored / 2 = died (``survival::Surv``), true/false, yes/no
    (oui/non), dead/alive (décédé/vivant); text codings may be combined (e.g. yes/no + 0/1).
    Values that fit no coding are ignored here and rejected row by row later.

    Raises
    ------
    IngestError
        No recognisable value, or an ambiguous column (only the value 1, or 0/1/2 together).
    """
    toks = set(_tokens(pd.Series(series, dtype=object)).dropna())
    if not toks:
        raise IngestError("the event column has no values")
    numeric = {t for t in toks if t.isdigit()}
    text = toks - numeric
    families = [
        n for n in _TEXT_CODINGS if text & (EVENT_CODINGS[n].events | EVENT_CODINGS[n].censored)
    ]
    num_name: str | None = None
    if numeric & {"0", "1", "2"}:
        if {"0", "2"} <= numeric:
            raise IngestError(
                "event column is ambiguous: it holds 0, 1 and 2. Use 0/1 (0 = censored, 1 = died) "
                "or R's 1/2 (1 = censored, 2 = died)."
            )
        if "2" in numeric:
            num_name = "1/2"
        elif "0" in numeric:
            num_name = "0/1"
        else:
            raise IngestError(
                "event column is ambiguous: every value is 1, which means 'died' in 0/1 coding "
                "but 'censored' in R's 1/2 coding. State the coding explicitly."
            )
    names = ([num_name] if num_name else []) + families
    if not names:
        shown = ", ".join(sorted(toks)[:8])
        raise IngestError(
            f"event column values not recognised ({shown}); use 0/1, 1/2 (R), true/false, "
            "yes/no, oui/non or dead/alive (décédé/vivant)."
        )
    if len(names) == 1:
        return EVENT_CODINGS[names[0]]
    parts = [EVENT_CODINGS[n] for n in names]
    return EventCoding(
        " + ".join(names),
        frozenset().union(*(p.events for p in parts)),
        frozenset().union(*(p.censored for p in parts)),
        "; ".join(p.description for p in parts),
    )


def as_event_coding(coding: EventCoding | str) -> EventCoding:
    if isinstance(coding, EventCoding):
        return coding
    if coding in EVENT_CODINGS:
        return EVENT_CODINGS[coding]
    parts = [p.strip() for p in str(coding).split("+")]
    if parts and all(p in EVENT_CODINGS for p in parts):
        ps = [EVENT_CODINGS[p] for p in parts]
        return EventCoding(
            " + ".join(parts),
            frozenset().union(*(p.events for p in ps)),
            frozenset().union(*(p.censored for p in ps)),
            "; ".join(p.description for p in ps),
        )
    raise IngestError(f"unknown event coding {coding!r}; choose one of {', '.join(EVENT_CODINGS)}")


def apply_event_coding(series: pd.Series, coding: EventCoding | str) -> tuple[pd.Series, pd.Series]:
    """Map a status column to 1 = event / 0 = censored.

    Returns
    -------
    (values, invalid) : (Series of Int64, Series of bool)
        ``invalid`` marks present values that the coding does not know.
    """
    c = as_event_coding(coding)
    toks = _tokens(pd.Series(series, dtype=object))
    lut = {t: 1 for t in c.events} | {t: 0 for t in c.censored}
    vals = toks.map(lambda t: lut.get(t) if t is not None else None)
    invalid = toks.notna() & vals.isna()
    return vals.astype("Int64"), invalid


# --------------------------------------------------------------------------------------------
# Cell coercion (vectorised over unique values)
# --------------------------------------------------------------------------------------------


def _all_text(series: pd.Series) -> bool:
    return pd.api.types.infer_dtype(series, skipna=False) == "string"


def _missing(series: pd.Series) -> pd.Series:
    if _all_text(series):  # CSV cells: vectorised
        return series.str.strip().str.casefold().isin(_NA_TOKENS)
    return _per_unique(series, _is_missing).astype(bool)


def _is_missing(v: Any) -> bool:
    if not _present(v):
        return True
    return isinstance(v, str) and v.strip().casefold() in _NA_TOKENS


def _to_number(series: pd.Series, decimal: str) -> tuple[pd.Series, pd.Series]:
    miss = _missing(series)

    def conv(v: Any) -> float:
        if isinstance(v, bool | np.bool_):
            return math.nan
        if isinstance(v, int | float | np.integer | np.floating):
            return float(v)
        if isinstance(v, str):
            s = v.strip().replace("\u2212", "-")
            if decimal == ",":
                s = s.replace(",", ".")
            if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", s):
                return math.nan
            return float(s)
        return math.nan

    vals = _per_unique(series, lambda v: math.nan if _is_missing(v) else conv(v))
    vals = pd.to_numeric(vals, errors="coerce").astype("float64")
    bad = ~miss & ~np.isfinite(vals)
    return vals.where(~bad & ~miss), bad


def _to_bool(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    miss = _missing(series)
    toks = _tokens(series)
    vals = toks.map(lambda t: True if t in _BOOL_TRUE else False if t in _BOOL_FALSE else None)
    bad = ~miss & vals.isna()
    return vals.where(~miss & ~bad, None).astype("boolean"), bad


def _to_cat(series: pd.Series, allowed: Mapping[str, str]) -> tuple[pd.Series, pd.Series]:
    miss = _missing(series)
    vals = _per_unique(series, lambda v: allowed.get(_norm(v)) if _present(v) else None)
    bad = ~miss & vals.isna()
    return vals.where(~miss & ~bad, None).astype(object), bad


def _to_text(series: pd.Series) -> pd.Series:
    miss = _missing(series)
    if _all_text(series):
        return series.str.strip().astype(object).where(~miss, None)
    return _per_unique(series, lambda v: str(v).strip() if _present(v) else None).where(~miss, None)


_DATE_FORMATS = (
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d/%m/%y",
    "%m/%d/%y",
    "%Y%m%d",
)


def _to_date(series: pd.Series, dayfirst: bool | None) -> tuple[pd.Series, pd.Series, str | None]:
    """Parse dates; returns (datetime64 series, invalid mask, format used)."""
    miss = _missing(series)
    native = series.map(lambda v: isinstance(v, pd.Timestamp | np.datetime64) or hasattr(v, "year"))
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    if native.any():
        out[native] = pd.to_datetime(series[native], errors="coerce")
    text = series[~native & ~miss].map(str).str.strip()
    fmt_used: str | None = None
    if len(text):
        best: list[tuple[int, str, pd.Series]] = []
        iso = pd.to_datetime(text, format="ISO8601", errors="coerce")
        best.append((int(iso.notna().sum()), "ISO8601", iso))
        for fmt in _DATE_FORMATS:
            parsed = pd.to_datetime(text, format=fmt, errors="coerce")
            best.append((int(parsed.notna().sum()), fmt, parsed))
        top = max(b[0] for b in best)
        winners = [b for b in best if b[0] == top and top > 0]
        if winners:
            fmts = [w[1] for w in winners]
            dm = [f for f in fmts if f.startswith("%d")]
            md = [f for f in fmts if f.startswith("%m")]
            if dm and md and len(winners) > 1:
                if dayfirst is None:
                    raise IngestError(
                        f"dates such as {text.iloc[0]!r} are ambiguous (day/month or month/day): "
                        "state the date order (day first or month first)."
                    )
                pick = dm[0] if dayfirst else md[0]
            else:
                pick = fmts[0]
            fmt_used = pick
            out[text.index] = next(w[2] for w in winners if w[1] == pick)
    bad = ~miss & out.isna()
    return out, bad, fmt_used


# --------------------------------------------------------------------------------------------
# Report & cohort building
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestReport:
    """Result of :func:`read_cohort` / :func:`build_cohort`.

    Attributes
    ----------
    accepted : DataFrame
        Valid rows in the cohort schema (paper mode: contract columns + death_1y/outcome_1y;
        generic mode: the user's columns + os_days/os_event); index = user row number.
    rejected : DataFrame
        One line per problem: ``row`` (user row number, header = 1), ``column`` (file column),
        ``value`` (as text), ``reason``.
    mapping : dict
        ``{cohort column or role: file column}`` actually used.
    warnings : tuple of str
    event_coding : EventCoding or None
    """

    accepted: pd.DataFrame
    rejected: pd.DataFrame
    mapping: dict[str, Any]
    warnings: tuple[str, ...]
    event_coding: EventCoding | None
    mode: Mode = "paper"
    source_format: str = ""
    units: dict[str, str] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    missing_columns: tuple[str, ...] = ()
    n_rows: int = 0

    @property
    def n_accepted(self) -> int:
        return len(self.accepted)

    @property
    def n_rejected_rows(self) -> int:
        return int(self.rejected["row"].nunique()) if len(self.rejected) else 0


def read_cohort(
    data: bytes,
    filename: str,
    mapping: Mapping[str, Any] | None = None,
    *,
    mode: Mode = "paper",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    units: Mapping[str, str] | None = None,
    event_coding: EventCoding | str | None = None,
    dayfirst: bool | None = None,
    sheet: str | None = None,
) -> IngestReport:
    """Read, map and validate an uploaded cohort file. See :func:`build_cohort`."""
    table = read_table(data, filename, max_bytes=max_bytes, max_rows=max_rows, sheet=sheet)
    return build_cohort(
        table,
        mapping,
        mode=mode,
        units=units,
        event_coding=event_coding,
        dayfirst=dayfirst,
    )


class _Rejects:
    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(self, mask: pd.Series, column: str, values: pd.Series, reason: str | pd.Series) -> None:
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        idx = mask.index[mask.to_numpy()]
        self.parts.append(
            pd.DataFrame(
                {
                    "row": np.asarray(idx, dtype="int64"),
                    "column": column,
                    "value": [_show(v) for v in values.loc[idx]],
                    "reason": reason if isinstance(reason, str) else reason.loc[idx].to_numpy(),
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(
                {c: pd.Series(dtype="int64" if c == "row" else object) for c in REJECTED_COLUMNS}
            )
        out = pd.concat(self.parts, ignore_index=True)
        return out.sort_values("row", kind="stable").reset_index(drop=True)


def _show(v: Any) -> str:
    if not _present(v):
        return ""
    return str(v)[:200]


def _check_mapping(
    mapping: Mapping[str, Any], columns: Sequence[str], mode: Mode
) -> dict[str, Any]:
    known = set(COHORT_COLUMNS) | set(DATE_ROLES) | {"groups"}
    out: dict[str, Any] = {}
    for target, src in mapping.items():
        if src is None or src == "":
            continue
        if target not in known:
            raise IngestError(f"unknown mapping target {target!r}")
        if target == "groups":
            srcs = [src] if isinstance(src, str) else list(src)
            for s in srcs:
                if s not in columns:
                    raise IngestError(f"grouping column {s!r} is not in the file")
            out[target] = tuple(srcs)
            continue
        if not isinstance(src, str) or src not in columns:
            raise IngestError(f"{target} is mapped to {src!r}, which is not a column of the file")
        out[target] = src
    srcs = [v for k, v in out.items() if k != "groups"]
    dup = sorted({v for v in srcs if srcs.count(v) > 1})
    if dup:
        raise IngestError(f"file column {dup[0]!r} is mapped to more than one cohort column")
    if mode == "generic":
        extra = set(out) - set(GENERIC_ROLES) - {"pfs_end_date"}
        if extra:
            raise IngestError(
                "in generic mode map only the duration, event, dates and groups; got "
                + ", ".join(sorted(extra))
            )
    return out


def _duration(
    raw: pd.DataFrame,
    m: Mapping[str, Any],
    target: str,
    end_role: str,
    units: Mapping[str, str],
    decimal: str,
    dayfirst: bool | None,
    rej: _Rejects,
    warnings: list[str],
    required: bool,
) -> tuple[pd.Series | None, dict[str, str]]:
    used_units: dict[str, str] = {}
    if target in m:
        src = m[target]
        unit = units.get(target) or _unit_of(src) or "days"
        if unit not in DAYS_PER_UNIT:
            raise IngestError(f"unknown unit {unit!r} for {target}; use days, weeks, months, years")
        if unit != "days" and target not in units:
            warnings.append(f"{src!r} read as {unit} (from its name) and converted to days.")
        used_units[target] = unit
        vals, bad = _to_number(raw[src], decimal)
        rej.add(bad, src, raw[src], "not a number")
        neg = vals < 0
        rej.add(neg, src, raw[src], "negative duration")
        vals = vals.where(~neg) * DAYS_PER_UNIT[unit]
        hi = _SPEC_BY_NAME[target].hi if target in _SPEC_BY_NAME else None
        if hi is not None:
            over = vals > hi
            rej.add(over, src, raw[src], f"above {hi:g} days")
            vals = vals.where(~over)
        if (target == "os_days" and "os_end_date" in m) or (end_role in m and target != "os_days"):
            warnings.append(f"{target}: the duration column {src!r} was used; dates ignored.")
        miss = _missing(raw[src])
        if required:
            rej.add(miss, src, raw[src], f"{target} is required but empty")
        return vals, used_units
    if "os_start_date" in m and end_role in m:
        s_src, e_src = m["os_start_date"], m[end_role]
        start, bad_s, f1 = _to_date(raw[s_src], dayfirst)
        end, bad_e, f2 = _to_date(raw[e_src], dayfirst)
        rej.add(bad_s, s_src, raw[s_src], "not a date")
        rej.add(bad_e, e_src, raw[e_src], "not a date")
        days = (end - start).dt.total_seconds() / 86400.0
        neg = days < 0
        rej.add(neg, e_src, raw[e_src], f"date is before {s_src!r}")
        if required:
            rej.add(
                _missing(raw[s_src]),
                s_src,
                raw[s_src],
                "start date is required but empty",
            )
            rej.add(
                _missing(raw[e_src]),
                e_src,
                raw[e_src],
                "end date is required but empty",
            )
        used_units[target] = f"dates: {s_src} → {e_src}"
        fmts = {f for f in (f1, f2) if f}
        warnings.append(
            f"{target} computed as days from {s_src!r} to {e_src!r}"
            + (f" (date format {', '.join(sorted(fmts))})." if fmts else ".")
        )
        return days.where(~neg).astype("float64"), used_units
    return None, used_units


def build_cohort(
    table: RawTable,
    mapping: Mapping[str, Any] | None = None,
    *,
    mode: Mode = "paper",
    units: Mapping[str, str] | None = None,
    event_coding: EventCoding | str | None = None,
    dayfirst: bool | None = None,
) -> IngestReport:
    """Map and validate a :class:`RawTable` into the cohort schema.

    Parameters
    ----------
    table : RawTable
    mapping : dict, optional
        ``{cohort column or role: file column}``; default :func:`suggest_mapping`. Roles besides
        cohort columns: ``os_start_date`` + ``os_end_date`` (-> ``os_days``), ``pfs_end_date``
        and, in generic mode, ``groups`` (file column or list of them).
    mode : {"paper", "generic"}
        paper: the contract columns (required os_days and os_event; icu_reason/ecog_ps/sofa
        required when present); generic: any columns, os_days/os_event from the mapped
        duration/event, other columns kept with inferred types.
    units : dict, optional
        ``{"os_days": "months", ...}``; default from the header name, else days.
    event_coding : EventCoding or str, optional
        Confirmed coding (a key of :data:`EVENT_CODINGS`); default :func:`detect_event_coding`.
    dayfirst : bool, optional
        Date order for ambiguous dates such as 03/04/2020.

    Returns
    -------
    IngestReport
        Rows with any invalid value are rejected whole; every problem is one line of
        ``rejected`` naming the row (header = row 1) and the file column.
    """
    raw = table.df
    m = _check_mapping(
        suggest_mapping(raw.columns, mode) if mapping is None else mapping,
        list(raw.columns),
        mode,
    )
    units = dict(units or {})
    warnings: list[str] = list(table.warnings)
    rej = _Rejects()
    out: dict[str, pd.Series] = {}

    os_days, used_units = _duration(
        raw,
        m,
        "os_days",
        "os_end_date",
        units,
        table.decimal,
        dayfirst,
        rej,
        warnings,
        True,
    )
    if os_days is None:
        raise IngestError(
            "no survival time: map a duration column (os_days) or an admission date and an "
            "event/last-seen date (os_start_date + os_end_date)."
        )
    out["os_days"] = os_days
    if "os_event" not in m:
        raise IngestError("no event column: map os_event (e.g. status, death, dead).")
    coding = as_event_coding(event_coding) if event_coding is not None else None
    coding = coding or detect_event_coding(raw[m["os_event"]])
    ev, bad_ev = apply_event_coding(raw[m["os_event"]], coding)
    src = m["os_event"]
    rej.add(bad_ev, src, raw[src], f"not a valid event value for coding '{coding.name}'")
    rej.add(_missing(raw[src]), src, raw[src], "os_event is required but empty")
    out["os_event"] = ev
    warnings.append(f"event coding of {src!r}: {coding.description}.")

    missing_cols: list[str] = []
    groups: tuple[str, ...] = ()
    if mode == "paper":
        pfs, u2 = _duration(
            raw,
            m,
            "pfs_days",
            "pfs_end_date",
            units,
            table.decimal,
            dayfirst,
            rej,
            warnings,
            False,
        )
        used_units.update(u2)
        if pfs is not None:
            out["pfs_days"] = pfs
        for col in _SPEC:
            if col.name in out or col.name not in m:
                continue
            s = m[col.name]
            values = raw[s]
            if col.kind in {"int", "float"}:
                v, bad = _to_number(values, table.decimal)
                rej.add(bad, s, values, "not a number")
                if col.kind == "int":
                    frac = v.notna() & (v != np.floor(v.fillna(0)))
                    rej.add(frac, s, values, "not a whole number")
                    v = v.where(~frac)
                rng = pd.Series(False, index=v.index)
                if col.lo is not None:
                    rng |= v < col.lo
                if col.hi is not None:
                    rng |= v > col.hi
                lo = "" if col.lo is None else f"{col.lo:g}"
                hi = "" if col.hi is None else f"{col.hi:g}"
                text = f"outside {lo}–{hi}" if lo and hi else f"below {lo}" if lo else f"above {hi}"
                rej.add(rng, s, values, text)
                v = v.where(~rng)
                out[col.name] = v.round().astype("Int64") if col.kind == "int" else v
            elif col.kind == "bool":
                v, bad = _to_bool(values)
                rej.add(
                    bad,
                    s,
                    values,
                    "not yes/no (expected 1/0, yes/no, true/false, oui/non)",
                )
                out[col.name] = v
            elif col.kind == "cat":
                v, bad = _to_cat(values, col.allowed)
                opts = ", ".join(dict.fromkeys(col.allowed.values()))
                rej.add(bad, s, values, f"not one of: {opts}")
                out[col.name] = v
            elif col.kind == "event":
                try:
                    coding_p = detect_event_coding(values) if _present_any(values) else coding
                except IngestError as exc:
                    coding_p = coding
                    warnings.append(f"{s!r}: {exc} The os_event coding was used.")
                v, bad = apply_event_coding(values, coding_p)
                rej.add(
                    bad,
                    s,
                    values,
                    f"not a valid event value for coding '{coding_p.name}'",
                )
                out[col.name] = v
            else:
                text = _to_text(values)
                long = text.map(lambda v: isinstance(v, str) and len(v) > MAX_TEXT_CHARS)
                rej.add(long, s, values, f"longer than {MAX_TEXT_CHARS} characters")
                out[col.name] = text.where(~long, None)
        if (
            "pfs_days" in out
        ):  # core.cohort.schema.Patient: progression cannot follow last follow-up
            late = out["pfs_days"] > out["os_days"] + 1e-9
            src = m.get("pfs_days") or m.get("pfs_end_date", "pfs_days")
            rej.add(late, src, raw[src], "pfs_days is later than os_days")
        for col in MODEL_COLUMNS:
            if col in m:
                rej.add(
                    _missing(raw[m[col]]),
                    m[col],
                    raw[m[col]],
                    f"{col} is required for the published model but empty",
                )
        if "patient_id" in out:
            pid = out["patient_id"]
            rej.add(pid.isna(), m["patient_id"], raw[m["patient_id"]], "patient_id is empty")
            dup = pid.notna() & pid.duplicated(keep="first")
            if dup.any():
                first_row = pd.Series(pid.index, index=pid.index).groupby(pid).transform("first")
                reasons = "duplicate patient_id (first at row " + first_row.astype(str) + ")"
                rej.add(dup, m["patient_id"], raw[m["patient_id"]], reasons)
        else:
            out["patient_id"] = pd.Series(
                [f"row-{r}" for r in raw.index], index=raw.index, dtype=object
            )
            warnings.append("no patient_id column: patients are named by their row (row-2, …).")
        missing_cols = [c for c in COHORT_COLUMNS if c not in out]
        if missing_cols:
            model_missing = [c for c in MODEL_COLUMNS if c in missing_cols]
            warnings.append(
                f"{len(missing_cols)} cohort column(s) not in the file (left empty): "
                + ", ".join(missing_cols)
            )
            if model_missing:
                warnings.append(
                    "the published-model calculator needs "
                    + ", ".join(model_missing)
                    + "; it will be unavailable for this cohort."
                )
        used = {v for k, v in m.items() if k != "groups"}
        ignored = [c for c in raw.columns if c not in used]
        if ignored:
            warnings.append(
                f"{len(ignored)} file column(s) not used: "
                + ", ".join(map(repr, ignored[:15]))
                + (" …" if len(ignored) > 15 else "")
            )
        frame = pd.DataFrame(index=raw.index)
        for c in COHORT_COLUMNS:
            frame[c] = out[c] if c in out else _empty(c, raw.index)
    else:
        groups = tuple(m.get("groups", ()))
        consumed = {m.get("os_days"), m.get("os_event")} - {None}
        frame = pd.DataFrame(index=raw.index)
        for c in raw.columns:
            if c in consumed:
                continue
            name = c
            while name in {"os_days", "os_event"} or name in frame.columns:
                name = f"{name} (file)"
            frame[name] = _infer(raw[c], table.decimal)
            if c in groups and name != c:
                groups = tuple(name if g == c else g for g in groups)
        frame["os_days"] = out["os_days"]
        frame["os_event"] = out["os_event"]
        for g in groups:
            k = frame[g].nunique(dropna=True)
            if k > 20:
                warnings.append(f"grouping column {g!r} has {k} distinct values.")

    rejected = rej.frame()
    bad_rows = set(rejected["row"].tolist())
    accepted = frame.loc[[r not in bad_rows for r in frame.index]].copy()
    accepted["os_event"] = accepted["os_event"].astype("int64")
    accepted["os_days"] = accepted["os_days"].astype("float64")
    if mode == "paper":
        accepted = _schema_check(accepted, rej, m, raw, warnings)
        rejected = rej.frame()
    accepted.index.name = "row"
    if len(rejected):
        warnings.append(
            f"{rejected['row'].nunique()} row(s) rejected ({len(rejected)} problem(s)); "
            "download the list to fix them."
        )
    if len(accepted) == 0:
        warnings.append("no valid rows: every row was rejected.")
    return IngestReport(
        accepted=accepted,
        rejected=rejected,
        mapping=dict(m),
        warnings=tuple(warnings),
        event_coding=coding,
        mode=mode,
        source_format=table.format,
        units=used_units,
        groups=groups,
        missing_columns=tuple(missing_cols),
        n_rows=len(raw),
    )


def _present_any(values: pd.Series) -> bool:
    return bool((~_missing(values)).any())


def _empty(column: str, index: pd.Index) -> pd.Series:
    kind = _SPEC_BY_NAME[column].kind
    dtype = {
        "int": "Int64",
        "float": "float64",
        "bool": "boolean",
        "event": "Int64",
    }.get(kind, object)
    if dtype == "float64":
        return pd.Series(np.nan, index=index, dtype="float64")
    return pd.Series(None if dtype is object else pd.NA, index=index, dtype=dtype)


def _infer(series: pd.Series, decimal: str) -> pd.Series:
    """Generic mode: numbers stay numbers (Int64 when whole), everything else plain text."""
    miss = _missing(series)
    vals, bad = _to_number(series, decimal)
    if not bad.any() and (~miss).any():
        whole = vals.dropna()
        if len(whole) and (whole == np.floor(whole)).all() and whole.abs().max() < 2**53:
            return vals.round().astype("Int64")
        return vals
    native = series.map(lambda v: isinstance(v, pd.Timestamp) or hasattr(v, "year"))
    if native[~miss].all() and (~miss).any():
        return pd.to_datetime(series.where(~miss), errors="coerce")
    return _to_text(series)


def _schema_check(
    accepted: pd.DataFrame,
    rej: _Rejects,
    m: Mapping[str, Any],
    raw: pd.DataFrame,
    warnings: list[str],
) -> pd.DataFrame:
    """Validate the coerced rows with the pydantic ``Patient`` model (core.cohort.schema).

    Our coercion already enforces the dictionary's types, ranges and levels; the model adds
    its own rules (e.g. pfs_days <= os_days). Each error becomes a rejected row.
    """
    try:
        from core.cohort.schema import validate_frame
    except ImportError:
        return accepted
    if len(accepted) == 0:
        return accepted
    frame = accepted.reset_index(drop=True)
    # columns absent from the file are all-null: leave them to the model's defaults
    frame = frame[[c for c in frame.columns if frame[c].notna().any()]]
    if len(frame) > PYDANTIC_FULL_ROWS:  # ~70 µs a row: sample evenly, our checks cover all
        step = -(-len(frame) // PYDANTIC_FULL_ROWS)
        frame = frame.iloc[::step]
        warnings.append(
            f"the pydantic model checked 1 row in {step} ({len(frame):,} rows); all rows "
            "passed the same dictionary rules (types, ranges, levels)."
        )
    errors = validate_frame(frame, row_offset=0)
    positions = frame.index.to_numpy()
    if not errors:
        return accepted
    rows = accepted.index.to_numpy()
    by_source: dict[tuple[str, str], list[int]] = {}
    for e in errors:
        column = str(e.column)
        src = m.get(column, column)
        if column == "(row)":  # cross-field rule (pfs_days <= os_days): name both inputs
            src = " / ".join(str(m.get(c, c)) for c in ("pfs_days", "os_days"))
        by_source.setdefault((src, str(e.message)), []).append(int(rows[positions[e.row]]))
    for (src, message), user_rows in by_source.items():
        mask = pd.Series(raw.index.isin(user_rows), index=raw.index)
        values = raw[src] if src in raw.columns else pd.Series("", index=raw.index)
        rej.add(mask, src, values, message)
    bad = {r for rs in by_source.values() for r in rs}
    return accepted.loc[~accepted.index.isin(list(bad))]


# --------------------------------------------------------------------------------------------
# Safe exports
# --------------------------------------------------------------------------------------------

_FORMULA_START = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
)


def _neutral(v: Any) -> Any:
    # leading spaces do not stop a spreadsheet from reading " =cmd()" as a formula
    if not isinstance(v, str):
        return v
    if v.startswith(_FORMULA_START) or v.lstrip().startswith(_FORMULA_START):
        return "'" + v
    return v


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix ``'`` to text cells (and headers) starting with = + - @ TAB CR (CSV injection).

    Also their full-width forms, and the same signs after leading spaces. The one
    implementation for every export of the app (CSV, Excel, LaTeX tables, downloads).

    Numbers are left alone; only text that a spreadsheet could interpret as a formula changes.
    """
    out = df.copy()
    out.columns = [_neutral(str(c)) for c in out.columns]
    for c in out.columns:
        col = out[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            out[c] = col.map(_neutral)
    return out


def rejected_csv(report: IngestReport) -> bytes:
    """The rejected rows as a UTF-8 (BOM) CSV, formulas neutralised."""
    rej = report.rejected
    if len(rej) == 0:
        rej = pd.DataFrame(columns=list(REJECTED_COLUMNS))
    return neutralise_formulas(rej).to_csv(index=False).encode("utf-8-sig")


def accepted_csv(report: IngestReport) -> bytes:
    """The accepted rows as a UTF-8 (BOM) CSV, formulas neutralised."""
    return (
        neutralise_formulas(report.accepted.reset_index()).to_csv(index=False).encode("utf-8-sig")
    )


def template_csv() -> bytes:
    """An empty cohort CSV (header only) with the contract's columns."""
    return (",".join(COHORT_COLUMNS) + "\n").encode("utf-8")


def dictionary_csv() -> bytes:
    """data/dictionary.csv when it exists, else the built-in column list."""
    path = _DATA_DIR / "dictionary.csv"
    if path.exists():
        return path.read_bytes()
    rows = [
        {
            "column": c.name,
            "type": c.kind,
            "allowed": " | ".join(dict.fromkeys(c.allowed.values())),
            "range": "" if c.lo is None and c.hi is None else f"{c.lo or ''}..{c.hi or ''}",
            "synonyms": " | ".join(c.synonyms),
        }
        for c in _SPEC
    ]
    return pd.DataFrame(rows).to_csv(index=False).encode("utf-8")


# --------------------------------------------------------------------------------------------
# Session store
# --------------------------------------------------------------------------------------------


def load_into_session(report: IngestReport) -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB connection holding the accepted rows as ``patients``.

    Built by :func:`core.cohort.db.session_connection` (table ``patients_raw`` + view ``patients``
    with
    the derived ``death_1y`` / ``outcome_1y``, defined once there), then locked down: no temp
    directory (no spilling to disk) and no external access (no file or network I/O from SQL).
    Column names reach DuckDB only through ``register``, never through SQL text.
    """
    from core.cohort import db

    if len(report.accepted) == 0:
        raise IngestError("no valid rows to load: every row was rejected.")
    df = report.accepted.reset_index(drop=True)
    for c in df.columns:  # text columns as VARCHAR even when all-empty (else DuckDB types NULL)
        if df[c].dtype == object:
            df[c] = df[c].astype("string")
    con = db.session_connection(df)
    con.execute("SET temp_directory = ''")  # must precede the next line
    con.execute("SET enable_external_access = false")
    return con
