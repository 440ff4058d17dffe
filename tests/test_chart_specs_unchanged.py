"""The redesign moved code, not charts: specs built now equal those of the pre-redesign code.

``tests/data/chart_specs/*.json`` were written by the same builders at commit 664c215 (before
the layout change; the script is ``build_specs`` below, run there with that commit's import
paths).  Same inputs, byte-identical Vega-Lite (Altair names each dataset by the hash of its
values, so any change in the data or the encoding shows).

The reconstructed cohort was regenerated once since (reconstruction issue: the refit's CIs
exclude 1, Tables 3/4 p-values within a factor of 3); the files were then rewritten by
``build_specs`` on the new cohort with the builders unchanged, so they still guard the charts'
encoding against unintended change.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.charts import compare as chm
from core.charts import competing as chcr
from core.charts import cox as chc
from core.charts import survival as chs
from core.cohort.db import read_cohort_csv
from core.stats.competing import cumulative_incidence
from core.stats.cox.fit import fit_cox
from core.stats.survival import kaplan_meier

SPECS = Path(__file__).parent / "data" / "chart_specs"


def build_specs() -> dict[str, dict]:
    df = read_cohort_csv()
    km = kaplan_meier(df.dropna(subset=["ecog_ps"]), "os_days", "os_event", "ecog_ps")
    paper = fit_cox(df, "os_days", "os_event", ["reason_dp", "ecog_ps", "sofa"], horizon_days=365)
    charts = {
        "km_by_ps": chs.km_figure(
            km, "days", 360.0, True, True, [90.0, 180.0, 270.0],
            y_title="Survival probability", group_title="ECOG PS",
            width=600, height=340, title="Overall survival by ECOG PS",
        ),
        "km_months_all": chs.km_figure(
            kaplan_meier(df, "os_days", "os_event", None), "months", 365.0, False, True, [],
            width=600, height=340,
        ),
        "cif_stacked": chcr.cif_chart(
            cumulative_incidence(df.dropna(subset=["pfs_days"])), "days", 360.0,
            width=600, stacked=True, show_ci=False,
        ),
        "forest_paper": chc.forest_chart(paper.summary, None, {"sofa": "SOFA (per point)"}),
        "compare_age_by_reason": chm.variable_chart(
            df, "age", "continuous", "icu_reason", "Age (years)"
        ),
    }  # fmt: skip
    return {name: chart.to_dict() for name, chart in charts.items()}


@pytest.fixture(scope="module")
def specs() -> dict[str, dict]:
    return build_specs()


@pytest.mark.parametrize("name", sorted(p.stem for p in SPECS.glob("*.json")))
def test_spec_is_byte_identical_to_the_pre_redesign_one(specs, name):
    before = (SPECS / f"{name}.json").read_text()
    assert json.dumps(specs[name], sort_keys=True, indent=1) == before
