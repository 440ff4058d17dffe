"""The variable registry: roles, derived columns and groupings of the cohort's variables.

Labels, units, kinds and level order live in ``data/dictionary.csv`` (:mod:`core.cohort.schema`);
this module adds what the analyses ask of a variable:

* its **role** (the dictionary's ``role`` column): baseline, post-admission, outcome, endpoint
  or identifier, which decides who may group by it (:func:`is_outcome_column`), warn about it
  (:func:`is_post_admission`) or put it in a model (:func:`may_predict`, :data:`NOT_PREDICTORS`);
* the **derived columns** (``reason_dp`` here; ``death_1y`` and ``outcome_1y`` in the
  ``patients`` view of :mod:`core.cohort.db`);
* how a variable becomes **groups**: one group per level in the dictionary's order, or a
  continuous variable cut at a threshold (:func:`make_groups`, :func:`cut_variable`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.cohort.schema import load_dictionary

#: Indicator columns derived on the fly when a covariate of that name is not in the data:
#: name -> (source column, level coded 1; every other non-missing level is 0).
DERIVED_INDICATORS: dict[str, tuple[str, str]] = {
    "reason_dp": ("icu_reason", "Disease progression"),
}


# --------------------------------------------------------------------------------------
# design matrix
# --------------------------------------------------------------------------------------
def add_derived(df: pd.DataFrame, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Return ``df`` with the derived indicator columns of :data:`DERIVED_INDICATORS` added.

    ``reason_dp`` is 1 for ``icu_reason == "Disease progression"`` and 0 for every other
    reason (missing stays missing).  Columns already present are left untouched.
    """
    out = df
    for name in names if names is not None else DERIVED_INDICATORS:
        if name in df.columns or name not in DERIVED_INDICATORS:
            continue
        source, level = DERIVED_INDICATORS[name]
        if source not in df.columns:
            continue
        if out is df:
            out = df.copy(deep=False)  # new columns only: the caller's frame is untouched
        src = df[source]
        out[name] = np.where(src.isna(), np.nan, (src == level).astype(float))
    return out


# --------------------------------------------------------------------------------------
# grouping helper for the page
# --------------------------------------------------------------------------------------
MAX_LEVELS = 8


def level_text(level) -> str:
    """A level as text: a whole float without its decimals (``2.0 -> '2'``)."""
    if isinstance(level, float) and level.is_integer():
        return str(int(level))
    return str(level)


def order_levels(levels, order: Sequence | None) -> list:
    """``levels`` in ``order`` (others after, sorted), else sorted."""
    out = sorted(levels, key=lambda v: (str(type(v)), v))
    if order is not None:
        rank = {v: i for i, v in enumerate(order)}
        out = sorted(out, key=lambda v: (v not in rank, rank.get(v, 0)))
    return out


def cut_labels(name: str, threshold: float) -> tuple[str, str]:
    """Names of the two groups of a variable cut at ``threshold``: ``name < t``, ``name ≥ t``.

    Values ``>= threshold`` go to the upper group (R ``cut(x, c(-Inf, t, Inf), right = FALSE)``).
    """
    return f"{name} < {threshold:g}", f"{name} ≥ {threshold:g}"


def has_values(df: pd.DataFrame, *columns: str) -> bool:
    """Every column present and holding at least one value (an upload may leave one empty)."""
    return set(columns) <= set(df.columns) and all(df[c].notna().any() for c in columns)


def looks_like_identifier(s: pd.Series) -> bool:
    """Text with a different value on every row (at least 10): an identifier, whatever its name.

    A generic upload may keep its record numbers in a column the dictionary does not know
    ("P01", "P02", ...); describing or grouping by it means nothing.
    """
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return False
    values = s.dropna()
    return len(values) >= 10 and values.nunique() == len(values)


#: derived columns that repeat another grouping: offered once (Table 4's 1-year outcome)
SAME_GROUPS = {"death_1y": "outcome_1y"}


def grouping_columns(df: pd.DataFrame, *, outcomes: bool = True) -> list[str]:
    """Columns of ``df`` that may define groups (Compare, Survival, the sidebar's choices).

    Not the identifier nor a survival endpoint column; at least two distinct values; and
    either numeric (a continuous one is cut at a threshold, see :func:`make_groups`) or at
    most :data:`MAX_LEVELS` levels.  With ``outcomes=False`` the outcomes are left out too
    (grouping survival by an outcome is circular).
    """
    out = []
    for col in df.columns:
        r = role(col)
        if r in ("identifier", "endpoint") or (not outcomes and r == "outcome"):
            continue
        if SAME_GROUPS.get(col) in df.columns or looks_like_identifier(df[col]):
            continue
        s = df[col]
        k = s.nunique(dropna=True)
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        if k >= 2 and (numeric or k <= MAX_LEVELS):
            out.append(col)
    return out


@dataclass(frozen=True)
class Grouping:
    """A data frame ready for grouped survival analysis.

    Attributes
    ----------
    df : DataFrame
        Rows with a non-missing group; the group is in column ``column``.
    column : str
        Name of the grouping column in ``df`` (the source column, or ``"<col> (cut)"``).
    levels : tuple
        Group levels in display order.
    ordered : bool
        Levels are ordered numeric scores (e.g. ECOG PS): a trend test applies.
    threshold : float or None
        Cut point when a continuous column was dichotomised (``< t`` vs ``>= t``).
    n_missing : int
        Rows dropped because the group value was missing.
    """

    df: pd.DataFrame
    column: str
    levels: tuple
    ordered: bool
    threshold: float | None
    n_missing: int


def is_continuous(s: pd.Series, max_levels: int = MAX_LEVELS) -> bool:
    """Numeric (not boolean) with more than ``max_levels`` distinct values."""
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        return False
    return s.dropna().nunique() > max_levels


def default_threshold(s: pd.Series) -> float:
    """Median of the non-missing values (the default cut point for a continuous column)."""
    v = pd.to_numeric(s, errors="coerce").dropna()
    if v.empty:
        raise ValueError(f"column '{s.name}' has no numeric values to cut")
    return float(v.median())


def make_groups(
    df: pd.DataFrame,
    column: str,
    threshold: float | None = None,
    *,
    label: str | None = None,
    order: list | tuple | None = None,
    merge: Sequence | None = None,
) -> Grouping:
    """Grouping by a categorical column, or by a numeric one cut at ``threshold``.

    Continuous columns (see :func:`is_continuous`) are always cut, into ``"<label> < t"`` and
    ``"<label> ≥ t"`` (threshold default: the median; label default: the column name); an
    ordinal one (e.g. ECOG PS) is cut when ``threshold`` is given (PS < 2 vs PS ≥ 2).
    ``merge`` makes two groups of a categorical column: the listed levels together
    (``"A or B"``) against the others (``"other <label>"``), e.g. disease progression vs the
    three other reasons, as in the paper's model.  Rows with a missing group are dropped and
    counted; levels are those present (no empty groups), in ``order`` when given (e.g. the data
    dictionary's order; others follow, sorted), else sorted.
    """
    if column not in df.columns:
        raise ValueError(f"column(s) not in data: {[column]}; available: {list(df.columns)}")
    if len(df) == 0:
        raise ValueError("no patients: the data frame is empty")
    s = df[column]
    missing = s.isna()
    sub = df.loc[~missing].copy()
    numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
    if merge:
        wanted = {str(v) for v in merge}
        chosen = [v for v in pd.unique(sub[column]) if str(v) in wanted]
        if not chosen:
            raise ValueError(f"none of {list(merge)} is a level of {column!r}")
        first = " or ".join(level_text(v) for v in (order_levels(chosen, order)))
        rest = f"other {label or column}"
        name = f"{column} (2 groups)"
        sub[name] = pd.Categorical(
            np.where(sub[column].isin(chosen), first, rest), categories=[first, rest]
        )
        present = [c for c in (first, rest) if (sub[name] == c).any()]
        sub[name] = sub[name].cat.set_categories(present)
        return Grouping(sub, name, tuple(present), False, None, int(missing.sum()))
    if is_continuous(s) or (numeric and threshold is not None):
        t = default_threshold(s) if threshold is None else float(threshold)
        if not np.isfinite(t):
            raise ValueError(f"threshold must be a finite number, got {threshold}")
        name_t = label or column
        lo, hi = cut_labels(name_t, t)
        name = f"{column} (cut)"
        sub[name] = pd.Categorical(
            np.where(sub[column].to_numpy(dtype=float) < t, lo, hi), categories=[lo, hi]
        )
        present = [c for c in (lo, hi) if (sub[name] == c).any()]
        sub[name] = sub[name].cat.set_categories(present)
        return Grouping(sub, name, tuple(present), False, t, int(missing.sum()))
    is_bool = pd.api.types.is_bool_dtype(s)
    if is_bool:
        sub[column] = sub[column].astype(bool)
    levels = tuple(order_levels(pd.unique(sub[column]).tolist(), order))
    sub[column] = pd.Categorical(sub[column].tolist(), categories=list(levels))  # keeps the order
    ordered = pd.api.types.is_numeric_dtype(s) and not is_bool and 2 < len(levels) <= MAX_LEVELS
    return Grouping(sub, column, levels, bool(ordered), None, int(missing.sum()))


# --------------------------------------------------------------------------------------
# roles: which columns may group, be filtered on, or enter a model
# --------------------------------------------------------------------------------------
ROLES = ("baseline", "post_admission", "outcome", "endpoint", "identifier")
"""Role of a column (``role`` in ``data/dictionary.csv``): measured at or before ICU admission,
measured after it (time zero), an outcome, a survival endpoint column, or the identifier."""

#: Roles of the columns derived by core.cohort.db's ``patients`` view and by :func:`add_derived`.
DERIVED_ROLES: dict[str, str] = {"death_1y": "outcome", "outcome_1y": "outcome"}
DERIVED_ROLES.update({name: "baseline" for name in DERIVED_INDICATORS})

# An upload in "any survival data" mode names its columns freely: these spellings still say
# what a column is (os_*/pfs_* endpoints and outcomes; hours from ICU admission to a treatment).
OUTCOME_PREFIXES = ("os_", "pfs_")
POST_ADMISSION_PREFIXES = ("hours_icu_to_",)


def role(column: str) -> str:
    """Role of ``column``: the dictionary's, a derived column's, else from its name.

    A column the dictionary does not know (generic upload) is ``baseline`` unless its name
    starts with ``os_``/``pfs_`` (``outcome``) or ``hours_icu_to_`` (``post_admission``).
    """
    spec = load_dictionary().get(column)
    if spec is not None:
        return spec.role
    if column in DERIVED_ROLES:
        return DERIVED_ROLES[column]
    if column.startswith(OUTCOME_PREFIXES):
        return "outcome"
    if column.startswith(POST_ADMISSION_PREFIXES):
        return "post_admission"
    return "baseline"


def columns_with_role(*roles: str) -> tuple[str, ...]:
    """Dictionary and derived columns whose role is one of ``roles`` (dictionary order)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {sorted(unknown)}; roles are {ROLES}")
    names = [*load_dictionary(), *DERIVED_ROLES]
    return tuple(c for c in names if role(c) in roles)


def is_outcome_column(column: str) -> bool:
    """Column is an outcome or an endpoint column (grouping survival by it is circular)."""
    return role(column) in ("outcome", "endpoint")


def is_post_admission(column: str) -> bool:
    """Column is measured after ICU admission (role ``post_admission``).

    Comparing survival from ICU admission by such a variable is subject to immortal-time bias
    (Suissa 2008): patients must survive long enough to receive the treatment / have the event.
    """
    return role(column) == "post_admission"


def may_predict(column: str) -> bool:
    """Column may enter a model of the outcomes (not the identifier, an endpoint or an outcome)."""
    return role(column) in ("baseline", "post_admission")


ENDPOINT_COLUMNS: tuple[str, ...] = columns_with_role("endpoint")
OUTCOME_COLUMNS: tuple[str, ...] = columns_with_role("outcome")
POST_ADMISSION_COLUMNS: tuple[str, ...] = columns_with_role("post_admission")
#: Identifier, endpoints and outcomes: never a covariate of a model of those outcomes.
NOT_PREDICTORS = frozenset(columns_with_role("identifier", "endpoint", "outcome"))


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
    lo, hi = cut_labels(column, threshold)
    out = df.copy(deep=False)  # one new column: the caller's frame is untouched
    lab = pd.Series(np.where(x >= threshold, hi, lo), index=df.index, dtype=object)
    lab[x.isna()] = None
    out[name or hi] = pd.Categorical(lab, categories=[lo, hi], ordered=True)
    return out
