"""The reconstruction ensemble on the pages: the headline numbers' spread, computed once."""

from __future__ import annotations

import pandas as pd
import streamlit as st


@st.cache_data(show_spinner="Recomputing the headline numbers on every reconstruction…")
def headline_spread() -> pd.DataFrame:
    """core.study.ensemble.robustness on the shipped cohort and every member (indexed by key)."""
    from core.cohort.db import read_cohort_csv
    from core.study.ensemble import load_ensemble, robustness

    return robustness(read_cohort_csv(), load_ensemble()).set_index("key")


def across_note(view, keys: list[str], what: str) -> None:
    """ "Across N reconstructions: …" for a page's main numbers, on the whole reconstructed
    cohort only (a filter or an upload is not what the ensemble reproduces)."""
    if not view.reconstructed or not view.cohort_filter.is_empty:
        return
    try:
        spread = headline_spread()
    except FileNotFoundError:
        return
    parts = []
    for key in keys:
        if key in spread.index:
            r = spread.loc[key]
            parts.append(f"{r['Figure']} {r['2.5%']:.3g}–{r['97.5%']:.3g}")
    if parts:
        n = int(spread["Members"].max())
        st.caption(
            f"Across {n} reconstructions of the same published aggregates ({what}; 2.5–97.5% "
            f"range): {'; '.join(parts)}. See Reproduction."
        )
