"""Rendering pieces of the Hazard calculator page: the link check, the profile inputs, the SOFA
sub-calculator and the result tables.

User text (profile labels, an upload's name and columns, values from a link) goes through
:func:`app_pages._ui.render.md` wherever Streamlit would read it as Markdown.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.render import chart_download, csv_download, md
from app_pages._ui.risk import input_badge
from app_pages._ui.state import BIND, PageState
from app_pages._ui.views.calculator import PROFILE_FIELDS, REF_BASELINE, slot_name
from core.cohort.sofa import SofaError, compute_sofa
from core.study.calculator import (
    ICU_REASONS,
    MAX_PROFILES,
    CalculatorModel,
    PatientProfile,
    ProfileError,
    ProfilePrediction,
    baseline_profile,
    build_model,
    input_bounds,
    make_profile,
)
from core.study.model import paper_model
from core.study.published import load_published
from core.tables.calculator import format_survival_table, observed_range

KEEP = {"persist_state": BIND["persist_state"]}  # inputs kept for the session, not in the URL
STUDY_N = load_published()["meta"]["n"]  # the paper's patients
DISCLAIMER = (
    "**Teaching and research tool, not for clinical decisions.** It is built on a cohort "
    "reconstructed from the paper's published aggregates (not patient data), from one "
    f"single-centre study of {STUDY_N} patients; predictions are illustrative only."
)
EXPORT_WIDTH = 680  # plot width of the static PNG / SVG exports (px); on the page: container


def disclaimer(view) -> str:
    """The warning, worded for the active cohort (reconstructed or uploaded)."""
    if view.reconstructed:
        return DISCLAIMER
    return (
        "**Teaching and research tool, not for clinical decisions.** The baseline hazard (and, "
        f"in refit mode, the coefficients) come from the uploaded cohort '{md(view.name)}' "
        f"({view.n} patients in the active selection), which this app has not validated; the "
        f"published coefficients come from one single-centre study of {STUDY_N} patients. "
        "Predictions are illustrative only."
    )


def url_refusals(state: PageState) -> list[str]:
    """Profile values of the page's link that the inputs will ignore (call before they run).

    The widgets' own URL binding drops such a value silently and shows the slot's example;
    this says so, with the calculator's message (field, rule, value given).
    """
    defaults, out = state.model(), []
    for i in range(MAX_PROFILES):
        given = {
            arg: st.query_params[state.key(f"{name}{i}")]
            for name, arg in PROFILE_FIELDS.items()
            if state.key(f"{name}{i}") in st.query_params
        }
        if given.get("label") == "":  # a blank label is the slot's name, as on screen
            del given["label"]
        try:
            make_profile(**{**defaults.profile(i), **given})
        except ProfileError as exc:
            out.append(f"Profile {i + 1} of the link: refused, the example's value is used. {exc}")
    return [md(m) for m in out]


@st.cache_data(show_spinner=False, max_entries=32)
def _model(cohort_key: str, mode, covariates, _df: pd.DataFrame) -> CalculatorModel:
    """The model on the active cohort, cached on its identity (ActiveCohort.key), not its hash."""
    return build_model(_df, mode, covariates=covariates)


def calculator_model(view, mode: str, extra_cols: list[str]) -> CalculatorModel:
    """build_model on the active cohort: the paper's covariates, plus ``extra_cols`` in refit."""
    covariates = None if mode == "published" else (*paper_model().covariates, *extra_cols)
    return _model(view.key, mode, covariates, view.df)


def profile_inputs(state: PageState, df: pd.DataFrame, n: int, extra_cols: list[str]) -> list:
    """One column of inputs per shown profile; returns each profile's extra covariates."""
    ps, sofa = input_bounds("ecog_ps"), input_bounds("sofa")
    ps_help = f"{ps[0]}-{ps[1]} points; observed in the active cohort: "
    sofa_help = f"{sofa[0]}-{sofa[1]} points; observed in the active cohort: "
    extras = []
    for i, column in enumerate(st.columns(n)):
        with column:
            st.markdown(f"**{slot_name(i)}**")
            st.text_input("Label", max_chars=input_bounds("label")[1], **state.widget(f"label{i}"))
            st.selectbox(
                "Reason for ICU admission", ICU_REASONS, **state.widget(f"reason{i}", ICU_REASONS)
            )
            value = st.number_input(
                "ECOG performance status", *ps, help=ps_help + observed_range(df, "ecog_ps"),
                **state.widget(f"ps{i}"),
            )  # fmt: skip
            input_badge(value, df, "ecog_ps")
            value = st.number_input(
                "SOFA score", *sofa, help=sofa_help + observed_range(df, "sofa"),
                **state.widget(f"sofa{i}"),
            )  # fmt: skip
            input_badge(value, df, "sofa")
            extras.append({c: _extra_input(df, c, f"{state.prefix}x{i}_{c}") for c in extra_cols})
    return extras


def _extra_input(df: pd.DataFrame, col: str, key: str):
    """A profile's value of an extra covariate (refit mode): default the cohort's median."""
    if pd.api.types.is_bool_dtype(df[col]):
        return st.checkbox(md(col), value=False, key=key, **KEEP)
    median = float(pd.to_numeric(df[col]).median())
    help_ = f"observed: {observed_range(df, col)}"
    return st.number_input(md(col), value=median, key=key, help=help_, **KEEP)


# (compute_sofa argument, label, min, max, default, step, key after the prefix): 3 columns
SOFA_INPUTS = (
    (
        ("pao2_mmhg", "PaO2 (mmHg)", 20.0, 700.0, 90.0, None, "s_pao2"),
        ("fio2", "FiO2 (0.21-1.0)", 0.21, 1.0, 0.21, 0.05, "s_fio2"),
        ("respiratory_support", "Respiratory support", None, None, False, None, "s_vent"),
        ("platelets_g_l", "Platelets (x10^9/L)", 0.0, 2000.0, 200.0, None, "s_plt"),
    ),
    (
        ("bilirubin_umol_l", "Bilirubin (µmol/L)", 0.0, 1000.0, 10.0, None, "s_bili"),
        ("map_mmhg", "MAP (mmHg)", 0.0, 200.0, 75.0, None, "s_map"),
        ("dopamine", "Dopamine (µg/kg/min)", 0.0, 50.0, 0.0, None, "s_dopa"),
        ("dobutamine", "Dobutamine (µg/kg/min)", 0.0, 50.0, 0.0, None, "s_dobu"),
    ),
    (
        ("epinephrine", "Epinephrine (µg/kg/min)", 0.0, 5.0, 0.0, 0.01, "s_epi"),
        ("norepinephrine", "Norepinephrine (µg/kg/min)", 0.0, 5.0, 0.0, 0.01, "s_nor"),
        ("gcs", "Glasgow coma scale", 3, 15, 15, None, "s_gcs"),
        ("creatinine_umol_l", "Creatinine (µmol/L)", 0.0, 3000.0, 80.0, None, "s_creat"),
    ),
)


def _use_sofa(state: PageState, total: int) -> None:
    target = int(st.session_state[state.prefix + "sofa_target"])
    state.set(f"sofa{target}", total)


def sofa_expander(state: PageState, n: int) -> None:
    """SOFA from raw values (Vincent et al. 1996); a button copies it to a profile's SOFA."""
    p = state.prefix
    with st.expander("SOFA calculator (Vincent et al. 1996): fill a profile's SOFA"):
        values = {}
        for column, inputs in zip(st.columns(3), SOFA_INPUTS, strict=True):
            for arg, label, lo, hi, default, step, key in inputs:
                if isinstance(default, bool):
                    values[arg] = column.checkbox(label, key=p + key, **KEEP)
                else:
                    values[arg] = column.number_input(
                        label, lo, hi, default, step=step, key=p + key, **KEEP
                    )
        try:
            res = compute_sofa(**values)
        except SofaError as exc:
            st.error(md(exc))
            return
        parts = res.as_dict()
        st.markdown(
            " · ".join(f"{k}: **{v}**" for k, v in parts.items() if k != "total")
            + f" → **SOFA {res.total}**"
        )
        t1, t2 = st.columns([1, 2])
        t1.selectbox(
            "Profile", list(range(n)), format_func=slot_name, key=p + "sofa_target", **KEEP,
        )  # fmt: skip
        t2.button(
            f"Use SOFA = {res.total} for this profile", on_click=_use_sofa,
            args=(state, int(res.total)), key=p + "sofa_use",
        )  # fmt: skip


def survival_table(pred: ProfilePrediction, model: CalculatorModel) -> None:
    """Each profile's predicted survival at the table's days, with its band."""
    if model.mode == "published" and model.uncertainty == "baseline":
        st.markdown(
            "**Predicted survival [95% band: uncertainty of the baseline hazard only; the "
            "published hazard ratios are treated as known, so the true interval is wider]**"
        )
    elif model.mode == "published":
        st.markdown(
            "**Predicted survival [95% band: the published HRs' CIs (no covariances) and the "
            "baseline hazard]**"
        )
    else:
        st.markdown("**Predicted survival [95% CI]**")
    st.dataframe(format_survival_table(pred), key="calc_table")


def reference_choice(state: PageState, profiles: list[PatientProfile]) -> PatientProfile:
    """The relative-hazard reference: a profile (by its slot) or the model's zero."""
    options = [str(i) for i in range(len(profiles))] + [REF_BASELINE]
    ref = st.selectbox("Reference", options, **state.widget("ref", options))
    if ref == REF_BASELINE:  # the refit model's extra covariates as in the first profile
        return baseline_profile(profiles[0].extra)
    return profiles[int(ref)]


def downloads(pred: ProfilePrediction, spec: dict) -> None:
    """The table and curves as CSV, the chart as PNG and SVG (made on click)."""
    d1, d2, d3, d4 = st.columns(4)
    csv_download("Table CSV", pred.table, "calculator_table.csv", key="calc_dl1", where=d1)
    csv_download("Curves CSV", pred.curves, "calculator_curves.csv", key="calc_dl2", where=d2)
    chart_download("PNG", spec, "calculator.png", key="calc_dl3", where=d3)
    chart_download("SVG", spec, "calculator.svg", key="calc_dl4", where=d4)
