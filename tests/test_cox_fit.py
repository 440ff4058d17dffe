"""core.stats.cox.fit (and its engine) against R's survival package (coxph).

Expected values are R literals (with the R call in a comment) or computed live with
``tests.r_oracle.run_r``.  Tolerance 1e-6 unless stated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.stats.cox.fit import CoxFitError, endpoint, fit_cox
from tests.helpers_cox import TOL, lung_data, r_fit, tied_data
from tests.r_oracle import run_r


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    return lung_data()


def assert_matches_r(res, r: pd.DataFrame, tol: float = TOL) -> None:
    s = res.summary
    assert len(s) == len(r)
    for col in ("coef", "se", "p", "lower", "upper"):
        np.testing.assert_allclose(s[col].to_numpy(), r[col].to_numpy(), rtol=0, atol=tol)
    assert res.loglik == pytest.approx(r["loglik"][0], abs=tol)
    assert res.loglik_null == pytest.approx(r["loglik0"][0], abs=tol)
    assert res.concordance == pytest.approx(r["concordance"][0], abs=tol)
    assert res.concordance_se == pytest.approx(r["concordance_se"][0], abs=tol)
    assert res.lrt[0] == pytest.approx(r["lrt"][0], abs=tol)
    assert res.wald[0] == pytest.approx(r["wald"][0], abs=tol)
    assert res.score[0] == pytest.approx(r["score"][0], abs=tol)


# --------------------------------------------------------------------------------------
# coxph parity
# --------------------------------------------------------------------------------------
def test_lung_literals(lung):
    # R 4.2.2, survival 3.5-3:
    #   fit <- coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung)
    #   summary(fit)$coefficients; summary(fit)$conf.int; fit$concordance; fit$loglik
    res = fit_cox(lung, "time", "status", ["age", "sex", "ph_ecog"])
    s = res.summary.set_index("covariate")
    expected = {
        # coef, se, p, lower .95, upper .95
        "age": (
            0.0110667645600735,
            0.00926741101370053,
            2.32415680999612e-01,
            0.992928097169850,
            1.029661962242155,
        ),
        "sex": (
            -0.5526123957036310,
            0.16773905378726350,
            9.86051372138453e-04,
            0.414213018549172,
            0.799435127387147,
        ),
        "ph_ecog": (
            0.4637284753704277,
            0.11357726616199662,
            4.44706665185681e-05,
            1.272675177774297,
            1.986423581287590,
        ),
    }
    for name, (coef, se, p, lo, hi) in expected.items():
        assert s.loc[name, "coef"] == pytest.approx(coef, abs=1e-10)
        assert s.loc[name, "se"] == pytest.approx(se, abs=1e-10)
        assert s.loc[name, "p"] == pytest.approx(p, abs=1e-10)
        assert s.loc[name, "lower"] == pytest.approx(lo, abs=1e-10)
        assert s.loc[name, "upper"] == pytest.approx(hi, abs=1e-10)
    assert res.concordance == pytest.approx(0.637135493000455, abs=1e-12)
    # fit$concordance: concordant 12544, discordant 7117, tied.x 126, tied.y 28
    cc = res.concordance_counts
    assert (cc["concordant"], cc["discordant"], cc["tied_x"], cc["tied_y"]) == (
        12544,
        7117,
        126,
        28,
    )
    assert res.loglik_null == pytest.approx(-744.480455761440, abs=1e-9)
    assert res.loglik == pytest.approx(-729.230121374862, abs=1e-9)
    assert res.n == 227 and res.events == 164 and res.n_dropped == 1


def test_lung_live_r(lung):
    res = fit_cox(lung, "time", "status", ["age", "sex", "ph_ecog"])
    r = r_fit(lung, "Surv(time, status) ~ age + sex + ph_ecog")
    assert_matches_r(res, r, tol=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_tied_data_vs_r(seed):
    d = tied_data(seed)
    res = fit_cox(d, "time", "status", ["x1", "x2", "x3"])
    r = r_fit(d, "Surv(time, status) ~ x1 + x2 + x3")
    assert_matches_r(res, r)


def test_breslow_vs_r():
    d = tied_data(5)
    res = fit_cox(d, "time", "status", ["x1", "x2"], ties="breslow")
    r = run_r(
        """
d <- read.csv(Sys.getenv("ORACLE_IN"))
fit <- coxph(Surv(time, status) ~ x1 + x2, data = d, ties = "breslow")
res <- data.frame(coef = coef(fit), se = sqrt(diag(vcov(fit))), loglik = fit$loglik[2])
write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
""",
        d,
    )
    np.testing.assert_allclose(res.summary["coef"], r["coef"], atol=TOL)
    np.testing.assert_allclose(res.summary["se"], r["se"], atol=TOL)
    assert res.loglik == pytest.approx(r["loglik"][0], abs=TOL)


def test_categorical_reference_vs_r():
    d = tied_data(6)
    res = fit_cox(d, "time", "status", ["x1", "grp"], reference={"grp": "b"})
    assert list(res.summary["covariate"]) == ["x1", "grp=a", "grp=c"]
    r = r_fit(d, "Surv(time, status) ~ x1 + relevel(factor(grp), ref = 'b')")
    assert_matches_r(res, r)
    # default reference = first level in sorted order, as R's factor()
    res2 = fit_cox(d, "time", "status", ["grp"])
    assert list(res2.summary["covariate"]) == ["grp=b", "grp=c"]
    # joint Wald test of the factor = R's car-free computation
    chisq, df_, _ = res.term_test("grp")
    b = res.model.coef[1:]
    v = res.model.var[1:, 1:]
    assert chisq == pytest.approx(float(b @ np.linalg.solve(v, b)))
    assert df_ == 2


def test_horizon_censoring_vs_r():
    d = tied_data(7)
    res = fit_cox(d, "time", "status", ["x1", "x2"], horizon_days=8)
    t, e = endpoint(d, "time", "status", 8)
    assert t.max() == 8 and e[d["time"].to_numpy() > 8].sum() == 0
    r = r_fit(d, "Surv(pmin(time, 8), status == 1 & time <= 8) ~ x1 + x2")
    assert_matches_r(res, r)


# --------------------------------------------------------------------------------------
# problems are explained, not raised as tracebacks
# --------------------------------------------------------------------------------------
def test_zero_event_level_warns_like_r():
    d = tied_data(8)
    d.loc[d["x3"] == 1, "status"] = 0  # no events with x3 = 1: HR -> 0
    res = fit_cox(d, "time", "status", ["x1", "x3"])
    text = " ".join(res.warnings)
    assert "infinite" in text and "x3" in text
    assert "no events among" in text
    assert not res.ok
    r = run_r(
        """
d <- read.csv(Sys.getenv("ORACLE_IN"))
w <- NULL
fit <- withCallingHandlers(coxph(Surv(time, status) ~ x1 + x3, data = d),
    warning = function(m) { w <<- conditionMessage(m); invokeRestart("muffleWarning") })
write.csv(data.frame(w = w), Sys.getenv("ORACLE_OUT"), row.names = FALSE)
""",
        d,
    )
    assert "coefficient may be infinite" in r["w"][0]


def test_errors_are_clear():
    d = tied_data(9)
    with pytest.raises(CoxFitError, match="no events"):
        fit_cox(d.assign(status=0), "time", "status", ["x1"])
    with pytest.raises(CoxFitError, match="constant"):
        fit_cox(d.assign(k=1.0), "time", "status", ["x1", "k"])
    with pytest.raises(CoxFitError, match="collinear"):
        fit_cox(d.assign(k=2 * d["x1"] + 1), "time", "status", ["x1", "k"])
    with pytest.raises(ValueError, match="not found"):
        fit_cox(d, "time", "status", ["nope"])
    with pytest.raises(ValueError, match="reference level"):
        fit_cox(d, "time", "status", ["grp"], reference={"grp": "zzz"})
    with pytest.raises(ValueError, match="coded 1 = event"):
        fit_cox(d.assign(status=d["status"] + 1), "time", "status", ["x1"])


def test_epv_warning():
    d = tied_data(10, n=25)
    res = fit_cox(d, "time", "status", ["x1", "x2", "x3"])
    assert res.epv == pytest.approx(res.events / 3) and res.epv < 10
    assert any("events per variable" in w for w in res.warnings)


def test_concordance_is_computed_once_and_only_when_read(monkeypatch, lung):
    """A fit read only for its coefficients skips the C-index (O(n log n)); read, it is
    computed once and equals R's (test_lung_literals checks the value)."""
    import core.stats.cox.fit as fit_module

    calls = []
    real = fit_module.concordance_index
    monkeypatch.setattr(
        fit_module, "concordance_index", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    res = fit_cox(lung, "time", "status", ["age", "sex"])
    assert calls == []
    first = res.concordance
    assert res.concordance == first and res.concordance_counts["concordance"] == first
    assert calls == [1]
    import pickle

    copy = pickle.loads(pickle.dumps(fit_cox(lung, "time", "status", ["age", "sex"])))
    assert calls == [1, 1]  # a pickled fit (st.cache_data's copy) carries its C-index
    assert copy.concordance == first and copy.concordance_se == res.concordance_se
    assert calls == [1, 1]
