"""The calculator's absolute-risk section: sentence and icon array per profile, how each input
sits in the cohort (words and a badge), extrapolation warnings, the factors of the relative
hazard, the model's scope card and the printable one-page summary per profile."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.active import STAMP_KEY
from app_pages._ui.render import chart_spec, md, show_chart
from core.charts import risk as ch
from core.study.calculator import (
    CalculatorModel,
    PatientProfile,
    ProfilePrediction,
    baseline_profile,
    describe_profile,
)
from core.study.risk import (
    IQR,
    OUTSIDE,
    PLACE_WORDS,
    RANGE,
    UNSEEN,
    absolute_risks,
    factor_table,
    input_place,
    input_position,
    scope_card,
    support_warning,
)
from core.tables.calculator import relative_hazard_table

# where an input lies in the cohort: badge colour and icon (the word says it without colour)
_BADGE = {
    IQR: ("green", ":material/check_circle:"),
    RANGE: ("orange", ":material/info:"),
    OUTSIDE: ("red", ":material/warning:"),
    UNSEEN: ("gray", ":material/help:"),
}


def input_badge(value: float, cohort: pd.DataFrame, column: str) -> None:
    """A badge under a numeric input: typical (inside the IQR), less common (inside the
    range), outside the data, by :func:`core.study.risk.input_place` on the active cohort; the
    word fits four columns, the quartiles and range are in its tooltip."""
    place = input_place(value, cohort[column] if column in cohort.columns else pd.Series([]))
    color, icon = _BADGE[place.band]
    st.badge(
        PLACE_WORDS[place.band], icon=icon, color=color,
        help=f"{value:g}: {place.text} in the active cohort.",
    )  # fmt: skip


def risk_section(
    pred: ProfilePrediction, profiles: list[PatientProfile], cohort: pd.DataFrame, day: float
) -> None:
    """Of 100 patients like each profile, how many are alive at ``day`` (icons and words)."""
    risks = absolute_risks(pred, day)
    warnings = {p.label: support_warning(p, cohort) for p in profiles}
    for w in warnings.values():
        if w:
            st.warning(md(w))
    # rows of two (a phone stacks them in reading order: 1, 2, 3, 4)
    width = min(len(risks), 2)
    cells = [c for i in range(0, len(risks), width) for c in st.columns(width)]
    for risk, profile, cell in zip(risks, profiles, cells, strict=False):
        with cell:
            extrapolated = warnings.get(profile.label) is not None
            st.markdown(md(risk.sentence(extrapolated)))
            show_chart(
                chart_spec(ch.icon_array, risk.icons(), profile.label, subtitle=f"day {day:g}"),
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


def scope_expander(cohort: pd.DataFrame, model: CalculatorModel) -> None:
    """The model card: intended use, population, discrimination (C with its 95% CI)."""
    with st.expander("Scope of the model: intended use, population, what it has seen"):
        st.dataframe(scope_card(cohort, model.horizon_days, model), hide_index=True,
                     key="calc_scope")  # fmt: skip


def relative_hazards(profiles, reference: PatientProfile, model: CalculatorModel) -> None:
    """Hazard ratio of each profile vs the reference, factor by factor."""
    table = relative_hazard_table(profiles, reference, model)
    if not len(table):
        zero = describe_profile(baseline_profile()).replace(", ", " / ")
        st.caption(f"Add a second profile (or choose the {zero} reference) to compare.")
        return
    st.dataframe(table, hide_index=True, key="calc_rh")
    factors = pd.concat(
        [factor_table(p, reference, model) for p in profiles if p is not reference],
        ignore_index=True,
    )
    if len(factors):
        show_chart(
            chart_spec(ch.factor_chart, factors, reference.label, width="container"),
            width="stretch",
            alt="What drives each profile's hazard: one factor per term with its 95% interval; "
            "the values are in the table above.",
        )
    st.caption(
        "Each factor is HR per unit ^ difference from the reference; their product is the "
        "relative hazard. "
        + (
            "Published mode: the HRs as printed (two decimals) raised to the power of the "
            "difference; intervals from the published 95% CIs without covariances "
            "(an approximation)."
            if model.mode == "published"
            else "Refit: 95% CI from the model's covariance matrix."
        )
    )


def summary_download(pred, profiles, cohort: pd.DataFrame, day: float, reference) -> None:
    """One HTML file, one A4 page per profile (made on click; print it from the browser)."""
    from core.report.profile_summary import profile_summary_html

    stamp = st.session_state.get(STAMP_KEY) or "the active cohort"
    st.download_button(
        "Printable summary (HTML, one page per profile)",
        lambda: profile_summary_html(pred, profiles, cohort, day, reference, data_statement=stamp),
        "calculator_summary.html",
        "text/html",
        key="calc_dl_summary",
        on_click="ignore",
        help="Inputs, risk in words and icons, factors vs the reference, the model's scope "
        "and data; open it and print (A4), one page per profile.",
    )
