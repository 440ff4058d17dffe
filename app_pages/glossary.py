"""Glossary and methods: short definitions of the clinical and statistical terms.

Every term has an anchor (``glossary#<key>``, see core.study.glossary.glossary_url) so that other
pages can link to it; the same short texts are the tooltips of the app's widgets
(``core.study.glossary.help_text``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages._ui.cohort import cohort_sidebar, page_header
from app_pages._ui.render import md, static_table
from app_pages._ui.views.pages import GLOSSARY
from core.study import glossary

METHODS = pd.DataFrame(
    [
        ("Median [IQR]", "core.stats.compare.compare_groups", 'quantile(x, type = 7)'),
        ("Two groups, continuous", "core.stats.compare.compare_groups", "wilcox.test(x ~ g)"),
        ("Three or more groups, continuous", "core.stats.compare.compare_groups", "kruskal.test"),
        ("Categorical", "core.stats.compare.compare_groups", "fisher.test"),
        ("Kaplan–Meier, median survival", "core.stats.survival.kaplan_meier",
         'survfit(Surv(t, e) ~ g, conf.type = "log")'),
        ("Log-rank test", "core.stats.survival.logrank", "survdiff(Surv(t, e) ~ g)"),
        ("Cox model", "core.stats.cox.fit.fit_cox", 'coxph(Surv(t, e) ~ x, ties = "efron")'),
        ("Proportional hazards check", "core.stats.cox.fit.ph_test", "cox.zph(fit)"),
        ("C-index", "core.stats.cox.fit.concordance_index", "concordance(fit)"),
    ],
    columns=["Analysis", "App function", "R equivalent (the paper used R 4.0.5, survival)"],
)  # fmt: skip


def _matches(term: glossary.Term, query: str) -> bool:
    q = query.strip().lower()
    text = " ".join((term.name, term.short, term.definition, *term.aliases)).lower()
    return all(word in text for word in q.split())


page_header(
    "Glossary and methods",
    "Short definitions of the clinical scores, CAR-T cell complications and products, and "
    "the statistics used in the paper and in this app. The (?) icon next to a widget elsewhere "
    "in the app shows the one-line version.",
)
cohort_sidebar()  # keeps the shared filter (and the cohort badge) consistent across pages

query = st.text_input(
    "Search the glossary",
    placeholder="e.g. hazard, SOFA, censoring",
    help="Filters the terms below by name, alias or definition.",
    max_chars=100,
    **GLOSSARY.widget("q"),
)

by_section = glossary.terms_by_section()
shown = {s: [t for t in ts if not query or _matches(t, query)] for s, ts in by_section.items()}
n_shown = sum(len(ts) for ts in shown.values())
if query and n_shown == 0:
    st.info(f"No term matches “{md(query)}”.")

st.markdown(
    "**Sections:** "
    + " · ".join(f"[{s}](#{s.lower().replace(' ', '-')})" for s, ts in shown.items() if ts)
)

for section, terms in shown.items():
    if not terms:
        continue
    st.header(section, anchor=section.lower().replace(" ", "-"))
    for t in terms:
        st.subheader(t.name, anchor=t.anchor)
        st.markdown(t.definition)
        if t.in_this_study:
            st.markdown(f"*In this study:* {t.in_this_study}")

if not query:
    st.header("How the app computes", anchor="methods")
    st.markdown(
        "Every statistic is computed by the app's `core` library and checked against R, the "
        "paper's software, to 1e-6 in the test suite. Times are days from ICU admission; "
        "months = days / 30.4375."
    )
    static_table(METHODS)
