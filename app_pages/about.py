"""About the data: the study, the reconstructed cohort, limitations, licence and citation."""

from __future__ import annotations

import tomllib
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from app_pages._ui.cohort import cohort_sidebar, page_header
from core.cohort.schema import dictionary_table
from core.cohort.variables import DERIVED_INDICATORS
from core.study.published import load_published

ROOT = Path(__file__).resolve().parent.parent


@st.cache_data(show_spinner=False)
def _project() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)["project"]


pub = load_published()
meta = pub["meta"]
project = _project()
licence = project.get("license", {}).get("text", "see the repository")

page_header("About the data")
view = cohort_sidebar()  # keeps the shared filter (and the cohort badge) consistent

st.warning(
    "**For teaching and research, not for clinical decisions.** "
    + (
        "The app's own cohort is synthetic: it reproduces the paper's published aggregates, "
        "not any real patient."
        if view.reconstructed
        else "The active cohort is your uploaded file (this browser session only); the app's "
        "own cohort, used when no file is loaded, is synthetic: it reproduces the paper's "
        "published aggregates, not any real patient."
    ),
    icon=":material/school:",
)

st.header("The study")
st.markdown(
    f"**{meta['title']}.** {meta['setting'][0].upper()}{meta['setting'][1:]}. "
    f"{meta['n']} patients; retrospective, single-centre; statistics with {meta['software']}."
)
st.markdown(
    "The published article reports aggregates only: patient characteristics (Tables 1–4), "
    "median survival, and a multivariable Cox model of 1-year mortality. The copy of the "
    "paper used to build this app does not include the author list, journal or DOI: **cite "
    "the original article** from its publisher's page for any of its findings."
)

st.header("How the cohort was reconstructed")
st.markdown(
    f"""
Because no patient-level data are published, the app ships **{meta["n"]} synthetic
patients** generated reproducibly (fixed seed, `python -m core.study.reconstruct`) so that the
published figures are matched:

1. **Cells.** Tables 3 and 4 fix how many patients of each reason for ICU admission survived
   one year.
2. **Categorical columns — integer programming.** Every published count (overall, per reason,
   per 1-year outcome) is an equality constraint; clinical logic (products by licensed
   indication, treatments that go together, deaths in hospital among 1-year decedents…) adds
   linear constraints. A seeded random cost picks one of the many feasible tables.
3. **Continuous columns — constrained search.** Values start from the published quartiles of
   each subgroup; a seeded search moves them until every published median and IQR is inside
   its printed rounding and every published p-value is on the same side of 0.05.
4. **Survival times — constrained search** until the Kaplan–Meier medians of overall and
   progression-free survival, the follow-up quartiles and the three Cox hazard ratios are
   within their targets.

The paper contradicts itself in {len(pub["conflicts"])} places (e.g. the number of deaths);
each conflict and how it was resolved is listed on the *Reproduction* page, beside every
published figure and its recomputed value.
"""
)
try:
    st.page_link(
        "app_pages/reproduction.py",
        label="Figure-by-figure check (Reproduction)",
        icon=":material/fact_check:",
    )
except StreamlitPageNotFoundError:  # page run on its own (AppTest, no st.navigation)
    st.markdown("[Figure-by-figure check (Reproduction)](reproduction)")

st.header("What this means")
st.markdown(
    """
- **Reproduced:** the published counts, percentages, medians and quartiles, the side of
  0.05 of each p-value, the survival medians and the Cox hazard ratios (within the targets
  shown on the *Reproduction* page).
- **Not meaningful:** any association the paper does not report (for example between two
  laboratory values, or a subgroup the paper never described). The reconstruction chose one
  of many cohorts compatible with the aggregates; another would give different answers.
- **Individual rows are not patients.** No row describes a real person, so nothing here is
  personal data.
"""
)

st.header("Limitations")
n_dp = pub["groupings"]["icu_reason"]["levels"][DERIVED_INDICATORS["reason_dp"][1]]
n_deaths = pub["survival"]["deaths_within_1y"]["value"]
st.markdown(
    f"""
- **The study:** single centre, with its own early-admission policy; {meta["n"]} patients
  and {n_deaths} deaths within a year, so estimates are imprecise (wide confidence intervals,
  especially for the {n_dp} patients admitted for disease progression); patients selected for
  CAR-T therapy; the four reasons for admission were defined by the authors; only bacterial
  infections were studied.
- **The app:** the cohort is reconstructed, not observed; statistics match R's
  implementations, but filtering a {meta["n"]}-patient cohort quickly leaves too few patients
  for any test; the hazard calculator illustrates the published model and is not validated
  for prediction.
"""
)

st.header("Licence")
st.markdown(
    f"The app's source code is open source under the **{licence} licence**. The published "
    "figures it reproduces belong to the original article."
)

st.header("How to cite")
name = "CAR-T ICU prognosis explorer"
st.markdown(
    f"Cite the original study for its findings, and this app as: *{name} (reconstructed "
    f"cohort), version {project['version']}.* {licence} licence."
)
st.code(
    "@software{cart_icu_explorer,\n"
    f"  title   = {{{name}}},\n"
    f"  version = {{{project['version']}}},\n"
    f"  license = {{{licence}}},\n"
    "  note    = {Synthetic cohort reconstructed from published aggregates; "
    "not patient data}\n"
    "}",
    language="bibtex",
    wrap_lines=True,  # no horizontal scroll region (keyboard users could not scroll it)
)

st.header("Data dictionary")
dictionary = dictionary_table()
with st.expander(f"{len(dictionary)} columns of the cohort: label, unit, type, source"):
    st.dataframe(
        dictionary,
        hide_index=True,
        width="stretch",
    )
