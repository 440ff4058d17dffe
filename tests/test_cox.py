"""core.stats.cox.fit against R's survival package (coxph, cox.zph, survfit.coxph, concordance).

Expected values are R literals (with the R call in a comment) or computed live with
``tests.r_oracle.run_r``.  Tolerance 1e-6 unless stated.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_lung

from core.cohort.variables import add_derived
from core.stats.cox.concordance import concordance_index
from core.stats.cox.diagnostics import bootstrap_cindex, calibration, ph_test
from core.stats.cox.fit import CoxFitError, endpoint, fit_cox
from core.stats.cox.predict import predict_survival
from core.stats.cox.selection import stepwise
from tests.r_oracle import run_r

TOL = 1e-6


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
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
                  lrt = 2 * diff(fit$loglik), wald = fit$wald.test, score = fit$score)
write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


def r_fit(df: pd.DataFrame, formula: str) -> pd.DataFrame:
    return run_r(R_FIT.replace("FORMULA", formula), df)


def assert_matches_r(res, r: pd.DataFrame, tol: float = TOL) -> None:
    s = res.summary
    assert len(s) == len(r)
    for col in ("coef", "se", "p", "lower", "upper"):
        np.testing.assert_allclose(s[col].to_numpy(), r[col].to_numpy(), rtol=0, atol=tol)
    assert res.loglik == pytest.approx(r["loglik"][0], abs=tol)
    assert res.loglik_null == pytest.approx(r["loglik0"][0], abs=tol)
    assert res.concordance == pytest.approx(r["concordance"][0], abs=tol)
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


def test_derived_reason_dp():
    df = pd.DataFrame({"icu_reason": ["CRS", "Disease progression", "Sepsis", None]})
    out = add_derived(df)
    assert out["reason_dp"].tolist()[:3] == [0.0, 1.0, 0.0]
    assert np.isnan(out["reason_dp"].iloc[3])


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


# --------------------------------------------------------------------------------------
# concordance
# --------------------------------------------------------------------------------------
def brute_concordance(t, e, r):
    conc = disc = tx = 0
    for i, j in itertools.permutations(range(len(t)), 2):
        if e[i] == 1 and (t[i] < t[j] or (t[i] == t[j] and e[j] == 0)):
            if r[i] > r[j]:
                conc += 1
            elif r[i] < r[j]:
                disc += 1
            else:
                tx += 1
    return conc, disc, tx


@pytest.mark.parametrize("seed", range(5))
def test_concordance_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 60
    t = rng.integers(1, 8, n).astype(float)
    e = rng.integers(0, 2, n)
    r = rng.integers(0, 5, n).astype(float)
    cc = concordance_index(t, e, r, counts=True)
    assert (cc["concordant"], cc["discordant"], cc["tied_x"]) == brute_concordance(t, e, r)


def test_concordance_vs_r():
    d = tied_data(11).assign(risk=lambda x: np.round(x["x1"], 1))
    r = run_r(
        """
d <- read.csv(Sys.getenv("ORACLE_IN"))
cc <- concordance(Surv(time, status) ~ risk, data = d, reverse = TRUE)
write.csv(data.frame(t(cc$count), c = cc$concordance), Sys.getenv("ORACLE_OUT"),
          row.names = FALSE)
""",
        d,
    )
    cc = concordance_index(d["time"], d["status"], d["risk"], counts=True)
    assert cc["concordant"] == r["concordant"][0]
    assert cc["discordant"] == r["discordant"][0]
    assert cc["tied_x"] == r["tied.x"][0]
    assert cc["tied_y"] == r["tied.y"][0]
    assert cc["tied_xy"] == r["tied.xy"][0] > 0
    assert cc["concordance"] == pytest.approx(r["c"][0], abs=1e-12)


# --------------------------------------------------------------------------------------
# cox.zph
# --------------------------------------------------------------------------------------
R_ZPH = """
d <- read.csv(Sys.getenv("ORACLE_IN"))
fit <- coxph(FORMULA, data = d)
z <- cox.zph(fit)
tab <- data.frame(kind = "table", term = rownames(z$table), a = z$table[, 1],
                  b = z$table[, 2], c = z$table[, 3])
y <- as.data.frame(z$y)
res <- tab
for (j in seq_len(ncol(y))) res <- rbind(res, data.frame(kind = "y", term = colnames(y)[j],
                                         a = y[, j], b = z$x, c = z$time))
write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


def check_zph(res, df, formula, tol=TOL):
    z = ph_test(res)
    r = run_r(R_ZPH.replace("FORMULA", formula), df)
    rt = r[r["kind"] == "table"]
    np.testing.assert_allclose(z.table["chisq"], rt["a"], rtol=0, atol=tol)
    np.testing.assert_allclose(z.table["df"], rt["b"])
    np.testing.assert_allclose(z.table["p"], rt["c"], rtol=0, atol=tol)
    ry = r[r["kind"] == "y"]
    for k, term in enumerate(z.table["term"][:-1]):
        part = ry.iloc[k * len(z.residuals) : (k + 1) * len(z.residuals)]
        np.testing.assert_allclose(z.residuals[term], part["a"], rtol=0, atol=tol)
        np.testing.assert_allclose(z.residuals["x"], part["b"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(z.residuals["time"], part["c"], rtol=0, atol=1e-12)
    return z


def test_zph_lung_literals(lung):
    # R: cox.zph(coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung))$table
    z = ph_test(fit_cox(lung, "time", "status", ["age", "sex", "ph_ecog"]))
    expected = np.array(
        [
            [0.18798767365229, 1, 0.664596763116371],
            [2.30543722740497, 1, 0.128921998810965],
            [2.05424877405441, 1, 0.151782098908100],
            [4.46365758875861, 3, 0.215554945341796],
        ]
    )
    np.testing.assert_allclose(z.table[["chisq", "df", "p"]].to_numpy(), expected, atol=1e-10)
    # cox.zph(fit)$y[1, ] (time 5): age 0.0596552515373, sex 3.00589500373,
    # ph.ecog -2.2292645718607
    np.testing.assert_allclose(
        z.residuals.iloc[0][["age", "sex", "ph_ecog"]].to_numpy(dtype=float),
        [0.0596552515373, 3.00589500373, -2.2292645718607],
        atol=1e-10,
    )


def test_zph_lung_live(lung):
    res = fit_cox(lung, "time", "status", ["age", "sex", "ph_ecog"])
    check_zph(res, lung.dropna(subset=["ph_ecog"]), "Surv(time, status) ~ age + sex + ph_ecog")


@pytest.mark.parametrize("seed", [21, 22])
def test_zph_tied_data(seed):
    d = tied_data(seed)
    res = fit_cox(d, "time", "status", ["x1", "x2", "x3"])
    check_zph(res, d, "Surv(time, status) ~ x1 + x2 + x3")


def test_zph_factor_term():
    # a 3-level factor is one term with df = 2 (cox.zph terms = TRUE)
    d = tied_data(23)
    res = fit_cox(d, "time", "status", ["x1", "grp"])
    z = check_zph(res, d, "Surv(time, status) ~ x1 + grp")
    assert z.table.set_index("term").loc["grp", "df"] == 2


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


# --------------------------------------------------------------------------------------
# stepwise
# --------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------
# calibration and bootstrap
# --------------------------------------------------------------------------------------
def test_calibration_vs_r():
    d = tied_data(51, n=200, n_times=30)
    res = fit_cox(d, "time", "status", ["x1", "x2"])
    cal = calibration(d, res, horizon=8, groups=3)
    lp = res.model.linear_predictor()
    grp = pd.qcut(lp, 3, labels=False) + 1
    r = run_r(
        """
d <- read.csv(Sys.getenv("ORACLE_IN"))
fit <- coxph(Surv(time, status) ~ x1 + x2, data = d)
sf <- survfit(fit, newdata = d)
pred <- summary(sf, times = 8)$surv
km <- summary(survfit(Surv(time, status) ~ g, data = d), times = 8)
res <- data.frame(g = 1:3, pred = tapply(c(pred), d$g, mean), obs = km$surv,
                  lo = km$lower, hi = km$upper)
write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
""",
        d.assign(g=grp),
    )
    t = cal.table
    np.testing.assert_allclose(t["predicted"], r["pred"], atol=TOL)
    np.testing.assert_allclose(t["observed"], r["obs"], atol=TOL)
    np.testing.assert_allclose(t["obs_lower"], r["lo"], atol=TOL)
    np.testing.assert_allclose(t["obs_upper"], r["hi"], atol=TOL)
    assert t["n"].sum() == res.n


def test_bootstrap_cindex_seeded_with_progress():
    d = tied_data(61, n=80)
    calls = []
    a = bootstrap_cindex(
        d, "time", "status", ["x1", "x2"], n_boot=15, seed=3, progress=lambda i, n: calls.append(i)
    )
    b = bootstrap_cindex(d, "time", "status", ["x1", "x2"], n_boot=15, seed=3)
    assert calls == list(range(1, 16))
    assert a.corrected == b.corrected
    assert a.apparent == pytest.approx(fit_cox(d, "time", "status", ["x1", "x2"]).concordance)
    assert a.corrected == pytest.approx(a.apparent - a.replicates["optimism"].mean())
    assert len(a.replicates) + a.n_failed == 15
    # Harrell: the apparent C is optimistic on average
    assert a.optimism > -0.05


def test_bootstrap_with_selection_runs():
    d = step_data(seed=44, n=120)
    out = bootstrap_cindex(
        d,
        "time",
        "status",
        ["strong", "medium"],
        n_boot=4,
        seed=1,
        selection={"candidates": ["strong", "medium", "noise1"], "entry": 0.2, "removal": 0.1},
    )
    assert len(out.replicates) + out.n_failed == 4


# --------------------------------------------------------------------------------------
# display tables (hand-written expectations)
# --------------------------------------------------------------------------------------
def test_covariate_label_paper_dictionary_factor_and_unknown():
    from core.tables.cox import covariate_label

    assert covariate_label("sofa") == "SOFA (per point)"
    assert covariate_label("reason_dp") == "Disease progression (vs other reasons)"
    # data/dictionary.csv: label with its unit, a factor level after the variable's label
    assert covariate_label("hypertension") == "Hypertension"
    assert covariate_label("prior_lines") == "Number of treatment lines before CAR-T cells (lines)"
    assert covariate_label("sex=M") == "Sex: M"
    assert covariate_label("not_a_column") == "not_a_column"
    assert covariate_label("sofa", labels={"sofa": "SOFA"}) == "SOFA"


def test_format_summary_rounds_and_adds_the_published_hr():
    from core.tables.cox import format_summary

    summary = pd.DataFrame(
        {
            "covariate": ["sofa", "age"],
            "hr": [1.1649, 0.98765],
            "lower": [1.0123, 0.95],
            "upper": [1.3349, 1.0268],
            "p": [0.0004, 0.04251],
        }
    )
    published = pd.DataFrame(
        {"covariate": ["sofa"], "hr": [1.16], "lower": [1.01], "upper": [1.33]}
    )
    table = format_summary(summary, published)
    assert table.columns.tolist() == [
        "Covariate",
        "HR",
        "95% CI",
        "p (Wald)",
        "Published HR [95% CI]",
    ]
    assert table["Covariate"].tolist() == ["SOFA (per point)", "Age (per year)"]
    assert table["HR"].tolist() == [1.16, 0.99]
    assert table["95% CI"].tolist() == ["1.01 – 1.33", "0.95 – 1.03"]
    assert table["p (Wald)"].tolist() == ["< 0.001", "0.043"]
    assert table["Published HR [95% CI]"].tolist() == ["1.16 [1.01 – 1.33]", ""]
    assert "Published HR [95% CI]" not in format_summary(summary).columns


def test_format_ph_table_labels_terms_and_keeps_global():
    from core.tables.cox import format_ph_table

    table = pd.DataFrame(
        {"term": ["sofa", "GLOBAL"], "chisq": [1.23456, 2.5], "df": [1, 1], "p": [0.2666, np.nan]}
    )
    shown = format_ph_table(table)
    assert shown["term"].tolist() == ["SOFA (per point)", "GLOBAL"]
    assert shown["chisq"].tolist() == [1.235, 2.5]
    assert shown["df"].tolist() == [1, 1]
    assert shown["p"].tolist() == ["0.267", "–"]
    assert table["p"].iloc[0] == 0.2666  # the input is not modified


def test_format_calibration_percentages_and_missing_observed():
    from core.tables.cox import format_calibration

    table = pd.DataFrame(
        {
            "group": [1, 2],
            "label": ["Low risk", "High risk"],
            "n": [10, 12],
            "events": [2, 7],
            "predicted": [0.8123, 0.4],
            "observed": [0.8, np.nan],
            "obs_lower": [0.6, np.nan],
            "obs_upper": [0.95, np.nan],
        }
    )
    shown = format_calibration(table)
    assert shown.columns.tolist() == [
        "Risk group",
        "Patients",
        "Events",
        "Predicted",
        "Observed (KM) [95% CI]",
    ]
    assert shown["Risk group"].tolist() == ["Low risk", "High risk"]
    assert shown["Patients"].tolist() == [10, 12] and shown["Events"].tolist() == [2, 7]
    assert shown["Predicted"].tolist() == ["81.2%", "40.0%"]
    assert shown["Observed (KM) [95% CI]"].tolist() == ["80.0% [60.0% – 95.0%]", "–"]


def test_format_stepwise_adds_labels_and_p_text():
    from core.tables.cox import format_stepwise

    trace = pd.DataFrame(
        {
            "step": [1, 2],
            "variable": ["sofa", "hypertension"],
            "action": ["enter", "enter"],
            "p": [0.0001, 0.15],
        }
    )
    shown = format_stepwise(trace)
    assert shown.columns.tolist() == ["step", "variable", "action", "p", "label"]
    assert shown["label"].tolist() == ["SOFA (per point)", "Hypertension"]
    assert shown["p"].tolist() == ["< 0.001", "0.150"]
    assert shown["variable"].tolist() == ["sofa", "hypertension"]


def test_published_comparison_phrases():
    from core.tables.cox import published_comparison

    summary = pd.DataFrame(
        {
            "covariate": ["sofa", "ecog_ps"],
            "hr": [1.1812, 2.0],
            "lower": [1.04, 1.2049],
            "upper": [1.3449, 3.3],
            "p": [0.0123, 0.0002],
        }
    )
    terms = [
        {"name": "reason_dp", "hr": 4.02, "lower": 1.10, "upper": 14.65},  # not refitted: skipped
        {"name": "ecog_ps", "hr": 1.97, "lower": 1.14, "upper": 3.41},
        {"name": "sofa", "hr": 1.16, "lower": 1.01, "upper": 1.33},
    ]
    assert published_comparison(summary, terms) == [
        "ECOG PS (per point): HR 2.00 [1.20–3.30], p < 0.001 (paper 1.97 [1.14–3.41])",
        "SOFA (per point): HR 1.18 [1.04–1.34], p = 0.012 (paper 1.16 [1.01–1.33])",
    ]
