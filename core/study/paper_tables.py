"""The paper's Tables 1, 3 and 4 as comparison presets (variables, sections, grouping), and the
recomputed figures of a comparison beside the published ones (``data/published.yaml``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.cohort.schema import column_label, level_order
from core.cohort.variables import looks_like_identifier, role
from core.stats.compare import SEP, VariableSpec, level_str
from core.study.published import load_published


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
#: columns of Tables 3 and 4 in the paper's order (data/published.yaml groupings)
ICU_REASON_ORDER = tuple(load_published()["groupings"]["icu_reason"]["levels"])


OUTCOME_ORDER = tuple(load_published()["groupings"]["outcome_1y"]["levels"])


MALIGNANCY = tuple(level_order("malignancy") or ())


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
                levels=tuple(level_order("cart_product") or ()),
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
                levels=tuple(level_order("icu_reason") or ()),
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
# the catalog of describable variables (a custom comparison)
# ---------------------------------------------------------------------------------------
OTHER_SECTION = "Other variables"


def _paper_specs() -> dict[str, VariableSpec]:
    """The first spec of each column in Tables 1, 3 and 4 that describes it as itself."""
    known: dict[str, VariableSpec] = {}
    for key in ("table1", "table3", "table4"):
        for spec in PRESETS[key].variables:
            if spec.name == spec.column:
                known.setdefault(spec.column, spec)
    return known


_KNOWN = _paper_specs()


def catalog_spec(column: str) -> VariableSpec:
    """How ``column`` is described: labelled and sectioned as in the paper where it appears,
    else by its dictionary label under :data:`OTHER_SECTION` (kind inferred from the data)."""
    spec = _KNOWN.get(column)
    if spec is None:
        spec = VariableSpec(column, None, column, column_label(column), OTHER_SECTION)
    return spec


def variable_catalog(df: pd.DataFrame) -> dict[str, VariableSpec]:
    """Every describable column of ``df`` (not the identifier nor an endpoint column, nor a
    text column that is an identifier by its values), in the data's order, each with its
    :func:`catalog_spec`."""
    return {
        c: catalog_spec(c)
        for c in df.columns
        if role(c) not in ("identifier", "endpoint") and not looks_like_identifier(df[c])
    }


def by_section(catalog: dict[str, VariableSpec]) -> list[str]:
    """The catalog's columns grouped by section (sections in order of first appearance)."""
    sections: dict[str, list[str]] = {}
    for c, spec in catalog.items():
        sections.setdefault(spec.section, []).append(c)
    return [c for cols in sections.values() for c in cols]


def variable_label(name: str, preset: str = "custom") -> str:
    """Printed label of the row ``name`` of a preset's table (a catalog column when custom)."""
    if preset in PRESETS:
        for spec in PRESETS[preset].variables:
            if spec.name == name:
                return spec.label
    return catalog_spec(name).label


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
