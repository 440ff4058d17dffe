"""core.stats.auc against scikit-survival's cumulative_dynamic_auc (the reference estimator),
on cohorts with tied times, tied and near-tied scores and censoring tied with deaths, and with
weights against the rows repeated as often."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sksurv.metrics import cumulative_dynamic_auc

from core.stats.auc import prepare, weighted_auc


def sksurv_auc(t, e, x, horizon) -> float:
    y = np.empty(len(t), dtype=[("e", bool), ("t", float)])
    y["e"], y["t"] = np.asarray(e).astype(bool), t
    return float(cumulative_dynamic_auc(y, y, x, [horizon])[0][0])


def cohort(n, seed, *, score_levels=None):
    rng = np.random.default_rng(seed)
    t = rng.integers(1, 60, n).astype(float) * 10  # many tied times
    e = (rng.random(n) < 0.6).astype(int)
    if score_levels:
        x = rng.integers(0, score_levels, n) * 0.25  # many tied scores
    else:
        x = rng.normal(size=n)
    t[-1], e[-1] = t.max() + 10, 0  # someone followed past everybody: G > 0 at every death
    return t, e, x


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("levels", [None, 5])
def test_equal_to_sksurv(seed, levels):
    t, e, x = cohort(400, seed, score_levels=levels)
    for horizon in (100.0, 300.0, 550.0):
        ours = weighted_auc(prepare(t, e, x, horizon))
        assert ours == pytest.approx(sksurv_auc(t, e, x, horizon), abs=1e-12)


def test_scores_within_the_tie_tolerance_are_one_threshold_as_in_sksurv():
    t, e, x = cohort(300, 3, score_levels=4)
    x = x + np.where(np.arange(300) % 3 == 0, 5e-9, 0.0)  # near-ties, chained within 1e-8
    ours = weighted_auc(prepare(t, e, x, 250.0))
    assert ours == pytest.approx(sksurv_auc(t, e, x, 250.0), abs=1e-12)
    # and the near-tie changes the AUC against exact distinct scores 1e-7 apart
    far = t, e, x + np.where(np.arange(300) % 3 == 0, 1e-7, 0.0)
    assert weighted_auc(prepare(*far, 250.0)) != pytest.approx(ours, abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_weights_equal_the_repeated_rows(seed):
    """A bootstrap resample as counts gives sksurv's AUC on the resampled rows."""
    t, e, x = cohort(250, 10 + seed, score_levels=7 if seed % 2 else None)
    rng = np.random.default_rng(seed)
    i = np.r_[rng.integers(0, len(t), len(t)), len(t) - 1]  # keep the longest follow-up
    counts = np.bincount(i, minlength=len(t))
    data = prepare(t, e, x, 200.0)
    assert weighted_auc(data, counts) == pytest.approx(
        sksurv_auc(t[i], e[i], x[i], 200.0), abs=1e-12
    )


def test_no_censoring_is_the_share_of_pairs_ranked_right():
    """By hand: without censoring every weight is 1, the AUC is the Mann-Whitney share."""
    t = np.array([5, 10, 20, 40, 50, 60, 70], dtype=float)
    e = np.ones(7)
    x = np.array([3, 1, 2, 2, 0, 1, -1], dtype=float)
    # cases (t <= 30): scores 3, 1, 2; controls: 2, 0, 1, -1
    # pairs right: 3 > all 4; 1 > 0, -1 and ties 1 (1/2); 2 > 0, 1, -1 and ties 2 (1/2)
    expected = (4 + 2.5 + 3.5) / 12
    assert weighted_auc(prepare(t, e, x, 30.0)) == pytest.approx(expected, abs=1e-15)


def test_undefined_cases_are_nan():
    t, e, x = cohort(100, 1)
    assert math.isnan(weighted_auc(prepare(t, e, x, t.max())))  # nobody followed beyond h
    assert math.isnan(weighted_auc(prepare(t, e, x, 0.5)))  # no death by h
    zero_controls = np.where(t > 300, 0, 1)
    assert math.isnan(weighted_auc(prepare(t, e, x, 300.0), zero_controls))


def test_a_death_tied_with_the_last_censoring_after_the_horizon_is_not_refused():
    """sksurv refuses this cohort (G = 0 at a death after the horizon, whose weight it never
    uses); its AUC is the one of the same cohort with that death a censoring."""
    t, e, x = cohort(200, 4)
    t[-2:], e[-2:] = t.max(), [1, 0]  # the last time: a death and a censoring
    with pytest.raises(ValueError, match="censoring survival function is zero"):
        sksurv_auc(t, e, x, 300.0)
    e2 = e.copy()
    e2[-2] = 0
    assert weighted_auc(prepare(t, e, x, 300.0)) == pytest.approx(
        sksurv_auc(t, e2, x, 300.0), abs=1e-12
    )
