"""Mapping an uploaded table onto the cohort's columns (stage 2 of 3): the column spec read from
``data/dictionary.csv``, suggested column and unit mappings, and event codings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.cohort.read import IngestError, _per_unique, _present
from core.paths import DATA_DIR

DAYS_PER_MONTH = 30.4375


DAYS_PER_UNIT = {
    "days": 1.0,
    "weeks": 7.0,
    "months": DAYS_PER_MONTH,
    "years": 12 * DAYS_PER_MONTH,
}


Mode = Literal["paper", "generic"]


Unit = Literal["days", "weeks", "months", "years"]


_DATA_DIR = DATA_DIR


# --------------------------------------------------------------------------------------------
# Cohort schema (contract columns). core/cohort/schema.py (pydantic) is used on top when it exists.
# --------------------------------------------------------------------------------------------

Kind = Literal["str", "int", "float", "bool", "cat", "event"]


@dataclass(frozen=True)
class _Col:
    name: str
    kind: Kind
    lo: float | None = None
    hi: float | None = None
    allowed: Mapping[str, str] = field(default_factory=dict)  # normalised token -> canonical
    synonyms: tuple[str, ...] = ()


def _norm(text: object) -> str:
    """Case-, accent-, space- and punctuation-insensitive key: 'Âge (years)' -> 'age_years'."""
    s = unicodedata.normalize("NFKD", str(text))
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^0-9a-z]+", "_", s).strip("_")


# name | kind | min | max | synonyms (normalised like _norm; the column name itself is implied)
_SPEC_TABLE = """
patient_id | str | | | id patient subject subject_id record_id pid ipp patient_number patient_no
age | int | 0 | 120 | age_years age_yrs age_at_icu age_y age_at_admission age_ans
sex | cat | | | gender sexe genre
hypertension | bool | | | hta htn arterial_hypertension
diabetes | bool | | | diabete dm diabetes_mellitus
chronic_kidney_disease | bool | | | ckd irc chronic_renal_failure chronic_renal_insufficiency
bmi_kg_m2 | float | 5 | 100 | bmi imc body_mass_index
ecog_ps | int | 0 | 4 | ecog ps performance_status ecog_performance_status who_ps oms ps_ecog
malignancy | cat | | | disease diagnosis hemopathy hemopathie underlying_malignancy
months_diagnosis_to_icu | float | 0 | | months_from_diagnosis time_from_diagnosis_months
prior_lines | int | 0 | 50 | lines prior_lines_of_therapy number_of_prior_lines previous_lines
prior_asct | bool | | | asct prior_autologous_transplant autograft
prior_allo_bmt | bool | | | allo_bmt prior_allo allo_hsct allogreffe
prior_blinatumomab | bool | | | blinatumomab
cart_product | cat | | | product car_t_product cart car_t cart_type
cart_allogeneic | bool | | | allogeneic_cart allogeneic_car_t
days_infusion_to_icu | int | -3650 | 3650 | days_from_infusion infusion_to_icu days_infusion_icu
icu_reason | cat | | | reason icu_admission_reason reason_for_admission admission_reason motif
    reason_for_icu_admission icu_admission_reason motif_admission motif_rea
map_mmhg | float | 0 | 300 | map mean_arterial_pressure pam
temperature_c | float | 20 | 46 | temperature temp
neutropenia | bool | | |
leukocytes_g_l | float | 0 | | leukocytes wbc leucocytes
hemoglobin_g_dl | float | 0 | 30 | hemoglobin hb hgb haemoglobin
platelets_g_l | float | 0 | | platelets plt plaquettes
fibrinogen_g_l | float | 0 | | fibrinogen fibrinogene
creatinine_umol_l | float | 0 | | creatinine creat
bilirubin_umol_l | float | 0 | | bilirubin bili bilirubine
ferritin_ug_l | float | 0 | | ferritin ferritine
ldh_ui_l | float | 0 | | ldh
lactate_mmol_l | float | 0 | | lactate lactates
sofa | int | 0 | 24 | sofa_score sofa_day1 sofa_admission
crs_grade | int | 1 | 3 | crs grade_crs
icans | bool | | | neurotoxicity
icans_grade | int | 1 | 4 | grade_icans
bacterial_infection | bool | | | infection
infection_site | str | | | site_of_infection
fluid_day1_ml | float | 0 | | fluid_day1 fluids_day1
vasopressors_day1 | bool | | |
mech_vent_day1 | bool | | |
rrt_day1 | bool | | |
vasopressors_icu | bool | | |
mech_vent_icu | bool | | |
rrt_icu | bool | | |
antibiotics | bool | | |
tocilizumab | bool | | |
steroids | bool | | | corticosteroids corticoids corticoides
siltuximab | bool | | |
anakinra | bool | | |
icu_los_days | int | 0 | | icu_los los_icu icu_length_of_stay
icu_death | bool | | | icu_mortality death_in_icu deces_rea
hospital_death | bool | | | hospital_mortality in_hospital_death
os_days | float | 0 | | time survival_days os os_time survival survival_time futime follow_up
    followup follow_up_days time_to_death overall_survival os_months survival_months os_month
    duration delai days duree duree_de_survie survie suivi delai_survie
os_event | event | | | status death dead died event os_status vital_status deces deceased
    fustat censor_death statut statut_vital etat deces_oui_non
pfs_days | float | 0 | | pfs pfs_time progression_free_survival pfs_months
pfs_event | event | | | pfs_status progression_or_death
"""


# categorical columns: canonical value -> accepted spellings (compared with _norm)
_CATEGORIES: dict[str, dict[str, str]] = {
    "sex": {"M": "male man homme h masculin", "F": "female woman femme feminin"},
    "malignancy": {
        "DLBCL": "diffuse_large_b_cell_lymphoma lbdgc",
        "ALL": "b_all acute_lymphoblastic_leukemia acute_lymphoblastic_leukaemia lal",
        "MM": "multiple_myeloma myeloma myelome",
    },
    "cart_product": {
        "axi-cel": "axicabtagene_ciloleucel axicabtagene yescarta axicel",
        "tisa-cel": "tisagenlecleucel kymriah tisacel",
        "brexu-cel": "brexucabtagene_autoleucel brexucabtagene tecartus brexucel",
        "bb2121": "ide_cel idecabtagene_vicleucel idecabtagene abecma idecel",
        "UCART19": "ucart_19",
    },
    "icu_reason": {
        "CRS": "cytokine_release_syndrome",
        "CRS or sepsis": "crs_sepsis crs_or_sepsis sepsis_or_crs crs_and_or_sepsis",
        "Sepsis": "septic_shock",
        "Disease progression": "progression progressive_disease",
    },
}


def _parse_spec(text: str) -> tuple[_Col, ...]:
    cols = []
    for line in re.sub(r"\n\s{4}", " ", text).strip().splitlines():
        name, kind, lo, hi, syns = (p.strip() for p in line.split("|"))
        allowed = {
            _norm(v): canon
            for canon, spellings in _CATEGORIES.get(name, {}).items()
            for v in (canon, *spellings.split())
        }
        cols.append(
            _Col(
                name,
                kind,  # type: ignore[arg-type]
                float(lo) if lo else None,
                float(hi) if hi else None,
                allowed,
                tuple(syns.split()),
            )
        )
    return tuple(cols)


_KINDS = {
    "int": "int",
    "float": "float",
    "bool": "bool",
    "category": "cat",
    "str": "str",
    "event": "event",
}


def _dictionary_spec() -> tuple[_Col, ...] | None:
    """The cohort columns from data/dictionary.csv (core.cohort.schema), with our extra synonyms.

    The dictionary is the reference (columns, types, ranges, levels, synonyms first); the
    built-in table above only adds spellings, and is the fallback when the dictionary is absent.
    """
    try:
        from core.cohort.schema import load_dictionary

        specs = load_dictionary()
    except (ImportError, OSError, ValueError, KeyError, AttributeError):
        return None
    mine = {c.name: c for c in _parse_spec(_SPEC_TABLE)}
    cols = []
    for name, sp in specs.items():
        base = mine.get(name)
        allowed: dict[str, str] = {}
        if sp.type == "category":
            allowed = {_norm(v): v for v in sp.allowed}
            extra = base.allowed.items() if base else ()
            allowed.update({k: v for k, v in extra if v in sp.allowed and k not in allowed})
        syns = (*sp.synonyms, sp.label, *(base.synonyms if base else ()))
        event = sp.type == "event"
        cols.append(
            _Col(
                name,
                _KINDS.get(sp.type, "str"),  # type: ignore[arg-type]
                None if event else sp.low,
                None if event else sp.high,
                allowed,
                tuple(dict.fromkeys(s for s in syns if s)),
            )
        )
    return tuple(cols) if {"os_days", "os_event"} <= {c.name for c in cols} else None


_SPEC = _dictionary_spec() or _parse_spec(_SPEC_TABLE)


_SPEC_BY_NAME = {c.name: c for c in _SPEC}


COHORT_COLUMNS: tuple[str, ...] = tuple(c.name for c in _SPEC)


# Extra mapping roles (not cohort columns): durations computed from two dates.
_DATE_ROLE_TABLE = """
os_start_date | icu_admission_date admission_date date_of_admission date_icu icu_date date_entree
    date_admission start_date date_rea
os_end_date | date_of_death death_date last_seen last_seen_date date_last_seen
    date_of_last_follow_up last_follow_up_date date_last_news date_of_last_contact last_contact
    date_ddn date_dernieres_nouvelles end_date date_last_follow_up
pfs_end_date | progression_date date_of_progression pfs_date
"""


DATE_ROLES: dict[str, tuple[str, ...]] = {
    name.strip(): tuple(syns.split())
    for name, syns in (
        line.split("|") for line in re.sub(r"\n\s{4}", " ", _DATE_ROLE_TABLE).strip().splitlines()
    )
}


PAPER_REQUIRED = ("os_days", "os_event")


MODEL_COLUMNS = (
    "icu_reason",
    "ecog_ps",
    "sofa",
)  # required when present (published model)


GENERIC_ROLES = ("os_days", "os_event", "os_start_date", "os_end_date", "groups")


def _synonym_table() -> dict[str, tuple[str, ...]]:
    table = {c.name: (_norm(c.name), *(_norm(s) for s in c.synonyms)) for c in _SPEC}
    table.update({k: (_norm(k), *(_norm(s) for s in v)) for k, v in DATE_ROLES.items()})
    return table


# --------------------------------------------------------------------------------------------
# Mapping suggestions
# --------------------------------------------------------------------------------------------

_UNIT_WORDS = {
    "months": ("month", "months", "mois", "mo", "mths", "mth"),
    "weeks": ("week", "weeks", "wk", "wks", "semaine", "semaines"),
    "years": ("year", "years", "yr", "yrs", "annee", "annees", "ans"),
    "days": ("day", "days", "d", "jour", "jours", "j"),
}


def _keys(column: str) -> tuple[str, str]:
    """(full key, key without parenthesised parts and trailing unit words)."""
    full = _norm(column)
    base = _norm(re.sub(r"[\(\[\{].*?[\)\]\}]", " ", str(column)))
    units = {w for ws in _UNIT_WORDS.values() for w in ws}
    parts = [p for p in base.split("_") if p]
    while len(parts) > 1 and parts[-1] in units:
        parts.pop()
    return full, "_".join(parts)


def suggest_mapping(columns: Iterable[str], mode: Mode = "paper") -> dict[str, str]:
    """Guess which file column holds each cohort column (case/accent/space-insensitive).

    Parameters
    ----------
    columns : iterable of str
        File column names (as in :attr:`RawTable.df`).
    mode : {"paper", "generic"}
        In generic mode only the survival roles (duration, event, dates) are suggested.

    Returns
    -------
    dict
        ``{cohort_column_or_role: file_column}``; each file column used at most once.
    """
    cols = list(dict.fromkeys(str(c) for c in columns))
    keys = {c: _keys(c) for c in cols}
    table = _synonym_table()
    targets = list(table) if mode == "paper" else ["os_days", "os_event", *DATE_ROLES]
    # candidates ranked: exact target name, then synonym order; full key beats stripped key
    scored: list[tuple[int, int, int, str, str]] = []
    for t_i, target in enumerate(targets):
        syns = table[target]
        for c_i, c in enumerate(cols):
            full, base = keys[c]
            for rank, s in enumerate(syns):
                if full == s:
                    scored.append((rank * 2, t_i, c_i, target, c))
                    break
                if base == s:
                    scored.append((rank * 2 + 1, t_i, c_i, target, c))
                    break
    out: dict[str, str] = {}
    used: set[str] = set()
    for _, _, _, target, c in sorted(scored):
        if target in out or c in used:
            continue
        out[target] = c
        used.add(c)
    if "os_days" in out and "os_start_date" in out and "os_end_date" in out:
        pass  # both offered; build_cohort prefers the explicit duration column
    return {t: out[t] for t in targets if t in out}


def _unit_of(column: str) -> Unit | None:
    parts = set(_norm(column).split("_"))
    for unit, words in _UNIT_WORDS.items():
        if parts & set(words):
            return unit  # type: ignore[return-value]
    return None


def suggest_units(mapping: Mapping[str, Any]) -> dict[str, Unit]:
    """Unit of each mapped duration column, read from its header ('OS (months)' -> months)."""
    out: dict[str, Unit] = {}
    for target in ("os_days", "pfs_days"):
        src = mapping.get(target)
        if isinstance(src, str):
            out[target] = _unit_of(src) or "days"
    return out


# --------------------------------------------------------------------------------------------
# Event coding
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventCoding:
    """How the event column is coded. ``apply`` maps ``events`` -> 1 and ``censored`` -> 0."""

    name: str
    events: frozenset[str]
    censored: frozenset[str]
    description: str

    def __str__(self) -> str:
        return self.description


_DEAD = frozenset(
    {
        "dead",
        "died",
        "death",
        "deceased",
        "decede",
        "decedee",
        "deces",
        "dcd",
        "dc",
        "mort",
        "morte",
        "event",
        "yes_died",
    }
)


_ALIVE = frozenset(
    {
        "alive",
        "living",
        "censored",
        "vivant",
        "vivante",
        "vie",
        "en_vie",
        "censure",
        "censuree",
        "no_event",
    }
)


EVENT_CODINGS: dict[str, EventCoding] = {
    "0/1": EventCoding("0/1", frozenset({"1"}), frozenset({"0"}), "0 = censored (alive), 1 = died"),
    "1/2": EventCoding(
        "1/2",
        frozenset({"2"}),
        frozenset({"1"}),
        "R survival coding: 1 = censored (alive), 2 = died",
    ),
    "true/false": EventCoding(
        "true/false",
        frozenset({"true", "t", "vrai"}),
        frozenset({"false", "f", "faux"}),
        "TRUE = died, FALSE = censored (alive)",
    ),
    "yes/no": EventCoding(
        "yes/no",
        frozenset({"yes", "y", "oui", "o"}),
        frozenset({"no", "n", "non"}),
        "yes/oui = died, no/non = censored (alive)",
    ),
    "dead/alive": EventCoding(
        "dead/alive", _DEAD, _ALIVE, "dead/décédé = died, alive/vivant = censored"
    ),
}


_TEXT_CODINGS = ("true/false", "yes/no", "dead/alive")


def _token(v: Any) -> str | None:
    """Normalised event/boolean token, or None when missing."""
    if not _present(v):
        return None
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        return str(int(v)) if float(v).is_integer() else str(float(v))
    text = str(v).strip()
    if re.fullmatch(r"[+-]?\d+([.,]0*)?", text):  # '1.0' / '1,0' -> '1'; '-1' stays '-1'
        return str(int(re.split(r"[.,]", text)[0]))
    return _norm(text)


def _tokens(series: pd.Series) -> pd.Series:
    return _per_unique(series, _token)


def detect_event_coding(series: pd.Series) -> EventCoding:
    """Detect the coding of a survival status column, before it is applied.

    Recognises 0/1, R's 1 = censored / 2 = died (``survival::Surv``), true/false, yes/no
    (oui/non), dead/alive (décédé/vivant); text codings may be combined (e.g. yes/no + 0/1).
    Values that fit no coding are ignored here and rejected row by row later.

    Raises
    ------
    IngestError
        No recognisable value, or an ambiguous column (only the value 1, or 0/1/2 together).
    """
    toks = set(_tokens(pd.Series(series, dtype=object)).dropna())
    if not toks:
        raise IngestError("the event column has no values")
    numeric = {t for t in toks if t.isdigit()}
    text = toks - numeric
    families = [
        n for n in _TEXT_CODINGS if text & (EVENT_CODINGS[n].events | EVENT_CODINGS[n].censored)
    ]
    num_name: str | None = None
    if numeric & {"0", "1", "2"}:
        if {"0", "2"} <= numeric:
            raise IngestError(
                "event column is ambiguous: it holds 0, 1 and 2. Use 0/1 (0 = censored, 1 = died) "
                "or R's 1/2 (1 = censored, 2 = died)."
            )
        if "2" in numeric:
            num_name = "1/2"
        elif "0" in numeric:
            num_name = "0/1"
        else:
            raise IngestError(
                "event column is ambiguous: every value is 1, which means 'died' in 0/1 coding "
                "but 'censored' in R's 1/2 coding. State the coding explicitly."
            )
    names = ([num_name] if num_name else []) + families
    if not names:
        shown = ", ".join(sorted(toks)[:8])
        raise IngestError(
            f"event column values not recognised ({shown}); use 0/1, 1/2 (R), true/false, "
            "yes/no, oui/non or dead/alive (décédé/vivant)."
        )
    if len(names) == 1:
        return EVENT_CODINGS[names[0]]
    parts = [EVENT_CODINGS[n] for n in names]
    return EventCoding(
        " + ".join(names),
        frozenset().union(*(p.events for p in parts)),
        frozenset().union(*(p.censored for p in parts)),
        "; ".join(p.description for p in parts),
    )


def as_event_coding(coding: EventCoding | str) -> EventCoding:
    if isinstance(coding, EventCoding):
        return coding
    if coding in EVENT_CODINGS:
        return EVENT_CODINGS[coding]
    parts = [p.strip() for p in str(coding).split("+")]
    if parts and all(p in EVENT_CODINGS for p in parts):
        ps = [EVENT_CODINGS[p] for p in parts]
        return EventCoding(
            " + ".join(parts),
            frozenset().union(*(p.events for p in ps)),
            frozenset().union(*(p.censored for p in ps)),
            "; ".join(p.description for p in ps),
        )
    raise IngestError(f"unknown event coding {coding!r}; choose one of {', '.join(EVENT_CODINGS)}")


def apply_event_coding(series: pd.Series, coding: EventCoding | str) -> tuple[pd.Series, pd.Series]:
    """Map a status column to 1 = event / 0 = censored.

    Returns
    -------
    (values, invalid) : (Series of Int64, Series of bool)
        ``invalid`` marks present values that the coding does not know.
    """
    c = as_event_coding(coding)
    toks = _tokens(pd.Series(series, dtype=object))
    lut = {t: 1 for t in c.events} | {t: 0 for t in c.censored}
    vals = toks.map(lambda t: lut.get(t) if t is not None else None)
    invalid = toks.notna() & vals.isna()
    return vals.astype("Int64"), invalid
