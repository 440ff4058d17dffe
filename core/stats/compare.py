"""Group comparison tables ("Table 1"), matching R's tests and quantiles.

:func:`compare_groups` returns a tidy, *raw* DataFrame (numbers, never formatted strings):
one row per continuous variable and one row per level of a categorical variable.  Per
group ``G`` (and ``Overall``) it holds the columns

* continuous rows: ``G__n`` (non-missing), ``G__median``, ``G__q1``, ``G__q3`` (R type-7
  quantiles, ``quantile(x, c(.25, .5, .75))``), ``G__mean``, ``G__sd``, ``G__missing``;
* categorical rows: ``G__n`` (count of the level), ``G__N`` (non-missing in the group),
  ``G__pct`` (``100 * n / N``), ``G__missing``;

plus ``section, variable, label, column, kind, level, show, stat, n_missing, test,
p_value, p_adjusted, smd, note``.  Per-variable statistics (test, p, SMD) are repeated on
every level row so exports stay tidy; :func:`format_table` prints them once and turns the
numbers into ``median [Q1–Q3]`` / ``n (%)`` strings.

Tests (two-sided), each equal to R:

* 2 groups, continuous: Wilcoxon rank-sum = ``wilcox.test(x ~ g)`` defaults (exact when
  both groups have < 50 values and there are no ties, otherwise the normal approximation
  with continuity correction and tie-corrected variance);
* >= 3 groups, continuous: Kruskal-Wallis = ``kruskal.test`` (tie-corrected);
* variables declared normal (``nonnormal`` given and not listing them): Welch
  ``t.test`` / ``oneway.test(var.equal = TRUE)``;
* categorical: Fisher's exact test = ``fisher.test`` (r x c via :mod:`core.stats.fisher`).

``p_adjusted`` = ``p.adjust(p, method = "holm" | "BH")`` across variables.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from core.stats.adjust import p_adjust
from core.stats.fisher import fisher_test

OVERALL = "Overall"


SEP = "__"


CONT_STATS = ("n", "median", "q1", "q3", "mean", "sd", "missing")


CAT_STATS = ("n", "N", "pct", "missing")


MIN_GROUP_SIZE = 2


WILCOX_EXACT_LIMIT = 50  # R: exact if n.x < 50 and n.y < 50 and no ties


TEST_WILCOX_EXACT = "Wilcoxon rank-sum (exact)"


TEST_WILCOX_APPROX = "Wilcoxon rank-sum (normal approx., continuity corr.)"


TEST_KRUSKAL = "Kruskal-Wallis"


TEST_WELCH = "Welch t-test"


TEST_ANOVA = "One-way ANOVA"


@dataclass(frozen=True)
class VariableSpec:
    """One row block of a comparison table.

    Attributes
    ----------
    column : str
        Column of the data.
    kind : {'continuous', 'categorical'} or None
        None infers it: bool / string / category columns and numeric columns listed in
        ``categorical`` are categorical, other numeric columns continuous.
    name : str
        Row identifier (defaults to ``column``; the same column may appear twice, e.g.
        ECOG PS as a median and as levels).  Matches ``name`` in ``data/published.yaml``.
    label, section : str
        Printed label and section header.
    levels : tuple or None
        Order of the categorical levels (others follow, sorted).
    show : tuple or None
        Levels printed by :func:`format_table` (default: all, or only ``True`` for a
        boolean column).  Every level is kept in the raw result.
    """

    column: str
    kind: str | None = None
    name: str = ""
    label: str = ""
    section: str = ""
    levels: tuple[Any, ...] | None = None
    show: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.column)
        if not self.label:
            object.__setattr__(self, "label", self.column)
        if self.kind not in (None, "continuous", "categorical"):
            raise ValueError(f"kind must be 'continuous' or 'categorical', got {self.kind!r}")


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def level_str(value: Any) -> str:
    """Canonical string of a categorical level (``True``, ``'M'``, ``2`` and ``2.0`` -> '2')."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value)


def _quantiles7(x: np.ndarray) -> tuple[float, float, float]:
    """R ``quantile(x, c(.25, .5, .75), type = 7)`` (numpy's default 'linear')."""
    if len(x) == 0:
        return (math.nan, math.nan, math.nan)
    q = np.quantile(x, [0.25, 0.5, 0.75])
    return float(q[0]), float(q[1]), float(q[2])


def _as_specs(
    df_columns: Sequence[str],
    dtypes: dict[str, Any],
    variables: Iterable[str | VariableSpec] | None,
    by: str | None,
    categorical: Iterable[str] | None,
) -> list[VariableSpec]:
    cat_set = set(categorical or ())
    unknown = sorted(cat_set - set(df_columns))
    if unknown:
        raise ValueError(f"categorical lists columns not in the data: {unknown}")
    if variables is None:
        variables = [c for c in df_columns if c != by]
    specs: list[VariableSpec] = []
    for v in variables:
        spec = v if isinstance(v, VariableSpec) else VariableSpec(str(v))
        if spec.column not in df_columns:
            raise ValueError(
                f"variable {spec.name!r}: column {spec.column!r} is not in the data "
                f"(columns: {', '.join(map(str, df_columns))})"
            )
        if spec.column == by:
            raise ValueError(f"variable {spec.column!r} is the grouping column itself")
        if spec.kind is None:
            dt = dtypes[spec.column]
            numeric = pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_bool_dtype(dt)
            kind = "continuous" if numeric and spec.column not in cat_set else "categorical"
            spec = VariableSpec(
                spec.column, kind, spec.name, spec.label, spec.section, spec.levels, spec.show
            )
        specs.append(spec)
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"duplicate variable names {dup}: give VariableSpec(name=...)")
    return specs


def _group_levels(values: pd.Series, group_order: Sequence[Any] | None) -> list[Any]:
    present = list(pd.unique(values.dropna()))
    if group_order is not None:
        missing = [g for g in present if g not in list(group_order)]
        if missing:
            raise ValueError(f"group_order misses groups present in the data: {missing}")
        return [g for g in group_order if g in present] or []
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [c for c in values.cat.categories if c in present]
    return sorted(present, key=lambda v: (str(type(v)), v))


def _ordered_levels(values: Iterable[Any], spec: VariableSpec) -> list[Any]:
    present = list(dict.fromkeys(values))
    if spec.levels is not None:
        wanted = {level_str(v): v for v in spec.levels}
        got = {level_str(v): v for v in present}
        first = [got[k] for k in wanted if k in got]
        rest = sorted((got[k] for k in got if k not in wanted), key=level_str)
        return first + rest
    try:
        return sorted(present)
    except TypeError:
        return sorted(present, key=level_str)


def _show_set(spec: VariableSpec, levels: list[Any]) -> set[str]:
    if spec.show is not None:
        return {level_str(v) for v in spec.show}
    if {level_str(v) for v in levels} <= {"True", "False"}:
        return {"True"}
    return {level_str(v) for v in levels}


# ---------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Test:
    name: str
    p: float
    note: str = ""


def _small_groups(sizes: list[int], names: Sequence[Any] | None, minimum: int = MIN_GROUP_SIZE):
    return [i for i, k in enumerate(sizes) if k < minimum]


#: Tests that condition on what was observed and take a group of one patient, as R does
#: (fisher.test, kruskal.test and wilcox.test give a p-value; t.test stops with "not enough
#: observations"): such a group stays in the test, with a caution in the note.
SINGLE_NOTE = "includes {desc}: a single patient in a group; read the p-value with care"


def _with_single(inner: _Test, sizes: list[int], names: Sequence[Any] | None) -> _Test:
    single = [i for i, k in enumerate(sizes) if k == 1]
    if not single or math.isnan(inner.p):
        return inner
    note = SINGLE_NOTE.format(desc=_describe(single, sizes, names))
    return _Test(inner.name, inner.p, f"{note}; {inner.note}" if inner.note else note)


def _describe(idx: list[int], sizes: list[int], names: Sequence[Any] | None) -> str:
    names = list(names) if names is not None else [f"group {i + 1}" for i in range(len(sizes))]
    return ", ".join(f"{names[i]} (n={sizes[i]})" for i in idx)


def _continuous_test(
    samples: list[np.ndarray],
    nonnormal: bool,
    names: Sequence[Any] | None = None,
    exclude_small: bool = False,
) -> _Test:
    sizes = [len(s) for s in samples]
    minimum = 1 if nonnormal else MIN_GROUP_SIZE  # rank tests take a single patient
    small = _small_groups(sizes, names, minimum)
    if len(samples) < 2:
        return _Test("", math.nan, "fewer than 2 groups")
    if small:
        desc = _describe(small, sizes, names)
        if not exclude_small:
            return _Test("", math.nan, f"group size < {minimum} ({desc}): no test")
        kept = [s for i, s in enumerate(samples) if i not in small]
        if len(kept) < 2:
            return _Test(
                "",
                math.nan,
                f"group size < {minimum} ({desc}): fewer than 2 groups left, no test",
            )
        kept_names = [n for i, n in enumerate(names or []) if i not in small] or None
        inner = _continuous_test(kept, nonnormal, kept_names)
        return _excluding(inner, desc, minimum)
    pooled = np.concatenate(samples)
    if np.all(pooled == pooled[0]):
        return _Test("", math.nan, "all values identical: no test")
    if not nonnormal:
        if len(samples) == 2:
            r = stats.ttest_ind(samples[0], samples[1], equal_var=False)
            return _Test(TEST_WELCH, float(r.pvalue))
        return _Test(TEST_ANOVA, float(stats.f_oneway(*samples).pvalue))
    if len(samples) == 2:
        x, y = samples
        ties = len(np.unique(pooled)) < len(pooled)
        exact = len(x) < WILCOX_EXACT_LIMIT and len(y) < WILCOX_EXACT_LIMIT and not ties
        method = "exact" if exact else "asymptotic"
        r = stats.mannwhitneyu(x, y, alternative="two-sided", use_continuity=True, method=method)
        name = TEST_WILCOX_EXACT if exact else TEST_WILCOX_APPROX
        return _with_single(_Test(name, min(float(r.pvalue), 1.0)), sizes, names)
    return _with_single(_Test(TEST_KRUSKAL, float(stats.kruskal(*samples).pvalue)), sizes, names)


def _excluding(inner: _Test, desc: str, minimum: int = MIN_GROUP_SIZE) -> _Test:
    """Label a test run without the groups of fewer than ``minimum`` patients (``desc``)."""
    note = f"tested without {desc}: group size < {minimum}"
    if inner.note:
        note = f"{note}; {inner.note}"
    name = f"{inner.name}, excluding {desc}" if inner.name else ""
    return _Test(name, inner.p, note)


def _categorical_test(
    counts: np.ndarray,
    sizes: list[int],
    names: Sequence[Any] | None = None,
    exclude_small: bool = False,
) -> _Test:
    if len(sizes) < 2:
        return _Test("", math.nan, "fewer than 2 groups")
    minimum = 1  # Fisher conditions on the margins: a group of one patient is fine
    small = _small_groups(sizes, names, minimum)
    if small:
        desc = _describe(small, sizes, names)
        if not exclude_small:
            return _Test("", math.nan, f"group size < {minimum} ({desc}): no test")
        keep = [i for i in range(len(sizes)) if i not in small]
        if len(keep) < 2:
            return _Test(
                "",
                math.nan,
                f"group size < {minimum} ({desc}): fewer than 2 groups left, no test",
            )
        sub = counts[:, keep]
        sub = sub[sub.sum(axis=1) > 0]  # levels seen only in the excluded groups
        if sub.shape[0] < 2:
            return _excluding(
                _Test("", math.nan, "a single level in the tested groups"), desc, minimum
            )
        kept_names = [n for i, n in enumerate(names or []) if i in keep] or None
        inner = _categorical_test(sub, sub.sum(axis=0).tolist(), kept_names)
        return _excluding(inner, desc, minimum)
    res = fisher_test(counts)
    return _with_single(_Test(res.method, res.p_value, res.note), sizes, names)


def _smd_continuous(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or len(b) < 2:
        return math.nan
    denom = math.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 2)
    return abs(float(np.mean(a) - np.mean(b))) / denom if denom > 0 else math.nan


def _smd_categorical(p1: np.ndarray, p2: np.ndarray) -> float:
    """tableone's multinomial SMD (Yang & Dalton 2012); binary case = usual formula."""
    if len(p1) < 2:
        return math.nan
    t, c = p1[1:], p2[1:]
    s = (np.diag(t) - np.outer(t, t) + np.diag(c) - np.outer(c, c)) / 2
    d = t - c
    try:
        val = float(d @ np.linalg.pinv(s) @ d)
    except np.linalg.LinAlgError:
        return math.nan
    return math.sqrt(max(val, 0.0))


# ---------------------------------------------------------------------------------------
# main entry points
# ---------------------------------------------------------------------------------------
@dataclass
class _Prepared:
    specs: list[VariableSpec]
    groups: list[Any]
    nonnormal: set[str] | None
    by: str | None
    exclude_small_groups: bool = False


def compare_groups(
    df: pd.DataFrame,
    by: str | None,
    variables: Iterable[str | VariableSpec] | None = None,
    *,
    nonnormal: Iterable[str] | None = None,
    categorical: Iterable[str] | None = None,
    adjust: str | None = None,
    group_order: Sequence[Any] | None = None,
    exclude_small_groups: bool = False,
) -> pd.DataFrame:
    """Describe and compare variables across the groups of ``by`` (R-equivalent tests).

    Parameters
    ----------
    df : DataFrame
        One row per patient.
    by : str or None
        Grouping column (None: overall column only, no tests — Table 1).  Rows with a
        missing group are counted in ``Overall`` but not in any group or test (``note``).
    variables : iterable of column names or :class:`VariableSpec`, optional
        Default: every other column.
    nonnormal : iterable of str, optional
        Columns described by median [IQR] and tested non-parametrically.  ``None`` (default,
        the paper's convention) treats *every* continuous variable as non-normal; when a
        list is given, other continuous variables get mean (SD) with Welch ``t.test`` /
        ``oneway.test(var.equal = TRUE)``.
    categorical : iterable of str, optional
        Numeric columns to treat as categorical (bool/string columns always are).
    adjust : {'holm', 'BH', 'bonferroni'}, optional
        Multiple-testing adjustment across variables (R ``p.adjust``) into ``p_adjusted``.
    group_order : sequence, optional
        Order of the group columns (default: categorical order, else sorted).
    exclude_small_groups : bool
        What to do when a group has fewer than 2 non-missing values of a variable.
        ``False`` (default, the spec's rule): no p-value for that variable, and ``note``
        names the small group(s), e.g. ``group size < 2 (MM (n=1)): no test``.  ``True``:
        the test runs on the other groups only — exactly R's test on
        ``subset(d, g != "MM")``, e.g. ``kruskal.test`` becomes ``wilcox.test`` when two
        groups remain — and says so: ``test`` reads ``Kruskal-Wallis, excluding MM (n=1)``
        style (``<test>, excluding <group> (n=<k>)``) and ``note`` ``tested without ...``.
        R's own ``kruskal.test`` would include a 1-patient group; we do not, because a
        single observation says nothing about its group's distribution.  Descriptive
        columns always include every group.

    Returns
    -------
    DataFrame
        Raw numbers, one row per continuous variable / categorical level (see module doc).

    Raises
    ------
    ValueError
        Unknown columns, ``by`` listed as a variable, bad ``adjust``.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError("df must be a pandas DataFrame")
    if by is not None and by not in df.columns:
        raise ValueError(f"grouping column {by!r} is not in the data")
    specs = _as_specs(list(df.columns), dict(df.dtypes), variables, by, categorical)
    groups = _group_levels(df[by], group_order) if by is not None else []
    prep = _Prepared(
        specs, groups, None if nonnormal is None else set(nonnormal), by, exclude_small_groups
    )
    masks = _group_masks(df[by], prep.groups) if by is not None else []
    return _assemble(df, prep, _aggregate(df, prep, masks), adjust)


def _group_masks(groups_col: pd.Series, groups: Sequence[Any]) -> list[np.ndarray]:
    """One boolean mask per group, from a single hashing pass over the grouping column.

    (``groups_col == g`` for each group compares every object cell again: at 100,000 rows and
    15 variables that was a third of the table's time.)
    """
    codes = pd.Categorical(groups_col, categories=list(groups)).codes
    return [codes == i for i in range(len(groups))]


def _aggregate(df: pd.DataFrame, prep: _Prepared, masks: list[np.ndarray]) -> dict[str, Any]:
    """Per variable: {group: stats and the non-missing values} for continuous, {group:
    {level: n}} for categorical (``masks``: one per group, from :func:`_group_masks`).

    Each column is converted (numbers) or coded (levels) once, and the groups are numpy
    selections of that: pandas' boolean indexing and ``value_counts`` per group were 30% of
    the table's time at 100,000 rows (``bench_compare``).
    """
    out: dict[str, Any] = {}
    for spec in prep.specs:
        col = df[spec.column]
        na = col.isna().to_numpy()  # once per column (object columns are slow to scan)
        present = ~na
        parts = [(OVERALL, present)] + [
            (g, m & present) for g, m in zip(prep.groups, masks, strict=True)
        ]
        missing = [int(na.sum())] + [int((na & m).sum()) for m in masks]
        per: dict[Any, Any] = {}
        if spec.kind == "continuous":
            x_all = pd.to_numeric(col, errors="raise").to_numpy(dtype=float, na_value=np.nan)
            for (g, keep), n_missing in zip(parts, missing, strict=True):
                x = x_all[keep]
                q1, med, q3 = _quantiles7(x)
                per[g] = {
                    "n": len(x),
                    "median": med,
                    "q1": q1,
                    "q3": q3,
                    "mean": float(np.mean(x)) if len(x) else math.nan,
                    "sd": float(np.std(x, ddof=1)) if len(x) > 1 else math.nan,
                    "missing": n_missing,
                    "values": x,  # the group's sample, for its test
                }
        else:
            codes, levels, with_zeros = _level_codes(col)
            for (g, keep), n_missing in zip(parts, missing, strict=True):
                counts = np.bincount(codes[keep], minlength=len(levels))
                per[g] = {
                    "levels": {
                        lv: int(k) for lv, k in zip(levels, counts, strict=True) if k or with_zeros
                    },
                    "missing": n_missing,
                }
        out[spec.name] = per
    return out


def _level_codes(col: pd.Series) -> tuple[np.ndarray, list[Any], bool]:
    """Integer codes of a categorical column's values (-1 where missing), its levels, and
    whether levels with no patient are listed too: a pandas categorical lists every category
    (as its ``value_counts`` does, so a filtered-out level keeps its row of zeros); other
    columns list the values seen."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return np.asarray(col.cat.codes), list(col.cat.categories), True
    codes, uniques = pd.factorize(col)
    return codes, uniques.tolist(), False


def _assemble(df: pd.DataFrame, prep: _Prepared, agg: dict[str, Any], adjust) -> pd.DataFrame:
    """The result's rows from the aggregates ``agg``, with each variable's test."""
    if adjust is not None:
        p_adjust([], adjust)  # validates the method name early
    gnames = [OVERALL] + [str(g) for g in prep.groups]
    rows: list[dict[str, Any]] = []
    note_extra = ""
    if prep.by is not None:
        n_nogroup = int(df[prep.by].isna().sum())
        if n_nogroup:
            note_extra = f"{n_nogroup} with missing {prep.by} not in any group"
    for spec in prep.specs:
        per = agg[spec.name]
        base = {
            "section": spec.section,
            "variable": spec.name,
            "label": spec.label,
            "column": spec.column,
            "kind": spec.kind,
        }
        if spec.kind == "continuous":
            nonnormal = prep.nonnormal is None or spec.column in prep.nonnormal
            samples = [per[g]["values"] for g in prep.groups] if prep.by is not None else []
            test = (
                _continuous_test(samples, nonnormal, gnames[1:], prep.exclude_small_groups)
                if prep.by
                else _Test("", math.nan)
            )
            smd = _smd_continuous(*samples) if len(samples) == 2 else math.nan
            row = {**base, "level": None, "show": True}
            row["stat"] = "median [IQR]" if nonnormal else "mean (SD)"
            for g, gn in zip([OVERALL, *prep.groups], gnames, strict=True):
                for k in CONT_STATS:
                    row[f"{gn}{SEP}{k}"] = per[g][k]
            row.update(_tail(per, test, smd, note_extra))
            rows.append(row)
        else:
            all_levels = _ordered_levels(per[OVERALL]["levels"].keys(), spec)
            shown = _show_set(spec, all_levels)
            counts = np.array(
                [[per[g]["levels"].get(lv, 0) for g in prep.groups] for lv in all_levels],
                dtype=np.int64,
            ).reshape(len(all_levels), len(prep.groups))
            sizes = counts.sum(axis=0).tolist()
            if prep.by is not None:
                test = _categorical_test(counts, sizes, gnames[1:], prep.exclude_small_groups)
            else:
                test = _Test("", math.nan)
            smd = math.nan
            if len(prep.groups) == 2 and min(sizes) > 0:
                smd = _smd_categorical(counts[:, 0] / sizes[0], counts[:, 1] / sizes[1])
            for lv in all_levels:
                row = {**base, "level": level_str(lv), "show": level_str(lv) in shown}
                row["stat"] = "n (%)"
                for g, gn in zip([OVERALL, *prep.groups], gnames, strict=True):
                    n_lv = int(per[g]["levels"].get(lv, 0))
                    tot = int(sum(per[g]["levels"].values()))
                    row[f"{gn}{SEP}n"] = n_lv
                    row[f"{gn}{SEP}N"] = tot
                    row[f"{gn}{SEP}pct"] = 100.0 * n_lv / tot if tot else math.nan
                    row[f"{gn}{SEP}missing"] = per[g]["missing"]
                row.update(_tail(per, test, smd, note_extra))
                rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["p_adjusted"] = math.nan
    if adjust is not None:
        first = out.drop_duplicates("variable")
        ok = first["p_value"].notna()
        if ok.any():
            adj = p_adjust(first.loc[ok, "p_value"].to_numpy(), adjust)
            mapping = dict(zip(first.loc[ok, "variable"], adj, strict=True))
            out["p_adjusted"] = out["variable"].map(mapping).astype(float)
    front = ["section", "variable", "label", "column", "kind", "level", "show", "stat"]
    stat_cols = [c for c in out.columns if SEP in c]
    ordered_stats = []
    for gn in gnames:
        for k in ("n", "N", "pct", "median", "q1", "q3", "mean", "sd", "missing"):
            c = f"{gn}{SEP}{k}"
            if c in stat_cols:
                ordered_stats.append(c)
    back = ["n_missing", "test", "p_value", "p_adjusted", "smd", "note"]
    out = out[front + ordered_stats + back]
    out.attrs["groups"] = gnames[1:]
    out.attrs["by"] = prep.by
    return out


def _tail(per: dict[Any, Any], test: _Test, smd: float, note_extra: str) -> dict[str, Any]:
    note = "; ".join(x for x in (test.note, note_extra) if x)
    return {
        "n_missing": int(per[OVERALL]["missing"]),
        "test": test.name,
        "p_value": test.p,
        "smd": smd,
        "note": note,
    }


def result_groups(result: pd.DataFrame) -> list[str]:
    """Group names of a :func:`compare_groups` result, in column order (without Overall)."""
    groups = []
    for c in result.columns:
        if c.endswith(f"{SEP}n") and c != f"{OVERALL}{SEP}n":
            groups.append(c[: -len(SEP) - 1])
    return groups


def _f(x: Any) -> float:
    return math.nan if x is None or pd.isna(x) else float(x)


def _py(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x
