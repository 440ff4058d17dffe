"""The reconstruction ensemble: every member fits the published aggregates, and the stored
per-member results are what the app's functions compute on the members."""

from __future__ import annotations

import pandas as pd
import pytest

from core.paths import DATA_DIR
from core.study.ensemble import RESULTS_PATH, SEEDS, evaluate, load_ensemble, stored_summary
from core.study.published import load_published

PUB = load_published()


@pytest.fixture(scope="module")
def ensemble() -> pd.DataFrame:
    return load_ensemble()


def test_every_member_is_a_faithful_reconstruction(ensemble):
    members = sorted(ensemble["member"].unique())
    assert set(members) <= set(SEEDS) and len(members) >= 8
    reasons = PUB["groupings"]["icu_reason"]["levels"]
    deaths_1y = PUB["survival"]["deaths_within_1y"]["value"]
    for seed, m in ensemble.groupby("member"):
        assert len(m) == PUB["meta"]["n"], seed
        assert m["icu_reason"].value_counts().to_dict() == reasons, seed
        died = ((m["os_event"] == 1) & (m["os_days"] <= 365)).sum()
        assert died == deaths_1y, seed
    # the members differ from each other (else the ensemble says nothing)
    sofa = ensemble.groupby("member")["sofa"].apply(tuple)
    assert sofa.nunique() == len(members)  # every member differs


@pytest.mark.slow
def test_stored_results_are_recomputed_from_the_members(ensemble):
    stored = pd.read_csv(RESULTS_PATH, dtype={"member": str})
    few = ensemble[ensemble["member"].isin(sorted(ensemble["member"].unique())[:2])]
    _, per = evaluate(pd.read_csv(DATA_DIR / "cohort.csv"), few)
    merged = per.merge(stored, on=["key", "member"], suffixes=("", "_stored"))
    assert len(merged) == len(per)
    assert (merged["holds"] == merged["holds_stored"]).all()
    pd.testing.assert_series_equal(
        merged["estimate"], merged["estimate_stored"], check_names=False, rtol=1e-9
    )


def test_the_summary_counts_members():
    summary = stored_summary()
    assert len(summary) == 7
    n = load_ensemble()["member"].nunique()
    assert summary["Holds in"].str.endswith(f"of {n} reconstructions").all()
    assert set(summary["Survives"]) <= {"yes", "no", "depends on the reconstruction"}
