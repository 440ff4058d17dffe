"""core.stats.cox.diagnostics and core.stats.cox.concordance against R's survival package
(cox.zph, concordance, survfit.coxph and survfit for calibration) and a brute-force pair count;
the bootstrap C-index is checked for its seeding and bookkeeping.

Expected values are R literals (with the R call in a comment) or computed live with
``tests.r_oracle.run_r``.  Tolerance 1e-6 unless stated.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from core.stats.cox.concordance import concordance_index, concordance_se
from core.stats.cox.diagnostics import bootstrap_cindex, calibration, ph_test
from core.stats.cox.fit import fit_cox
from tests.helpers_cox import TOL, lung_data, step_data, tied_data
from tests.r_oracle import run_r


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    return lung_data()


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


@pytest.mark.parametrize("path", ["merge sort", "by level"])
def test_both_pair_counting_paths_give_the_brute_force_counts(path, monkeypatch):
    """Pairs are counted by a merge sort, or level by level when the score has few distinct
    values (a registry's 3-covariate score): each path alone gives the brute-force counts,
    and R's standard error is the same through both (weighted counts)."""
    from core.stats.cox import concordance as cc_mod

    monkeypatch.setattr(cc_mod, "_few_levels", lambda n: 0 if path == "merge sort" else 10**9)
    for seed in range(3):
        rng = np.random.default_rng(100 + seed)
        n = 80
        t = rng.integers(1, 10, n).astype(float)
        e = rng.integers(0, 2, n)
        r = rng.integers(0, [3, 12, 40][seed], n).astype(float)
        cc = concordance_index(t, e, r, counts=True)
        assert (cc["concordant"], cc["discordant"], cc["tied_x"]) == brute_concordance(t, e, r)
    rng = np.random.default_rng(7)
    t, e, r = (
        rng.integers(1, 30, 500).astype(float),
        rng.integers(0, 2, 500),
        rng.integers(0, 9, 500),
    )
    se = concordance_se(t, e, r.astype(float))
    monkeypatch.setattr(cc_mod, "_few_levels", lambda n: 10**9 if path == "merge sort" else 0)
    assert se == pytest.approx(concordance_se(t, e, r.astype(float)), rel=1e-12)


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


R_CONC_SE = """
d <- read.csv(Sys.getenv("ORACLE_IN"))
out <- NULL
for (k in sort(unique(d$k))) {
  s <- d[d$k == k, ]
  cc <- concordance(Surv(time, status) ~ risk, data = s, reverse = TRUE)
  out <- rbind(out, data.frame(k = k, c = cc$concordance, se = sqrt(cc$var)))
}
write.csv(out, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


def test_concordance_standard_error_vs_r():
    """R's infinitesimal-jackknife se (concordance()$var) on data with tied times, tied
    risks, tied deaths of equal risk and censorings tied with deaths; and 3,000 patients."""
    from core.stats.cox.concordance import concordance_se

    rng = np.random.default_rng(8)
    parts = [tied_data(11).assign(risk=lambda x: np.round(x["x1"], 1), k=0)]
    for k, (n, n_time, n_risk) in enumerate([(40, 6, 3), (150, 30, 150), (3000, 400, 60)], 1):
        parts.append(pd.DataFrame({
            "time": rng.integers(1, n_time, n).astype(float), "status": rng.integers(0, 2, n),
            "risk": rng.integers(0, n_risk, n).astype(float), "k": k,
        }))  # fmt: skip
    d = pd.concat(parts, ignore_index=True)[["time", "status", "risk", "k"]]
    r = run_r(R_CONC_SE, d)
    for k, s in d.groupby("k"):
        rk = r[r["k"] == k].iloc[0]
        assert concordance_index(s["time"], s["status"], s["risk"]) == pytest.approx(
            rk["c"], abs=1e-12
        )
        assert concordance_se(s["time"], s["status"], s["risk"]) == pytest.approx(
            rk["se"], abs=1e-9
        ), k


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


def test_uno_concordance_and_its_standard_error_vs_r():
    """R concordance(..., timewt = "n/G2", ymax = ...): Uno's C and sqrt(var), with and
    without a horizon, on tied data and 2,000 patients."""
    from core.stats.cox.concordance import uno_concordance

    rng = np.random.default_rng(9)
    parts = []
    for k, (n, n_time, n_risk) in enumerate([(40, 6, 3), (150, 30, 150), (2000, 300, 60)]):
        parts.append(pd.DataFrame({
            "time": rng.integers(1, n_time, n).astype(float), "status": rng.integers(0, 2, n),
            "risk": rng.integers(0, n_risk, n).astype(float), "k": k,
        }))  # fmt: skip
    d = pd.concat(parts, ignore_index=True)
    r = run_r(
        """
d <- read.csv(Sys.getenv("ORACLE_IN"))
out <- NULL
for (k in sort(unique(d$k))) {
  s <- d[d$k == k, ]
  ymax <- quantile(s$time, 0.6, names = FALSE)
  a <- concordance(Surv(time, status) ~ risk, data = s, reverse = TRUE, timewt = "n/G2")
  b <- concordance(Surv(time, status) ~ risk, data = s, reverse = TRUE, timewt = "n/G2",
                   ymax = ymax)
  out <- rbind(out, data.frame(k = k, ymax = ymax, c = a$concordance, se = sqrt(a$var),
                               c_h = b$concordance, se_h = sqrt(b$var)))
}
write.csv(out, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
""",
        d,
    )
    for k, s in d.groupby("k"):
        rk = r[r["k"] == k].iloc[0]
        c, se = uno_concordance(s["time"], s["status"], s["risk"])
        assert (c, se) == pytest.approx((rk["c"], rk["se"]), abs=1e-9)
        c, se = uno_concordance(s["time"], s["status"], s["risk"], ymax=rk["ymax"])
        assert (c, se) == pytest.approx((rk["c_h"], rk["se_h"]), abs=1e-9)


# --------------------------------------------------------------------------------------
# calibration slope and calibration-in-the-large (core.study.validation, reused by the Cox page)
# --------------------------------------------------------------------------------------
R_APPARENT = """
d <- read.csv(Sys.getenv("ORACLE_IN"))
h <- as.numeric(Sys.getenv("H"))
H <- as.numeric(Sys.getenv("FIT_H"))
if (!is.na(H)) { d$status <- as.numeric(d$status == 1 & d$time <= H); d$time <- pmin(d$time, H) }
fit <- coxph(as.formula(Sys.getenv("FORMULA")), data = d)
lp <- predict(fit, type = "lp")
th <- pmin(d$time, h); eh <- as.numeric(d$status == 1 & d$time <= h)
s <- coxph(Surv(th, eh) ~ lp)
ci <- confint(s)
km <- summary(survfit(Surv(time, status) ~ 1, data = d), times = h)
pred <- c(summary(survfit(fit, newdata = d), times = h)$surv)
O <- 1 - km$surv; E <- mean(1 - pred); se <- km$std.err / O
res <- data.frame(slope = unname(coef(s)), lo = ci[1], hi = ci[2], surv = km$surv,
                  surv_lo = km$lower, surv_hi = km$upper, expected = E, oe = O / E,
                  oe_lo = O / E * exp(-qnorm(0.975) * se), oe_hi = O / E * exp(qnorm(0.975) * se))
write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


@pytest.mark.parametrize(
    ("data", "fit_h", "h"),
    [("tied", None, 8.0), ("tied", 8.0, 8.0), ("cohort", None, 365.0), ("cohort", 365.0, 365.0)],
)
def test_apparent_calibration_slope_and_citl_equal_r(data, fit_h, h, monkeypatch):
    """At a horizon h: a model fitted on the whole follow-up (slope not 1) and one fitted on
    the follow-up censored at h (slope 1 by construction, as R's coxph(Surv ~ lp) gives too);
    simulated tied data (x1 + x2) and the shipped cohort with the paper's covariates."""
    from core.cohort.variables import add_derived
    from core.paths import DATA_DIR
    from core.study.validation import apparent_calibration

    if data == "tied":
        d, covs = tied_data(52, n=200, n_times=30), ["x1", "x2"]
    else:
        covs = ["reason_dp", "ecog_ps", "sofa"]
        d = add_derived(pd.read_csv(DATA_DIR / "cohort.csv"), covs)
        d = d[[*covs, "os_days", "os_event"]]
        d = d.rename(columns={"os_days": "time", "os_event": "status"})
    res = fit_cox(d, "time", "status", covs, horizon_days=fit_h)
    ac = apparent_calibration(res, h)
    monkeypatch.setenv("H", str(h))
    monkeypatch.setenv("FIT_H", "NA" if fit_h is None else str(fit_h))
    monkeypatch.setenv("FORMULA", "Surv(time, status) ~ " + " + ".join(covs))
    r = run_r(R_APPARENT, d).iloc[0]
    assert ac.slope.est == pytest.approx(r["slope"], abs=TOL)
    assert (ac.slope.lower, ac.slope.upper) == pytest.approx((r["lo"], r["hi"]), abs=TOL)
    obs = ac.observed_risk
    assert 1 - obs.est == pytest.approx(r["surv"], abs=TOL)
    assert (1 - obs.upper, 1 - obs.lower) == pytest.approx((r["surv_lo"], r["surv_hi"]), abs=TOL)
    assert ac.expected_risk == pytest.approx(r["expected"], abs=TOL)
    assert (ac.oe.est, ac.oe.lower, ac.oe.upper) == pytest.approx(
        (r["oe"], r["oe_lo"], r["oe_hi"]), abs=TOL
    )
    assert ac.by_construction == (fit_h == h)
    if fit_h == h:  # the construction: the fitted direction maximises the partial likelihood
        assert abs(r["slope"] - 1) < 1e-6 and abs(ac.slope.est - 1) < 1e-6
    else:
        assert abs(ac.slope.est - 1) > 1e-3
