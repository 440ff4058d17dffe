"""core.stats.cox.predict against R's survival package (survfit.coxph with newdata).

Expected values are R literals (with the R call in a comment) or computed live with
``tests.r_oracle.run_r``.  Tolerance 1e-6 unless stated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.stats.cox.fit import fit_cox
from core.stats.cox.predict import predict_survival, predict_survival_at
from tests.helpers_cox import TOL, lung_data, tied_data
from tests.r_oracle import run_r


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    return lung_data()


# --------------------------------------------------------------------------------------
# survfit.coxph
# --------------------------------------------------------------------------------------
R_SURVFIT = """
d <- read.csv(Sys.getenv("ORACLE_IN"))
fit <- coxph(FORMULA, data = d)
nd <- NEWDATA
sf <- survfit(fit, newdata = nd)
k <- ncol(as.matrix(sf$surv))
res <- data.frame(time = rep(sf$time, k), profile = rep(seq_len(k), each = length(sf$time)),
                  surv = c(sf$surv), se = c(sf$std.err), lower = c(sf$lower),
                  upper = c(sf$upper))
write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


def check_survfit(pred, r):
    k = pred.surv.shape[1]
    nt = len(pred.time)
    assert len(r) == nt * k
    np.testing.assert_allclose(np.tile(pred.time, k), r["time"], atol=1e-12)
    for ours, col in ((pred.surv, "surv"), (pred.std_err, "se")):
        np.testing.assert_allclose(ours.T.ravel(), r[col], rtol=0, atol=TOL)
    for ours, col in ((pred.lower, "lower"), (pred.upper, "upper")):
        rv = r[col].to_numpy(dtype=float)
        ok = ~np.isnan(rv)
        np.testing.assert_allclose(ours.T.ravel()[ok], rv[ok], rtol=0, atol=TOL)


def test_survfit_newdata_lung(lung):
    res = fit_cox(lung, "time", "status", ["age", "sex", "ph_ecog"])
    new = pd.DataFrame({"age": [60, 70, 50], "sex": [1, 2, 1], "ph_ecog": [0, 2, 3]})
    pred = predict_survival(res, new)
    r = run_r(
        R_SURVFIT.replace("FORMULA", "Surv(time, status) ~ age + sex + ph_ecog").replace(
            "NEWDATA", "data.frame(age = c(60, 70, 50), sex = c(1, 2, 1), ph_ecog = c(0, 2, 3))"
        ),
        lung,
    )
    check_survfit(pred, r)


def test_survfit_newdata_tied():
    d = tied_data(31)
    res = fit_cox(d, "time", "status", ["x1", "x2", "grp"])
    new = pd.DataFrame({"x1": [0.0, 1.5], "x2": [0, 3], "grp": ["a", "c"]})
    pred = predict_survival(res, new)
    r = run_r(
        R_SURVFIT.replace("FORMULA", "Surv(time, status) ~ x1 + x2 + grp").replace(
            "NEWDATA", "data.frame(x1 = c(0, 1.5), x2 = c(0, 3), grp = c('a', 'c'))"
        ),
        d,
    )
    check_survfit(pred, r)

    at = pred.at([0.5, 3, 3.5, 100])
    assert at["surv"][0, 0] == 1.0
    assert at["surv"][1, 1] == pred.surv[2, 1]  # time 3 is the 3rd distinct time
    assert at["surv"][2, 1] == pred.surv[2, 1]
    assert np.isnan(at["surv"][3, 0])


R_SUMMARY_AT = """
d <- read.csv(Sys.getenv("ORACLE_IN"))
fit <- coxph(Surv(time, status) ~ age + sex + ph_ecog, data = d)
nd <- d[!is.na(d$ph_ecog), ][1:40, c("age", "sex", "ph_ecog")]
s <- summary(survfit(fit, newdata = nd), times = c(5, 183, 365, 700))
write.csv(data.frame(time = rep(s$time, ncol(s$surv)), surv = c(s$surv), se = c(s$std.err),
                     lower = c(s$lower), upper = c(s$upper)),
          Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


def test_survival_at_chosen_times_equals_r_summary_times(lung):
    """predict_survival_at (no whole-curve arrays) = R summary(survfit(fit, nd), times)."""
    res = fit_cox(lung, "time", "status", ["age", "sex", "ph_ecog"])
    nd = lung.dropna(subset=["ph_ecog"]).iloc[:40][["age", "sex", "ph_ecog"]]
    at = predict_survival_at(res, nd, [5, 183, 365, 700])
    r = run_r(R_SUMMARY_AT, lung)
    assert sorted(set(r["time"])) == [5, 183, 365, 700]
    for ours, col in (("surv", "surv"), ("lower", "lower"), ("upper", "upper")):
        np.testing.assert_allclose(at[ours].T.ravel(), r[col], rtol=0, atol=TOL)
    # summary.survfit reports the standard error of S (= S x the se of the cumulative hazard)
    se_surv = (at["std_err"] * at["surv"]).T.ravel()
    np.testing.assert_allclose(se_surv, r["se"], rtol=0, atol=TOL)


def test_survival_at_matches_the_whole_curves_before_between_and_after(lung):
    """A construction: the same numbers as predict_survival(...).at(), for times before the
    first event, between event times and after the last follow-up, with and without the
    coefficients' variance."""
    res = fit_cox(lung, "time", "status", ["age", "sex", "ph_ecog"])
    nd = lung.dropna(subset=["ph_ecog"])[["age", "sex", "ph_ecog"]]
    times = [0.5, 5, 100.5, 365, 1022, 5000]
    for cv in (True, False):
        whole = predict_survival(res, nd, coef_variance=cv).at(times)
        at = predict_survival_at(res, nd, times, coef_variance=cv)
        for name in ("surv", "cumhaz", "std_err", "lower", "upper"):
            np.testing.assert_allclose(at[name], whole[name], rtol=1e-12, atol=1e-14)
        assert np.isnan(at["surv"][-1]).all() and (at["surv"][0] == 1).all()
