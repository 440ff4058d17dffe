"""The tests under the Survival page's curves: log-rank (with a permutation p for small
groups), the trend test for ordered groups, pairwise log-rank and univariable hazard ratios,
each computed once per set of rows."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.keys import content_key
from app_pages._ui.render import md
from app_pages._ui.state import PageState
from core.cohort.variables import level_text
from core.stats.logrank import (
    TREND_SCORES,
    logrank,
    logrank_permutation,
    logrank_trend,
    pairwise_logrank,
    univariable_hr,
)
from core.tables.format import p_phrase
from core.tables.survival import format_chi2_test, format_hazard_ratios, format_pairwise


def rows_key(data: pd.DataFrame, columns: list[str]) -> str:
    """The identity of these columns' values (:func:`content_key`): a cache key that changes
    with the grouping, a threshold, a merge or horizon censoring."""
    return content_key(data[columns])


@st.cache_data(show_spinner="Permutation log-rank (2,000 relabellings)…", max_entries=64)
def _permutation_p(key: str, duration: str, event: str, gcol: str, _data) -> float:
    # 2,000 log-rank statistics (~2 s): run once per set of rows, not on every widget change
    return logrank_permutation(_data, duration, event, gcol)


@st.cache_data(show_spinner=False, max_entries=64)
def _tests(key: str, duration: str, event: str, gcol: str, levels: tuple, _data) -> tuple:
    """Log-rank, Holm-adjusted pairwise log-rank (3 groups or more) and univariable hazard
    ratios, once per set of rows (``key``), not on every widget change."""
    lr = logrank(_data, duration, event, gcol)
    pw = pairwise_logrank(_data, duration, event, gcol, adjust="holm") if len(levels) > 2 else None
    hr = univariable_hr(_data, duration, event, gcol, reference=levels[0])
    return lr, pw, hr


@st.cache_data(show_spinner=False, max_entries=64)
def _trend(key: str, duration: str, event: str, gcol: str, kind: str, _data):
    return logrank_trend(_data, duration, event, gcol, scores=kind)


def km_tests(
    view: PageState,
    data: pd.DataFrame,
    duration: str,
    event: str,
    gcol: str | None,
    levels: tuple,
    ordered: bool,
    label: str,
) -> None:
    """Log-rank (and trend, pairwise, hazard ratios) for the groups shown."""
    if gcol is None:
        return
    if len(levels) < 2:
        st.info("Only one group is present: no comparison.")
        return
    key = rows_key(data, [duration, event, gcol])
    lr, pw, hr = _tests(key, duration, event, gcol, tuple(levels), data)
    st.markdown(f"**Log-rank** {format_chi2_test(lr.statistic, lr.dof, lr.p_value)}")
    if lr.warning:  # small groups: the chi-square p is shown with a warning and a permutation p
        perm = _permutation_p(key, duration, event, gcol, data)
        st.warning(
            f"Small groups: {md(lr.warning)}. Permutation log-rank (2,000 seeded relabellings "
            f"of the groups, no chi-square approximation): {p_phrase(perm)}.",
            icon=":material/warning:",
        )
    if ordered:
        kind = st.radio(
            "Trend-test scores", list(TREND_SCORES), horizontal=True,
            help="The trend test weights each group by a score: the levels themselves (e.g. 0, "
            "1, 2, 3) or 1, 2, ..., k in order (survminer's choice); they differ only when the "
            "levels present are not equally spaced (e.g. PS 0, 1, 3).",
            **view.widget("trend", TREND_SCORES),
        )  # fmt: skip
        tr = _trend(key, duration, event, gcol, kind, data)
        test = format_chi2_test(tr.statistic, 1, tr.p_value)
        scores = ", ".join(level_text(float(w)) for w in tr.table["score"])
        how = "the levels" if kind == "levels" else "equally spaced"
        st.markdown(f"**Trend** (ordered {md(label)}; scores: {scores} ({how})) {test}")
    if len(levels) > 2:
        with st.expander("Pairwise log-rank (Holm-adjusted)"):
            st.dataframe(format_pairwise(pw), hide_index=True)
    with st.expander("Hazard ratios (univariable Cox, Efron)"):
        st.dataframe(format_hazard_ratios(hr), hide_index=True)
