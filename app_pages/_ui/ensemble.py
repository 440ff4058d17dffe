"""The reconstruction ensemble on the pages: the headline numbers' spread, read once from the
table the build stored (data/ensemble_headlines.csv; no member is recomputed at run time)."""

from __future__ import annotations

import pandas as pd
import streamlit as st


@st.cache_data(show_spinner=False)
def headline_spread() -> pd.DataFrame:
    """core.study.ensemble.robustness of the stored per-member headlines (indexed by key)."""
    from core.study.ensemble import robustness

    return robustness().set_index("key")


@st.cache_data(show_spinner=False)
def stepwise_spread() -> pd.DataFrame:
    from core.study.ensemble import stepwise_frequency

    return stepwise_frequency()


def across_text(spread: pd.DataFrame, keys: list[str], what: str, short: bool = False) -> str:
    """ "Across K reconstructions …: figure lo–hi; …" (empty when no key is in the table). A
    key ending in ``*`` stands for every key with that prefix, in the table's order. ``short``
    drops a label's prefix up to its colon ("Table 4 (by outcome) p: SOFA" -> "SOFA")."""
    parts = []
    wanted: list[str] = []
    for key in keys:
        if key.endswith("*"):
            wanted += [k for k in spread.index if str(k).startswith(key[:-1])]
        else:
            wanted.append(key)
    for key in wanted:
        if key in spread.index:
            r = spread.loc[key]
            label = str(r["Figure"])
            if short and ": " in label:
                label = label.split(": ", 1)[1]
            parts.append(f"{label} {r['2.5%']:.3g}–{r['97.5%']:.3g}")
    if not parts:
        return ""
    n = int(spread["Members"].max())
    return (
        f"Across {n} reconstructions of the same published aggregates ({what}; 2.5–97.5% "
        f"range): {'; '.join(parts)}. See Reproduction."
    )


def across_note(view, keys: list[str], what: str, short: bool = False) -> None:
    """The one-line note for a page's main numbers, on the whole reconstructed cohort only (a
    filter or an upload is not what the ensemble reproduces). One st.caption line; its text
    is built from the core's labels and numbers only, never from user input."""
    if not view.reconstructed or not view.cohort_filter.is_empty:
        return
    try:
        spread = headline_spread()
    except FileNotFoundError:
        return
    text = across_text(spread, keys, what, short)
    if text:
        st.caption(text)
