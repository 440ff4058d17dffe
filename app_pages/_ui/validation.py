"""Pieces of the validation page: plain-language explanations, the sample-size caveat, the
case mix beside the paper's cohort and the TRIPOD+AI report card."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.render import chart_spec, csv_download, show_chart
from core.charts import validation as ch
from core.study.model import paper_model
from core.study.validation import (
    BASELINES,
    MIN_EVENTS,
    SMD_FLAG,
    Validation,
    case_mix,
    reference_lp,
)

EXPLAIN = {
    "baseline": "The published model gives hazard ratios only; risks need a baseline survival. "
    "'The paper's' applies the reconstruction's (what a user of the paper would do); "
    "'re-estimated' fits it to your cohort with the published HRs fixed (first updating step); "
    "'with the slope' also shrinks the HRs by your cohort's calibration slope (second step).",
    "c_harrell": "Of two patients, the one who died first had the higher predicted risk in this "
    "share of usable pairs (0.5 = chance, 1 = perfect). R: concordance(Surv ~ lp).",
    "c_uno": "Harrell's C weighted for censoring (R timewt = 'n/G2') and limited to deaths by "
    "the horizon: less dependent on how long patients were followed.",
    "auc": "Deaths by the horizon against patients alive after it, censoring-weighted "
    "(cumulative/dynamic AUC, scikit-survival's estimator); 95% interval from 200 bootstrap "
    "samples.",
    "oe": "Deaths observed by the horizon (Kaplan-Meier) divided by deaths the model expected. "
    "1 = right on average; 1.3 = the model under-predicts by 30%.",
    "slope": "The coefficient of the model's linear predictor in a Cox model of your outcomes. "
    "1 = the published HRs fit; 0.6 = their spread is too wide for your patients (predictions "
    "too extreme: high risks too high, low risks too low).",
    "ici": "Integrated calibration index: the mean absolute gap between predicted risk and the "
    "smoothed observed risk (Austin et al. 2020); E50 / E90 its median and 90th percentile.",
    "discrimination_sentence": "A C of {c:.2f} means that of two patients the model ranks the "
    "one who dies first as higher risk about {c:.0%} of the time.",
    "calibration_sentence": "Observed risk of death by day {h:g}: {o:.0%}; the model expected "
    "{e:.0%} on average. A slope of {s:.2f}: the published hazard ratios would be multiplied "
    "by about this power to fit this cohort.",
    "decision_sentence": "Net benefit of acting on the model's predicted risk of death by day "
    "{h:g} at each threshold (deaths correctly flagged minus needless flags, weighted by the "
    "threshold's odds), beside flagging everybody and nobody. The model helps where its line "
    "is above both.",
}


def sample_size_caveat(res: Validation) -> None:
    """Said before any number: too few events make a calibration judgement unreliable."""
    if res.too_few_events:
        st.warning(
            f"**{res.events} deaths by day {res.horizon:g}** among {res.n} patients: fewer than "
            f"{MIN_EVENTS} events, so every estimate below is too uncertain to judge calibration "
            "firmly (Riley et al. BMJ 2024; Collins et al. Stat Med 2016). Read the intervals, "
            "not the point values.",
            icon="⚠️",
        )
    else:
        st.success(f"{res.events} deaths by day {res.horizon:g} among {res.n} patients.")


@st.cache_data(show_spinner=False, max_entries=16)
def _case_mix(cohort_key: str, _df: pd.DataFrame) -> pd.DataFrame:
    return case_mix(_df)


def case_mix_section(view, res: Validation) -> None:
    st.subheader("Case mix: your cohort beside Saint-Louis")
    # once per cohort and filter (view.key), not on every rerun (6% of server time under load)
    cm = _case_mix(view.key, view.df) if view.key else case_mix(view.df)
    ref = reference_lp()
    lp_chart = chart_spec(ch.lp_density, res.patients["lp"].to_numpy(), ref, view.name[:40])
    show_chart(
        lp_chart,
        width="stretch",
        alt="Distribution of the published model's linear predictor in the active cohort and "
        "in the reconstruction.",
    )
    lp = res.patients["lp"]
    st.caption(
        f"Linear predictor: mean {lp.mean():.2f} (SD {lp.std():.2f}) here, "
        f"{ref.mean():.2f} (SD {ref.std():.2f}) in the reconstruction of the paper's cohort. "
        "A wider spread makes discrimination easier; a shift moves the average risk."
    )
    if cm.empty:
        st.caption("No Table 1 variable of the paper holds values in this cohort.")
        return
    n_flag = int(cm["flag"].sum())
    st.caption(
        f"{len(cm)} published figures compared; {n_flag} differ (|SMD| > {SMD_FLAG} or a median "
        "outside the published IQR, marked ⚑). SMD of a median: both sides taken as mean ≈ "
        "median and SD ≈ IQR / 1.35, an approximation (the paper gives no means)."
    )
    shown = cm.assign(**{"": cm["flag"].map({True: "⚑", False: ""})})
    shown = shown[["", "variable", "level", "yours", "published", "smd"]].rename(
        columns={"variable": "Characteristic", "level": "Level", "yours": "Your cohort",
                 "published": "Saint-Louis (paper)", "smd": "SMD"}
    )  # fmt: skip
    st.dataframe(
        shown,
        hide_index=True,
        key="val_casemix",
        column_config={"SMD": st.column_config.NumberColumn(format="%+.2f")},
    )
    csv_download("Case mix (CSV)", cm, "case_mix.csv", key="val_dl_casemix")


def report_card_table(view, res: Validation) -> pd.DataFrame:
    """The TRIPOD+AI external-validation items this page fills, one row each."""
    pub = paper_model()
    missing = ", ".join(f"{k}: {v}" for k, v in res.excluded.items()) or "none"
    rows = [
        ("Data source (item 5)", "Reconstructed cohort (apparent performance)"
         if view.reconstructed else f"Upload: {view.name}"),
        *((f"Model term (item 12): {t.label}", f"published HR {t.hr:g} ({t.lower:g}–{t.upper:g})")
          for t in pub.terms),
        ("Outcome and horizon (item 6)", f"Death by day {res.horizon:g}"),
        ("Participants (item 20a)", f"{res.n} analysed"),
        ("Events (item 20a)", f"{res.events} deaths by day {res.horizon:g}"),
        ("Follow-up (item 20a)", f"median {res.follow_up_median:g} days (reverse Kaplan-Meier)"),
        ("Missing predictors (item 9/20b)", f"excluded, not imputed — {missing}"),
        ("Baseline survival (item 12)", BASELINES[res.baseline]),
        ("Harrell's C (item 23a)", res.c_harrell.text(3)),
        (f"Uno's C by day {res.horizon:g}", res.c_uno.text(3)),
        (f"Time-dependent AUC at day {res.horizon:g}", res.auc.text(3)),
        ("Observed / expected (item 23a)", res.oe.text(2)),
        ("Calibration slope (item 23a)", res.slope.text(2)),
        ("ICI / E50 / E90", f"{res.ici:.3f} / {res.e50:.3f} / {res.e90:.3f}"),
        ("Sample size caveat (item 10)", f"fewer than {MIN_EVENTS} events: too uncertain to "
         "judge calibration" if res.too_few_events else f"at least {MIN_EVENTS} events"),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["Item", "Value"])


def report_card(view, res: Validation) -> None:
    st.subheader("Report card (TRIPOD+AI, external validation)")
    card = report_card_table(view, res)
    st.dataframe(card, hide_index=True, key="val_card")
    csv_download("Report card (CSV)", card, "validation_report_card.csv", key="val_dl_card")
    st.caption("Every value is computed from the active cohort on this page.")
