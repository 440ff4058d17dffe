"""Hazard calculator: predicted survival for up to four patient profiles.

Thin page: widgets -> core.study.calculator (build_model / predict_profiles / relative_hazard /
range_warnings) and core.cohort.sofa -> core.charts.cox chart and tables.  The profiles and options
are mirrored in st.query_params (keys ``calc_``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.cohort import cohort_sidebar, page_header, require_columns
from app_pages._ui.render import chart_download, chart_spec, csv_download, show_chart
from app_pages._ui.state import sync_url, url_choice, url_param
from core.charts import cox as ch
from core.cohort.sofa import SofaError, compute_sofa
from core.cohort.variables import NOT_PREDICTORS
from core.study.calculator import (
    ICU_REASONS,
    MAX_PROFILES,
    ProfileError,
    build_model,
    make_profile,
    predict_profiles,
    range_warnings,
)
from core.study.model import paper_model
from core.tables.calculator import format_survival_table, observed_range, relative_hazard_table

P = "calc_"
MODES = {
    "published": "Published model (paper's coefficients)",
    "refit": "Refit on the active cohort",
}
DEFAULTS = [
    ("Profile 1", "CRS", 1, 4),
    ("Profile 2", "Disease progression", 2, 5),
    ("Profile 3", "Sepsis", 2, 6),
    ("Profile 4", "CRS or sepsis", 0, 2),
]
REF_BASELINE = "baseline"
NOT_COVARIATES = NOT_PREDICTORS | {"icu_reason", "reason_dp", "ecog_ps", "sofa"}
DISCLAIMER = (
    "**Teaching and research tool, not for clinical decisions.** It is built on a cohort "
    "reconstructed from the paper's published aggregates (not patient data), from one "
    "single-centre study of 71 patients; predictions are illustrative only."
)
EXPORT_WIDTH = 680  # plot width of the static PNG / SVG exports (px); on the page: container


def _disclaimer(view) -> str:
    """The warning, worded for the active cohort (reconstructed or uploaded)."""
    if view.reconstructed:
        return DISCLAIMER
    return (
        "**Teaching and research tool, not for clinical decisions.** The baseline hazard (and, "
        f"in refit mode, the coefficients) come from the uploaded cohort '{view.name}' "
        f"({view.n} patients in the active selection), which this app has not validated; the "
        "published coefficients come from one single-centre study of 71 patients. "
        "Predictions are illustrative only."
    )


# ---------------------------------------------------------------------------------------------
# state <-> query params
# ---------------------------------------------------------------------------------------------
def _init_state() -> list[str]:
    """Seed widget state from the URL once; return messages for refused URL values."""
    if st.session_state.get(P + "seeded"):
        return st.session_state.get(P + "url_errors", [])
    ss = st.session_state
    ss[P + "seeded"] = True
    errors: list[str] = []
    ss[P + "mode"] = url_choice(P + "mode", MODES, "published")
    try:
        ss[P + "n"] = min(MAX_PROFILES, max(1, int(url_param(P + "n", "2"))))
    except ValueError:
        ss[P + "n"] = 2
    ss[P + "band"] = url_param(P + "band", "1") == "1"
    ss[P + "ref"] = url_param(P + "ref", "0")
    for i, (label, reason, ps, sofa) in enumerate(DEFAULTS):
        raw = {
            "label": url_param(P + f"label{i}", label),
            "icu_reason": url_param(P + f"reason{i}", reason),
            "ecog_ps": url_param(P + f"ps{i}", str(ps)),
            "sofa": url_param(P + f"sofa{i}", str(sofa)),
        }
        try:
            prof = make_profile(
                label=raw["label"],
                icu_reason=raw["icu_reason"],
                ecog_ps=_as_int(raw["ecog_ps"]),
                sofa=_as_int(raw["sofa"]),
            )
        except ProfileError as exc:
            errors.append(f"Profile {i + 1} from the link was refused and reset. {exc}")
            prof = make_profile(label=label, icu_reason=reason, ecog_ps=ps, sofa=sofa)
        ss[P + f"label{i}"] = prof.label
        ss[P + f"reason{i}"] = prof.icu_reason
        ss[P + f"ps{i}"] = prof.ecog_ps
        ss[P + f"sofa{i}"] = prof.sofa
    extras = [c for c in url_param(P + "extra", "").split(",") if c]
    ss[P + "extra_req"] = extras
    ss[P + "url_errors"] = errors
    return errors


def _as_int(v: str) -> int | str | float:
    try:
        f = float(v)
    except ValueError:
        return v
    return int(f) if f.is_integer() else f


def _sync_url(n: int) -> None:
    ss = st.session_state
    values = {
        "mode": ss[P + "mode"],
        "n": str(n),
        "band": "1" if ss[P + "band"] else "0",
        "ref": str(ss[P + "ref"]),
        "extra": ",".join(ss.get(P + "extra", [])),
    }
    for i in range(n):
        values[f"label{i}"] = ss[P + f"label{i}"]
        values[f"reason{i}"] = ss[P + f"reason{i}"]
        values[f"ps{i}"] = str(ss[P + f"ps{i}"])
        values[f"sofa{i}"] = str(ss[P + f"sofa{i}"])
    sync_url(values, prefix=P, drop_others=True)


@st.cache_data(show_spinner=False, max_entries=32)
def _model(cohort_key: str, mode, covariates, _df: pd.DataFrame):
    """The model on the active cohort, cached on its identity (ActiveCohort.key), not its hash."""
    return build_model(_df, mode, covariates=covariates)


# ---------------------------------------------------------------------------------------------
# SOFA sub-calculator (fills a profile's SOFA input)
# ---------------------------------------------------------------------------------------------
def _use_sofa() -> None:
    ss = st.session_state
    target = int(ss[P + "sofa_target"])
    if ss.get(P + "sofa_total") is not None:
        ss[P + f"sofa{target}"] = int(ss[P + "sofa_total"])


def _sofa_expander(n: int) -> None:
    with st.expander("SOFA calculator (Vincent et al. 1996): fill a profile's SOFA"):
        a, b, c = st.columns(3)
        vals = {
            "pao2_mmhg": a.number_input("PaO2 (mmHg)", 20.0, 700.0, 90.0, key=P + "s_pao2"),
            "fio2": a.number_input("FiO2 (0.21-1.0)", 0.21, 1.0, 0.21, step=0.05, key=P + "s_fio2"),
            "respiratory_support": a.checkbox("Respiratory support", key=P + "s_vent"),
            "platelets_g_l": a.number_input(
                "Platelets (x10^9/L)", 0.0, 2000.0, 200.0, key=P + "s_plt"
            ),
            "bilirubin_umol_l": b.number_input(
                "Bilirubin (umol/L)", 0.0, 1000.0, 10.0, key=P + "s_bili"
            ),
            "map_mmhg": b.number_input("MAP (mmHg)", 0.0, 200.0, 75.0, key=P + "s_map"),
            "dopamine": b.number_input("Dopamine (ug/kg/min)", 0.0, 50.0, 0.0, key=P + "s_dopa"),
            "dobutamine": b.number_input(
                "Dobutamine (ug/kg/min)", 0.0, 50.0, 0.0, key=P + "s_dobu"
            ),
            "epinephrine": c.number_input(
                "Epinephrine (ug/kg/min)", 0.0, 5.0, 0.0, step=0.01, key=P + "s_epi"
            ),
            "norepinephrine": c.number_input(
                "Norepinephrine (ug/kg/min)", 0.0, 5.0, 0.0, step=0.01, key=P + "s_nor"
            ),
            "gcs": c.number_input("Glasgow coma scale", 3, 15, 15, key=P + "s_gcs"),
            "creatinine_umol_l": c.number_input(
                "Creatinine (umol/L)", 0.0, 3000.0, 80.0, key=P + "s_creat"
            ),
        }
        try:
            res = compute_sofa(**vals)
        except SofaError as exc:
            st.error(str(exc))
            st.session_state[P + "sofa_total"] = None
            return
        st.session_state[P + "sofa_total"] = res.total
        parts = res.as_dict()
        st.markdown(
            " · ".join(f"{k}: **{v}**" for k, v in parts.items() if k != "total")
            + f" → **SOFA {res.total}**"
        )
        t1, t2 = st.columns([1, 2])
        labels = {i: str(st.session_state[P + f"label{i}"]) for i in range(n)}
        t1.selectbox("Profile", list(range(n)), format_func=labels.get, key=P + "sofa_target")
        t2.button(
            f"Use SOFA = {res.total} for this profile", on_click=_use_sofa, key=P + "sofa_use"
        )


# ---------------------------------------------------------------------------------------------
# page
# ---------------------------------------------------------------------------------------------
page_header(
    "Hazard calculator",
    "Predicted survival over the first year after ICU admission for up to four patient "
    "profiles, from the paper's Cox model or a model refitted on the active cohort.",
)
view = cohort_sidebar()
st.warning(_disclaimer(view))
url_errors = _init_state()
for msg in url_errors:
    st.error(msg)
if not require_columns(
    view, ["icu_reason", "ecog_ps", "sofa", "os_days", "os_event"], "The hazard calculator"
):
    st.stop()
df = view.df

m1, m2, m3 = st.columns([2, 1, 1])
m1.radio("Model", list(MODES), format_func=MODES.get, key=P + "mode", horizontal=True)
m2.number_input("Profiles", 1, MAX_PROFILES, key=P + "n")
m3.toggle("95% band", key=P + "band")
mode = st.session_state[P + "mode"]
n = int(st.session_state[P + "n"])

extra_cols: list[str] = []
if mode == "refit":
    numeric = [
        c
        for c in df.columns
        if c not in NOT_COVARIATES
        and (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))
    ]
    if P + "extra" not in st.session_state:
        st.session_state[P + "extra"] = [
            c for c in st.session_state.get(P + "extra_req", []) if c in numeric
        ]
    st.multiselect(
        "Extra covariates (refit mode)",
        numeric,
        key=P + "extra",
        help="Added to reason + ECOG PS + SOFA; each profile then needs a value.",
    )
    extra_cols = list(st.session_state[P + "extra"])
    st.caption(
        "Refit: a Cox model (Efron ties) fitted on the active cohort; the band is R's "
        "survfit(coxph, newdata) 95% log CI."
    )
else:
    st.info(
        "Published mode: the paper's hazard ratios are used as fixed coefficients "
        "(log HR); **the baseline hazard is estimated from the active cohort with the "
        "published coefficients held fixed** (R: coxph(..., init = log(HR), iter.max = 0) then "
        "survfit). The band reflects the baseline-hazard uncertainty only."
    )

# ---- profile inputs ------------------------------------------------------------------------
ps_range, sofa_range = observed_range(df, "ecog_ps"), observed_range(df, "sofa")
cols = st.columns(n)
for i in range(n):
    with cols[i]:
        st.text_input("Label", max_chars=40, key=P + f"label{i}")
        st.selectbox("Reason for ICU admission", ICU_REASONS, key=P + f"reason{i}")
        st.number_input(
            "ECOG performance status",
            0,
            4,
            key=P + f"ps{i}",
            help=f"0-4 points; observed in the active cohort: {ps_range}",
        )
        st.number_input(
            "SOFA score",
            0,
            24,
            key=P + f"sofa{i}",
            help=f"0-24 points; observed in the active cohort: {sofa_range}",
        )
        for col in extra_cols:
            key = P + f"x{i}_{col}"
            if pd.api.types.is_bool_dtype(df[col]):
                if key not in st.session_state:
                    st.session_state[key] = False
                st.checkbox(col, key=key)
            else:
                if key not in st.session_state:
                    st.session_state[key] = float(pd.to_numeric(df[col]).median())
                st.number_input(col, key=key, help=f"observed: {observed_range(df, col)}")
_sofa_expander(n)

ref_options = [str(i) for i in range(n)] + [REF_BASELINE]
if st.session_state[P + "ref"] not in ref_options:
    st.session_state[P + "ref"] = "0"
_sync_url(n)

profiles = []
errors = []
for i in range(n):
    extra = {c: st.session_state[P + f"x{i}_{c}"] for c in extra_cols}
    try:
        profiles.append(
            make_profile(
                label=st.session_state[P + f"label{i}"] or f"Profile {i + 1}",
                icu_reason=st.session_state[P + f"reason{i}"],
                ecog_ps=st.session_state[P + f"ps{i}"],
                sofa=st.session_state[P + f"sofa{i}"],
                extra=extra,
            )
        )
    except ProfileError as exc:
        errors.append(f"Profile {i + 1}: {exc}")
for e in errors:
    st.error(e)
if errors:
    st.stop()

for p in profiles:
    for w in range_warnings(p, df):
        st.warning(f"{p.label}: {w}")

covariates = None if mode == "published" else (*paper_model().covariates, *extra_cols)
try:
    model = _model(view.key, mode, covariates, df)
    pred = predict_profiles(model, profiles)
except ValueError as exc:
    st.error(f"No prediction: {exc}")
    st.stop()
for w in model.result.warnings:
    st.warning(w)

# ---- results ---------------------------------------------------------------------------------
fig = chart_spec(
    ch.profile_curves_chart,
    pred.curves,
    horizon=model.horizon_days,
    band=st.session_state[P + "band"],
    width=EXPORT_WIDTH,
)
show_chart(
    {**fig, "width": "container"},
    width="stretch",
    alt="Predicted survival curves of each profile with 95% bands; the values are in the "
    "table below.",
)
st.caption(model.method)

if mode == "published":  # the published coefficients are held fixed (no covariance published)
    st.markdown(
        "**Predicted survival [95% band: uncertainty of the baseline hazard only; the published "
        "hazard ratios are treated as known, so the true interval is wider]**"
    )
else:
    st.markdown("**Predicted survival [95% CI]**")
st.dataframe(format_survival_table(pred), key=P + "table")

st.markdown("**Relative hazard**")
ref_labels = {str(i): p.label for i, p in enumerate(profiles)}
ref_labels[REF_BASELINE] = "CRS, PS 0, SOFA 0"
st.selectbox("Reference", ref_options, format_func=ref_labels.get, key=P + "ref")
ref_key = st.session_state[P + "ref"]
if ref_key == REF_BASELINE:
    reference = make_profile(
        label="Reference",
        icu_reason="CRS",
        ecog_ps=0,
        sofa=0,
        extra={c: profiles[0].extra[c] for c in extra_cols},
    )
else:
    reference = profiles[int(ref_key)]
rh_table = relative_hazard_table(profiles, reference, model)
if len(rh_table):
    st.dataframe(rh_table, hide_index=True, key=P + "rh")
    st.caption(
        "Each factor is HR per unit ^ difference from the reference; their product is the "
        "relative hazard. "
        + (
            "Published mode: no CI (the paper did not publish the coefficients' covariances)."
            if mode == "published"
            else "Refit: 95% CI from the model's covariance matrix."
        )
    )
else:
    st.caption("Add a second profile (or choose the CRS / PS 0 / SOFA 0 reference) to compare.")

d1, d2, d3, d4 = st.columns(4)
csv_download("Table CSV", pred.table, "calculator_table.csv", key=P + "dl1", where=d1)
csv_download("Curves CSV", pred.curves, "calculator_curves.csv", key=P + "dl2", where=d2)
chart_download("PNG", fig, "calculator.png", key=P + "dl3", where=d3)
chart_download("SVG", fig, "calculator.svg", key=P + "dl4", where=d4)
st.caption(
    f"{model.n} patients, {model.events} deaths within {model.horizon_days:g} days in the active "
    f"cohort ({view.name}). Profiles are shared through the page link."
)
