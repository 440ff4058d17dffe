"""Helpers shared by the Cox tests (test_cox_fit, test_cox_predict, test_cox_diagnostics,
test_cox_selection): the tolerance, data sets and the R coxph oracle.

Tolerance 1e-6 unless stated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines.datasets import load_lung

from tests.r_oracle import run_r

TOL = 1e-6


def lung_data() -> pd.DataFrame:
    # lifelines' lung: status 1 = dead, 0 = censored (R's survival::lung codes 2 / 1)
    d = load_lung().rename(columns={"ph.ecog": "ph_ecog"})
    assert set(d["status"].unique()) == {0, 1}
    return d


def tied_data(seed: int, n: int = 150, n_times: int = 15) -> pd.DataFrame:
    """Many tied times (integer days 1..n_times), continuous / integer / binary / factor."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.integers(0, 4, n)
    x3 = rng.binomial(1, 0.4, n)
    grp = rng.choice(["a", "b", "c"], n)
    lp = 0.5 * x1 + 0.3 * x2 - 0.6 * x3 + np.where(grp == "b", 0.4, 0.0)
    t = np.minimum(np.ceil(rng.exponential(6 * np.exp(-lp))), n_times)
    status = (rng.random(n) < 0.7).astype(int)
    return pd.DataFrame({"time": t, "status": status, "x1": x1, "x2": x2, "x3": x3, "grp": grp})


R_FIT = """
d <- read.csv(Sys.getenv("ORACLE_IN"))
fit <- coxph(FORMULA, data = d, ties = "efron")
s <- summary(fit)
res <- data.frame(term = rownames(s$coefficients), coef = s$coefficients[, 1],
                  se = s$coefficients[, 3], p = s$coefficients[, 5],
                  lower = s$conf.int[, 3], upper = s$conf.int[, 4],
                  loglik = fit$loglik[2], loglik0 = fit$loglik[1],
                  concordance = unname(fit$concordance["concordance"]),
                  concordance_se = unname(fit$concordance["std"]),
                  lrt = 2 * diff(fit$loglik), wald = fit$wald.test, score = fit$score)
write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


def r_fit(df: pd.DataFrame, formula: str) -> pd.DataFrame:
    return run_r(R_FIT.replace("FORMULA", formula), df)


def step_data(seed=41, n=300):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "strong": rng.normal(size=n),
            "medium": rng.normal(size=n),
            "noise1": rng.normal(size=n),
            "noise2": rng.normal(size=n),
        }
    )
    lp = 1.0 * d["strong"] + 0.4 * d["medium"]
    t = np.ceil(rng.exponential(30 * np.exp(-lp)))
    c = rng.uniform(5, 60, n)
    d["time"] = np.minimum(t, np.ceil(c))
    d["status"] = (t <= np.ceil(c)).astype(int)
    return d
