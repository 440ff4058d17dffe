"""The report's content: one :class:`Section` per chosen view, built by the core functions the
pages use, and the methods / results sentences written from what was run."""

from __future__ import annotations

import datetime as dt
import platform
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.study.calculator import PatientProfile
from core.study.model import paper_model

APP_VERSION = "0.1"
RECONSTRUCTED = "reconstructed from published aggregates — not patient data"


@dataclass(frozen=True)
class CompareSpec:
    """A group comparison: one of the paper's presets (``table1``, ``table3``, ``table4``), or
    ``custom`` as the Compare page builds it: ``variables`` (catalog columns; None: every one)
    by ``by`` (None: the whole cohort), a numeric ``by`` cut at ``cut`` when given."""

    preset: str = "table1"
    adjust: str | None = None
    by: str | None = None
    variables: tuple[str, ...] | None = None
    cut: float | None = None


@dataclass(frozen=True)
class SurvivalSpec:
    """Kaplan-Meier by ``group`` (None: overall) for ``endpoint`` ("os" or "pfs"), the groups
    made as the Survival page makes them (core.cohort.variables.make_groups): a numeric
    ``group`` cut at ``cut`` (a continuous one at its median when None), or the ``merge``
    levels against the others.  ``competing``: the Aalen-Johansen cumulative incidence of
    progression and of death without progression, by group when ``competing_by_group``."""

    group: str | None = "ecog_ps"
    endpoint: Literal["os", "pfs"] = "os"
    unit: Literal["days", "months"] = "months"
    cut: float | None = None
    merge: tuple[str, ...] = ()
    competing: bool = False
    competing_by_group: bool = False


@dataclass(frozen=True)
class CoxSpec:
    """The Cox view: the paper's model (``paper``), chosen ``covariates`` (``pick``) or stepwise
    selection among ``candidates`` with the paper's entry / removal rule (``stepwise``, its
    p-values by ``test``), for ``endpoint`` censored at ``horizon_days`` (None: all
    follow-up)."""

    mode: Literal["paper", "pick", "stepwise"] = "paper"
    covariates: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    test: Literal["wald", "lrt"] = "wald"
    endpoint: Literal["os", "pfs"] = "os"
    horizon_days: float | None = field(default_factory=lambda: paper_model().horizon_days)


@dataclass(frozen=True)
class ReportRequest:
    """What the report holds: the cohort's statement and the views (None: left out)."""

    cohort_name: str
    reconstructed: bool
    filter_text: str = "all patients"
    compare: CompareSpec | None = CompareSpec()
    survival: SurvivalSpec | None = SurvivalSpec()
    cox: CoxSpec | bool = True  # True: CoxSpec() (the paper's model); False: left out
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
    from core.cohort.variables import cut_variable
    from core.stats.compare import compare_groups
    from core.study.paper_tables import PRESETS, by_section, variable_catalog
    from core.tables.compare import format_table, tests_used

    sec = Section("Group comparison")
    if spec.preset == "custom":  # as the Compare page: the chosen variables, in section order
        data, by, group_by = df, spec.by, spec.by
        if by is not None and by not in df.columns:
            raise ValueError(f"the cohort has no column {by}")
        if by is not None and spec.cut is not None:
            data = cut_variable(df, by, spec.cut)
            group_by = f"{by} ≥ {spec.cut:g}"
        catalog = variable_catalog(df)
        order = [c for c in by_section(catalog) if c != by]
        wanted = set(order if spec.variables is None else spec.variables)
        present = [catalog[c] for c in order if c in wanted]
        if not present:
            raise ValueError("none of the chosen variables is in the cohort")
        group_order = None
        if by is None:
            title = "Custom table — whole cohort"
        elif spec.cut is not None:
            title = f"Custom table — by {column_label(by)}: < {spec.cut:g} vs ≥ {spec.cut:g}"
        else:
            title = f"Custom table — by {column_label(by)}"
    else:
        preset = PRESETS[spec.preset]
        data, by = df, preset.by
        present = [v for v in preset.variables
                   if v.column in df.columns and df[v.column].notna().any()]  # fmt: skip
        group_by = by = by if by in df.columns else None
        group_order, title = preset.group_order, preset.title
    result = compare_groups(
        data, group_by, present, adjust=spec.adjust, group_order=group_order,
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
    sec.tables.append((title, table, footnotes))
    sec.methods.append(compare_methods(tests, spec.adjust))
    n = int(result.filter(like="Overall__N").max(axis=None)) if len(result) else len(data)
    sec.results.append(
        f"{title.split(' — ')[0]} describes {n} patients"
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
    from core.cohort.schema import column_label, level_order
    from core.cohort.variables import make_groups
    from core.stats.logrank import logrank, logrank_trend
    from core.stats.survival import kaplan_meier
    from core.tables.format import p_value
    from core.tables.survival import format_chi2_test, format_medians

    duration, event, name = ENDPOINTS[spec.endpoint]
    sec = Section(f"Kaplan–Meier {name}")
    for col in (duration, event, *([spec.group] if spec.group else [])):
        if col not in df.columns or df[col].isna().all():
            sec.error = f"the cohort has no values for {col}"
            return sec
    data, gcol, ordered, levels, label = df, None, False, ("All",), None
    if spec.group:  # the groups exactly as the Survival page makes them
        label = column_label(spec.group, unit=False)
        grouping = make_groups(df, spec.group, spec.cut, label=label,
                               order=level_order(spec.group), merge=spec.merge or None)  # fmt: skip
        data, gcol, ordered, levels = (grouping.df, grouping.column, grouping.ordered,
                                       grouping.levels)  # fmt: skip
    by = f" by {label}" if gcol else ""
    if gcol is not None and grouping.threshold is not None:  # cut: name the cut
        by += f" (< {grouping.threshold:g} vs ≥ {grouping.threshold:g})"
    elif gcol is not None and gcol != spec.group:  # merged levels: name the two groups
        by += f" ({' vs '.join(map(str, levels))})"
    sec.title = f"Kaplan–Meier {name}{by}"
    km = kaplan_meier(data, duration, event, gcol)
    medians = format_medians(km, spec.unit)
    sec.tables.append((f"Median {name} ({spec.unit})", medians, ["NR: not reached"]))
    chart = km_chart(km, spec.unit, width=520, height=300, group_title=label)
    sec.figures.append(
        (f"Kaplan–Meier {name}{by} (95% CI)",
         f"Kaplan–Meier curves of {name}{by}; the medians are in the table.",
         chart.to_dict()),
    )  # fmt: skip
    tested = gcol is not None and len(levels) >= 2
    method = (f"{name.capitalize()} was estimated with the Kaplan–Meier method (log-transformed "
              "95% confidence intervals, R survfit)")  # fmt: skip
    trend = logrank_trend(data, duration, event, gcol) if tested and ordered else None
    if tested:
        method += "; groups were compared with the log-rank test (R survdiff)"
    if trend is not None:  # the Survival page's rule: ordered groups (make_groups) get the test
        scores = ", ".join(f"{w:g}" for w in trend.table["score"])
        method += (f" and the log-rank test for trend with scores {scores} (the numeric levels "
                   f"of {label}; R coxph score test, ties = 'exact')")  # fmt: skip
    sec.methods.append(method + ".")
    first = medians.iloc[0]
    if tested:
        lr = logrank(data, duration, event, gcol)
        text = (
            f"Median {name}{by}: "
            + "; ".join(
                f"{r['Group']}, {_median_words(r[medians.columns[3]], spec.unit)} "
                f"(95% CI {r['95% CI']})"
                for _, r in medians.iterrows()
            )
            + f"; log-rank χ² = {lr.statistic:.2f}, {lr.dof} df, p {p_value(lr.p_value)}"
        )
        if trend is not None:
            text += f"; test for trend {format_chi2_test(trend.statistic, 1, trend.p_value)}"
        sec.results.append(text + ".")
    else:
        sec.results.append(
            f"Median {name} was {_median_words(first[medians.columns[3]], spec.unit)} "
            f"(95% CI {first['95% CI']})."
        )
    if spec.competing:
        _competing(sec, data, gcol if spec.competing_by_group and tested else None, label, spec)
    return sec


CR_COLUMNS = ["os_days", "os_event", "pfs_days", "pfs_event"]


def _competing(sec: Section, data: pd.DataFrame, gcol: str | None, label: str | None,
               spec: SurvivalSpec) -> None:  # fmt: skip
    """The Survival page's competing-risks view: Aalen-Johansen cumulative incidence of
    progression and of death without progression (Gray's test when split by group)."""
    from core.charts.competing import cif_chart
    from core.charts.survival import landmark_times
    from core.cohort.variables import has_values
    from core.stats.competing import cumulative_incidence, cumulative_incidence_at, gray_tests
    from core.study.published import load_published
    from core.tables.survival import format_chi2_test, format_cif_table

    if not has_values(data, *CR_COLUMNS):
        sec.results.append("Competing risks were not computed: they need both endpoints.")
        return
    cr = data.dropna(subset=CR_COLUMNS)
    horizon = float(load_published()["survival"]["horizon_days"]["value"])  # the paper's window
    cif = cumulative_incidence(cr, group=gcol)
    at = cumulative_incidence_at(cif, landmark_times(horizon, spec.unit))
    by = f" by {label}" if gcol else ""
    sec.tables.append((f"Cumulative incidence{by} (95% CI)", format_cif_table(at, spec.unit),
                       [f"{len(cr)} patients with both endpoints"]))  # fmt: skip
    chart = cif_chart(cif, spec.unit, horizon, width=520, group_title=label if gcol else None)
    sec.figures.append(
        (f"Cumulative incidence of progression and of death without progression{by}",
         "Stacked cumulative incidence of progression and of death without progression over "
         "time; the values are in the table.", chart.to_dict()),
    )  # fmt: skip
    method = (
        "Cumulative incidence of progression and of death without progression (competing "
        "risks) was estimated with the Aalen–Johansen estimator (R survfit on Surv(t, "
        "factor(status)), infinitesimal-jackknife log 95% confidence intervals)"
    )
    if gcol:
        method += "; groups were compared with Gray's test (R cmprsk::cuminc)"
        tests = gray_tests(cr, gcol)
        sec.results.append(
            f"Gray's test{by}: "
            + "; ".join(
                f"{t.cause}, {format_chi2_test(t.statistic, t.dof, t.p_value)}"
                if t.statistic == t.statistic
                else f"{t.cause}, not computable"
                for t in tests
            )
            + "."
        )
    sec.methods.append(method + ".")


def _median_words(text: str, unit: str) -> str:
    return "not reached" if text == "NR" else f"{text} {unit}"


COX_ENDPOINTS = {"os": "death", "pfs": "progression or death"}


def _cox(df: pd.DataFrame, spec: CoxSpec) -> Section:
    from core.cohort.variables import add_derived
    from core.stats.cox.diagnostics import ph_test
    from core.stats.cox.fit import fit_cox
    from core.stats.cox.selection import stepwise
    from core.tables.cox import covariate_label, format_summary
    from core.tables.survival import format_chi2_test

    model = paper_model()
    duration, event, _ = ENDPOINTS[spec.endpoint]
    df = add_derived(df)
    h = spec.horizon_days
    window = f"within {h:g} days" if h else "over all follow-up"
    sw = None
    if spec.mode == "paper":
        covs = list(model.covariates)
    elif spec.mode == "pick":
        covs = list(spec.covariates)
    else:  # the Cox page's stepwise: the paper's rule (data/published.yaml cox.selection)
        sw = stepwise(df, duration, event, list(spec.candidates), horizon_days=h,
                      test=spec.test, entry=model.entry_p, removal=model.removal_p)  # fmt: skip
        covs = list(sw.selected)
        if not covs:
            raise ValueError(f"stepwise selection kept no covariate ({sw.stop_reason})")
    if not covs:
        raise ValueError("no covariate chosen")
    on_paper = spec.mode == "paper" and spec.endpoint == "os" and h == model.horizon_days
    sec = Section("Cox model: the paper's covariates refitted on this cohort" if on_paper
                  else f"Cox model of {COX_ENDPOINTS[spec.endpoint]} {window}")  # fmt: skip
    res = fit_cox(df, duration, event, covs, horizon_days=h)
    pub = pd.DataFrame([{"covariate": t.name, "hr": t.hr, "lower": t.lower, "upper": t.upper}
                        for t in model.terms]) if on_paper else None  # fmt: skip
    table = format_summary(res.summary, pub)
    lo, hi = res.concordance_ci
    sec.tables.append((f"Hazard ratios for {COX_ENDPOINTS[spec.endpoint]} {window}", table,
                       [f"n = {res.n}, {res.events} events; C-index {res.concordance:.3f} "
                        f"(95% CI {lo:.3f}–{hi:.3f})"]))  # fmt: skip
    if spec.mode == "paper":
        on = ("reason for ICU admission (disease progression vs other), ECOG performance "
              "status and SOFA, the paper's covariates")  # fmt: skip
    else:
        on = ", ".join(covariate_label(c) for c in covs)
    text = (f"A Cox proportional hazards model (Efron ties, R coxph) of "
            f"{COX_ENDPOINTS[spec.endpoint]} {window} on {on}")  # fmt: skip
    if sw is not None:
        p_kind = "Wald" if sw.test == "wald" else "likelihood-ratio"
        text += (
            f", selected by bidirectional stepwise selection among "
            f"{', '.join(covariate_label(c) for c in spec.candidates)} (entry p < "
            f"{sw.entry:g}, removal p > {sw.removal:g}, {p_kind} p-values, as in the paper)"
        )
    text += (
        "; discrimination by Harrell's C with its infinitesimal-jackknife standard error "
        "(R concordance)."
    )
    try:
        ph = ph_test(res).table.set_index("term").loc["GLOBAL"]
    except (ValueError, np.linalg.LinAlgError):
        ph = None
    if ph is not None:
        text += (
            " Proportional hazards were checked with the score test on scaled Schoenfeld "
            "residuals (R cox.zph, transform = 'km'): global "
            f"{format_chi2_test(ph['chisq'], int(ph['df']), ph['p'])}."
        )
    sec.methods.append(text)
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
        "cumulative/dynamic AUC (scikit-survival's censoring-weighted estimator, bootstrap "
        "interval), observed/expected ratio, "
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
        cox = request.cox if isinstance(request.cox, CoxSpec) else CoxSpec()
        jobs.append(("Cox model", lambda: _cox(df, cox)))
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
    names = ("numpy", "scipy", "pandas", "lifelines", "duckdb", "statsmodels", "fisher-rxc")
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
