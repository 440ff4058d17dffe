"""Cached pieces of the reproduction page (importable, so the background warm-up can fill
them for the shipped cohort before the first visit)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.study.reproduction import reproduce


@st.cache_data(show_spinner=False)
def ensemble_size() -> int:
    from core.study.ensemble import load_ensemble

    return int(load_ensemble()["reconstruction"].nunique())


@st.cache_data(show_spinner="Recomputing every figure…", max_entries=16)
def reproduced(fingerprint: str, _df: pd.DataFrame) -> pd.DataFrame:
    """Every published figure beside its recomputed value; ``fingerprint`` (the active
    cohort's key: cohort and filter) names the rows, so the frame is not hashed per run."""
    return reproduce(_df)
