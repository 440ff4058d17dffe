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
:func:`compare_groups_sql` pushes the grouped aggregation into DuckDB.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from core.cohort.ingest import neutralise_formulas
from core.stats.adjust import p_adjust
from core.stats.fisher import fisher_test

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

__all__ = [
    "OVERALL",
    "PRESETS",
    "SEP",
    "Preset",
    "VariableSpec",
    "compare_groups",
    "compare_groups_sql",
    "compare_with_published",
    "cut_variable",
    "export_csv",
    "export_excel",
    "export_latex",
    "fmt_p",
    "format_table",
    "group_sizes",
    "is_significant",
    "level_str",
    "notes_table",
    "published_agreement",
    "result_groups",
    "style_table",
    "tests_used",
    "too_small_groups",
]

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


@dataclass(frozen=True)
class Preset:
    """A published table: grouping column, group order and variables by section."""

    key: str
    title: str
    by: str | None
    group_order: tuple[str, ...] | None
    variables: tuple[VariableSpec, ...] = field(default_factory=tuple)

    @property
    def grouping(self) -> str:
        """Key of the grouping in ``data/published.yaml`` (``overall`` when ungrouped)."""
        return self.by or "overall"

    @property
    def sections(self) -> list[str]:
        return list(dict.fromkeys(v.section for v in self.variables))


# ---------------------------------------------------------------------------------------
# Presets reproducing the paper's Tables 1, 3 and 4
# ---------------------------------------------------------------------------------------
ICU_REASON_ORDER = ("CRS", "CRS or sepsis", "Disease progression", "Sepsis")
OUTCOME_ORDER = ("1-year survivor", "1-year decedent")
MALIGNANCY = ("DLBCL", "ALL", "MM")


def _c(column: str, label: str, section: str, name: str = "") -> VariableSpec:
    return VariableSpec(column, "continuous", name or column, label, section)


def _k(
    column: str,
    label: str,
    section: str,
    *,
    name: str = "",
    levels: tuple[Any, ...] | None = None,
    show: tuple[Any, ...] | None = None,
) -> VariableSpec:
    return VariableSpec(column, "categorical", name or column, label, section, levels, show)


_DEMO, _COMOR, _PS = "Demographics", "Comorbidities", "ECOG Performance status"
_MALIG, _PREV, _CART = (
    "Hematological malignancy",
    "Previous hematological treatments",
    ("CAR-T cell therapy"),
)
_CLIN = "Clinical and biological features at ICU admission"
_BIO = "Biological features at ICU admission"
_DAY1 = "Non-specific treatments in the ICU at day 1"
_OUT = "Outcome"

_AGE = _c("age", "Age (years)", _DEMO)
_MALE = _k("sex", "Male gender", _DEMO, name="male", levels=("M", "F"), show=("M",))
_HTN = _k("hypertension", "Hypertension", _COMOR)
_DIAB = _k("diabetes", "Diabetes", _COMOR)
_CKD = _k("chronic_kidney_disease", "Chronic kidney disease", _COMOR)
_BMI = _c("bmi_kg_m2", "Body mass index (kg/m2)", _COMOR, name="bmi")
_PS_MED = _c("ecog_ps", "ECOG performance status", _PS)
_MALIGNANCY = _k("malignancy", "Hematological malignancy", _MALIG, levels=MALIGNANCY)
_LINES = _c("prior_lines", "Number of treatment lines prior to CAR-T cells", _PREV)
_DELAY = _c(
    "days_infusion_to_icu", "Time between CAR-T cell infusion and ICU admission (days)", _CART
)
_MAP = _c("map_mmhg", "Mean arterial blood pressure (mmHg)", _CLIN, name="map")
_TEMP = _c("temperature_c", "Temperature (°C)", _CLIN, name="temperature")
_SOFA = _c("sofa", "SOFA score", _CLIN)
_FLUID = _c("fluid_day1_ml", "Fluid resuscitation at day 1 (mL)", _DAY1, name="fluid_day1")
_VASO = _k("vasopressors_day1", "Vasopressors", _DAY1)
_MV = _k("mech_vent_day1", "Mechanical ventilation", _DAY1)
_RRT = _k("rrt_day1", "Renal replacement therapy", _DAY1)

PRESETS: dict[str, Preset] = {
    "table1": Preset(
        "table1",
        "Table 1 — Characteristics of patients at ICU admission",
        None,
        None,
        (
            _AGE,
            _MALE,
            _HTN,
            _DIAB,
            _CKD,
            _BMI,
            _PS_MED,
            _k("ecog_ps", "ECOG PS", _PS, name="ecog_ps_level"),
            _MALIGNANCY,
            _c(
                "months_diagnosis_to_icu",
                "Time between hematological diagnosis and ICU admission (months)",
                _MALIG,
            ),
            _LINES,
            _k("prior_asct", "Autologous stem cell transplantation", _PREV),
            _k("prior_allo_bmt", "Bone marrow transplantation", _PREV),
            _k("prior_blinatumomab", "Blinatumomab", _PREV),
            _k("cart_allogeneic", "Allogeneic CAR-T cells", _CART, show=(False, True)),
            _k(
                "cart_product",
                "CAR-T cell product",
                _CART,
                levels=("axi-cel", "tisa-cel", "brexu-cel", "bb2121", "UCART19"),
            ),
            _DELAY,
            _MAP,
            _TEMP,
            _k("neutropenia", "Neutropenia", _CLIN),
            _SOFA,
        ),
    ),
    "table3": Preset(
        "table3",
        "Table 3 — Characteristics according to the reason for ICU admission",
        "icu_reason",
        ICU_REASON_ORDER,
        (
            _AGE,
            _MALE,
            _PS_MED,
            _MALIGNANCY,
            _LINES,
            _DELAY,
            VariableSpec("map_mmhg", "continuous", "map", _MAP.label, "Clinical features"),
            VariableSpec(
                "temperature_c", "continuous", "temperature", _TEMP.label, "Clinical features"
            ),
            _c("leukocytes_g_l", "Leucocytes (×10⁹/L)", _BIO, name="leukocytes"),
            _c("hemoglobin_g_dl", "Hemoglobin (g/dL)", _BIO, name="hemoglobin"),
            _c("platelets_g_l", "Platelets (×10⁹/L)", _BIO, name="platelets"),
            _c("fibrinogen_g_l", "Fibrinogen (g/L)", _BIO, name="fibrinogen"),
            _c("creatinine_umol_l", "Creatinine (µmol/L)", _BIO, name="creatinine"),
            _c("bilirubin_umol_l", "Bilirubin (µmol/L)", _BIO, name="bilirubin"),
            _c("ferritin_ug_l", "Ferritin (µg/L)", _BIO, name="ferritin"),
            _c("ldh_ui_l", "LDH (UI/L)", _BIO, name="ldh"),
            _c("lactate_mmol_l", "Lactate (mmol/L)", _BIO, name="lactate"),
            VariableSpec("sofa", "continuous", "sofa", "SOFA score", _BIO),
            _FLUID,
            _VASO,
            _MV,
            _RRT,
            _k("icu_death", "Death in the ICU", _OUT),
            _k("hospital_death", "Death in the hospital", _OUT),
        ),
    ),
    "table4": Preset(
        "table4",
        "Table 4 — Characteristics according to the outcome at 1 year",
        "outcome_1y",
        OUTCOME_ORDER,
        (
            _AGE,
            _MALE,
            _HTN,
            _DIAB,
            _CKD,
            _BMI,
            VariableSpec("ecog_ps", "continuous", "ecog_ps", "Performance status", _COMOR),
            _MALIGNANCY,
            VariableSpec("prior_lines", "continuous", "prior_lines", _LINES.label, _MALIG),
            VariableSpec("days_infusion_to_icu", "continuous", _DELAY.name, _DELAY.label, _MALIG),
            _k(
                "icu_reason",
                "Reason for ICU admission",
                "Reason for ICU admission",
                levels=("CRS", "CRS or sepsis", "Sepsis", "Disease progression"),
            ),
            _MAP,
            _TEMP,
            _k("neutropenia", "Neutropenia", _CLIN),
            _SOFA,
            _FLUID,
            _VASO,
            _MV,
            _RRT,
        ),
    ),
}


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


def _small_groups(sizes: list[int], names: Sequence[Any] | None) -> list[int]:
    return [i for i, k in enumerate(sizes) if k < MIN_GROUP_SIZE]


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
    small = _small_groups(sizes, names)
    if len(samples) < 2:
        return _Test("", math.nan, "fewer than 2 groups")
    if small:
        desc = _describe(small, sizes, names)
        if not exclude_small:
            return _Test("", math.nan, f"group size < {MIN_GROUP_SIZE} ({desc}): no test")
        kept = [s for i, s in enumerate(samples) if i not in small]
        if len(kept) < 2:
            return _Test(
                "",
                math.nan,
                f"group size < {MIN_GROUP_SIZE} ({desc}): fewer than 2 groups left, no test",
            )
        inner = _continuous_test(kept, nonnormal)
        return _excluding(inner, desc)
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
        return _Test(TEST_WILCOX_EXACT if exact else TEST_WILCOX_APPROX, min(float(r.pvalue), 1.0))
    return _Test(TEST_KRUSKAL, float(stats.kruskal(*samples).pvalue))


def _excluding(inner: _Test, desc: str) -> _Test:
    """Label a test run without the groups of size < 2 (``desc``)."""
    note = f"tested without {desc}: group size < {MIN_GROUP_SIZE}"
    if inner.note:
        note = f"{note}; {inner.note}"
    name = f"{inner.name}, excluding {desc}" if inner.name else ""
    return _Test(name, inner.p, note)


def _categorical_test(
    counts: np.ndarray,
    sizes: list[int],
    time_budget: float,
    names: Sequence[Any] | None = None,
    exclude_small: bool = False,
) -> _Test:
    if len(sizes) < 2:
        return _Test("", math.nan, "fewer than 2 groups")
    small = _small_groups(sizes, names)
    if small:
        desc = _describe(small, sizes, names)
        if not exclude_small:
            return _Test("", math.nan, f"group size < {MIN_GROUP_SIZE} ({desc}): no test")
        keep = [i for i in range(len(sizes)) if i not in small]
        if len(keep) < 2:
            return _Test(
                "",
                math.nan,
                f"group size < {MIN_GROUP_SIZE} ({desc}): fewer than 2 groups left, no test",
            )
        sub = counts[:, keep]
        sub = sub[sub.sum(axis=1) > 0]  # levels seen only in the excluded groups
        if sub.shape[0] < 2:
            return _excluding(_Test("", math.nan, "a single level in the tested groups"), desc)
        return _excluding(_categorical_test(sub, sub.sum(axis=0).tolist(), time_budget), desc)
    res = fisher_test(counts, time_budget=time_budget)
    return _Test(res.method, res.p_value, res.note)


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
    fisher_time_budget: float = 2.0,
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
    fisher_time_budget : float
        Seconds for each exact r x c Fisher test before Monte Carlo (see core.stats.fisher).
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
    agg = _aggregate_pandas(df, prep)

    def fetch(spec: VariableSpec) -> tuple[pd.Series, pd.Series]:
        if by is None:
            return df[spec.column], pd.Series(index=df.index, dtype=object)
        return df[spec.column], df[by]

    return _assemble(prep, agg, fetch, adjust, fisher_time_budget)


def _group_masks(groups_col: pd.Series, groups: Sequence[Any]) -> list[np.ndarray]:
    """One boolean mask per group, from a single hashing pass over the grouping column.

    (``groups_col == g`` for each group compares every object cell again: at 100,000 rows and
    15 variables that was a third of the table's time.)
    """
    codes = pd.Categorical(groups_col, categories=list(groups)).codes
    return [codes == i for i in range(len(groups))]


def _aggregate_pandas(df: pd.DataFrame, prep: _Prepared) -> dict[str, Any]:
    """Per variable: {group: stats} for continuous, {group: {level: n}} for categorical."""
    by = prep.by
    out: dict[str, Any] = {}
    masks = _group_masks(df[by], prep.groups) if by is not None else []
    for spec in prep.specs:
        col = df[spec.column]
        per: dict[Any, Any] = {}
        na = col.isna().to_numpy()  # once per column (object columns are slow to scan)
        parts = [(OVERALL, np.ones(len(col), dtype=bool))]
        parts += list(zip(prep.groups, masks, strict=True))
        for g, m in parts:
            n_missing = int((na & m).sum())
            vals = col[m & ~na]
            if spec.kind == "continuous":
                x = pd.to_numeric(vals, errors="raise").to_numpy(dtype=float)
                q1, med, q3 = _quantiles7(x)
                per[g] = {
                    "n": len(x),
                    "median": med,
                    "q1": q1,
                    "q3": q3,
                    "mean": float(np.mean(x)) if len(x) else math.nan,
                    "sd": float(np.std(x, ddof=1)) if len(x) > 1 else math.nan,
                    "missing": n_missing,
                }
            else:
                per[g] = {"levels": vals.value_counts().to_dict(), "missing": n_missing}
        out[spec.name] = per
    return out


def _assemble(prep, agg, fetch, adjust, fisher_time_budget) -> pd.DataFrame:
    if adjust is not None:
        p_adjust([], adjust)  # validates the method name early
    gnames = [OVERALL] + [str(g) for g in prep.groups]
    rows: list[dict[str, Any]] = []
    masks_of: tuple[Any, list[np.ndarray]] = (None, [])  # masks of the last grouping column
    for spec in prep.specs:
        per = agg[spec.name]
        base = {
            "section": spec.section,
            "variable": spec.name,
            "label": spec.label,
            "column": spec.column,
            "kind": spec.kind,
        }
        values, groups_col = fetch(spec)
        in_group = groups_col.notna() if prep.by is not None else None
        note_extra = ""
        if prep.by is not None:
            n_nogroup = int((~in_group).sum())
            if n_nogroup:
                note_extra = f"{n_nogroup} with missing {prep.by} not in any group"
        if spec.kind == "continuous":
            nonnormal = prep.nonnormal is None or spec.column in prep.nonnormal
            samples = []
            if prep.by is not None:
                if masks_of[0] is not groups_col:  # the pandas path fetches the same column
                    masks_of = (groups_col, _group_masks(groups_col, prep.groups))
                present = values.notna().to_numpy()
                for m in masks_of[1]:
                    s = values[m & present]
                    samples.append(pd.to_numeric(s).to_numpy(dtype=float))
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
                test = _categorical_test(
                    counts, sizes, fisher_time_budget, gnames[1:], prep.exclude_small_groups
                )
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


# ---------------------------------------------------------------------------------------
# DuckDB aggregation
# ---------------------------------------------------------------------------------------
def _qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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
    fisher_time_budget: float = 2.0,
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
    t = _qi(table)
    if by is not None:
        gvals = [r[0] for r in con.execute(f"SELECT DISTINCT {_qi(by)} FROM {t}").fetchall()]
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
        cols = f"{_qi(spec.column)} AS v, {_qi(by)} AS g"
        d = con.execute(f"SELECT {cols} FROM {t}").fetchdf()
        return d["v"], d["g"]

    return _assemble(prep, agg, fetch, adjust, fisher_time_budget)


def _duck_dtype(sql_type: str) -> Any:
    s = sql_type.upper()
    if s == "BOOLEAN":
        return np.dtype(bool)
    if any(k in s for k in ("INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL", "NUMERIC")):
        return np.dtype(float)
    return np.dtype(object)


def _aggregate_duckdb(con: Any, t: str, prep: _Prepared) -> dict[str, Any]:
    g = _qi(prep.by) if prep.by is not None else "NULL"
    out: dict[str, Any] = {}
    for spec in prep.specs:
        v = _qi(spec.column)
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


def _f(x: Any) -> float:
    return math.nan if x is None or pd.isna(x) else float(x)


def _py(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


# ---------------------------------------------------------------------------------------
# grouping by a threshold
# ---------------------------------------------------------------------------------------
def _num(x: float) -> str:
    return f"{x:g}"


def cut_variable(
    df: pd.DataFrame, column: str, threshold: float, *, name: str | None = None
) -> pd.DataFrame:
    """Copy of ``df`` with a two-level grouping column ``'<column> < t'`` / ``'<column> ≥ t'``.

    Parameters
    ----------
    df : DataFrame
    column : str
        Numeric column to cut (e.g. ``'sofa'``).
    threshold : float
        Values ``>= threshold`` go to the upper group (R: ``cut(x, c(-Inf, t, Inf),
        right = FALSE)``).  Missing values stay missing.
    name : str, optional
        Name of the new column (default ``'<column> ≥ <threshold>'``).

    Returns
    -------
    DataFrame
        ``df`` plus an ordered categorical column with the two labels.
    """
    if column not in df.columns:
        raise ValueError(f"column {column!r} is not in the data")
    x = df[column]
    if not pd.api.types.is_numeric_dtype(x) or pd.api.types.is_bool_dtype(x):
        raise ValueError(f"column {column!r} must be numeric to be cut at a threshold")
    if threshold is None or not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    lo, hi = f"{column} < {_num(threshold)}", f"{column} ≥ {_num(threshold)}"
    out = df.copy()
    lab = pd.Series(np.where(x >= threshold, hi, lo), index=df.index, dtype=object)
    lab[x.isna()] = None
    out[name or hi] = pd.Categorical(lab, categories=[lo, hi], ordered=True)
    return out


# ---------------------------------------------------------------------------------------
# formatting (presentation only; exports keep the raw result)
# ---------------------------------------------------------------------------------------
def fmt_number(x: float) -> str:
    """Compact number: 3 significant digits below 100, integers above (``67.5``, ``0.66``)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    ax = abs(x)
    if ax >= 100:
        s = f"{x:.0f}"
    elif ax >= 10:
        s = f"{x:.1f}"
    else:
        s = f"{x:.2f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def fmt_pct(x: float) -> str:
    if x is None or math.isnan(x):
        return "–"
    s = f"{x:.1f}".rstrip("0").rstrip(".")
    return s


def fmt_p(p: float) -> str:
    """p-value as printed in the paper: two significant digits, ``<0.001`` below."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    if p < 0.001:
        return "<0.001"
    return f"{p:.2g}"


def format_table(
    result: pd.DataFrame,
    *,
    show_all_levels: bool = False,
    smd: bool | None = None,
    published: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Printable table: ``Characteristic``, ``Overall``, one column per group, then the
    statistics (``p``, ``p (adj.)``, ``SMD``, ``test``), then any published columns.

    Continuous rows read ``median [Q1–Q3]`` (or ``mean (SD)``), categorical ``n (%)``;
    a categorical variable with several shown levels gets a header row carrying its
    p-value and one indented row per level.  ``show_all_levels`` also prints hidden levels
    (e.g. ``False`` of a yes/no variable).  ``smd`` adds an SMD column (default: when
    there are exactly two groups).  ``published`` (output of :func:`compare_with_published`)
    adds ``<group> (paper)`` columns and ``p (paper)`` *after* the recomputed columns and
    their statistics, so the recomputed p-value stays next to the recomputed groups.
    The hidden column ``_kind`` (section / variable / level) is for styling.
    """
    groups = result_groups(result)
    gcols = [OVERALL, *groups]
    want_smd = len(groups) == 2 if smd is None else smd
    has_test = len(groups) >= 2
    lines: list[dict[str, str]] = []
    section = None
    for var, block in result.groupby("variable", sort=False):
        first = block.iloc[0]
        if first["section"] and first["section"] != section:
            section = first["section"]
            if first["label"] != section:  # else the variable's own header row names it
                lines.append({"Characteristic": section, "_kind": "section"})
        ptxt = fmt_p(first["p_value"])
        extra: dict[str, str] = {}
        if has_test:
            extra["p"] = ptxt
            extra["test"] = first["test"] or ""
            if "p_adjusted" in result and result["p_adjusted"].notna().any():
                extra["p (adj.)"] = fmt_p(first["p_adjusted"])
        if want_smd:
            extra["SMD"] = "" if pd.isna(first["smd"]) else f"{first['smd']:.2f}"
        if first["kind"] == "continuous":
            line = {"Characteristic": first["label"], "_kind": "variable", "_var": var}
            for g in gcols:
                if first["stat"] == "mean (SD)":
                    line[g] = (
                        f"{fmt_number(first[f'{g}{SEP}mean'])} ({fmt_number(first[f'{g}{SEP}sd'])})"
                    )
                elif first[f"{g}{SEP}n"] == 0:
                    line[g] = "–"
                else:
                    med, q1, q3 = (first[f"{g}{SEP}{k}"] for k in ("median", "q1", "q3"))
                    line[g] = f"{fmt_number(med)} [{fmt_number(q1)}–{fmt_number(q3)}]"
            lines.append({**line, **extra})
            continue
        shown = block if show_all_levels else block[block["show"]]
        if len(shown) == 1 and not show_all_levels:
            # yes/no variable (or one printed level, e.g. male): a single line
            r = shown.iloc[0]
            cells = _count_cells(r, gcols)
            lines.append(
                {
                    "Characteristic": first["label"],
                    "_kind": "variable",
                    "_var": var,
                    "_level": r["level"],
                    **cells,
                    **extra,
                }
            )
            continue
        lines.append({"Characteristic": first["label"], "_kind": "variable", "_var": var, **extra})
        for _, r in shown.iterrows():
            lines.append(
                {
                    "Characteristic": f"    {r['level']}",
                    "_kind": "level",
                    "_var": var,
                    "_level": r["level"],
                    **_count_cells(r, gcols),
                }
            )
    has_pub = published is not None and not published.empty
    if has_pub:
        _add_published(lines, published, gcols, has_test)
    cols = ["Characteristic", *gcols]
    if has_test:
        cols.append("p")
        if "p_adjusted" in result and result["p_adjusted"].notna().any():
            cols.append("p (adj.)")
    if want_smd:
        cols.append("SMD")
    if has_test:
        cols.append("test")
    if has_pub:
        cols += [f"{g} (paper)" for g in gcols]
        if has_test:
            cols.append("p (paper)")
    out = pd.DataFrame(lines).reindex(columns=[*cols, "_kind"]).fillna("")
    rename = {g: f"{g} (n = {_group_n(result, g)})" for g in gcols}
    return out.rename(columns=rename)


def _add_published(
    lines: list[dict[str, Any]], published: pd.DataFrame, gcols: list[str], has_test: bool
) -> None:
    pub = published.copy()
    pub["group"] = pub["group"].replace("", OVERALL)
    figs: dict[tuple[str, str, str], dict[str, float]] = {}
    for r in pub.to_dict("records"):
        figs.setdefault((r["variable"], r["level"], r["group"]), {})[r["statistic"]] = r[
            "published"
        ]
    for line in lines:
        var = line.get("_var")
        if var is None:
            continue
        level = line.get("_level")
        level = "" if level is None or (isinstance(level, float) and math.isnan(level)) else level
        for g in gcols:
            f = figs.get((var, level, g))
            if not f:
                continue
            if "median" in f:
                q1, q3 = f.get("q1", math.nan), f.get("q3", math.nan)
                line[f"{g} (paper)"] = (
                    f"{fmt_number(f['median'])} [{fmt_number(q1)}–{fmt_number(q3)}]"
                )
            elif "n" in f:
                n = int(f["n"])
                line[f"{g} (paper)"] = f"{n} ({fmt_pct(f['pct'])}%)" if "pct" in f and n else str(n)
        if has_test and line["_kind"] == "variable":
            p = figs.get((var, "", OVERALL), {}).get("p")
            if p is not None:
                line["p (paper)"] = f"{p:g}"


def _count_cells(r: pd.Series, gcols: list[str]) -> dict[str, str]:
    out = {}
    for g in gcols:
        n = r[f"{g}{SEP}n"]
        out[g] = "0" if n == 0 else f"{int(n)} ({fmt_pct(r[f'{g}{SEP}pct'])}%)"
    return out


def group_sizes(result: pd.DataFrame) -> dict[str, int]:
    """Patients per group (missing values included) of a :func:`compare_groups` result."""
    return {g: _group_n(result, g) for g in result_groups(result)}


def _group_n(result: pd.DataFrame, g: str) -> int:
    r = result.iloc[0]
    if r["kind"] == "continuous":
        return int(r[f"{g}{SEP}n"] + r[f"{g}{SEP}missing"])
    return int(r[f"{g}{SEP}N"] + r[f"{g}{SEP}missing"])


# ---------------------------------------------------------------------------------------
# published values
# ---------------------------------------------------------------------------------------
_ANY_LEVEL = object()  # lookup key: the variable's first row, whatever its level


def compare_with_published(result: pd.DataFrame, preset: Preset | str) -> pd.DataFrame:
    """Recomputed values beside the published ones (``data/published.yaml``).

    Parameters
    ----------
    result : DataFrame
        :func:`compare_groups` output for the preset's variables and grouping.
    preset : Preset or key of :data:`PRESETS`

    Returns
    -------
    DataFrame
        One row per published figure of the preset's table (and, for a grouped preset, the
        overall figures of Tables 1-2 for its variables): ``variable, label, group,
        level, statistic, published, recomputed, difference, tolerance, matches``.
        ``tolerance`` is half a unit of the last printed digit (for p-values and
        percentages the comparison is informational: see the paper's conflicts list).
    """
    from core.study.published import published_figures

    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
        preset = PRESETS[preset]
    figs = published_figures()
    names = [v.name for v in preset.variables]
    wanted = figs["grouping"] == preset.grouping
    if preset.by is not None:  # the Overall column is compared with Tables 1-2
        wanted |= (figs["grouping"] == "overall") & (figs["statistic"] != "p")
    figs = figs[wanted & figs["variable"].isin(names)]
    # first result row of each variable, and of each (variable, level): one pass, then lookups
    first: dict[tuple, dict] = {}
    for r in result.to_dict("records"):
        first.setdefault((r["variable"], _ANY_LEVEL), r)
        if r["level"] is not None and not pd.isna(r["level"]):
            first.setdefault((r["variable"], r["level"]), r)
    rows = []
    for f in figs.to_dict("records"):
        level = f["level"]
        has_level = level is not None and not (isinstance(level, float) and math.isnan(level))
        r = first.get((f["variable"], level_str(level) if has_level else _ANY_LEVEL))
        recomputed = math.nan
        if r is not None:
            if f["statistic"] == "p":
                recomputed = float(r["p_value"])
            else:
                col = f"{f['group']}{SEP}{f['statistic']}"
                if col in r:
                    recomputed = float(r[col])
        tol = 0.5 * 10.0 ** (-int(f["decimals"]))  # half a unit of the last printed digit
        diff = recomputed - f["published"]
        rows.append(
            {
                "variable": f["variable"],
                "label": f["label"],
                "group": f["group"] or "",
                "level": "" if f["level"] is None else level_str(f["level"]),
                "statistic": f["statistic"],
                "published": f["published"],
                "recomputed": recomputed,
                "difference": diff,
                "tolerance": tol,
                "matches": bool(abs(diff) <= tol + 1e-9) if not math.isnan(diff) else False,
                "source": f["source"],
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------
# display helpers (presentation of a result and its formatted table)
# ---------------------------------------------------------------------------------------
SECTION_CSS = "font-weight: 700; background-color: #eef2f7"
PAPER_CSS = "color: #6b7280; font-style: italic"
SIGNIFICANT_CSS = "font-weight: 700"


def is_significant(p_text: str, alpha: float = 0.05) -> bool:
    """Whether a printed p-value (:func:`fmt_p`) is below ``alpha``.

    Parameters
    ----------
    p_text : str
        ``'0.012'``, ``'<0.001'``, or ``''`` (no test).
    alpha : float, default 0.05

    Returns
    -------
    bool
        True for ``'<…'`` and for numbers below ``alpha``; False for empty or other text.
    """
    if not p_text:
        return False
    if p_text.startswith("<"):
        return True
    try:
        return float(p_text) < alpha
    except ValueError:
        return False


def style_table(table: pd.DataFrame) -> Styler:
    """Styled view of :func:`format_table`'s output, without its hidden ``_kind`` column.

    Section rows bold on a light background, published ``(paper)`` columns grey italic, and
    significant p-values (:func:`is_significant`, column ``p``) bold.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`format_table` (with ``_kind``), default integer index.

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    kinds = table["_kind"].tolist()
    shown = table.drop(columns=["_kind"])
    paper_cols = [c for c in shown.columns if "(paper)" in str(c)]

    def rows(row: pd.Series) -> list[str]:
        if kinds[row.name] == "section":
            return [SECTION_CSS] * len(row)
        out = []
        for c in row.index:
            css = ""
            if c in paper_cols:
                css = PAPER_CSS
            if c == "p" and is_significant(row[c]):
                css = SIGNIFICANT_CSS
            out.append(css)
        return out

    return shown.style.apply(rows, axis=1)


def too_small_groups(result: pd.DataFrame) -> list[tuple[str, int]]:
    """Groups of fewer than :data:`MIN_GROUP_SIZE` patients (too few for a test).

    Parameters
    ----------
    result : DataFrame
        Output of :func:`compare_groups`.

    Returns
    -------
    list of (group, size)
        In the result's group order (:func:`group_sizes`).
    """
    return [(g, n) for g, n in group_sizes(result).items() if n < MIN_GROUP_SIZE]


def notes_table(result: pd.DataFrame) -> pd.DataFrame:
    """The notes of a result, one row per variable that has one: ``label``, ``note``.

    The leading ``'tested without …'`` clause (groups left out of a test because too small)
    is removed: :func:`too_small_groups` says it once for the whole table.

    Parameters
    ----------
    result : DataFrame
        Output of :func:`compare_groups`.

    Returns
    -------
    DataFrame
        Columns ``label`` and ``note``; variables without a (remaining) note are left out.
    """
    notes = result.drop_duplicates("variable").copy()
    notes["note"] = notes["note"].str.replace(r"^tested without [^;]*(; )?", "", regex=True)
    return notes[notes["note"] != ""][["label", "note"]]


def tests_used(result: pd.DataFrame) -> list[str]:
    """Names of the tests of a result, each once, sorted (``[]`` without groups to compare)."""
    tests = result.drop_duplicates("variable")["test"].replace("", pd.NA).dropna()
    return sorted(set(tests))


def published_agreement(published: pd.DataFrame) -> tuple[int, int]:
    """How many published figures (p-values aside) are reproduced.

    Parameters
    ----------
    published : DataFrame
        Output of :func:`compare_with_published` (columns statistic, matches).

    Returns
    -------
    (reproduced, total) : tuple of int
        Counts, percentages and quartiles that match their printed precision, out of all.
    """
    figures = published[published["statistic"] != "p"]
    return int(figures["matches"].sum()), len(figures)


# ---------------------------------------------------------------------------------------
# exports
# ---------------------------------------------------------------------------------------
def export_csv(result: pd.DataFrame) -> bytes:
    """Raw result as UTF-8 CSV (formula-like text neutralised)."""
    return neutralise_formulas(result).to_csv(index=False).encode("utf-8")


def export_excel(result: pd.DataFrame, formatted: pd.DataFrame, title: str = "") -> bytes:
    """Excel workbook (openpyxl): sheet ``table`` (formatted) and ``raw`` (numbers)."""
    import io

    buf = io.BytesIO()
    table = formatted.drop(columns=["_kind"], errors="ignore")
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        neutralise_formulas(table).to_excel(xw, sheet_name="table", index=False, startrow=1)
        neutralise_formulas(result).to_excel(xw, sheet_name="raw", index=False)
        ws = xw.sheets["table"]
        ws.cell(row=1, column=1, value=neutralise_formulas(pd.DataFrame({"t": [title]}))["t"][0])
        ws.column_dimensions["A"].width = 55
    return buf.getvalue()


def export_latex(formatted: pd.DataFrame, caption: str = "") -> str:
    """LaTeX ``tabular`` of the formatted table (pandas ``Styler.to_latex``, text escaped)."""
    table = formatted.drop(columns=["_kind"], errors="ignore")
    table = table.rename(columns=lambda c: str(c))
    styler = (
        table.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    )
    kwargs: dict[str, Any] = {"hrules": True, "column_format": "l" + "r" * (table.shape[1] - 1)}
    if caption:
        kwargs["caption"] = caption.replace("&", r"\&").replace("%", r"\%").replace("_", r"\_")
    return styler.to_latex(**kwargs)
