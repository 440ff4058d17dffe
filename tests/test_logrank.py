"""R parity and edge cases for core/stats/logrank.py (logrank, logrank_trend, univariable_hr).

Expected values come from R's survival package, quoted with the R call that produced them
(survdiff, the score test of coxph(..., ties = "exact")), or from hand reasoning.  lifelines'
``load_lung`` codes status 0 = censored / 1 = dead, R's ``lung`` 1 = censored / 2 = dead;
``Surv(time, status)`` reads both the same way.

The live-R checks of logrank, logrank_trend, pairwise_logrank and univariable_hr share one Rscript
run with the Kaplan-Meier checks, so they are in tests/test_survival.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.stats.logrank import logrank, logrank_trend, univariable_hr
from tests.helpers_survival import TOL, _assert_close, _lung, _random_set


# ------------------------------------------------------------------------------------------------
# R's lung: quoted values
# ------------------------------------------------------------------------------------------------
def test_lung_logrank_quoted():
    # R: s <- survdiff(Surv(time, status) ~ sex, data = lung); s$chisq; pchisq(s$chisq, 1, lower=F)
    lr = logrank(_lung(), "time", "status", "sex")
    assert abs(lr.statistic - 10.3267419548856) < TOL
    assert lr.dof == 1
    assert abs(lr.p_value - 0.00131116452035549) < TOL
    assert lr.warning is None


def test_lung_trend_quoted():
    d = _lung().dropna(subset=["ph.ecog"])
    # R: coxph(Surv(time, status) ~ ph.ecog, data = d, ties = "exact")$score  (= 17.8751207625279)
    # and identically sum(w * (O - E))^2 / (t(w) %*% survdiff(...)$var %*% w)
    tr = logrank_trend(d, "time", "status", "ph.ecog")
    assert abs(tr.statistic - 17.8751207625279) < TOL
    assert abs(tr.p_value - 2.35884767413181e-05) < TOL
    assert tr.warning is not None  # ph.ecog = 3 has one patient
    # R: survdiff(Surv(time, status) ~ ph.ecog, data = d)$chisq
    assert abs(logrank(d, "time", "status", "ph.ecog").statistic - 21.962131682476) < TOL


# ------------------------------------------------------------------------------------------------
# edge cases (hand calculations)
# ------------------------------------------------------------------------------------------------
def test_univariable_hr_levels_without_events():
    d = _random_set(21, 3, n=120)
    d.loc[d["g"] == "G2", "status"] = 0
    hr = univariable_hr(d, "time", "status", "g", reference="G0")
    assert np.isnan(hr.loc[hr["level"] == "G2", "hr"]).all()
    assert np.isfinite(hr.loc[hr["level"] == "G1", "hr"]).all()
    # the estimate for G1 equals the fit without the event-free level (the limit of R's MLE)
    alone = univariable_hr(d[d["g"] != "G2"], "time", "status", "g", reference="G0")
    _assert_close(hr["hr"].iloc[1], alone["hr"].iloc[1], "hr")
    none_ref = univariable_hr(d, "time", "status", "g", reference="G2")
    assert none_ref.loc[~none_ref["reference"], "hr"].isna().all()


def test_permutation_logrank_is_exact_on_a_tiny_table_and_close_to_chi2_on_a_large_one():
    """By construction: with 5 patients every relabelling is enumerated (10 of them), so the
    p-value is the share of relabellings whose survdiff statistic is at least the observed;
    on 400 patients under the null the permutation p is the chi-square p up to Monte Carlo
    error (SE ~ 0.008 for 2,000 resamples)."""
    from itertools import combinations

    from core.stats.logrank import logrank, logrank_permutation

    tiny = pd.DataFrame({"t": [2.0, 3, 5, 7, 11], "e": [1, 1, 0, 1, 1], "g": list("aabbb")})
    observed = logrank(tiny, "t", "e", "g").statistic
    count = 0
    for a in combinations(range(5), 2):
        g = ["a" if i in a else "b" for i in range(5)]
        count += logrank(tiny.assign(g=g), "t", "e", "g").statistic >= observed - 1e-12
    assert logrank_permutation(tiny, "t", "e", "g") == pytest.approx(count / 10)

    rng = np.random.default_rng(3)
    n = 400
    null = pd.DataFrame(
        {"t": rng.exponential(10, n), "e": rng.integers(0, 2, n), "g": rng.choice(["a", "b"], n)}
    )
    p_chi2 = logrank(null, "t", "e", "g").p_value
    assert abs(logrank_permutation(null, "t", "e", "g") - p_chi2) < 0.03


def test_permutation_logrank_with_a_single_patient_group():
    """A group of one (scipy refuses it): the hand Monte Carlo gives a p-value in (0, 1]
    that follows the same rule, and is reproducible with its seed."""
    from core.stats.logrank import logrank_permutation

    d = pd.DataFrame({"t": [1.0, 2, 3, 4, 5, 6], "e": [1, 1, 1, 0, 1, 0], "g": list("abbbbb")})
    p1 = logrank_permutation(d, "t", "e", "g", n_resamples=500)
    assert 0 < p1 <= 1
    assert p1 == logrank_permutation(d, "t", "e", "g", n_resamples=500)
    # exact conditional p by enumerating the 6 relabellings (who is the patient of group a);
    # 500 resamples: Monte Carlo SE <= 0.023
    observed = logrank(d, "t", "e", "g").statistic
    stats = [
        logrank(d.assign(g=["a" if j == i else "b" for j in range(6)]), "t", "e", "g").statistic
        for i in range(6)
    ]
    exact = sum(x >= observed - 1e-12 for x in stats) / 6
    assert abs(p1 - exact) < 0.07


# ------------------------------------------------------------------------------------------------
# trend scores: the levels or equally spaced 1..k (survminer's), live R
# ------------------------------------------------------------------------------------------------
R_TREND_SCORES = """
d <- read.csv(Sys.getenv("ORACLE_IN"))
sd <- survdiff(Surv(time, status) ~ g, data = d)
out <- NULL
for (kind in c("levels", "equal")) {
  x <- if (kind == "levels") d$g else as.integer(factor(d$g))
  w <- if (kind == "levels") sort(unique(d$g)) else seq_along(sort(unique(d$g)))
  score <- coxph(Surv(time, status) ~ x, data = d, ties = "exact")$score
  hand <- sum(w * (sd$obs - sd$exp))^2 / as.numeric(t(w) %*% sd$var %*% w)
  out <- rbind(out, data.frame(kind = kind, score = score, hand = hand,
                               p = pchisq(score, 1, lower.tail = FALSE)))
}
write.csv(out, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


@pytest.mark.parametrize("levels", [(0, 1, 3), (0, 1, 2, 5, 6)])
def test_trend_scores_levels_and_equally_spaced_equal_r(levels):
    """Unequally spaced numeric levels, so the two score choices give different tests; R
    computes each as coxph's score test (ties = "exact") and as survdiff's quadratic form."""
    from tests.r_oracle import run_r

    d = _random_set(7 + len(levels), len(levels), n=250)
    d["g"] = d["g"].map({f"G{k}": v for k, v in enumerate(levels)})
    r = run_r(R_TREND_SCORES, d).set_index("kind")
    for kind in ("levels", "equal"):
        assert abs(r.loc[kind, "hand"] - r.loc[kind, "score"]) < TOL  # both R references agree
        tr = logrank_trend(d, "time", "status", "g", scores=kind)
        assert abs(tr.statistic - r.loc[kind, "score"]) < TOL, kind
        assert abs(tr.p_value - r.loc[kind, "p"]) < TOL, kind
    assert abs(r.loc["levels", "score"] - r.loc["equal", "score"]) > 1e-3  # they differ here
    assert logrank_trend(d, "time", "status", "g", scores="equal").table["score"].tolist() == [
        float(k) for k in range(1, len(levels) + 1)
    ]
    assert logrank_trend(d, "time", "status", "g").table["score"].tolist() == list(
        map(float, levels)
    )


def test_equally_spaced_levels_give_the_same_trend_test_either_way():
    """By construction: scores 0..3 and 1..4 differ by a shift, which cancels in w'(O - E)
    (sum(O - E) = 0) and in w'Vw (V's rows sum to 0)."""
    d = _lung().dropna(subset=["ph.ecog"])
    a = logrank_trend(d, "time", "status", "ph.ecog", scores="levels").statistic
    b = logrank_trend(d, "time", "status", "ph.ecog", scores="equal").statistic
    assert abs(a - b) < 1e-9
    with pytest.raises(ValueError, match="scores must be"):
        logrank_trend(d, "time", "status", "ph.ecog", scores="ranks")
