"""One file column to one cohort column: numbers, yes/no, levels, text and dates.

Each converter takes the column's cells as read (:mod:`core.cohort.read`: text from a CSV,
native values from a workbook) and returns the converted values and a mask of the cells that
held something but could not be converted (a rejection with its row, made by
:mod:`core.cohort.ingest`). Missing cells (empty, NA, "nd", ...) are neither. Work is done once
per distinct value, so a 200,000-row column of a few levels costs a few conversions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from core.cohort.mapping import _norm, _tokens
from core.cohort.read import _NA_TOKENS, IngestError, _all_text, _per_unique, _present

BOOL_TRUE = frozenset({"1", "true", "t", "yes", "y", "oui", "o", "vrai"})


BOOL_FALSE = frozenset({"0", "false", "f", "no", "n", "non", "faux"})


# --------------------------------------------------------------------------------------------
# Cell coercion (vectorised over unique values)
# --------------------------------------------------------------------------------------------


def missing_cells(series: pd.Series) -> pd.Series:
    if _all_text(series):  # CSV cells: vectorised
        return series.str.strip().str.casefold().isin(_NA_TOKENS)
    return _per_unique(series, is_missing).astype(bool)


def is_missing(v: Any) -> bool:
    if not _present(v):
        return True
    return isinstance(v, str) and v.strip().casefold() in _NA_TOKENS


def to_number(series: pd.Series, decimal: str) -> tuple[pd.Series, pd.Series]:
    miss = missing_cells(series)

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

    vals = _per_unique(series, lambda v: math.nan if is_missing(v) else conv(v))
    vals = pd.to_numeric(vals, errors="coerce").astype("float64")
    bad = ~miss & ~np.isfinite(vals)
    return vals.where(~bad & ~miss), bad


def to_bool(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    miss = missing_cells(series)
    toks = _tokens(series)
    vals = toks.map(lambda t: True if t in BOOL_TRUE else False if t in BOOL_FALSE else None)
    bad = ~miss & vals.isna()
    return vals.where(~miss & ~bad, None).astype("boolean"), bad


def to_cat(series: pd.Series, allowed: Mapping[str, str]) -> tuple[pd.Series, pd.Series]:
    miss = missing_cells(series)
    vals = _per_unique(series, lambda v: allowed.get(_norm(v)) if _present(v) else None)
    bad = ~miss & vals.isna()
    return vals.where(~miss & ~bad, None).astype(object), bad


def to_text(series: pd.Series) -> pd.Series:
    miss = missing_cells(series)
    if _all_text(series):
        return series.str.strip().astype(object).where(~miss, None)
    return _per_unique(series, lambda v: str(v).strip() if _present(v) else None).where(~miss, None)


DATE_FORMATS = (
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


def to_date(series: pd.Series, dayfirst: bool | None) -> tuple[pd.Series, pd.Series, str | None]:
    """Parse dates; returns (datetime64 series, invalid mask, format used)."""
    miss = missing_cells(series)
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
        for fmt in DATE_FORMATS:
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
