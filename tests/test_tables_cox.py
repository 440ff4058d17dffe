"""core.tables.cox: the Cox page's display tables (hand-written expectations)."""

from __future__ import annotations

import numpy as np
import pandas as pd


# --------------------------------------------------------------------------------------
# display tables (hand-written expectations)
# --------------------------------------------------------------------------------------
def test_covariate_label_paper_dictionary_factor_and_unknown():
    from core.tables.cox import covariate_label

    assert covariate_label("sofa") == "SOFA (per point)"
    assert covariate_label("reason_dp") == "Disease progression (vs other reasons)"
    # data/dictionary.csv: label with its unit, a factor level after the variable's label
    assert covariate_label("hypertension") == "Hypertension"
    assert covariate_label("prior_lines") == "Number of treatment lines before CAR-T cells (lines)"
    assert covariate_label("sex=M") == "Sex: M"
    assert covariate_label("not_a_column") == "not_a_column"
    assert covariate_label("sofa", labels={"sofa": "SOFA"}) == "SOFA"


def test_format_summary_rounds_and_adds_the_published_hr():
    from core.tables.cox import format_summary

    summary = pd.DataFrame(
        {
            "covariate": ["sofa", "age"],
            "hr": [1.1649, 0.98765],
            "lower": [1.0123, 0.95],
            "upper": [1.3349, 1.0268],
            "p": [0.0004, 0.04251],
        }
    )
    published = pd.DataFrame(
        {"covariate": ["sofa"], "hr": [1.16], "lower": [1.01], "upper": [1.33]}
    )
    table = format_summary(summary, published)
    assert table.columns.tolist() == [
        "Covariate",
        "HR",
        "95% CI",
        "p (Wald)",
        "Published HR [95% CI]",
    ]
    assert table["Covariate"].tolist() == ["SOFA (per point)", "Age (per year)"]
    assert table["HR"].tolist() == [1.16, 0.99]
    assert table["95% CI"].tolist() == ["1.01 – 1.33", "0.95 – 1.03"]
    assert table["p (Wald)"].tolist() == ["< 0.001", "0.043"]
    assert table["Published HR [95% CI]"].tolist() == ["1.16 [1.01 – 1.33]", ""]
    assert "Published HR [95% CI]" not in format_summary(summary).columns


def test_format_ph_table_labels_terms_and_keeps_global():
    from core.tables.cox import format_ph_table

    table = pd.DataFrame(
        {"term": ["sofa", "GLOBAL"], "chisq": [1.23456, 2.5], "df": [1, 1], "p": [0.2666, np.nan]}
    )
    shown = format_ph_table(table)
    assert shown["term"].tolist() == ["SOFA (per point)", "GLOBAL"]
    assert shown["chisq"].tolist() == [1.235, 2.5]
    assert shown["df"].tolist() == [1, 1]
    assert shown["p"].tolist() == ["0.267", "–"]
    assert table["p"].iloc[0] == 0.2666  # the input is not modified


def test_format_calibration_percentages_and_missing_observed():
    from core.tables.cox import format_calibration

    table = pd.DataFrame(
        {
            "group": [1, 2],
            "label": ["Low risk", "High risk"],
            "n": [10, 12],
            "events": [2, 7],
            "predicted": [0.8123, 0.4],
            "observed": [0.8, np.nan],
            "obs_lower": [0.6, np.nan],
            "obs_upper": [0.95, np.nan],
        }
    )
    shown = format_calibration(table)
    assert shown.columns.tolist() == [
        "Risk group",
        "Patients",
        "Events",
        "Predicted",
        "Observed (KM) [95% CI]",
    ]
    assert shown["Risk group"].tolist() == ["Low risk", "High risk"]
    assert shown["Patients"].tolist() == [10, 12] and shown["Events"].tolist() == [2, 7]
    assert shown["Predicted"].tolist() == ["81.2%", "40.0%"]
    assert shown["Observed (KM) [95% CI]"].tolist() == ["80.0% [60.0% – 95.0%]", "–"]


def test_format_stepwise_adds_labels_and_p_text():
    from core.tables.cox import format_stepwise

    trace = pd.DataFrame(
        {
            "step": [1, 2],
            "variable": ["sofa", "hypertension"],
            "action": ["enter", "enter"],
            "p": [0.0001, 0.15],
        }
    )
    shown = format_stepwise(trace)
    assert shown.columns.tolist() == ["step", "variable", "action", "p", "label"]
    assert shown["label"].tolist() == ["SOFA (per point)", "Hypertension"]
    assert shown["p"].tolist() == ["< 0.001", "0.150"]
    assert shown["variable"].tolist() == ["sofa", "hypertension"]


def test_published_comparison_phrases():
    from core.tables.cox import published_comparison

    summary = pd.DataFrame(
        {
            "covariate": ["sofa", "ecog_ps"],
            "hr": [1.1812, 2.0],
            "lower": [1.04, 1.2049],
            "upper": [1.3449, 3.3],
            "p": [0.0123, 0.0002],
        }
    )
    terms = [
        {"name": "reason_dp", "hr": 4.02, "lower": 1.10, "upper": 14.65},  # not refitted: skipped
        {"name": "ecog_ps", "hr": 1.97, "lower": 1.14, "upper": 3.41},
        {"name": "sofa", "hr": 1.16, "lower": 1.01, "upper": 1.33},
    ]
    assert published_comparison(summary, terms) == [
        "ECOG PS (per point): HR 2.00 [1.20–3.30], p < 0.001 (paper 1.97 [1.14–3.41])",
        "SOFA (per point): HR 1.18 [1.04–1.34], p = 0.012 (paper 1.16 [1.01–1.33])",
    ]
