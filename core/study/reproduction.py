"""Every published figure beside the value recomputed from a cohort.

:func:`reproduce` returns one row per printed number of ``data/published.yaml`` (tables,
survival medians, Cox hazard ratios, counts stated in the text) with the value recomputed
from the given cohort, the difference and a status:

* ``✓`` within the printed rounding (counts: exact);
* ``≈`` within the stated target (p-value on the same side of 0.05; median survival within
  one month; HR inside the published 95% CI and within ``cox.hr_tolerance_relative``);
* ``✗`` outside, with the paper conflict that explains it when there is one.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd

from core.cohort.variables import DERIVED_INDICATORS
from core.stats.compare import OVERALL, SEP, VariableSpec, compare_groups, level_str
from core.study.model import paper_model
from core.study.published import (
    DAYS_PER_MONTH,
    conflicted_figures,
    load_published,
    published_figures,
    tolerance,
    tolerance_for,
)

OK, CLOSE, MISS = "✓", "≈", "✗"

_GROUPINGS = {"overall": None, "icu_reason": "icu_reason", "outcome_1y": "outcome_1y"}


def _specs(figs: pd.DataFrame, grouping: str) -> list[VariableSpec]:
    sub = figs[figs["grouping"] == grouping].drop_duplicates("variable")
    return [
        VariableSpec(column=r.column, kind=r.kind, name=r.variable, label=r.label)
        for r in sub.itertuples()
    ]


def _status_numeric(stat: str, published: float, value: float, decimals: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISS
    if stat == "n":
        return OK if round(value) == round(published) else MISS
    if stat == "p":
        if abs(value - published) <= tolerance_for(decimals) + 1e-12:
            return OK
        return CLOSE if (value < 0.05) == (published < 0.05) else MISS
    tol = tolerance_for(decimals)
    if abs(value - published) <= tol + 1e-9:
        return OK
    if stat == "pct":
        return CLOSE if abs(value - published) <= 1.0 else MISS
    return MISS


def _table_rows(df: pd.DataFrame, figs: pd.DataFrame) -> list[dict]:
    rows: list[dict] = []
    for grouping, by in _GROUPINGS.items():
        gfigs = figs[figs["grouping"] == grouping]
        if gfigs.empty:
            continue
        if by is not None and by not in df.columns:
            continue
        specs = [s for s in _specs(figs, grouping) if s.column in df.columns]
        if not specs:
            continue
        res = compare_groups(df, by, specs)
        for fig in gfigs.itertuples():
            got = res[res["variable"] == fig.variable]
            value = math.nan
            if not got.empty:
                if fig.statistic == "p":
                    value = float(got["p_value"].iloc[0])
                else:
                    if fig.kind == "categorical":
                        got = got[got["level"] == level_str(fig.level)]
                    gname = OVERALL if grouping == "overall" else str(fig.group)
                    col = f"{gname}{SEP}{fig.statistic}"
                    if not got.empty and col in got.columns:
                        value = float(got[col].iloc[0])
                    elif fig.kind == "categorical" and fig.statistic == "n":
                        value = 0.0  # level absent from the cohort
            rows.append(
                {
                    **fig._asdict(),
                    "recomputed": value,
                    "test": got["test"].iloc[0] if (fig.statistic == "p" and not got.empty) else "",
                }
            )
    return rows


def _survival_rows(df: pd.DataFrame) -> list[dict]:
    from core.stats.survival import kaplan_meier

    pub = load_published()
    sv = pub["survival"]
    rows: list[dict] = []

    def add(variable, label, statistic, published, value, source, decimals=1, status=None):
        rows.append(
            {
                "variable": variable,
                "column": "",
                "label": label,
                "section": "Survival",
                "kind": "survival",
                "grouping": "survival",
                "group": "Overall",
                "level": None,
                "statistic": statistic,
                "published": published,
                "decimals": decimals,
                "source": source,
                "recomputed": value,
                "status_override": status,
            }
        )

    for key, dur, ev, label in (
        ("median_os_months", "os_days", "os_event", "Median overall survival (months)"),
        ("median_pfs_months", "pfs_days", "pfs_event", "Median progression-free survival (months)"),
    ):
        if not {dur, ev} <= set(df.columns) or df[dur].notna().sum() == 0:
            continue
        med = kaplan_meier(df.dropna(subset=[dur, ev]), dur, ev).medians.iloc[0]
        spec = sv[key]
        for stat, pub_value, got in (
            ("median", spec["value"], med["median"]),
            ("lower", spec["lower"], med["lower"]),
        ):
            got_m = got / DAYS_PER_MONTH
            ok = abs(got_m - pub_value) <= tolerance(pub_value)
            close = abs(got_m - pub_value) <= spec["tolerance"]
            status = OK if ok else (CLOSE if close else MISS)
            add(key, f"{label}, {stat}", stat, pub_value, got_m, spec["source"], status=status)
        upper_na = math.isnan(med["upper"])
        add(key, f"{label}, upper 95% limit (NA = not reached)", "upper", math.nan,
            med["upper"] / DAYS_PER_MONTH, spec["source"],
            status=OK if upper_na else MISS)  # fmt: skip
    if "os_days" in df.columns:
        fu = np.quantile(df["os_days"].dropna() / DAYS_PER_MONTH, [0.5, 0.25, 0.75])
        spec = sv["median_followup_months"]
        for stat, pub_value, got in (
            ("median", spec["value"], fu[0]),
            ("q1", spec["q1"], fu[1]),
            ("q3", spec["q3"], fu[2]),
        ):
            ok = abs(got - pub_value) <= tolerance(pub_value)
            status = OK if ok else (CLOSE if abs(got - pub_value) <= spec["tolerance"] else MISS)
            add("median_followup_months", f"Follow-up (months), {stat}", stat, pub_value, got,
                spec["source"], decimals=0, status=status)  # fmt: skip
    if {"os_days", "os_event"} <= set(df.columns):
        deaths = int(df["os_event"].sum())
        d1y = int(df["death_1y"].sum()) if "death_1y" in df else 0  # core.cohort.db view
        add("deaths_at_last_followup", "Deaths at last follow-up", "n",
            sv["deaths_at_last_followup"]["value"], deaths,
            sv["deaths_at_last_followup"]["source"], decimals=0)  # fmt: skip
        add("deaths_within_1y", "Deaths within one year", "n", sv["deaths_within_1y"]["value"],
            d1y, sv["deaths_within_1y"]["source"], decimals=0)  # fmt: skip
        if DERIVED_INDICATORS["reason_dp"][0] in df.columns:
            source, level = DERIVED_INDICATORS["reason_dp"]
            dp = df[df[source] == level]
            add("dp_deaths", "Disease progression group: deaths", "n", sv["dp_deaths"]["value"],
                int(dp["os_event"].sum()), sv["dp_deaths"]["source"], decimals=0)  # fmt: skip
            early = int(((dp["os_event"] == 1) & (dp["os_days"] <= 90)).sum())
            add("dp_deaths_within_90d", "Disease progression group: deaths within 3 months",
                "n", sv["dp_deaths_within_90d"]["value"], early,
                sv["dp_deaths_within_90d"]["source"], decimals=0)  # fmt: skip
    return rows


def _cox_rows(df: pd.DataFrame) -> list[dict]:
    from core.cohort.variables import add_derived
    from core.stats.cox.fit import fit_cox

    pub = load_published()
    model = paper_model()
    sources = [DERIVED_INDICATORS.get(c, (c,))[0] for c in model.covariates]
    needed = [model.duration, model.event, *sources]
    if not set(needed) <= set(df.columns):
        return []
    data = add_derived(df.dropna(subset=needed), list(model.covariates))
    if data["reason_dp"].sum() == 0 or data[model.event].sum() < 3:
        return []
    try:
        res = fit_cox(
            data,
            model.duration,
            model.event,
            list(model.covariates),
            horizon_days=model.horizon_days,
        )
    except ValueError:  # e.g. a covariate constant in a filtered cohort: nothing to compare
        return []
    summary = res.summary.set_index("covariate")
    rows = []
    rel = pub["cox"]["hr_tolerance_relative"]
    for term in pub["cox"]["terms"]:
        if term["name"] not in summary.index:
            continue
        hr = float(summary.loc[term["name"], "hr"])
        inside = term["lower"] <= hr <= term["upper"] and abs(hr / term["hr"] - 1) <= rel
        ok = abs(hr - term["hr"]) <= tolerance(term["hr"])
        for stat, pub_value, got in (
            ("hr", term["hr"], hr),
            ("lower", term["lower"], float(summary.loc[term["name"], "lower"])),
            ("upper", term["upper"], float(summary.loc[term["name"], "upper"])),
        ):
            if stat == "hr":
                status = OK if ok else (CLOSE if inside else MISS)
            else:  # CI limits: informative (the reconstruction targets the point estimate)
                status = OK if abs(got - pub_value) <= tolerance(pub_value) else CLOSE
            rows.append(
                {
                    "variable": term["name"],
                    "column": "",
                    "label": f"Cox HR: {term['label']}",
                    "section": "Cox model (1-year mortality)",
                    "kind": "cox",
                    "grouping": "cox",
                    "group": "Overall",
                    "level": None,
                    "statistic": stat,
                    "published": pub_value,
                    "decimals": 2,
                    "source": pub["cox"]["source"],
                    "recomputed": got,
                    "status_override": status,
                }
            )
    return rows


def reproduce(df: pd.DataFrame) -> pd.DataFrame:
    """Published vs recomputed for every figure, with difference, status and conflict note.

    Parameters
    ----------
    df : DataFrame
        The cohort (columns as in ``data/dictionary.csv`` plus ``outcome_1y``).

    Returns
    -------
    DataFrame: ``section, label, grouping, group, level, statistic, published, recomputed,
    difference, status, conflict, source`` (plus ``variable``, ``test``).
    """
    figs = published_figures()
    rows = _table_rows(df, figs) + _survival_rows(df) + _cox_rows(df)
    out = pd.DataFrame(rows)
    out["difference"] = out["recomputed"] - out["published"]
    status = []
    for r in out.itertuples():
        override = getattr(r, "status_override", None)
        if isinstance(override, str):
            status.append(override)
        else:
            status.append(_status_numeric(r.statistic, r.published, r.recomputed, r.decimals))
    out["status"] = status
    known = conflicted_figures()
    out["conflict"] = [
        known.get((r.variable, r.grouping, r.statistic), "") for r in out.itertuples()
    ]
    if "test" not in out.columns:
        out["test"] = ""
    out["test"] = out["test"].fillna("")
    cols = ["section", "label", "variable", "grouping", "group", "level", "statistic",
            "published", "recomputed", "difference", "status", "conflict", "test",
            "source"]  # fmt: skip
    return out[cols]


@lru_cache(maxsize=1)
def conflicts() -> pd.DataFrame:
    """The paper's internal conflicts and how the reconstruction resolves each."""
    return pd.DataFrame(load_published()["conflicts"])


def summary_counts(result: pd.DataFrame) -> dict[str, int]:
    """Number of figures per status."""
    return {s: int((result["status"] == s).sum()) for s in (OK, CLOSE, MISS)}
