"""Read a user's cohort file (CSV/TSV, XLSX, Parquet) into the cohort schema, safely.

Everything happens in memory: the uploaded bytes are parsed from ``io.BytesIO`` /
``io.StringIO``, validated, and :func:`load_into_session` puts the accepted rows into a private
in-memory DuckDB connection (no file, no spilling, no external access). User text -- headers and
cells -- is only ever data: it is never evaluated (no formulas, no SQL built from it, no HTML).

Stages: :mod:`core.cohort.read` (bytes to cells), :mod:`core.cohort.mapping` (columns,
units, event coding), :mod:`core.cohort.coerce` (cells to values), then this module
(validation, rejections with their rows, the session database);
the safe downloads are in :mod:`core.export`.

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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from core.cohort.coerce import missing_cells, to_bool, to_cat, to_date, to_number, to_text
from core.cohort.mapping import (
    _SPEC,
    _SPEC_BY_NAME,
    COHORT_COLUMNS,
    DATE_ROLES,
    DAYS_PER_UNIT,
    GENERIC_ROLES,
    MODEL_COLUMNS,
    EventCoding,
    Mode,
    _unit_of,
    apply_event_coding,
    as_event_coding,
    detect_event_coding,
    suggest_mapping,
)
from core.cohort.read import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    IngestError,
    RawTable,
    _present,
    read_table,
)

MAX_TEXT_CHARS = 200  # core.cohort.schema: str fields max_length=200


PYDANTIC_FULL_ROWS = 50_000  # above this, the pydantic cross-check runs on a sample


REJECTED_COLUMNS = ("row", "column", "value", "reason")


# --------------------------------------------------------------------------------------------
# Report & cohort building
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestReport:
    """Result of :func:`read_cohort` / :func:`build_cohort`.

    Attributes
    ----------
    accepted : DataFrame
        Valid rows in the cohort schema (paper mode: the contract columns the file provides,
        in contract order, the others listed in ``missing_columns`` and filled in by
        :meth:`full_table`; generic mode: the user's columns + os_days/os_event); index = user
        row number.
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

    def full_table(self, rows: int | None = None) -> pd.DataFrame:
        """The accepted rows (the first ``rows``, default all) with every contract column:
        those the file lacks empty, typed as the dictionary says.

        ``accepted`` does not hold them: 200,000 empty cells per absent column (54 of 64 for a
        minimal paper file, ~55 MB) would only be carried around.
        """
        acc = self.accepted if rows is None else self.accepted.head(rows)
        if not self.missing_columns:
            return acc
        out = pd.DataFrame(index=acc.index)
        for c in COHORT_COLUMNS:
            out[c] = acc[c] if c in acc.columns else _empty(c, acc.index)
        return out


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


DATE_IN_DURATION = (
    "a date, not a duration: map the start and end date columns instead (the duration is "
    "computed from them)"
)


def _looks_like_dates(series: pd.Series) -> pd.Series:
    """Cells that read as calendar dates (2019-03-04, 04/03/2019, datetimes from Excel)."""
    text = series.map(lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v))
    has_sep = text.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True, na=False)
    parsed = pd.to_datetime(text.where(has_sep), errors="coerce", format="mixed", dayfirst=True)
    return parsed.notna() & has_sep


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
        vals, bad = to_number(raw[src], decimal)
        dates = bad & _looks_like_dates(raw[src])
        rej.add(bad & ~dates, src, raw[src], "not a number")
        rej.add(dates, src, raw[src], DATE_IN_DURATION)
        if dates.any():
            warnings.append(
                f"{int(dates.sum())} value(s) of {src!r} are dates, not durations: map the "
                "admission and last follow-up date columns instead (step 2), and the duration "
                "is computed from them."
            )
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
        miss = missing_cells(raw[src])
        if required:
            rej.add(miss, src, raw[src], f"{target} is required but empty")
        return vals, used_units
    if "os_start_date" in m and end_role in m:
        s_src, e_src = m["os_start_date"], m[end_role]
        start, bad_s, f1 = to_date(raw[s_src], dayfirst)
        end, bad_e, f2 = to_date(raw[e_src], dayfirst)
        rej.add(bad_s, s_src, raw[s_src], "not a date")
        rej.add(bad_e, e_src, raw[e_src], "not a date")
        days = (end - start).dt.total_seconds() / 86400.0
        neg = days < 0
        rej.add(neg, e_src, raw[e_src], f"date is before {s_src!r}")
        if required:
            rej.add(
                missing_cells(raw[s_src]),
                s_src,
                raw[s_src],
                "start date is required but empty",
            )
            rej.add(
                missing_cells(raw[e_src]),
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
    rej.add(missing_cells(raw[src]), src, raw[src], "os_event is required but empty")
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
                v, bad = to_number(values, table.decimal)
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
                v, bad = to_bool(values)
                rej.add(
                    bad,
                    s,
                    values,
                    "not yes/no (expected 1/0, yes/no, true/false, oui/non)",
                )
                out[col.name] = v
            elif col.kind == "cat":
                v, bad = to_cat(values, col.allowed)
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
                text = to_text(values)
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
                    missing_cells(raw[m[col]]),
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
            if c in out:
                frame[c] = out[c]
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
    bad_rows = rejected["row"].unique()
    # a copy only when rows go (a 200,000-row upload is ~100 MB of columns)
    accepted = frame.loc[~frame.index.isin(bad_rows)] if len(bad_rows) else frame
    del frame
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
    return bool((~missing_cells(values)).any())


def _empty_dtype(column: str) -> Any:
    """The pandas dtype of a contract column the file lacks (the dictionary's kind)."""
    kind = _SPEC_BY_NAME[column].kind
    return {"int": "Int64", "float": "float64", "bool": "boolean", "event": "Int64"}.get(
        kind, object
    )


def _empty(column: str, index: pd.Index) -> pd.Series:
    dtype = _empty_dtype(column)
    if dtype == "float64":
        return pd.Series(np.nan, index=index, dtype="float64")
    return pd.Series(None if dtype is object else pd.NA, index=index, dtype=dtype)


def _infer(series: pd.Series, decimal: str) -> pd.Series:
    """Generic mode: numbers stay numbers (Int64 when whole), everything else plain text."""
    miss = missing_cells(series)
    vals, bad = to_number(series, decimal)
    if not bad.any() and (~miss).any():
        whole = vals.dropna()
        if len(whole) and (whole == np.floor(whole)).all() and whole.abs().max() < 2**53:
            return vals.round().astype("Int64")
        return vals
    native = series.map(lambda v: isinstance(v, pd.Timestamp) or hasattr(v, "year"))
    if native[~miss].all() and (~miss).any():
        return pd.to_datetime(series.where(~miss), errors="coerce")
    return to_text(series)


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
    # columns absent from the file are all-null: leave them to the model's defaults
    filled = [i for i, c in enumerate(accepted.columns) if accepted[c].notna().any()]
    step = 1
    if len(accepted) > PYDANTIC_FULL_ROWS:  # ~70 µs a row: sample evenly, our checks cover all
        step = -(-len(accepted) // PYDANTIC_FULL_ROWS)
    positions = np.arange(0, len(accepted), step)
    frame = accepted.iloc[positions, filled]  # the rows checked only, never the whole file
    if step > 1:
        warnings.append(
            f"the pydantic model checked 1 row in {step} ({len(frame):,} rows); all rows "
            "passed the same dictionary rules (types, ranges, levels)."
        )
    errors = validate_frame(frame, row_offset=0)
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
    acc = report.accepted
    # Only the columns holding a value pass through pandas; the schema's columns the file
    # lacks (54 of 64 for a minimal paper file) are typed NULL columns in SQL (a view over
    # the stored ones: a 200,000-row upload, ~100 MB less at its peak).
    filled = [c for c in acc.columns if acc[c].notna().any()]
    empty = {c: db.sql_type(acc[c].dtype) for c in acc.columns if c not in filled}
    empty |= {c: db.sql_type(_empty_dtype(c)) for c in report.missing_columns}
    order = list(COHORT_COLUMNS) if report.missing_columns else list(acc.columns)
    # text as VARCHAR (DuckDB would type an object column from a sample of its values)
    df = pd.DataFrame(
        {c: (acc[c].astype("string") if acc[c].dtype == object else acc[c]).array for c in filled}
    )
    con = db.session_connection(df, empty=empty, order=order)
    con.execute("SET temp_directory = ''")  # must precede the next line
    con.execute("SET enable_external_access = false")
    return con
