"""Reproduction: every published figure beside the value recomputed from the active cohort."""

import pandas as pd
import streamlit as st

from app_pages._ui.cohort import cohort_sidebar, page_header
from app_pages._ui.ensemble import headline_spread, stepwise_spread
from app_pages._ui.render import static_table
from app_pages._ui.reproduction import ensemble_size, reproduced
from core.study.ensemble import stored_summary
from core.study.published import load_published
from core.study.reproduction import CLOSE, MISS, OK, conflicts, summary_counts

HR_TOL = float(load_published()["cox"]["hr_tolerance_relative"])  # the target, not a result
page_header(
    "Reproduction of the published figures",
    "Each number printed in the paper (Tables 1–4, survival medians, Cox hazard ratios, "
    "counts stated in the text) beside the value **recomputed live** from the active cohort. "
    f"{OK} within the printed rounding (counts exact) · {CLOSE} within the stated target "
    "(p-value on the same side of 0.05, median within one month, HR inside the published CI "
    f"and within ±{HR_TOL:.0%}) · {MISS} outside, explained in *Conflicts* "
    "when the paper contradicts itself.",
)
view = cohort_sidebar()
if not view.cohort_filter.is_empty or not view.reconstructed:
    st.warning(
        "The published figures describe the full cohort of 71 patients; the active cohort is "
        "filtered or uploaded, so differences are expected."
    )

result = reproduced(view.key, view.df)
counts = summary_counts(result)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Figures checked", len(result))
c2.metric(f"{OK} within rounding", counts[OK])
c3.metric(f"{CLOSE} within target", counts[CLOSE])
c4.metric(f"{MISS} outside", counts[MISS])

sections = list(dict.fromkeys(result["section"]))
f1, f2 = st.columns([2, 1])
chosen = f1.multiselect("Sections", sections, default=[], placeholder="All sections")
status = f2.multiselect("Status", [OK, CLOSE, MISS], default=[], placeholder="Any status")
shown = result
if chosen:
    shown = shown[shown["section"].isin(chosen)]
if status:
    shown = shown[shown["status"].isin(status)]

WHERE = {"overall": "Tables 1–2", "icu_reason": "Table 3", "outcome_1y": "Table 4",
         "survival": "Text", "cox": "Cox model"}  # fmt: skip
table = shown.assign(
    level=shown["level"].map(lambda v: "" if v is None or pd.isna(v) else str(v)),
    where=shown["grouping"].map(WHERE).fillna(""),
)[
    ["status", "where", "label", "group", "level", "statistic", "published", "recomputed",
     "difference", "conflict", "test", "section", "source"]
]  # fmt: skip
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    height=520,
    column_config={
        "status": st.column_config.TextColumn("Status", width="small"),
        "where": st.column_config.TextColumn("Where", width="small"),
        "label": st.column_config.TextColumn("Figure", width="large"),
        "published": st.column_config.NumberColumn("Published", format="%.4g"),
        "recomputed": st.column_config.NumberColumn("Recomputed", format="%.4g"),
        "difference": st.column_config.NumberColumn("Difference", format="%.3g"),
        "conflict": st.column_config.TextColumn("Conflict", help="See the conflicts below"),
        "statistic": st.column_config.TextColumn("Statistic"),
    },
)
st.download_button(
    "Download the comparison (CSV)",
    table.to_csv(index=False).encode("utf-8"),
    file_name="reproduction.csv",
    mime="text/csv",
)

st.header("Conflicts in the paper and how the reconstruction resolves them")
for conflict in conflicts().itertuples():
    with st.expander(f"({conflict.id}) {conflict.what[:90]}…", expanded=False):
        st.markdown(f"**What the paper says.** {conflict.what}")
        st.markdown(f"**Resolution.** {conflict.resolution}")

st.header("Which conclusions survive any reconstruction")
try:
    K = ensemble_size()
    st.metric("Reconstructions in the ensemble", K)
    st.markdown(
        "The shipped cohort is one of very many sets of 71 patients that fit the published "
        "figures. The same reconstruction was run with other seeds; those that converged and "
        "meet the same fidelity targets as the shipped cohort form the ensemble (the shipped "
        "cohort is reconstruction 1). Each of the paper's conclusions is tested again on every "
        "one of them. A conclusion that holds in every reconstruction does not depend on how "
        "the gaps in the published aggregates were filled; one that holds in some only is an "
        "artefact of that choice and should not be taught from a single reconstruction."
    )
    static_table(stored_summary())  # wraps: every column readable at 1280 px
    st.caption(
        "Every reconstruction reproduces the published aggregates (Table 1–4 counts, medians, "
        "Kaplan-Meier medians, the three hazard ratios); the estimates were computed on each "
        "by the app's own functions when the ensemble was built (data/ensemble.parquet, "
        "data/ensemble_results.csv; rebuilt with `python -m core.study.ensemble`)."
    )

    st.subheader("How much the headline numbers move between reconstructions")
    spread = headline_spread().reset_index(drop=True)
    st.dataframe(
        spread,
        hide_index=True,
        key="rep_robustness",
        column_config={
            c: st.column_config.NumberColumn(format="%.3g")
            for c in ("Shipped cohort", "Median over reconstructions", "2.5%", "97.5%")
        },
    )
    st.caption(
        "Each number on the shipped cohort (reconstruction 1) and its median and 2.5–97.5% "
        "range over all the reconstructions, from the per-reconstruction values stored at build "
        "time (data/ensemble_headlines.csv). The calculator rows are the hazard calculator's "
        "1-year survival for three reference patients, with the paper's coefficients "
        "(published) or a model refitted on each reconstruction (refit). A 1-year survival is "
        "left out for a reconstruction whose group has no patient followed to day 365 "
        "(Members counts the rest). Reconstructed from published aggregates — not patient data."
    )
    st.subheader("Which covariates stepwise selection keeps")
    st.dataframe(stepwise_spread(), hide_index=True, key="rep_stepwise")
    st.caption(
        "The paper's stepwise selection (its candidates, entry and removal p-values) run on "
        "every reconstruction: how often it keeps each set of covariates and each covariate, "
        "out of all the reconstructions."
    )
except FileNotFoundError as exc:
    st.info(f"The reconstruction ensemble is not available: {exc}")
