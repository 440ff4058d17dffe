"""core.stats.cox.predict against R's survival package (survfit.coxph with newdata).

Expected values are R literals (with the R call in a comment) or computed live with
``tests.r_oracle.run_r``.  Tolerance 1e-6 unless stated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.stats.cox.fit import fit_cox
from core.stats.cox.predict import predict_survival
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
