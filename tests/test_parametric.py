"""core.stats.parametric (lifelines' fitters) against R survreg(Surv ~ 1, dist = ...)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.paths import DATA_DIR
from core.stats.parametric import AFT_DISTRIBUTIONS, DISTRIBUTIONS, fit_aft, fit_parametric
from tests.r_oracle import run_r

R_SURVREG = """
d <- read.csv(Sys.getenv("ORACLE_IN"))
d$t <- pmax(d$t, 1e-3)
out <- NULL
for (dist in c("weibull", "lognormal", "loglogistic", "exponential")) {
  f <- survreg(Surv(t, e) ~ 1, data = d, dist = dist)
  s <- sapply(c(365, 730), function(x) 1 - psurvreg(x, coef(f)[1], f$scale, dist))
  out <- rbind(out, data.frame(dist = dist, mu = unname(coef(f)[1]), scale = f$scale,
                               loglik = f$loglik[2], aic = AIC(f),
                               median = unname(predict(f, type = "quantile", p = 0.5)[1]),
                               s365 = s[1], s730 = s[2]))
}
write.csv(out, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


def _simulated(n: int = 400, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = 300 * rng.weibull(1.3, n)
    c = rng.uniform(50, 900, n)
    return pd.DataFrame({"t": np.round(np.minimum(t, c), 1), "e": (t <= c).astype(int)})


@pytest.mark.parametrize("which", ["reconstructed", "simulated"])
def test_fits_equal_r_survreg(which):
    if which == "reconstructed":
        df = pd.read_csv(DATA_DIR / "cohort.csv")[["os_days", "os_event"]]
        df.columns = ["t", "e"]
    else:
        df = _simulated()
    r = run_r(R_SURVREG, df).set_index("dist")
    for dist in DISTRIBUTIONS:
        f = fit_parametric(df, "t", "e", dist)
        row = r.loc[dist]
        # lifelines' optimiser stops within ~1e-5 of survreg's: compared to 1e-4
        assert f.mu == pytest.approx(row["mu"], abs=1e-4), dist
        assert f.scale == pytest.approx(row["scale"], abs=1e-4), dist
        assert f.loglik == pytest.approx(row["loglik"], abs=1e-4), dist
        assert f.aic == pytest.approx(row["aic"], abs=1e-4), dist
        assert f.median == pytest.approx(row["median"], rel=1e-4), dist
        s = f.at.set_index("day")["surv"]
        assert s[365.0] == pytest.approx(row["s365"], abs=1e-4), dist
        assert s[730.0] == pytest.approx(row["s730"], abs=1e-4), dist
        lo, hi = f.at.set_index("day").loc[365.0, ["lower", "upper"]]
        assert lo < s[365.0] < hi


def test_no_event_is_refused():
    with pytest.raises(ValueError, match="at least one event"):
        fit_parametric(pd.DataFrame({"t": [1.0, 2.0], "e": [0, 0]}), "t", "e", "weibull")


# ------------------------------------------------------------------------------------------------
# AFT regression on the paper's covariates = survreg(Surv(t, e) ~ reason_dp + ecog_ps + sofa)
# ------------------------------------------------------------------------------------------------
# R builds the endpoint itself: 1-year OS (follow-up censored at day 365) and reason_dp from
# icu_reason, so neither the horizon censoring nor the indicator is taken from the app.
R_AFT = """
d <- read.csv(Sys.getenv("ORACLE_IN"))
if (!is.null(d$icu_reason)) d$reason_dp <- as.numeric(d$icu_reason == "Disease progression")
t <- pmax(pmin(d$os_days, 365), 1e-3)
e <- as.numeric(d$os_event == 1 & d$os_days <= 365)
out <- NULL
for (dist in c("weibull", "lognormal", "loglogistic")) {
  f <- survreg(Surv(t, e) ~ reason_dp + ecog_ps + sofa, data = d, dist = dist)
  s <- summary(f)$table
  out <- rbind(out, data.frame(dist = dist, term = rownames(s), coef = s[, "Value"],
                               se = s[, "Std. Error"], p = s[, "p"], loglik = f$loglik[2],
                               aic = AIC(f), n = nrow(f$y), events = sum(f$y[, 2])))
}
write.csv(out, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""
PAPER_COVARIATES = ("reason_dp", "ecog_ps", "sofa")


def _simulated_cohort(n: int = 300, seed: int = 13) -> pd.DataFrame:
    """Weibull AFT times on the paper's covariates, uniform censoring (some beyond day 365)."""
    rng = np.random.default_rng(seed)
    reason = rng.random(n) < 0.3
    ecog = rng.integers(0, 4, n)
    sofa = rng.integers(0, 16, n)
    mu = 6.5 - 0.8 * reason - 0.4 * ecog - 0.08 * sofa
    t = np.exp(mu + 0.9 * np.log(rng.exponential(1.0, n)))
    c = rng.uniform(30, 900, n)
    return pd.DataFrame(
        {
            "icu_reason": np.where(reason, "Disease progression", "Infection"),
            "ecog_ps": ecog,
            "sofa": sofa,
            "os_days": np.round(np.minimum(t, c), 1),
            "os_event": (t <= c).astype(int),
        }
    )


@pytest.mark.parametrize("which", ["reconstructed", "simulated"])
def test_aft_regression_equals_r_survreg(which):
    if which == "reconstructed":
        df = pd.read_csv(DATA_DIR / "cohort.csv")
        df = df[["icu_reason", "ecog_ps", "sofa", "os_days", "os_event"]]
    else:
        df = _simulated_cohort()
    r = run_r(R_AFT, df)
    for dist in AFT_DISTRIBUTIONS:
        f = fit_aft(df, "os_days", "os_event", PAPER_COVARIATES, dist, horizon_days=365)
        rr = r[r["dist"] == dist].set_index("term")
        coefs = rr.drop(index="Log(scale)")
        np.testing.assert_array_equal(f.table["term"], coefs.index)
        # the issue's tolerance for parametric fits: 1e-4 (lifelines' optimiser, not survreg's)
        np.testing.assert_allclose(f.table["coef"], coefs["coef"], atol=1e-4, err_msg=dist)
        assert f.log_scale == pytest.approx(rr.loc["Log(scale)", "coef"], abs=1e-4), dist
        assert f.loglik == pytest.approx(rr["loglik"].iloc[0], abs=1e-4), dist
        assert f.aic == pytest.approx(rr["aic"].iloc[0], abs=1e-4), dist
        # standard errors: lifelines' Hessian at its maximum vs survreg's vcov
        np.testing.assert_allclose(f.table["se"], coefs["se"], atol=1e-3, err_msg=dist)
        assert f.log_scale_se == pytest.approx(rr.loc["Log(scale)", "se"], abs=1e-3), dist
        np.testing.assert_allclose(f.table["p"], coefs["p"], atol=1e-3, err_msg=dist)
        # derived from the compared coefficient and SE by definition
        np.testing.assert_allclose(f.table["time_ratio"], np.exp(f.table["coef"]))
        assert (f.n, f.events) == (rr["n"].iloc[0], rr["events"].iloc[0])


def test_aft_refuses_what_it_cannot_fit():
    df = _simulated_cohort(60)
    with pytest.raises(ValueError, match="distribution must be"):
        fit_aft(df, "os_days", "os_event", PAPER_COVARIATES, "exponential")
    with pytest.raises(ValueError, match="at least one event"):
        fit_aft(df.assign(os_event=0), "os_days", "os_event", PAPER_COVARIATES, "weibull")
    with pytest.raises(ValueError, match="single value"):
        fit_aft(df.assign(sofa=3), "os_days", "os_event", PAPER_COVARIATES, "weibull")
    with pytest.raises(ValueError, match="not numeric"):
        fit_aft(df, "os_days", "os_event", ("icu_reason",), "weibull")
