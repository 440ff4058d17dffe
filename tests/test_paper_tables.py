"""core.study.paper_tables: the Table 1/3/4 presets agree with data/published.yaml, and the
structure of compare_with_published (values: the page tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.stats.compare import compare_groups
from core.study.paper_tables import PRESETS, compare_with_published


def test_presets_match_published_yaml():
    from core.study.published import load_published

    pub = {v["name"]: v for v in load_published()["variables"]}
    for preset in PRESETS.values():
        for spec in preset.variables:
            assert spec.name in pub, (preset.key, spec.name)
            assert pub[spec.name]["column"] == spec.column
            assert pub[spec.name]["kind"] == spec.kind
    assert PRESETS["table3"].group_order == (
        "CRS",
        "CRS or sepsis",
        "Disease progression",
        "Sepsis",
    )
    assert PRESETS["table4"].by == "outcome_1y"


def test_compare_with_published_structure():
    # a tiny synthetic cohort: only the structure is checked here (values: page tests)
    rng = np.random.default_rng(1)
    n = 30
    d = pd.DataFrame(
        {
            "outcome_1y": rng.choice(["1-year survivor", "1-year decedent"], n),
            "age": rng.integers(20, 80, n),
            "sex": rng.choice(["M", "F"], n),
        }
    )
    preset = PRESETS["table4"]
    specs = [v for v in preset.variables if v.column in d.columns]
    res = compare_groups(d, "outcome_1y", specs, group_order=preset.group_order)
    cmp = compare_with_published(res, "table4")
    age = cmp[(cmp["variable"] == "age") & (cmp["statistic"] == "median")]
    assert set(age["group"]) == {"Overall", "1-year survivor", "1-year decedent"}
    assert set(age["published"]) == {60.0, 58.0}  # Table 1 overall 60, Table 4 60 / 58
    male = cmp[(cmp["variable"] == "male") & (cmp["statistic"] == "n")]
    assert set(male["level"]) == {"M"}
    assert male["recomputed"].notna().all()
    # variables absent from the result are reported with NaN, not dropped
    assert cmp.loc[cmp["variable"] == "sofa", "recomputed"].isna().all()
