"""core.stats.cox.selection (stepwise, SAS PROC PHREG entry/removal rule) on seeded data.

The first entry p-value is checked against R's coxph Wald p (computed live with
``tests.r_oracle.run_r``).
"""

from __future__ import annotations

import numpy as np
import pytest

from core.stats.cox.fit import fit_cox
from core.stats.cox.selection import stepwise
from tests.helpers_cox import r_fit, step_data


# --------------------------------------------------------------------------------------
# stepwise
# --------------------------------------------------------------------------------------
def test_stepwise_selects_and_traces():
    d = step_data()
    sw = stepwise(d, "time", "status", ["noise1", "strong", "noise2", "medium"])
    assert set(sw.selected) >= {"strong", "medium"}
    assert sw.trace["action"].iloc[0] == "enter"
    assert sw.trace["variable"].iloc[0] == "strong"
    assert list(sw.trace.columns) == ["step", "variable", "action", "p", "test", "model"]
    # every model variable stays below the removal threshold, every other candidate fails entry
    for var in sw.selected:
        assert sw.final.term_test(var)[2] <= 0.1
    # the first entry p-value is R's Wald p of the one-covariate model
    r = r_fit(d, "Surv(time, status) ~ strong")
    assert sw.trace["p"].iloc[0] == pytest.approx(r["p"][0], abs=1e-12)


def test_stepwise_thresholds_respected():
    d = step_data(seed=42)
    sw = stepwise(d, "time", "status", ["strong", "medium", "noise1", "noise2"], test="lrt")
    ct = sw.candidates_table.set_index("variable")
    for var, row in ct.iterrows():
        if not row["in_model"] and np.isfinite(row["p"]):
            assert row["p"] >= 0.2 or var in sw.trace["variable"].tolist()
    assert sw.test == "lrt"


def test_stepwise_entry_then_removal_stops():
    # 'weak' has Wald p = 0.121 in the full model: it enters (p < 0.2), is removed at once
    # (p > 0.1) and selection stops instead of cycling (SAS PROC PHREG rule)
    d = step_data(seed=43).assign(weak=np.random.default_rng(3).normal(size=300))
    p_weak = fit_cox(d, "time", "status", ["strong", "medium", "weak"]).term_test("weak")[2]
    assert 0.1 < p_weak < 0.2
    sw = stepwise(d, "time", "status", ["strong", "medium", "weak"])
    assert sw.trace[["variable", "action"]].values.tolist() == [
        ["strong", "enter"],
        ["medium", "enter"],
        ["weak", "enter"],
        ["weak", "remove"],
    ]
    assert sw.trace["p"].iloc[3] == pytest.approx(p_weak, abs=1e-12)
    assert sw.selected == ("strong", "medium")
    assert "SAS" in sw.stop_reason
