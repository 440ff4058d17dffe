"""Overview: what the study is, the cohort badge and headline numbers computed live."""

import pandas as pd
import streamlit as st

from app_pages._ui.cohort import cohort_sidebar, page_header, require_columns
from app_pages._ui.render import static_table
from core.stats.survival import kaplan_meier, survival_at
from core.study.published import DAYS_PER_MONTH, load_published

pub = load_published()
page_header(
    "CAR-T cell recipients in the ICU",
    "Explore a single-centre study of consecutive CAR-T cell recipients admitted to the ICU "
    f"({pub['meta']['setting']}). The paper publishes aggregates only: the app ships a cohort "
    "**reconstructed** to match the published tables, survival medians and hazard ratios "
    "within stated tolerances (not all exactly: the paper's own figures conflict in places) — "
    "see *Reproduction* for the figure-by-figure check, with every miss and its reason.",
)
view = cohort_sidebar()
df = view.df
if not view.reconstructed:
    st.info(
        "Your uploaded cohort is active: the numbers below are computed from it, "
        "not from the study. *Your data* → *Clear my data* returns to the reconstructed cohort."
    )

if require_columns(view, ["os_days", "os_event"], "The overview"):
    km = kaplan_meier(df, "os_days", "os_event").medians.iloc[0]
    deaths_1y = int(((df["os_event"] == 1) & (df["os_days"] <= 365)).sum())
    at_1y = survival_at(df, "os_days", "os_event", [365]).iloc[0]
    cols = st.columns(4)
    cols[0].metric("Patients", f"{view.n}", help="Patients passing the sidebar filter")
    if "age" in df:
        cols[1].metric("Median age (years)", f"{df['age'].median():.0f}")
    cols[2].metric(
        "Died within 1 year",
        f"{deaths_1y} ({100 * deaths_1y / view.n:.0f}%)",
        help=(
            "Crude count (os_event = 1 and os_days ≤ 365), the paper's Table 4 grouping. "
            f"Kaplan–Meier 1-year mortality, which accounts for censoring: "
            f"{100 * (1 - at_1y['survival']):.0f}% "
            f"(95% CI {100 * (1 - at_1y['upper']):.0f}–{100 * (1 - at_1y['lower']):.0f}%)."
        ),
    )
    median = km["median"] / DAYS_PER_MONTH
    cols[3].metric(
        "Median overall survival",
        "not reached" if pd.isna(median) else f"{median:.1f} months",
        help="Kaplan–Meier median (R survfit); months = days / 30.4375",
    )
    if "icu_reason" in df:
        st.header("Reason for ICU admission")
        counts = df["icu_reason"].value_counts().rename_axis("Reason").reset_index(name="Patients")
        counts["%"] = (100 * counts["Patients"] / view.n).map("{:.1f}".format)  # "46.5"
        # a static table: the cold start's page loads no data-grid component (and 4 rows need
        # no sorting or scrolling)
        static_table(counts)

st.header("What you can do here")
st.markdown(
    "- **Reproduction** — every published figure beside the value recomputed from the cohort.\n"
    "- **Compare groups** — the paper's Tables 1, 3 and 4 for any grouping, "
    "with R-identical tests.\n"
    "- **Survival curves** — Kaplan–Meier OS/PFS by any grouping (Figures 2 and 3).\n"
    "- **Cox model** and **Hazard calculator** — the paper's prognostic model, "
    "refitted or as published.\n"
    "- **Your data** — load your own cohort; it stays in your browser session only."
)
st.caption(
    "For teaching and research only — not for clinical decisions."
    + (
        " The reconstructed patients are synthetic: they reproduce published aggregates, "
        "not any real patient."
        if view.reconstructed
        else ""
    )
)
