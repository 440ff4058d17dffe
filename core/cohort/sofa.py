"""SOFA score from raw values (Vincent et al., Intensive Care Med 1996;22:707-10, Table 1).

Six organ systems, 0-4 points each (total 0-24), SI units as in the cohort:

============== ============================================================================
System         Points (SI units as in the 1996 table; the bound belongs to the *worse* score)
============== ============================================================================
Respiration    PaO2/FiO2 (mmHg): >= 400 -> 0; < 400 -> 1; < 300 -> 2; < 200 *with
               respiratory support* -> 3; < 100 with respiratory support -> 4.  Without
               respiratory support the score is capped at 2.
Coagulation    Platelets (x10^9/L = x10^3/mm3): >= 150 -> 0; < 150 -> 1; < 100 -> 2;
               < 50 -> 3; < 20 -> 4.
Liver          Bilirubin (µmol/L): < 20 -> 0; 20-32 -> 1; 33-101 -> 2; 102-204 -> 3;
               > 204 -> 4 (for non-integer values: [20, 33) -> 1, [33, 102) -> 2,
               [102, 204] -> 3).
Cardiovascular MAP >= 70 mmHg and no vasopressor -> 0; MAP < 70 -> 1; dopamine <= 5 or
               dobutamine (any dose) -> 2; dopamine > 5 or epinephrine <= 0.1 or
               norepinephrine <= 0.1 -> 3; dopamine > 15 or epinephrine > 0.1 or
               norepinephrine > 0.1 -> 4 (µg/kg/min, given for at least 1 hour).
CNS            Glasgow coma scale: 15 -> 0; 13-14 -> 1; 10-12 -> 2; 6-9 -> 3; < 6 -> 4.
Renal          Creatinine (µmol/L): < 110 -> 0; 110-170 -> 1; 171-299 -> 2; 300-440 -> 3;
               > 440 -> 4 (non-integer values: [110, 171) -> 1, [171, 300) -> 2,
               [300, 440] -> 3); or urine output < 500 mL/day -> 3, < 200 mL/day -> 4
               (the worse of the two criteria counts).
============== ============================================================================

A system whose inputs are all missing scores 0 (the usual convention: "assumed normal") and
is listed in ``not_assessed``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["SYSTEMS", "SofaError", "SofaInput", "SofaResult", "compute_sofa", "sofa_score"]

SYSTEMS = ("respiration", "coagulation", "liver", "cardiovascular", "cns", "renal")

_LABELS = {
    "pao2_mmhg": "PaO2",
    "fio2": "FiO2",
    "respiratory_support": "Respiratory support",
    "platelets_g_l": "Platelets",
    "bilirubin_umol_l": "Bilirubin",
    "map_mmhg": "Mean arterial pressure",
    "dopamine": "Dopamine",
    "dobutamine": "Dobutamine",
    "epinephrine": "Epinephrine",
    "norepinephrine": "Norepinephrine",
    "gcs": "Glasgow coma scale",
    "creatinine_umol_l": "Creatinine",
    "urine_ml_day": "Urine output",
}


class SofaError(ValueError):
    """Invalid SOFA inputs; the message names the offending fields."""


class SofaInput(BaseModel):
    """Raw values for the six SOFA systems (all optional; missing -> system scores 0)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pao2_mmhg: float | None = Field(None, ge=20, le=700, description="PaO2, mmHg (arterial)")
    fio2: float | None = Field(
        None, ge=0.21, le=1.0, description="FiO2, fraction of inspired oxygen (0.21-1.0)"
    )
    respiratory_support: bool = Field(
        False, description="Mechanical ventilation or other respiratory support (CPAP/NIV)"
    )
    platelets_g_l: float | None = Field(
        None, ge=0, le=2000, description="Platelets, x10^9/L (= x10^3/mm3)"
    )
    bilirubin_umol_l: float | None = Field(
        None, ge=0, le=1000, description="Total bilirubin, µmol/L (mg/dL x 17.1)"
    )
    map_mmhg: float | None = Field(None, ge=0, le=200, description="Mean arterial pressure, mmHg")
    dopamine: float = Field(0.0, ge=0, le=50, description="Dopamine, µg/kg/min (>= 1 h)")
    dobutamine: float = Field(0.0, ge=0, le=50, description="Dobutamine, µg/kg/min (>= 1 h)")
    epinephrine: float = Field(0.0, ge=0, le=5, description="Epinephrine, µg/kg/min (>= 1 h)")
    norepinephrine: float = Field(0.0, ge=0, le=5, description="Norepinephrine, µg/kg/min (>= 1 h)")
    gcs: int | None = Field(None, ge=3, le=15, description="Glasgow coma scale, 3-15 points")
    creatinine_umol_l: float | None = Field(
        None, ge=0, le=3000, description="Serum creatinine, µmol/L (mg/dL x 88.4)"
    )
    urine_ml_day: float | None = Field(None, ge=0, le=20000, description="Urine output, mL/day")


@dataclass(frozen=True)
class SofaResult:
    """Per-system points, total and the systems scored 0 for lack of data."""

    respiration: int
    coagulation: int
    liver: int
    cardiovascular: int
    cns: int
    renal: int
    not_assessed: tuple[str, ...]

    @property
    def total(self) -> int:
        return sum(getattr(self, s) for s in SYSTEMS)

    def as_dict(self) -> dict[str, int]:
        return {s: getattr(self, s) for s in SYSTEMS} | {"total": self.total}


def _respiration(x: SofaInput) -> int | None:
    if x.pao2_mmhg is None or x.fio2 is None:
        return None
    ratio = x.pao2_mmhg / x.fio2
    if ratio < 100 and x.respiratory_support:
        return 4
    if ratio < 200 and x.respiratory_support:
        return 3
    if ratio < 300:
        return 2
    if ratio < 400:
        return 1
    return 0


def _coagulation(x: SofaInput) -> int | None:
    p = x.platelets_g_l
    if p is None:
        return None
    return 4 if p < 20 else 3 if p < 50 else 2 if p < 100 else 1 if p < 150 else 0


def _liver(x: SofaInput) -> int | None:
    b = x.bilirubin_umol_l
    if b is None:
        return None
    return 0 if b < 20 else 1 if b < 33 else 2 if b < 102 else 3 if b <= 204 else 4


def _cardiovascular(x: SofaInput) -> int | None:
    if x.dopamine > 15 or x.epinephrine > 0.1 or x.norepinephrine > 0.1:
        return 4
    if x.dopamine > 5 or x.epinephrine > 0 or x.norepinephrine > 0:
        return 3
    if x.dopamine > 0 or x.dobutamine > 0:
        return 2
    if x.map_mmhg is None:
        return None
    return 1 if x.map_mmhg < 70 else 0


def _cns(x: SofaInput) -> int | None:
    g = x.gcs
    if g is None:
        return None
    return 0 if g == 15 else 1 if g >= 13 else 2 if g >= 10 else 3 if g >= 6 else 4


def _renal(x: SofaInput) -> int | None:
    scores = []
    c = x.creatinine_umol_l
    if c is not None:
        scores.append(0 if c < 110 else 1 if c < 171 else 2 if c < 300 else 3 if c <= 440 else 4)
    u = x.urine_ml_day
    if u is not None:
        scores.append(4 if u < 200 else 3 if u < 500 else 0)
    return max(scores) if scores else None


def sofa_score(inputs: SofaInput) -> SofaResult:
    """SOFA points per system and total (Vincent 1996) from validated inputs."""
    raw = {
        "respiration": _respiration(inputs),
        "coagulation": _coagulation(inputs),
        "liver": _liver(inputs),
        "cardiovascular": _cardiovascular(inputs),
        "cns": _cns(inputs),
        "renal": _renal(inputs),
    }
    missing = tuple(s for s, v in raw.items() if v is None)
    return SofaResult(**{s: int(v or 0) for s, v in raw.items()}, not_assessed=missing)


def compute_sofa(**values: object) -> SofaResult:
    """Validate raw values and score them; :class:`SofaError` names every bad field."""
    try:
        inputs = SofaInput(**values)
    except ValidationError as err:
        parts = []
        for e in err.errors():
            f = str(e["loc"][0]) if e["loc"] else "input"
            desc = SofaInput.model_fields[f].description if f in SofaInput.model_fields else ""
            what = f"{_LABELS.get(f, f)} [{f}]" + (f" ({desc})" if desc else "")
            msg = "is not a SOFA input" if e["type"] == "extra_forbidden" else e["msg"].lower()
            parts.append(f"{what}: {msg} (got {e.get('input')!r})")
        raise SofaError("Invalid SOFA inputs: " + "; ".join(parts)) from None
    return sofa_score(inputs)
