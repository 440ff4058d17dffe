"""DuckDB access: the shipped read-only cohort, session cohorts, and the shared filter in SQL.

* ``connect()`` opens ``data/cohort.duckdb`` **read-only** (built from ``data/cohort.csv`` by
  ``python -m core.cohort.db``); its view ``patients`` adds the derived columns ``death_1y`` and
  ``outcome_1y`` (the paper's Table 4 grouping).
* ``session_connection(df)`` puts an uploaded cohort in a private in-memory DuckDB with the
  same ``patients`` view; nothing is written to disk.
* ``fetch_cohort(con, cohort_filter)`` applies :class:`core.cohort.schema.CohortFilter` in SQL with
  bound parameters; identifiers come from a fixed list and are quoted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb
import pandas as pd

from core.cohort.schema import CohortFilter, load_dictionary, validate_frame
from core.paths import DATA_DIR

COHORT_CSV = DATA_DIR / "cohort.csv"
SHIPPED_DB = DATA_DIR / "cohort.duckdb"
ONE_YEAR_DAYS = 365

_DUCK_TYPES = {
    "int": "INTEGER",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "category": "VARCHAR",
    "str": "VARCHAR",
    "event": "INTEGER",
}

# Derived columns, defined once for the shipped and the uploaded cohorts.
PATIENTS_VIEW_SQL = f"""
CREATE OR REPLACE VIEW patients AS
SELECT *,
       (os_event = 1 AND os_days <= {ONE_YEAR_DAYS}) AS death_1y,
       CASE WHEN os_event = 1 AND os_days <= {ONE_YEAR_DAYS}
            THEN '1-year decedent' ELSE '1-year survivor' END AS outcome_1y
FROM patients_raw
"""


class CohortError(ValueError):
    """The cohort file does not satisfy the data dictionary."""


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (double quotes doubled): the only way a user's name reaches SQL."""
    return '"' + str(name).replace('"', '""') + '"'


def _hardened(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    # no implicit scans of Python variables: data frames must be registered explicitly
    con.execute("SET python_enable_replacements = false")
    return con


def read_cohort_csv(path: str | Path = COHORT_CSV) -> pd.DataFrame:
    """Read the cohort CSV with the dictionary's types and validate every row.

    Raises
    ------
    CohortError
        naming the first bad rows and columns.
    """
    spec = load_dictionary()
    con = _hardened(duckdb.connect(":memory:"))
    header = pd.read_csv(path, nrows=0).columns.tolist()
    unknown = [c for c in header if c not in spec]
    if unknown:
        raise CohortError(f"{Path(path).name}: columns not in the data dictionary: {unknown}")
    types = {c: _DUCK_TYPES[spec[c].type] for c in header}
    df = con.execute(
        "SELECT * FROM read_csv(?, header = true, columns = ?, nullstr = '')",
        [str(path), types],
    ).df()
    con.close()
    errors = validate_frame(df)
    if errors:
        shown = "; ".join(f"row {e.row}, {e.column}: {e.message}" for e in errors[:5])
        raise CohortError(f"{Path(path).name}: {len(errors)} invalid cell(s): {shown}")
    return df


def build_database(csv: str | Path = COHORT_CSV, out: str | Path = SHIPPED_DB) -> Path:
    """Build the shipped DuckDB file from the CSV (validated), replacing any old file."""
    df = read_cohort_csv(csv)
    out = Path(out)
    out.unlink(missing_ok=True)
    con = _hardened(duckdb.connect(str(out)))
    con.register("cohort_df", df)
    con.execute("CREATE TABLE patients_raw AS SELECT * FROM cohort_df")
    con.unregister("cohort_df")
    con.execute(PATIENTS_VIEW_SQL)
    con.close()
    return out


def connect(path: str | Path = SHIPPED_DB) -> duckdb.DuckDBPyConnection:
    """Open the shipped cohort read-only (table ``patients_raw``, view ``patients``)."""
    if not Path(path).exists():
        raise CohortError(f"{path} is missing: run `python -m core.cohort.db` to build it")
    return _hardened(duckdb.connect(str(path), read_only=True))


def sql_type(dtype) -> str:
    """The DuckDB type DuckDB itself gives a pandas column of ``dtype`` (for an empty one)."""
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "BIGINT"
    if pd.api.types.is_float_dtype(dtype):
        return "DOUBLE"
    return "VARCHAR"


def session_connection(
    df: pd.DataFrame,
    empty: Mapping[str, str] | None = None,
    order: Sequence[str] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB holding ``df`` as ``patients`` (for uploaded cohorts).

    ``empty`` adds all-NULL columns of the given types (:func:`sql_type`) without a pandas
    column each, or a stored one (``patients_raw`` is then a view over ``patients_filled``);
    ``order`` is the table's column order (default: ``df``'s, then ``empty``'s).
    """
    empty = dict(empty or {})
    names = list(order) if order is not None else [*df.columns, *empty]
    con = _hardened(duckdb.connect(":memory:"))
    con.register("upload_df", df)
    select = ", ".join(
        f"CAST(NULL AS {empty[c]}) AS {quote_ident(c)}" if c in empty else quote_ident(c)
        for c in names
    )
    if empty:
        # DuckDB stores an in-memory table uncompressed, a NULL column too (8 bytes a row: a
        # 200,000-row minimal file's 54 absent columns took ~60 MB); a view adds them instead
        con.execute("CREATE TABLE patients_filled AS SELECT * FROM upload_df")
        con.execute(f"CREATE VIEW patients_raw AS SELECT {select} FROM patients_filled")
    else:
        con.execute(f"CREATE TABLE patients_raw AS SELECT {select} FROM upload_df")
    con.unregister("upload_df")
    cols = set(table_columns(con, "patients_raw"))
    if {"os_days", "os_event"} <= cols:
        con.execute(PATIENTS_VIEW_SQL)
    else:
        con.execute("CREATE OR REPLACE VIEW patients AS SELECT * FROM patients_raw")
    return con


def table_columns(con: duckdb.DuckDBPyConnection, table: str = "patients") -> list[str]:
    """Column names of ``table`` (looked up with a bound parameter)."""
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [r[0] for r in rows]


def filter_clause(cohort_filter: CohortFilter, columns: list[str]) -> tuple[str, list]:
    """SQL ``WHERE`` clause and bound parameters for a :class:`CohortFilter`.

    Only columns present in ``columns`` are filtered (an uploaded cohort may lack some);
    the identifiers come from the filter's own field names, quoted.
    """
    parts: list[str] = []
    params: list = []
    available = set(columns)
    for field in ("icu_reason", "ecog_ps", "malignancy", "sex"):
        levels = getattr(cohort_filter, field)
        if levels is None or field not in available:
            continue
        if not levels:
            parts.append("FALSE")
            continue
        parts.append(f"{quote_ident(field)} IN ({', '.join('?' for _ in levels)})")
        params.extend(levels)
    for column, lo, hi in (
        ("age", cohort_filter.age_min, cohort_filter.age_max),
        ("sofa", cohort_filter.sofa_min, cohort_filter.sofa_max),
    ):
        if column not in available:
            continue
        if lo is not None:
            parts.append(f"{quote_ident(column)} >= ?")
            params.append(lo)
        if hi is not None:
            parts.append(f"{quote_ident(column)} <= ?")
            params.append(hi)
    return (" AND ".join(parts) if parts else "TRUE"), params


def fetch_cohort(
    con: duckdb.DuckDBPyConnection,
    cohort_filter: CohortFilter | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rows of ``patients`` that pass the filter, ordered as stored (``columns``: only those,
    each a column of ``patients``; default all)."""
    cohort_filter = cohort_filter or CohortFilter()
    known = table_columns(con)
    where, params = filter_clause(cohort_filter, known)
    if columns is None:
        select = "*"
    else:
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise KeyError(f"unknown column(s) {unknown!r}")
        select = ", ".join(quote_ident(c) for c in columns)
    return _shared_strings(con.execute(f"SELECT {select} FROM patients WHERE {where}", params).df())


def _shared_strings(df: pd.DataFrame) -> pd.DataFrame:
    """Each text column's repeated values as one Python string each, in place.

    DuckDB's ``.df()`` makes a new ``str`` per cell (~55 bytes each); a 200,000-row cohort's
    few-level columns (sex, reason, outcome) then cost ~11 MB each instead of 1.6 MB of
    pointers. Values, order and dtype are unchanged (pandas' CSV reader shares them the same way).
    """
    for c in df.columns:
        col = df[c]
        if col.dtype != object or len(col) < 1_000:
            continue
        values = col.to_numpy()
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        # every text column is replaced, the unique ones by a copy: DuckDB hands the text
        # columns over as views of one 2-D block, which one remaining view would keep whole
        values = uniques.take(codes) if len(uniques) * 2 < len(col) else values.copy()
        df[c] = pd.Series(values, index=col.index, dtype=object)
    return df


def filled_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Columns of ``patients`` holding at least one value, in table order (one scan)."""
    cols = table_columns(con)
    counts = con.execute(
        "SELECT " + ", ".join(f"count({quote_ident(c)})" for c in cols) + " FROM patients"
    ).fetchone()
    return [c for c, k in zip(cols, counts, strict=True) if k]


def cohort_size(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT count(*) FROM patients").fetchone()[0])


def distinct_values(con: duckdb.DuckDBPyConnection, column: str) -> list:
    """Sorted distinct non-null values of a known column of ``patients``."""
    if column not in table_columns(con):
        raise KeyError(f"unknown column {column!r}")
    q = quote_ident(column)
    rows = con.execute(f"SELECT DISTINCT {q} FROM patients WHERE {q} IS NOT NULL ORDER BY 1")
    return [r[0] for r in rows.fetchall()]


def value_range(con: duckdb.DuckDBPyConnection, column: str) -> tuple[float, float] | None:
    """(min, max) of a known numeric column of ``patients``; None when it has no value."""
    if column not in table_columns(con):
        raise KeyError(f"unknown column {column!r}")
    q = quote_ident(column)
    lo, hi = con.execute(f"SELECT min({q}), max({q}) FROM patients").fetchone()
    return None if lo is None else (float(lo), float(hi))


if __name__ == "__main__":
    print(f"built {build_database()}")
