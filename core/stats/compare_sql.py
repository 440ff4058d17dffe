"""The grouped aggregation of :func:`core.stats.compare.compare_groups` pushed into DuckDB.

Same result as the pandas path (tests compare them); used by the registry-scale benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.cohort.db import quote_ident
from core.stats.compare import (
    CONT_STATS,
    OVERALL,
    VariableSpec,
    _as_specs,
    _assemble,
    _f,
    _group_levels,
    _Prepared,
    _py,
)


# ---------------------------------------------------------------------------------------
# DuckDB aggregation
# ---------------------------------------------------------------------------------------
def compare_groups_sql(
    con: Any,
    table: str,
    by: str | None,
    variables: Iterable[str | VariableSpec] | None = None,
    *,
    nonnormal: Iterable[str] | None = None,
    categorical: Iterable[str] | None = None,
    adjust: str | None = None,
    group_order: Sequence[Any] | None = None,
    exclude_small_groups: bool = False,
) -> pd.DataFrame:
    """:func:`compare_groups` on a DuckDB table, with the grouped aggregation in SQL.

    Counts, means, SDs and ``quantile_cont`` quartiles (linear interpolation between order
    statistics = R type 7) are computed by DuckDB with ``GROUPING SETS`` (per group and
    overall); only the columns a test needs are fetched for the p-values.  Identifiers are
    checked against the table's columns and double-quoted.  Same output as
    :func:`compare_groups` (up to floating-point rounding of means/SDs), including the
    ``exclude_small_groups`` behaviour.
    """
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    if table not in tables:
        raise ValueError(f"table {table!r} not found in the DuckDB connection")
    info = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    columns = [r[0] for r in info]
    sql_types = {r[0]: r[1] for r in info}
    if by is not None and by not in columns:
        raise ValueError(f"grouping column {by!r} is not in table {table!r}")
    dtypes = {c: _duck_dtype(t) for c, t in sql_types.items()}
    specs = _as_specs(columns, dtypes, variables, by, categorical)
    t = quote_ident(table)
    if by is not None:
        gvals = [
            r[0] for r in con.execute(f"SELECT DISTINCT {quote_ident(by)} FROM {t}").fetchall()
        ]
        groups = _group_levels(pd.Series(gvals, dtype=object), group_order)
    else:
        groups = []
    prep = _Prepared(
        specs, groups, None if nonnormal is None else set(nonnormal), by, exclude_small_groups
    )
    agg = _aggregate_duckdb(con, t, prep)

    def fetch(spec: VariableSpec) -> tuple[pd.Series, pd.Series]:
        if by is None:
            return pd.Series(dtype=float), pd.Series(dtype=object)
        cols = f"{quote_ident(spec.column)} AS v, {quote_ident(by)} AS g"
        d = con.execute(f"SELECT {cols} FROM {t}").fetchdf()
        return d["v"], d["g"]

    return _assemble(prep, agg, fetch, adjust)


def _duck_dtype(sql_type: str) -> Any:
    s = sql_type.upper()
    if s == "BOOLEAN":
        return np.dtype(bool)
    if any(k in s for k in ("INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL", "NUMERIC")):
        return np.dtype(float)
    return np.dtype(object)


def _aggregate_duckdb(con: Any, t: str, prep: _Prepared) -> dict[str, Any]:
    g = quote_ident(prep.by) if prep.by is not None else "NULL"
    out: dict[str, Any] = {}
    for spec in prep.specs:
        v = quote_ident(spec.column)
        per: dict[Any, Any] = {}
        if spec.kind == "continuous":
            sql = (
                f"SELECT {g} AS g, GROUPING({g}) AS is_all, count(*) - count({v}) AS missing, "
                f"count({v}) AS n, quantile_cont({v}, 0.25) AS q1, "
                f"quantile_cont({v}, 0.5) AS median, quantile_cont({v}, 0.75) AS q3, "
                f"avg({v}) AS mean, stddev_samp({v}) AS sd "
                f"FROM {t} GROUP BY GROUPING SETS (({g}), ())"
            )
            for r in con.execute(sql).fetchdf().to_dict("records"):
                key = OVERALL if r["is_all"] else r["g"]
                if not r["is_all"] and (key is None or key not in prep.groups):
                    continue
                per[key] = {
                    k: (int(r[k]) if k in ("n", "missing") else _f(r[k])) for k in CONT_STATS
                }
        else:
            sql = (
                f"SELECT {g} AS g, GROUPING({g}) AS is_all, {v} AS lv, count(*) AS n "
                f"FROM {t} GROUP BY GROUPING SETS (({g}, {v}), ({v}))"
            )
            for r in con.execute(sql).fetchdf().to_dict("records"):
                key = OVERALL if r["is_all"] else r["g"]
                if not r["is_all"] and (key is None or key not in prep.groups):
                    continue
                slot = per.setdefault(key, {"levels": {}, "missing": 0})
                if r["lv"] is None or (isinstance(r["lv"], float) and math.isnan(r["lv"])):
                    slot["missing"] += int(r["n"])
                else:
                    slot["levels"][_py(r["lv"])] = int(r["n"])
        empty_cont = {k: (0 if k in ("n", "missing") else math.nan) for k in CONT_STATS}
        for key in [OVERALL, *prep.groups]:
            if key not in per:
                per[key] = (
                    dict(empty_cont)
                    if spec.kind == "continuous"
                    else {
                        "levels": {},
                        "missing": 0,
                    }
                )
        out[spec.name] = per
    return out
