"""Validate the published model on the active cohort (an upload; on the reconstruction it is
apparent performance).

View state (ValidationView: horizon, baseline; URL keys ``val_*``) -> active cohort ->
core.study.validation.validate -> core.charts.validation charts and the report card.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.cohort import cohort_sidebar, page_header
from app_pages._ui.render import chart_spec, csv_download, md, show_chart
from app_pages._ui.validation import (
    EXPLAIN,
    case_mix_section,
    report_card,
    sample_size_caveat,
)
from app_pages._ui.views.validation import VALIDATION as VIEW
from core.charts import validation as ch
from core.study.validation import BASELINES, Validation, ValidationError, validate


@st.cache_data(show_spinner="Validating the published model…", max_entries=16)
def _validate(cohort_key: str, horizon: int, baseline: str, _df: pd.DataFrame) -> Validation:
    return validate(_df, horizon=float(horizon), baseline=baseline)


page_header(
    "Validate the published model",
    "Does the Saint-Louis model (reason for ICU admission, ECOG PS, SOFA; published hazard "
    "ratios, never refitted) hold in your cohort? Discrimination, calibration and clinical "
    "utility at a horizon, as an external validation reports them (TRIPOD+AI).",
)
view = cohort_sidebar()
if view.reconstructed:
    st.warning(
        "This is the reconstructed cohort the model's figures were rebuilt from: what follows "
        "is **apparent performance** (the model judged on data shaped after its own "
        "development cohort), optimistic by construction. Upload your own cohort on *Your "
        "data* for an external validation."
    )
c1, c2 = st.columns([1, 2])
c1.number_input("Horizon (days)", step=30, **VIEW.bounds("horizon"), **VIEW.widget("horizon"))
c2.radio(
    "Baseline survival",
    list(BASELINES),
    horizontal=True,
    help=EXPLAIN["baseline"],
    **VIEW.widget("baseline", BASELINES),
)
state = VIEW.current()
try:
    res = _validate(view.key, state.horizon, state.baseline, view.df)
except ValidationError as exc:
    st.info(md(f"The published model cannot be validated on this cohort: {exc}."))
    st.stop()

sample_size_caveat(res)
if res.excluded:
    parts = ", ".join(f"{k} missing in {v}" for k, v in res.excluded.items())
    st.info(md(f"Excluded (never imputed): {parts} patient(s). {res.n} patients remain."))
for note in res.notes:
    st.caption(md(f"Note: {note}."))

st.subheader("Discrimination")
m = st.columns(3)
m[0].metric("Harrell's C (95% CI)", res.c_harrell.text(), help=EXPLAIN["c_harrell"])
m[1].metric(f"Uno's C by day {res.horizon:g}", res.c_uno.text(), help=EXPLAIN["c_uno"])
m[2].metric(f"AUC at day {res.horizon:g}", res.auc.text(), help=EXPLAIN["auc"])
st.caption(EXPLAIN["discrimination_sentence"].format(c=res.c_harrell.est))

st.subheader("Calibration")
# two a row: four columns cut "0.95 (0.70–1.29)" to "0.95 (0.70…" at 1280 px
m = [*st.columns(2), *st.columns(2)]
m[0].metric("Observed / expected", res.oe.text(), help=EXPLAIN["oe"])
m[1].metric("Calibration slope", res.slope.text(), help=EXPLAIN["slope"])
m[2].metric("ICI", f"{res.ici:.3f}" if res.ici == res.ici else "–", help=EXPLAIN["ici"])
m[3].metric("E50 / E90", f"{res.e50:.3f} / {res.e90:.3f}" if res.ici == res.ici else "–")
st.caption(
    EXPLAIN["calibration_sentence"].format(
        o=res.observed_risk.est, e=res.expected_risk, h=res.horizon, s=res.slope.est
    )
    + f" Baseline survival: {BASELINES[state.baseline]}."
)
g1, g2 = st.columns(2)  # the table's four columns fit beside the plot unclipped
with g1:
    show_chart(
        chart_spec(ch.calibration_plot, res.calibration, res.smooth, res.horizon,
                   width="container"),
        width="stretch",
        alt="Observed against predicted risk by group with 95% intervals, a smoothed curve "
        "and the identity line; the values are in the table beside.",
    )  # fmt: skip
with g2:
    cal = res.calibration
    observed = zip(cal["observed"], cal["obs_lower"], cal["obs_upper"], strict=True)
    counts = zip(cal["events"], cal["n"], strict=True)
    table = pd.DataFrame({
        "Group": cal["group"],
        "Deaths / patients": [f"{d:g} / {n:g}" for d, n in counts],
        "Predicted": cal["predicted"].map("{:.1%}".format),
        "Observed (95% CI)": [f"{o:.1%} ({lo:.0%}–{hi:.0%})" for o, lo, hi in observed],
    })  # fmt: skip
    st.dataframe(table, hide_index=True, key="val_cal")
    csv_download("Calibration table (CSV)", res.calibration, "calibration.csv", key="val_dl_cal")

st.subheader("Clinical utility: decision curve")
show_chart(
    chart_spec(ch.decision_curve, res.net_benefit, width="container"),
    width="stretch",
    alt="Net benefit of the published model, of treating all and of treating none across "
    "risk thresholds from 5% to 60%.",
)
st.caption(EXPLAIN["decision_sentence"].format(h=res.horizon))
csv_download("Net benefit by threshold (CSV)", res.net_benefit, "net_benefit.csv",
             key="val_dl_nb")  # fmt: skip

case_mix_section(view, res)
report_card(view, res)
