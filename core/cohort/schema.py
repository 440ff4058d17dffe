"""Data dictionary and the pydantic models of a cohort row and of the shared cohort filter.

``data/dictionary.csv`` is the single description of the cohort columns (label, unit, type,
allowed values or range, source in the paper, synonyms for upload mapping). The ``Patient``
model is built from it, so a new column needs one line in the dictionary and nothing here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from core.paths import DATA_DIR

DICTIONARY_PATH = DATA_DIR / "dictionary.csv"


@dataclass(frozen=True)
class ColumnSpec:
    column: str
    label: str
    unit: str
    type: str  # int, float, bool, category, str, event
    allowed: tuple[str, ...]  # category levels
    low: float | None
    high: float | None
    required: bool
    source: str
    synonyms: tuple[str, ...]
    # baseline | post_admission | outcome | endpoint | identifier (core.cohort.variables)
    role: str = "baseline"

    @property
    def display(self) -> str:
        """Label with unit, e.g. 'Age (years)'."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


@lru_cache(maxsize=2)
def load_dictionary(path: str | Path = DICTIONARY_PATH) -> dict[str, ColumnSpec]:
    """Read ``data/dictionary.csv`` into ``{column: ColumnSpec}`` (file order kept)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    specs: dict[str, ColumnSpec] = {}
    for row in raw.itertuples(index=False):
        low = high = None
        allowed: tuple[str, ...] = ()
        if row.type in ("int", "float") and ".." in row.allowed:
            lo, hi = row.allowed.split("..")
            low, high = float(lo), float(hi)
        elif row.type in ("category", "event") and row.allowed:
            allowed = tuple(row.allowed.split("|"))
        specs[row.column] = ColumnSpec(
            column=row.column,
            label=row.label,
            unit=row.unit,
            type=row.type,
            allowed=allowed,
            low=low,
            high=high,
            required=row.required == "yes",
            source=row.source,
            synonyms=tuple(s for s in row.synonyms.split("|") if s),
            role=getattr(row, "role", "") or "baseline",
        )
    return specs


# Columns that core.cohort.db's ``patients`` view derives (not in the dictionary, never uploaded).
DERIVED_LABELS = {
    "death_1y": "Death within 1 year",
    "outcome_1y": "1-year outcome (Table 4 grouping)",
}


def column_label(column: str, *, unit: bool = True) -> str:
    """Display label of a cohort column ('Age (years)'); the column name when unknown."""
    spec = load_dictionary().get(column)
    if spec is not None:
        return spec.display if unit else spec.label
    return DERIVED_LABELS.get(column, column)


def level_order(column: str) -> list[str] | None:
    """Dictionary order of a category column's levels, e.g. CRS, CRS or sepsis, ..."""
    spec = load_dictionary().get(column)
    return list(spec.allowed) if spec is not None and spec.type == "category" else None


def dictionary_table() -> pd.DataFrame:
    """The data dictionary as a table for reading: column, label, unit, type, allowed, source."""
    rows = []
    for spec in load_dictionary().values():
        if spec.allowed:
            allowed = " | ".join(spec.allowed)
        elif spec.low is not None and spec.high is not None:
            allowed = f"{spec.low:g} to {spec.high:g}"
        else:
            allowed = ""
        rows.append(
            {
                "column": spec.column,
                "label": spec.label,
                "unit": spec.unit,
                "type": spec.type,
                "allowed": allowed,
                "source": spec.source,
            }
        )
    return pd.DataFrame(rows)


def _field(spec: ColumnSpec) -> tuple[Any, Any]:
    desc = spec.display
    default = ... if spec.required else None
    if spec.type == "int":
        return (int | None, Field(default, ge=spec.low, le=spec.high, description=desc))
    if spec.type == "float":
        return (float | None, Field(default, ge=spec.low, le=spec.high, description=desc))
    if spec.type == "bool":
        return (bool | None, Field(default, description=desc))
    if spec.type == "event":
        kind = Literal[0, 1] if spec.required else Literal[0, 1] | None
        return (kind, Field(default, description=desc))
    if spec.type == "category":
        return (Literal[spec.allowed] | None, Field(default, description=desc))  # type: ignore[valid-type]
    return (str | None, Field(default, max_length=200, description=desc))


class _PatientBase(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="after")
    def _times_consistent(self) -> _PatientBase:
        os_days = getattr(self, "os_days", None)
        pfs_days = getattr(self, "pfs_days", None)
        if os_days is not None and pfs_days is not None and pfs_days > os_days + 1e-9:
            raise ValueError("pfs_days is later than os_days (progression after last follow-up)")
        return self


@lru_cache(maxsize=1)
def patient_model() -> type[BaseModel]:
    """The pydantic ``Patient`` model, one field per dictionary column."""
    fields = {name: _field(spec) for name, spec in load_dictionary().items()}
    return create_model("Patient", __base__=_PatientBase, **fields)  # type: ignore[call-overload]


def __getattr__(name: str) -> Any:  # ``from core.cohort.schema import Patient``
    if name == "Patient":
        return patient_model()
    raise AttributeError(name)


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row (header excluded)
    column: str
    value: Any
    message: str


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if hasattr(value, "item"):  # numpy scalar -> python
        return value.item()
    return value


def validate_frame(df: pd.DataFrame, row_offset: int = 1) -> list[RowError]:
    """Validate every row of ``df`` with ``Patient``; return one error per bad cell.

    ``row_offset`` is added to the 0-based position to give the row number shown to the
    user (1 = first data row; pass 2 for spreadsheet numbering with a header row).
    """
    model = patient_model()
    errors: list[RowError] = []
    records = df.to_dict(orient="records")
    for pos, record in enumerate(records):
        clean = {k: _clean(v) for k, v in record.items()}
        try:
            model.model_validate(clean)
        except ValidationError as exc:
            for err in exc.errors():
                col = str(err["loc"][0]) if err["loc"] else "(row)"
                errors.append(
                    RowError(
                        pos + row_offset,
                        col,
                        clean.get(col),
                        err["msg"].removeprefix("Value error, "),
                    )
                )
    return errors


class CohortFilter(BaseModel):
    """The shared cohort filter of every view (applied in SQL by ``core.cohort.db``).

    ``None`` means "no restriction". Lists are allowed levels; ranges are inclusive.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    icu_reason: tuple[str, ...] | None = Field(None, description="Reasons for ICU admission")
    ecog_ps: tuple[int, ...] | None = Field(None, description="ECOG performance status levels")
    malignancy: tuple[str, ...] | None = Field(None, description="Hematological malignancies")
    sex: tuple[Literal["M", "F"], ...] | None = Field(None, description="Sex")
    age_min: float | None = Field(None, ge=0, le=120, description="Minimum age (years)")
    age_max: float | None = Field(None, ge=0, le=120, description="Maximum age (years)")
    sofa_min: int | None = Field(None, ge=0, le=24, description="Minimum SOFA (points)")
    sofa_max: int | None = Field(None, ge=0, le=24, description="Maximum SOFA (points)")

    def describe(self) -> str:
        """The filter in words ("no filter"; "ECOG PS 2, 3; age 40–80 years")."""
        parts = []
        for name, label in (
            ("icu_reason", "reason for ICU admission"), ("ecog_ps", "ECOG PS"),
            ("malignancy", "malignancy"), ("sex", "sex"),
        ):  # fmt: skip
            values = getattr(self, name)
            if values is not None:
                parts.append(f"{label} {', '.join(str(v) for v in values)}")
        for name, unit in (("age", "years"), ("sofa", "points")):
            lo, hi = getattr(self, f"{name}_min"), getattr(self, f"{name}_max")
            if lo is not None or hi is not None:
                lo_t = "…" if lo is None else f"{lo:g}"
                hi_t = "…" if hi is None else f"{hi:g}"
                parts.append(f"{name.upper() if name == 'sofa' else name} {lo_t}–{hi_t} {unit}")
        return "; ".join(parts) or "no filter"

    @model_validator(mode="after")
    def _ranges(self) -> CohortFilter:
        for lo, hi, name in (
            (self.age_min, self.age_max, "age"),
            (self.sofa_min, self.sofa_max, "SOFA"),
        ):
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"{name}: minimum {lo} is above maximum {hi}")
        return self

    @property
    def is_empty(self) -> bool:
        return all(v is None for v in self.model_dump().values())
