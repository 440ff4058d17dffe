"""Deterministic reconstruction of the 71-patient cohort from the paper's aggregates.

The paper publishes aggregates only. This module generates 71 synthetic patients whose
tables, survival curves and Cox model reproduce the published figures. It is run once by
``python -m core.study.reconstruct`` (writes ``data/cohort.csv``); the output is never edited by
hand.

Method (see ``data/README.md``)
------------------------------
1. **Cells.** Each patient gets a reason for ICU admission and a 1-year outcome from the
   reason x outcome cells implied by Tables 3 and 4 (CRS 22/11, CRS or sepsis 10/3,
   Sepsis 13/8, Disease progression 0/4).
2. **Categorical variables: integer programming.** One binary variable per patient and
   category; every published count (overall, per reason, per outcome) is an equality
   constraint, clinical logic (products by malignancy, hospital deaths among decedents,
   ICANS never isolated, ...) are linear constraints. Solved with ``scipy.optimize.milp``
   (HiGHS) with seeded random costs so the solution is one feasible table among many.
3. **Continuous variables: constrained local search.** For each variable, values are drawn
   per subgroup from a piecewise-linear quantile function through the published quartiles,
   then a seeded search (swaps and small moves) drives every published median and IQR
   (R type-7 quantiles) inside its printed rounding and every published p-value
   (Wilcoxon / Kruskal-Wallis) to the same side of 0.05.
4. **Survival times: constrained local search** on death, censoring and progression times
   until the Kaplan-Meier medians (OS, PFS), the median follow-up and the Cox hazard ratios
   (1-year mortality: disease progression, ECOG PS, SOFA) fall inside their targets.

Everything is seeded: running the generator twice gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.paths import DATA_DIR
from core.study.published import load_published
from core.study.reconstruct.categorical import assign_complications, solve_categorical
from core.study.reconstruct.continuous import ContinuousSpec, fit_continuous_retry
from core.study.reconstruct.survival import fit_survival

SEED = 20170701


COHORT_PATH = DATA_DIR / "cohort.csv"


REASONS = tuple(load_published()["groupings"]["icu_reason"]["levels"])  # Table 3 columns


OUTCOMES = tuple(load_published()["groupings"]["outcome_1y"]["levels"])  # Table 4 columns


# reason x 1-year outcome cells implied by Table 3 (group sizes) and Table 4 (reason by outcome)
CELLS = {
    ("CRS", "1-year survivor"): 22,
    ("CRS", "1-year decedent"): 11,
    ("CRS or sepsis", "1-year survivor"): 10,
    ("CRS or sepsis", "1-year decedent"): 3,
    ("Sepsis", "1-year survivor"): 13,
    ("Sepsis", "1-year decedent"): 8,
    ("Disease progression", "1-year decedent"): 4,
}


# --------------------------------------------------------------------------------------
# Step 1: cells
# --------------------------------------------------------------------------------------
def build_cells() -> pd.DataFrame:
    rows = []
    for (reason, outcome), n in CELLS.items():
        rows += [{"icu_reason": reason, "outcome_1y": outcome}] * n
    cells = pd.DataFrame(rows)
    cells["dead"] = cells["outcome_1y"] == "1-year decedent"
    return cells


# --------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------
def _ps_initial(sub: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """ECOG PS with Table 1's exact counts; decedents drawn from the higher levels."""
    values = np.array([0] * 11 + [1] * 32 + [2] * 22 + [3] * 6, dtype=float)
    score = sub["dead"].to_numpy() * 1.0 + (sub["icu_reason"] == "Disease progression") * 2.0
    order = np.argsort(score + rng.uniform(0, 0.9, len(sub)), kind="stable")
    out = np.empty(len(sub))
    out[order] = values
    return out


def _ps_penalty(x: np.ndarray, sub: pd.DataFrame) -> float:
    # Conclusions: survival is constant in patients with very good PS -> no PS 0 decedent
    return float(np.sum((x == 0) & sub["dead"].to_numpy()))


def _los_penalty(x: np.ndarray, sub: pd.DataFrame) -> float:
    # an ICU death happens on the last ICU day; other deaths happen after ICU discharge
    os_days = sub["os_days"].to_numpy()
    icu_death = sub["icu_death"].to_numpy()
    died = sub["os_event"].to_numpy() == 1
    bad = np.sum(icu_death & (x != os_days)) + np.sum(died & ~icu_death & (x >= os_days))
    return float(bad)


CONTINUOUS = [
    ContinuousSpec("age", "age", 1, 18, 80),
    ContinuousSpec(
        "ecog_ps",
        "ecog_ps",
        1,
        0,
        4,
        fixed_counts=True,
        extra={"initial": _ps_initial, "penalty": _ps_penalty},
    ),
    ContinuousSpec("bmi_kg_m2", "bmi", 0.1, 16, 40),
    ContinuousSpec("months_diagnosis_to_icu", "months_diagnosis_to_icu", 0.1, 3, 120),
    ContinuousSpec("prior_lines", "prior_lines", 1, 1, 8),
    ContinuousSpec("days_infusion_to_icu", "days_infusion_to_icu", 1, -1, 30),
    ContinuousSpec("map_mmhg", "map", 1, 40, 120),
    ContinuousSpec("temperature_c", "temperature", 0.1, 35.5, 41.5),
    ContinuousSpec("leukocytes_g_l", "leukocytes", 0.01, 0.01, 30),
    ContinuousSpec("hemoglobin_g_dl", "hemoglobin", 0.1, 6, 14),
    ContinuousSpec("platelets_g_l", "platelets", 1, 5, 400),
    ContinuousSpec("fibrinogen_g_l", "fibrinogen", 0.1, 0.5, 10),
    ContinuousSpec("creatinine_umol_l", "creatinine", 1, 25, 400),
    ContinuousSpec("bilirubin_umol_l", "bilirubin", 0.1, 2, 60),
    ContinuousSpec("ferritin_ug_l", "ferritin", 1, 50, 30000, extra={"tail": 6}),
    ContinuousSpec("ldh_ui_l", "ldh", 1, 100, 3000),
    ContinuousSpec("lactate_mmol_l", "lactate", 0.1, 0.4, 8),
    ContinuousSpec("sofa", "sofa", 1, 0, 18),
    ContinuousSpec("fluid_day1_ml", "fluid_day1", 250, 0, 4000),
    ContinuousSpec("days_crs_to_icu", "days_crs_to_icu", 1, 0, 10, subset="_crs"),
    ContinuousSpec("days_icu_to_worst_icans", "days_icu_to_worst_icans", 1, 0, 7, "icans"),
    ContinuousSpec("tocilizumab_dose_mg", "tocilizumab_dose_mg", 40, 320, 2400, "tocilizumab"),
    ContinuousSpec("tocilizumab_injections", "tocilizumab_injections", 1, 1, 4, "tocilizumab"),
    ContinuousSpec("hours_icu_to_tocilizumab", "hours_icu_to_tocilizumab", 1, 0, 96, "tocilizumab"),
    ContinuousSpec("hours_icu_to_steroids", "hours_icu_to_steroids", 1, 0, 200, "steroids"),
]


LOS_SPEC = ContinuousSpec("icu_los_days", "icu_los_days", 1, 1, 30, extra={"penalty": _los_penalty})


INTEGER_COLUMNS = [
    "age",
    "ecog_ps",
    "prior_lines",
    "days_infusion_to_icu",
    "map_mmhg",
    "platelets_g_l",
    "creatinine_umol_l",
    "ferritin_ug_l",
    "ldh_ui_l",
    "sofa",
    "days_crs_to_icu",
    "days_icu_to_worst_icans",
    "tocilizumab_dose_mg",
    "tocilizumab_injections",
    "hours_icu_to_tocilizumab",
    "hours_icu_to_steroids",
    "icu_los_days",
    "os_days",
    "pfs_days",
]


COLUMN_ORDER = [
    "patient_id", "age", "sex", "hypertension", "diabetes", "chronic_kidney_disease",
    "bmi_kg_m2", "ecog_ps", "malignancy", "months_diagnosis_to_icu", "prior_lines",
    "prior_asct", "prior_allo_bmt", "prior_blinatumomab", "cart_product", "cart_allogeneic",
    "days_infusion_to_icu", "icu_reason", "map_mmhg", "temperature_c", "neutropenia",
    "leukocytes_g_l", "hemoglobin_g_dl", "platelets_g_l", "fibrinogen_g_l",
    "creatinine_umol_l", "bilirubin_umol_l", "ferritin_ug_l", "ldh_ui_l", "lactate_mmol_l",
    "sofa", "crs_grade", "days_crs_to_icu", "icans", "icans_grade", "days_icu_to_worst_icans",
    "bacterial_infection", "infection_site", "bacterium", "fluid_day1_ml",
    "vasopressors_day1", "mech_vent_day1", "rrt_day1", "vasopressors_icu", "mech_vent_icu",
    "rrt_icu", "antibiotics", "tocilizumab", "tocilizumab_dose_mg", "tocilizumab_injections",
    "hours_icu_to_tocilizumab", "steroids", "hours_icu_to_steroids", "siltuximab", "anakinra",
    "icu_los_days", "icu_death", "hospital_death", "os_days", "os_event", "pfs_days",
    "pfs_event",
]  # fmt: skip


def generate(seed: int = SEED, log=None) -> pd.DataFrame:
    """Build the reconstructed cohort (deterministic for a given seed)."""
    pub = load_published()
    variables = {v["name"]: v for v in pub["variables"]}
    rng = np.random.default_rng(seed)
    say = log or (lambda msg: None)
    df = build_cells()
    df = solve_categorical(df, pub, rng)
    say("categorical cells solved (MILP)")
    df = assign_complications(df, pub, rng)
    df["_crs"] = df["icu_reason"] == "CRS"
    for spec in CONTINUOUS:
        df[spec.column] = fit_continuous_retry(df, spec, variables[spec.name], rng)
        say(f"continuous {spec.column} fitted")
    for attempt in range(3):
        try:
            times = fit_survival(df, pub, rng)
            break
        except RuntimeError:
            if attempt == 2:
                raise
    for key, value in times.items():
        df[key] = value
    say("survival times fitted")
    df[LOS_SPEC.column] = fit_continuous_retry(df, LOS_SPEC, variables[LOS_SPEC.name], rng)
    # one row per patient in random order, then identifiers R01..R71
    df = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
    df["patient_id"] = [f"R{i + 1:02d}" for i in range(len(df))]
    for col in INTEGER_COLUMNS:
        df[col] = pd.array(np.round(df[col]), dtype="Int64")
    for col in ("bmi_kg_m2", "months_diagnosis_to_icu", "temperature_c", "hemoglobin_g_dl",
                "fibrinogen_g_l", "bilirubin_umol_l", "lactate_mmol_l"):  # fmt: skip
        df[col] = df[col].round(1)
    df["leukocytes_g_l"] = df["leukocytes_g_l"].round(2)
    df["fluid_day1_ml"] = df["fluid_day1_ml"].round(0)
    return df[COLUMN_ORDER]


def write_cohort(path: Path = COHORT_PATH, seed: int = SEED) -> Path:
    df = generate(seed, log=print)
    df.to_csv(path, index=False, lineterminator="\n")
    return path
