"""The report's content: one :class:`Section` per chosen view, built by the core functions the
pages use, and the methods / results sentences written from what was run."""

from __future__ import annotations

import datetime as dt
import platform
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

import pandas as pd

from core.study.calculator import PatientProfile

APP_VERSION = "0.1"
RECONSTRUCTED = "reconstructed from published aggregates — not patient data"


@dataclass(frozen=True)
class CompareSpec:
    """A group comparison: one of the paper's presets (``table1``, ``table3``, ``table4``)."""

    preset: str = "table1"
    adjust: str | None = None


@dataclass(frozen=True)
class SurvivalSpec:
    """Kaplan-Meier by ``group`` (None: overall) for ``endpoint`` ("os" or "pfs")."""

    group: str | None = "ecog_ps"
    endpoint: Literal["os", "pfs"] = "os"
    unit: Literal["days", "months"] = "months"


@dataclass(frozen=True)
class ReportRequest:
    """What the report holds: the cohort's statement and the views (None: left out)."""

    cohort_name: str
    reconstructed: bool
    filter_text: str = "all patients"
    compare: CompareSpec | None = CompareSpec()
    survival: SurvivalSpec | None = SurvivalSpec()
    cox: bool = True
    calculator: tuple[PatientProfile, ...] = ()
    validation_horizon: float | None = None
    date: str = field(default_factory=lambda: dt.date.today().isoformat())


@dataclass
class Section:
    """One view in the report."""

    title: str
    tables: list[tuple[str, pd.DataFrame, list[str]]] = field(default_factory=list)
    figures: list[tuple[str, str, dict]] = field(default_factory=list)  # caption, alt, spec
    methods: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    error: str | None = None


ENDPOINTS = {
    "os": ("os_days", "os_event", "overall survival"),
    "pfs": ("pfs_days", "pfs_event", "progression-free survival"),
}


# --------------------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------------------
def _compare(df: pd.DataFrame, spec: CompareSpec) -> Section:
    from core.cohort.schema import column_label
    from core.stats.compare import compare_groups
    from core.study.paper_tables import PRESETS
    from core.tables.compare import format_table, tests_used

    preset = PRESETS[spec.preset]
    sec = Section("Group comparison")
    present = [v for v in preset.variables if v.column in df.columns and df[v.column].notna().any()]
    by = preset.by if preset.by in df.columns else None
    result = compare_groups(
        df, by, present, adjust=spec.adjust, group_order=preset.group_order,
        exclude_small_groups=True,
    )  # fmt: skip
    table = format_table(result).drop(columns=["_kind"], errors="ignore")
    tests = tests_used(result)
    footnotes = [f"{chr(97 + i)} {t}" for i, t in enumerate(tests)]
    if "test" in table.columns:  # the test of each row as a footnote letter (gtsummary style)
        letter = {t: chr(97 + i) for i, t in enumerate(tests)}
        table["test"] = table["test"].map(lambda t: letter.get(t, "") if t else "")
    if spec.adjust:
        footnotes.append(f"p-values adjusted for multiple testing: {spec.adjust} (R p.adjust)")
    sec.tables.append((preset.title, table, footnotes))
    sec.methods.append(compare_methods(tests, spec.adjust))
    n = int(result.filter(like="Overall__N").max(axis=None)) if len(result) else len(df)
    sec.results.append(
        f"{preset.title.split(' — ')[0]} describes {n} patients"
        + (f" by {column_label(by).lower()}" if by else "")
        + "."
    )
    return sec


def compare_methods(tests: list[str], adjust: str | None) -> str:
    """Methods sentence naming exactly the tests of a comparison."""
    from core.stats.compare import (
        TEST_ANOVA,
        TEST_KRUSKAL,
        TEST_WELCH,
        TEST_WILCOX_APPROX,
        TEST_WILCOX_EXACT,
    )

    words = {
        TEST_WILCOX_EXACT: "the Wilcoxon rank-sum test (exact)",
        TEST_WILCOX_APPROX: "the Wilcoxon rank-sum test (normal approximation with continuity "
        "correction)",
        TEST_KRUSKAL: "the Kruskal–Wallis test",
        TEST_WELCH: "Welch's t-test",
        TEST_ANOVA: "one-way ANOVA",
    }
    base = [t.split(", excluding")[0] for t in tests]
    continuous = [words[t] for t in dict.fromkeys(base) if t in words]
    fisher = [t for t in dict.fromkeys(base) if t.startswith("Fisher exact")]
    parts = ["Continuous variables are described by median [interquartile range] and "
             "categorical variables by n (%)"]  # fmt: skip
    if continuous:
        parts.append("groups were compared with " + " and ".join(continuous))
    for f in fisher:
        kind = f.replace("Fisher exact", "").strip(" ()") or "exact network algorithm, FEXACT"
        parts.append(f"categorical variables with Fisher's exact test ({kind})")
    text = "; ".join(parts) + "."
    if any(", excluding" in t for t in tests):
        text += " Groups too small for a test were left out of it, as the table states."
    if adjust:
        text += f" p-values were adjusted for multiple testing ({adjust})."
    return text


def _survival(df: pd.DataFrame, spec: SurvivalSpec) -> Section:
    from core.charts.survival import km_chart
    from core.cohort.schema import column_label
    from core.stats.logrank import logrank
    from core.stats.survival import kaplan_meier
    from core.tables.format import p_value
    from core.tables.survival import format_medians

    duration, event, name = ENDPOINTS[spec.endpoint]
    by = f" by {column_label(spec.group)}" if spec.group else ""
    sec = Section(f"Kaplan–Meier {name}{by}")
    for col in (duration, event, *([spec.group] if spec.group else [])):
        if col not in df.columns or df[col].isna().all():
            sec.error = f"the cohort has no values for {col}"
            return sec
    km = kaplan_meier(df, duration, event, spec.group)
    medians = format_medians(km, spec.unit)
    sec.tables.append((f"Median {name} ({spec.unit})", medians, ["NR: not reached"]))
    chart = km_chart(km, spec.unit, width=520, height=300, group_title=spec.group)
    sec.figures.append(
        (f"Kaplan–Meier {name}{by} (95% CI)",
         f"Kaplan–Meier curves of {name}{by}; the medians are in the table.",
         chart.to_dict()),
    )  # fmt: skip
    sec.methods.append(
        f"{name.capitalize()} was estimated with the Kaplan–Meier method (log-transformed 95% "
        "confidence intervals, R survfit)"
        + ("; groups were compared with the log-rank test (R survdiff)." if spec.group else ".")
    )
    first = medians.iloc[0]
    if spec.group:
        lr = logrank(df, duration, event, spec.group)
        sec.results.append(
            f"Median {name}{by}: "
            + "; ".join(
                f"{r['Group']}, {_median_words(r[medians.columns[3]], spec.unit)} "
                f"(95% CI {r['95% CI']})"
                for _, r in medians.iterrows()
            )
            + f"; log-rank χ² = {lr.statistic:.2f}, {lr.dof} df, p {p_value(lr.p_value)}."
        )
    else:
        sec.results.append(
            f"Median {name} was {_median_words(first[medians.columns[3]], spec.unit)} "
            f"(95% CI {first['95% CI']})."
        )
    return sec


def _median_words(text: str, unit: str) -> str:
    return "not reached" if text == "NR" else f"{text} {unit}"


def _cox(df: pd.DataFrame) -> Section:
    from core.stats.cox.fit import fit_cox
    from core.study.model import paper_model
    from core.tables.cox import format_summary

    model = paper_model()
    sec = Section("Cox model: the paper's covariates refitted on this cohort")
    res = fit_cox(df, model.duration, model.event, list(model.covariates),
                  horizon_days=model.horizon_days)  # fmt: skip
    pub = pd.DataFrame([{"covariate": t.name, "hr": t.hr, "lower": t.lower, "upper": t.upper}
                        for t in model.terms])  # fmt: skip
    table = format_summary(res.summary, pub)
    lo, hi = res.concordance_ci
    sec.tables.append(("Hazard ratios for death within one year", table,
                       [f"n = {res.n}, {res.events} events; C-index {res.concordance:.3f} "
                        f"(95% CI {lo:.3f}–{hi:.3f})"]))  # fmt: skip
    sec.methods.append(
        f"A Cox proportional hazards model (Efron ties, R coxph) of death within "
        f"{model.horizon_days:g} days on reason for ICU admission (disease progression vs "
        "other), ECOG performance status and SOFA, the paper's covariates; discrimination by "
        "Harrell's C with its infinitesimal-jackknife standard error (R concordance)."
    )
    parts = [f"{r.iloc[0]} HR {r.iloc[1]} ({r.iloc[2]})" for _, r in table.iterrows()]
    sec.results.append("In the Cox model, " + "; ".join(parts) + ".")
    return sec


def _calculator(df: pd.DataFrame, profiles: tuple[PatientProfile, ...]) -> Section:
    from core.study.calculator import build_model, predict_profiles
    from core.tables.calculator import format_survival_table

    sec = Section("Predicted survival of the chosen profiles (published model)")
    model = build_model(df, "published")
    pred = predict_profiles(model, list(profiles))
    table = format_survival_table(pred).reset_index(names="Profile")
    sec.tables.append(("Predicted survival [95% band]", table, [model.method]))
    sec.methods.append(
        "Predicted survival of patient profiles used the published hazard ratios with a "
        "baseline hazard estimated on this cohort (R survfit on coxph with fixed coefficients)."
    )
    return sec


def _validation(df: pd.DataFrame, horizon: float) -> Section:
    from core.study.validation import validate

    sec = Section(f"Validation of the published model at day {horizon:g}")
    v = validate(df, horizon=horizon)
    rows = [
        ("Patients / deaths by the horizon", f"{v.n} / {v.events}"),
        ("Harrell's C", v.c_harrell.text(3)),
        ("Uno's C", v.c_uno.text(3)),
        ("Time-dependent AUC", v.auc.text(3)),
        ("Observed / expected", v.oe.text(2)),
        ("Calibration slope", v.slope.text(2)),
        ("ICI", f"{v.ici:.3f}"),
    ]
    sec.tables.append(("Performance (95% CI)", pd.DataFrame(rows, columns=["Measure", "Value"]),
                       []))  # fmt: skip
    sec.methods.append(
        "The published model was validated by Harrell's and Uno's C (R concordance), the "
        "cumulative/dynamic AUC (scikit-survival, bootstrap interval), observed/expected ratio, "
        "calibration slope (Cox regression on the linear predictor) and the integrated "
        "calibration index (Austin et al. 2020)."
    )
    sec.results.append(
        f"On validation, Harrell's C was {v.c_harrell.text(2)}, the calibration slope "
        f"{v.slope.text(2)} and observed/expected {v.oe.text(2)}."
    )
    return sec


def build_sections(df: pd.DataFrame, request: ReportRequest) -> list[Section]:
    """Every chosen view as a section; a view that fails becomes a section naming why."""
    jobs: list[tuple[str, Any]] = []
    if request.compare is not None:
        jobs.append(("Group comparison", lambda: _compare(df, request.compare)))
    if request.survival is not None:
        jobs.append(("Survival curves", lambda: _survival(df, request.survival)))
    if request.cox:
        jobs.append(("Cox model", lambda: _cox(df)))
    if request.calculator:
        jobs.append(("Hazard calculator", lambda: _calculator(df, request.calculator)))
    if request.validation_horizon:
        jobs.append(("Validation", lambda: _validation(df, request.validation_horizon)))
    out = []
    for name, job in jobs:
        try:
            out.append(job())
        except (ValueError, KeyError) as exc:  # a view the cohort cannot support
            out.append(Section(name, error=str(exc).strip("'")))
    return out


def software_versions() -> str:
    names = ("numpy", "scipy", "pandas", "lifelines", "duckdb", "statsmodels", "fisher-rxc",
             "scikit-survival")  # fmt: skip
    parts = []
    for n in names:
        try:
            parts.append(f"{n} {version(n)}")
        except PackageNotFoundError:
            continue
    return (
        f"CAR-T ICU prognosis explorer {APP_VERSION}, Python {platform.python_version()}, "
        + ", ".join(parts)
    )


def data_statement(request: ReportRequest, n: int) -> str:
    if request.reconstructed:
        return f"Cohort: {n} patients {RECONSTRUCTED} (the app's reconstructed cohort)."
    return f"Cohort: {request.cohort_name}, {n} patients (uploaded; kept in the session only)."


def build_report(df: pd.DataFrame, request: ReportRequest, fmt: str = "docx") -> bytes:
    """The report as ``.docx`` bytes or as one self-contained HTML file (UTF-8 bytes)."""
    from core.report import writers

    sections = build_sections(df, request)
    if fmt == "docx":
        return writers.to_docx(request, sections, len(df))
    if fmt == "html":
        return writers.to_html(request, sections, len(df)).encode("utf-8")
    raise ValueError(f"fmt must be 'docx' or 'html', got {fmt!r}")
