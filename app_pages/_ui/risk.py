"""The calculator's absolute-risk section: sentence and icon array per profile, how each input
sits in the cohort, extrapolation warnings, and the model's scope card."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.render import chart_spec, md, show_chart
from core.charts import risk as ch
from core.study.calculator import PatientProfile, ProfilePrediction
from core.study.risk import absolute_risks, input_position, scope_card, support_warning


def risk_section(
    pred: ProfilePrediction, profiles: list[PatientProfile], cohort: pd.DataFrame, day: float
) -> None:
    """Of 100 patients like each profile, how many are alive at ``day`` (icons and words)."""
    risks = absolute_risks(pred, day)
    warnings = {p.label: support_warning(p, cohort) for p in profiles}
    for w in warnings.values():
        if w:
            st.warning(md(w))
    columns = st.columns(min(len(risks), 2)) if len(risks) > 1 else [st.container()]
    for i, (risk, profile) in enumerate(zip(risks, profiles, strict=True)):
        with columns[i % len(columns)]:
            extrapolated = warnings.get(profile.label) is not None
            st.markdown(md(risk.sentence(extrapolated)))
            show_chart(
                chart_spec(ch.icon_array, risk.icons(), f"{profile.label[:40]}: day {day:g}"),
                width="content",
                alt=f"Icon array: {risk.sentence(extrapolated)}",
            )
            st.caption(md(_positions(profile, cohort)))


def _positions(profile: PatientProfile, cohort: pd.DataFrame) -> str:
    parts = []
    for col, name, value in (
        ("ecog_ps", "ECOG PS", profile.ecog_ps),
        ("sofa", "SOFA", profile.sofa),
    ):
        if col in cohort.columns:
            parts.append(f"{name} {value}: {input_position(value, cohort[col])}")
    if "icu_reason" in cohort.columns:
        k = int((cohort["icu_reason"] == profile.icu_reason).sum())
        parts.append(f"{profile.icu_reason}: {k} patient(s) in the cohort")
    return "; ".join(parts) + "."


def scope_expander(cohort: pd.DataFrame, horizon: float | None) -> None:
    with st.expander("Scope of the model: intended use, population, what it has seen"):
        st.dataframe(scope_card(cohort, horizon), hide_index=True, key="calc_scope")
