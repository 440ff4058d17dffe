"""R parity and edge cases for core/stats/survival.py.

Expected values come from R's survival package, either quoted (with the R call that produced them)
or computed live through ``tests.r_oracle.run_r``.  lifelines' ``load_lung`` codes status
0 = censored / 1 = dead, R's ``lung`` 1 = censored / 2 = dead; ``Surv(time, status)`` reads both the
same way, so the lifelines copy is sent to R unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_lung
from scipy.special import ndtri

from core.cohort.variables import make_groups
from core.stats import survival as stats_survival
from core.stats.adjust import p_adjust
from core.stats.competing import (
    CIF_CI_COLUMNS,
    competing_status,
    cumulative_incidence,
    cumulative_incidence_at,
)
from core.stats.logrank import logrank, logrank_trend, pairwise_logrank, univariable_hr
from core.stats.survival import (
    CONF_TYPES,
    DAYS_PER_MONTH,
    KMResult,
    kaplan_meier,
    n_at_risk,
    rmst,
    survival_at,
    truncate_at,
)
from core.tables.survival import (
    format_chi2_test,
    format_cif_table,
    format_hazard_ratios,
    format_landmarks,
    format_medians,
    format_n_at_risk,
    format_pairwise,
    format_time,
    level_label,
)
from tests.r_oracle import run_r

TOL = 1e-6

# R helpers shared by the batched oracle scripts (one Rscript start per fixture: loading
# survival takes seconds).  Every piece is a data.frame with a "kind" column; fill() stacks them.
R_HELPERS = """
fill <- function(lst) {
  cols <- unique(unlist(lapply(lst, names)))
  do.call(rbind, lapply(lst, function(x) {
    for (cc in setdiff(cols, names(x))) x[[cc]] <- NA
    x[cols]
  }))
}
km_tab <- function(fit, ...) {
  ns <- if (is.null(fit$strata)) length(fit$time) else fit$strata
  data.frame(kind = "tab", ..., strata = rep(seq_along(ns), ns), time = fit$time,
             n.risk = fit$n.risk, n.event = fit$n.event, n.censor = fit$n.censor,
             surv = fit$surv, std.err = fit$std.err, lower = fit$lower, upper = fit$upper)
}
km_med <- function(fit, tau, ...) {
  tab <- summary(fit, rmean = tau)$table
  if (is.null(dim(tab))) tab <- t(tab)
  data.frame(kind = "med", ..., strata = seq_len(nrow(tab)), n = tab[, "records"],
             events = tab[, "events"], median = tab[, "median"], lower = tab[, "0.95LCL"],
             upper = tab[, "0.95UCL"], rmean = tab[, "rmean"], se = tab[, "se(rmean)"])
}
sdiff <- function(formula, data, ...) {
  s <- survdiff(formula, data = data)
  df <- sum(s$exp > 0) - 1
  data.frame(kind = "survdiff", ..., chisq = s$chisq, df = df,
             p = pchisq(s$chisq, df, lower.tail = FALSE))
}
"""

TABLE_MAP = [
    ("time", "time"),
    ("n_risk", "n.risk"),
    ("n_event", "n.event"),
    ("n_censor", "n.censor"),
    ("survival", "surv"),
    ("std_err", "std.err"),
    ("lower", "lower"),
    ("upper", "upper"),
]


def _lung() -> pd.DataFrame:
    return load_lung()


def _body(km: KMResult) -> pd.DataFrame:
    """KM table without the origin row of each group (R's survfit has none)."""
    t = km.table
    return t[t.groupby("group", sort=False).cumcount() > 0].reset_index(drop=True)


def _assert_close(a, b, what: str) -> None:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    assert (nan_a == nan_b).all(), f"{what}: NaN pattern differs"
    fin = ~nan_a & np.isfinite(a)
    assert (np.isinf(a) == np.isinf(b)).all(), f"{what}: inf pattern differs"
    if fin.any():
        err = np.max(np.abs(a[fin] - b[fin]))
        assert err < TOL, f"{what}: max abs diff {err:g}"


def _assert_table_matches_r(km: KMResult, r: pd.DataFrame) -> None:
    body = _body(km)
    assert len(body) == len(r)
    codes = pd.factorize(body["group"], sort=False)[0] + 1
    np.testing.assert_array_equal(codes, r["strata"].to_numpy())
    for ours, theirs in TABLE_MAP:
        _assert_close(body[ours], r[theirs], ours)


def _random_set(seed: int, n_groups: int, n: int = 300) -> pd.DataFrame:
    """Many tied integer times, heavy (> 50%) censoring, unequal group sizes."""
    rng = np.random.default_rng(seed)
    g = rng.choice(
        n_groups, size=n, p=np.arange(1, n_groups + 1) / np.arange(1, n_groups + 1).sum()
    )
    t = np.floor(rng.exponential(20 + 10 * g)).astype(float)
    status = (rng.random(n) < 0.38).astype(int)
    return pd.DataFrame({"time": t, "status": status, "g": [f"G{k}" for k in g]})


# ------------------------------------------------------------------------------------------------
# R's lung: quoted values
# ------------------------------------------------------------------------------------------------
def test_lung_status_coding():
    d = _lung()
    assert set(d["status"]) == {0, 1}  # R's lung: 1/2
    assert int(d["status"].sum()) == 165  # R: sum(lung$status == 2) == 165


def test_lung_medians_quoted():
    d = _lung()
    # R: print(survfit(Surv(time, status) ~ 1, data = lung))
    #      n events median 0.95LCL 0.95UCL  ->  228 165 310 285 363
    m = kaplan_meier(d, "time", "status").medians.iloc[0]
    assert (m["n"], m["events"]) == (228, 165)
    assert (m["median"], m["lower"], m["upper"]) == (310, 285, 363)
    # R: print(survfit(Surv(time, status) ~ sex, data = lung))
    #   sex=1 138 112 270 212 310 ; sex=2 90 53 426 348 550
    m = kaplan_meier(d, "time", "status", "sex").medians
    assert m[["n", "events", "median", "lower", "upper"]].values.tolist() == [
        [138, 112, 270, 212, 310],
        [90, 53, 426, 348, 550],
    ]


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


def test_lung_landmark_and_rmean_quoted():
    d = _lung()
    # R: summary(survfit(Surv(time, status) ~ sex, data = lung), times = c(100, 365, 730))
    s = survival_at(d, "time", "status", [100, 365, 730], "sex")
    np.testing.assert_array_equal(s["n_risk"], [114, 35, 7, 82, 30, 6])
    np.testing.assert_array_equal(s["n_event"], [24, 61, 24, 7, 29, 14])
    _assert_close(
        s["survival"],
        [
            *(0.8260869565217395, 0.3360878346393786, 0.0781240912670194),  # sex = 1
            *(0.9220883534136546, 0.5264630301859056, 0.1872324979050559),  # sex = 2
        ],
        "surv",
    )
    _assert_close(
        s["lower"],
        [
            *(0.7652075661852329, 0.2609005037897249, 0.0390437354971609),
            *(0.8682946833224169, 0.4214863408291014, 0.0977701818784402),
        ],
        "lower",
    )
    _assert_close(
        s["upper"],
        [
            *(0.891809869493838, 0.432942945497811, 0.156321457426670),
            *(0.979214715731928, 0.657585537902179, 0.358555211806322),
        ],
        "upper",
    )
    # R: summary(survfit(Surv(time, status) ~ sex, data = lung), rmean = 365)$table
    r = rmst(d, "time", "status", 365, "sex")
    _assert_close(r["rmst"], [241.495085192057, 297.465409532037], "rmean")
    _assert_close(r["se"], [10.3582264910969, 10.7913239788001], "se(rmean)")
    # overall: rmean 263.22186648200665, se 7.79885908631446
    r = rmst(d, "time", "status", 365)
    _assert_close(r[["rmst", "se"]].iloc[0], [263.22186648200665, 7.79885908631446], "rmean")


# ------------------------------------------------------------------------------------------------
# R's lung: live R (one Rscript run)
# ------------------------------------------------------------------------------------------------
LANDMARKS = [0, 5, 11, 100, 200.5, 365, 730, 1000]
TAUS = [100, 365, 800]


@pytest.fixture(scope="module")
def r_lung() -> pd.DataFrame:
    script = (
        R_HELPERS
        + """
d <- read.csv(Sys.getenv("ORACLE_IN"))
out <- list()
for (ct in c("log", "log-log", "plain")) {
  f1 <- survfit(Surv(time, status) ~ 1, data = d, conf.type = ct)
  f2 <- survfit(Surv(time, status) ~ sex, data = d, conf.type = ct)
  out[[length(out) + 1]] <- km_tab(f1, ct = ct, rhs = "1")
  out[[length(out) + 1]] <- km_tab(f2, ct = ct, rhs = "sex")
  out[[length(out) + 1]] <- km_med(f1, 365, ct = ct, rhs = "1")
  out[[length(out) + 1]] <- km_med(f2, 365, ct = ct, rhs = "sex")
}
f2 <- survfit(Surv(time, status) ~ sex, data = d)
for (tau in c(100, 365, 800)) out[[length(out) + 1]] <- km_med(f2, tau, ct = "log", tau = tau)
s <- summary(f2, times = c(0, 5, 11, 100, 200.5, 365, 730, 1000))
out[[length(out) + 1]] <- data.frame(kind = "landmark", strata = as.integer(s$strata),
  time = s$time, n.risk = s$n.risk, n.event = s$n.event, n.censor = s$n.censor, surv = s$surv,
  std.err = s$std.err, lower = s$lower, upper = s$upper)
e <- d[!is.na(d$ph.ecog), ]
out[[length(out) + 1]] <- sdiff(Surv(time, status) ~ ph.ecog, e)
sd <- survdiff(Surv(time, status) ~ ph.ecog, data = e)
w <- sort(unique(e$ph.ecog))
out[[length(out) + 1]] <- data.frame(kind = "trend",
  hand = sum(w * (sd$obs - sd$exp))^2 / as.numeric(t(w) %*% sd$var %*% w),
  score = coxph(Surv(time, status) ~ ph.ecog, data = e, ties = "exact")$score)
pr <- combn(w, 2)
pp <- apply(pr, 2, function(ab) {
  dd <- e[e$ph.ecog %in% ab, ]
  pchisq(survdiff(Surv(time, status) ~ ph.ecog, data = dd)$chisq, 1, lower.tail = FALSE)
})
out[[length(out) + 1]] <- data.frame(kind = "pairwise", a = pr[1, ], b = pr[2, ], p = pp,
  holm = p.adjust(pp, "holm"), bh = p.adjust(pp, "BH"))
e3 <- e[e$ph.ecog < 3, ]
cs <- summary(coxph(Surv(time, status) ~ relevel(factor(ph.ecog), ref = "1"), data = e3))
out[[length(out) + 1]] <- data.frame(kind = "cox", hr = cs$conf.int[, 1],
  lower = cs$conf.int[, 3], upper = cs$conf.int[, 4], p = cs$coefficients[, 5])
write.csv(fill(out), Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""
    )
    return run_r(script, _lung())


def _kind(r: pd.DataFrame, kind: str, **eq) -> pd.DataFrame:
    sub = r[r["kind"] == kind]
    for k, v in eq.items():
        sub = sub[sub[k].astype(str) == str(v)]
    assert len(sub), f"no R rows for {kind} {eq}"
    return sub.reset_index(drop=True)


def _assert_medians_match_r(km: KMResult, rm: pd.DataFrame) -> None:
    for col in ("median", "lower", "upper"):
        _assert_close(km.medians[col], rm[col], f"{col} ({km.conf_type})")
    np.testing.assert_array_equal(km.medians["n"], rm["n"])
    np.testing.assert_array_equal(km.medians["events"], rm["events"])


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
@pytest.mark.parametrize("rhs", ["1", "sex"])
def test_lung_survfit_table_live(r_lung, conf_type, rhs):
    km = kaplan_meier(_lung(), "time", "status", None if rhs == "1" else rhs, conf_type=conf_type)
    _assert_table_matches_r(km, _kind(r_lung, "tab", ct=conf_type, rhs=rhs))
    _assert_medians_match_r(km, _kind(r_lung, "med", ct=conf_type, rhs=rhs))


def test_lung_logrank_trend_pairwise_live(r_lung):
    d = _lung().dropna(subset=["ph.ecog"])
    lr = logrank(d, "time", "status", "ph.ecog")
    r = _kind(r_lung, "survdiff")
    assert abs(lr.statistic - r["chisq"].iloc[0]) < TOL
    assert abs(lr.p_value - r["p"].iloc[0]) < TOL
    assert lr.dof == r["df"].iloc[0] == 3
    tr = logrank_trend(d, "time", "status", "ph.ecog")
    r = _kind(r_lung, "trend")
    assert abs(r["hand"].iloc[0] - r["score"].iloc[0]) < TOL  # both R references agree
    assert abs(tr.statistic - r["score"].iloc[0]) < TOL
    r = _kind(r_lung, "pairwise")
    pw = pairwise_logrank(d, "time", "status", "ph.ecog", adjust="holm")
    np.testing.assert_array_equal(pw["group_a"], r["a"])
    np.testing.assert_array_equal(pw["group_b"], r["b"])
    _assert_close(pw["p_value"], r["p"], "pairwise p")
    _assert_close(pw["p_adjusted"], r["holm"], "holm")
    bh = pairwise_logrank(d, "time", "status", "ph.ecog", adjust="BH")
    _assert_close(bh["p_adjusted"], r["bh"], "BH")


def test_lung_univariable_hr_live(r_lung):
    d = _lung().dropna(subset=["ph.ecog"])
    d = d[d["ph.ecog"] < 3]  # ECOG 3 has a single patient
    hr = univariable_hr(d, "time", "status", "ph.ecog", reference=1.0)
    other = hr[~hr["reference"]]  # levels 0, 2, in R's coefficient order
    r = _kind(r_lung, "cox")
    for col, rcol in [("hr", "hr"), ("lower", "lower"), ("upper", "upper"), ("p_value", "p")]:
        _assert_close(other[col], r[rcol], col)
    assert hr.loc[hr["reference"], "hr"].item() == 1.0


def test_lung_landmark_rmean_live(r_lung):
    d = _lung()
    ours = survival_at(d, "time", "status", LANDMARKS, "sex").dropna(subset=["survival"])
    r = _kind(r_lung, "landmark")
    assert len(ours) == len(r)  # R drops times beyond a stratum's last observation
    for a, b in TABLE_MAP:
        _assert_close(ours[a], r[b], a)
    for tau in TAUS:
        rm = _kind(r_lung, "med", tau=float(tau))
        ours = rmst(d, "time", "status", tau, "sex")
        _assert_close(ours["rmst"], rm["rmean"], f"rmean {tau}")
        _assert_close(ours["se"], rm["se"], f"se(rmean) {tau}")


# ------------------------------------------------------------------------------------------------
# seeded random sets: ties + heavy censoring (one Rscript run for all sets)
# ------------------------------------------------------------------------------------------------
RANDOM_SETS = [(1, 2), (2, 3), (3, 4), (4, 4), (5, 2), (6, 3)]
RMST_TAU = 30


def _time_zero_set() -> pd.DataFrame:
    """Events (and censorings) at time 0."""
    d = _random_set(11, 2, n=120)
    d.loc[:4, "time"] = 0.0
    d.loc[:2, "status"] = 1
    return d


def _zero_expected_set() -> pd.DataFrame:
    """A group whose patients are all censored before the first event (expected = 0)."""
    d = _random_set(12, 2, n=120)
    d.loc[d["time"] == 0, "status"] = 0
    extra = pd.DataFrame({"time": [0.0, 0.0], "status": [0, 0], "g": ["Z", "Z"]})
    return pd.concat([d, extra], ignore_index=True)


def _all_random_sets() -> dict[str, pd.DataFrame]:
    sets = {f"s{seed}_{k}": _random_set(seed, k) for seed, k in RANDOM_SETS}
    sets["zero"] = _time_zero_set()
    sets["zexp"] = _zero_expected_set()
    return sets


@pytest.fixture(scope="module")
def r_random() -> pd.DataFrame:
    data = pd.concat([d.assign(set=name) for name, d in _all_random_sets().items()])
    script = (
        R_HELPERS
        + """
all <- read.csv(Sys.getenv("ORACLE_IN"))
out <- list()
for (nm in unique(all$set)) {
  d <- all[all$set == nm, ]
  for (ct in c("log", "log-log", "plain")) {
    f <- survfit(Surv(time, status) ~ g, data = d, conf.type = ct)
    out[[length(out) + 1]] <- km_tab(f, set = nm, ct = ct)
    out[[length(out) + 1]] <- km_med(f, RMST_TAU, set = nm, ct = ct)
  }
  out[[length(out) + 1]] <- sdiff(Surv(time, status) ~ g, d, set = nm)
}
write.csv(fill(out), Sys.getenv("ORACLE_OUT"), row.names = FALSE)
""".replace("RMST_TAU", str(RMST_TAU))
    )
    return run_r(script, data)


@pytest.mark.parametrize("name", list(_all_random_sets()))
def test_random_sets_vs_r(r_random, name):
    d = _all_random_sets()[name]
    if name.startswith("s"):
        assert d["status"].mean() < 0.5  # heavy censoring
        assert d["time"].duplicated().mean() > 0.5  # many ties
    for ct in ("log", "log-log", "plain"):
        km = kaplan_meier(d, "time", "status", "g", conf_type=ct)
        _assert_table_matches_r(km, _kind(r_random, "tab", set=name, ct=ct))
        _assert_medians_match_r(km, _kind(r_random, "med", set=name, ct=ct))
    rm = _kind(r_random, "med", set=name, ct="log")
    rr = rmst(d, "time", "status", RMST_TAU, "g")
    _assert_close(rr["rmst"], rm["rmean"], "rmean")
    _assert_close(rr["se"], rm["se"], "se(rmean)")
    r = _kind(r_random, "survdiff", set=name)
    lr = logrank(d, "time", "status", "g")
    assert abs(lr.statistic - r["chisq"].iloc[0]) < TOL
    assert lr.dof == r["df"].iloc[0]
    assert abs(lr.p_value - r["p"].iloc[0]) < TOL
    if name == "zexp":
        assert lr.dof == 1  # group Z (expected 0) dropped as in survdiff
        assert "Z (n=2)" in lr.warning


# ------------------------------------------------------------------------------------------------
# Aalen-Johansen (one Rscript run)
# ------------------------------------------------------------------------------------------------
def _competing_set(seed: int, n: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pfs = np.floor(rng.exponential(40, n)).astype(float)
    pfs_event = (rng.random(n) < 0.6).astype(int)
    died_at_pfs = (pfs_event == 1) & (rng.random(n) < 0.35)
    os_days = np.where(died_at_pfs, pfs, pfs + np.floor(rng.exponential(60, n)))
    os_event = np.where(died_at_pfs, 1, (rng.random(n) < 0.4).astype(int))
    return pd.DataFrame(
        {
            "pfs_days": pfs,
            "pfs_event": pfs_event,
            "os_days": os_days,
            "os_event": os_event,
            "arm": rng.choice(["a", "b"], n),
        }
    )


AJ_SEEDS = [7, 8]


@pytest.fixture(scope="module")
def r_aj() -> pd.DataFrame:
    data = pd.concat(
        [competing_status(_competing_set(s)).assign(set=s) for s in AJ_SEEDS],
        ignore_index=True,
    )
    return run_r(
        """
all <- read.csv(Sys.getenv("ORACLE_IN"))
out <- list()
for (s in unique(all$set)) {
  fit <- survfit(Surv(time, factor(status)) ~ 1, data = all[all$set == s, ])
  out[[length(out) + 1]] <- data.frame(set = s, time = fit$time, n.risk = fit$n.risk[, 1],
    s0 = fit$pstate[, 1], p1 = fit$pstate[, 2], p2 = fit$pstate[, 3])
}
write.csv(do.call(rbind, out), Sys.getenv("ORACLE_OUT"), row.names = FALSE)
""",
        data,
    )


@pytest.mark.parametrize("seed", AJ_SEEDS)
def test_aalen_johansen_vs_r(r_aj, seed):
    d = _competing_set(seed)
    assert set(competing_status(d)["status"]) == {0, 1, 2}
    r = r_aj[r_aj["set"] == seed]
    ci = cumulative_incidence(d).iloc[1:]
    _assert_close(ci["time"], r["time"], "time")
    _assert_close(ci["n_risk"], r["n.risk"], "n.risk")
    _assert_close(ci["event_free"], r["s0"], "(s0)")
    _assert_close(ci["cif_progression"], r["p1"], "progression")
    _assert_close(ci["cif_death"], r["p2"], "death")
    by = cumulative_incidence(d, group="arm")
    sub = cumulative_incidence(d[d["arm"] == "b"])
    _assert_close(by.loc[by["group"] == "b", "cif_death"], sub["cif_death"], "by group")


def test_competing_status_rules():
    d = pd.DataFrame(
        {
            "pfs_days": [10.0, 10.0, 10.0, 5.0],
            "pfs_event": [1, 1, 0, 1],
            "os_days": [10.0, 20.0, 30.0, 5.0],
            "os_event": [1, 1, 0, 0],
        }
    )
    assert competing_status(d)["status"].tolist() == [2, 1, 0, 1]


# ------------------------------------------------------------------------------------------------
# edge cases and helpers (hand calculations / quoted R)
# ------------------------------------------------------------------------------------------------
def test_median_midpoint_and_flat_tail():
    # R: print(survfit(Surv(c(1,2,3,4), c(1,1,1,1)) ~ 1)) -> median 2.5, LCL 1, UCL NA
    d = pd.DataFrame({"t": [1.0, 2, 3, 4], "e": [1, 1, 1, 1]})
    m = kaplan_meier(d, "t", "e").medians.iloc[0]
    assert m["median"] == 2.5 and m["lower"] == 1 and np.isnan(m["upper"])
    # R: print(survfit(Surv(c(1,2,3,4), c(1,1,0,0)) ~ 1)) -> median 2 (print.survfit; note
    # quantile.survfit gives 3 here), LCL 1, UCL NA
    d = pd.DataFrame({"t": [1.0, 2, 3, 4], "e": [1, 1, 0, 0]})
    m = kaplan_meier(d, "t", "e").medians.iloc[0]
    assert m["median"] == 2 and m["lower"] == 1 and np.isnan(m["upper"])


def test_survival_zero_gives_nan_ci():
    # R: survfit(Surv(c(1,2,2,3,4), c(1,0,1,1,1)) ~ 1): at t=4 surv 0, std.err Inf, CI NA
    d = pd.DataFrame({"t": [1.0, 2, 2, 3, 4], "e": [1, 0, 1, 1, 1]})
    for ct in ("log", "log-log", "plain"):
        last = kaplan_meier(d, "t", "e", conf_type=ct).table.iloc[-1]
        assert last["survival"] == 0 and np.isinf(last["std_err"])
        assert np.isnan(last["lower"]) and np.isnan(last["upper"])


def test_all_censored():
    d = pd.DataFrame({"t": [1.0, 2, 3], "e": [0, 0, 0], "g": ["a", "a", "b"]})
    km = kaplan_meier(d, "t", "e", "g")
    assert km.medians["median"].isna().all()
    assert (km.table["survival"] == 1).all()
    lr = logrank(d, "t", "e", "g")
    assert lr.statistic == 0 and lr.dof == -1 and np.isnan(lr.p_value)


def test_one_group_and_single_patient_group():
    d = _random_set(3, 2, n=40)
    km = kaplan_meier(d.assign(g="only"), "time", "status", "g")
    assert km.levels == ("only",) and len(km.medians) == 1
    with pytest.raises(ValueError, match="at least 2 groups"):
        logrank(d.assign(g="only"), "time", "status", "g")
    one = pd.concat([d, pd.DataFrame({"time": [5.0], "status": [1], "g": ["solo"]})])
    km = kaplan_meier(one, "time", "status", "g")
    solo = km.table[km.table["group"] == "solo"]
    assert solo["survival"].tolist() == [1.0, 0.0]
    assert km.medians.set_index("group").loc["solo", "median"] == 5
    lr = logrank(one, "time", "status", "g")
    assert "solo (n=1)" in lr.warning


def test_origin_rows():
    km = kaplan_meier(_lung(), "time", "status", "sex")
    first = km.table.groupby("group").head(1)
    assert (first["time"] == 0).all() and (first["survival"] == 1).all()
    assert first["n_risk"].tolist() == [138, 90]


def test_n_at_risk_hand():
    d = pd.DataFrame({"t": [1.0, 2, 2, 3, 5, 8], "e": [1, 0, 1, 1, 0, 1]})
    km = kaplan_meier(d, "t", "e")
    r = n_at_risk(km, [0, 2, 4, 8, 10])
    assert r["at_risk"].tolist() == [6, 5, 2, 1, 0]
    assert r["events"].tolist() == [0, 2, 3, 4, 4]
    assert r["censored"].tolist() == [0, 1, 1, 2, 2]


def test_truncate_at():
    d = pd.DataFrame({"t": [100.0, 360, 400, 500], "e": [1, 1, 1, 0]})
    out = truncate_at(d, "t", "e", 360)
    assert out["t"].tolist() == [100, 360, 360, 360]
    assert out["e"].tolist() == [1, 1, 0, 0]
    assert d["t"].tolist() == [100, 360, 400, 500]  # input untouched


def testp_adjust_holm_hand():
    # R: p.adjust(c(0.01, 0.04, 0.03), "holm") -> 0.03 0.06 0.06
    np.testing.assert_allclose(p_adjust(np.array([0.01, 0.04, 0.03]), "holm"), [0.03, 0.06, 0.06])


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"t": [1.0, np.nan], "e": [1, 0], "g": ["a", "b"]}), "missing"),
        (pd.DataFrame({"t": [1.0, -2.0], "e": [1, 0], "g": ["a", "b"]}), "negative"),
        (pd.DataFrame({"t": [1.0, 2.0], "e": [1, 2], "g": ["a", "b"]}), "0 \\(censored\\) or 1"),
        (pd.DataFrame({"t": [1.0, 2.0], "e": [1, np.nan], "g": ["a", "b"]}), "0 \\(censored\\)"),
        (pd.DataFrame({"t": [1.0, 2.0], "e": [1, 0], "g": ["a", None]}), "missing"),
        (
            pd.DataFrame(
                {"t": [1.0, 2.0], "e": [1, 0], "g": pd.Categorical(["a", "a"], ["a", "b"])}
            ),
            "no patients",
        ),
        (pd.DataFrame({"t": [], "e": [], "g": []}), "empty"),
        (pd.DataFrame({"t": ["x"], "e": [1], "g": ["a"]}), "numeric"),
    ],
)
def test_validation(frame, match):
    with pytest.raises(ValueError, match=match):
        kaplan_meier(frame, "t", "e", "g")


def test_validation_other():
    d = pd.DataFrame({"t": [1.0, 2.0], "e": [1, 0], "g": ["a", "b"]})
    with pytest.raises(ValueError, match="not in data"):
        kaplan_meier(d, "time", "e")
    with pytest.raises(ValueError, match="conf_type"):
        kaplan_meier(d, "t", "e", conf_type="logit")
    with pytest.raises(ValueError, match="horizon"):
        rmst(d, "t", "e", -1)
    with pytest.raises(ValueError, match="times"):
        survival_at(d, "t", "e", [-5])
    with pytest.raises(ValueError, match="reference"):
        univariable_hr(d, "t", "e", "g", reference="zzz")
    with pytest.raises(ValueError, match="adjust"):
        pairwise_logrank(d, "t", "e", "g", adjust="fdr??")


def test_boolean_events_and_categorical_order():
    d = _random_set(9, 3, n=80)
    d["g"] = pd.Categorical(d["g"], ["G2", "G0", "G1"])
    km = kaplan_meier(d.assign(status=d["status"].astype(bool)), "time", "status", "g")
    assert km.levels == ("G2", "G0", "G1")
    assert km.medians["group"].tolist() == ["G2", "G0", "G1"]
    ref = kaplan_meier(d.assign(g=d["g"].astype(str)), "time", "status", "g").medians
    a = km.medians.set_index("group").sort_index()
    b = ref.set_index("group").sort_index()
    _assert_close(a["median"], b["median"], "median")


# ------------------------------------------------------------------------------------------------
# chart builders (structure only; numbers come from the core results tested above)
# ------------------------------------------------------------------------------------------------
def test_km_chart_spec():
    from core.charts import survival as ch

    d = _lung()
    km = kaplan_meier(d, "time", "status", "sex")
    spec = ch.km_chart(km, "months", horizon=360, landmarks=[180]).to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks[:2] == ["area", "line"] and "tick" in marks and "rule" in marks
    line = spec["layer"][1]
    assert line["mark"]["interpolate"] == "step-after"
    assert line["encoding"]["strokeDash"]["field"] == "group_label"  # not colour alone
    assert line["encoding"]["color"]["scale"]["range"] == ch.OKABE_ITO[:2]
    assert "months" in line["encoding"]["x"]["title"]
    # curve data stop at the horizon, converted to months
    cd = ch.curve_data(km, "months", 360)
    assert cd["time"].max() == 360 and abs(cd["t"].max() - 360 / DAYS_PER_MONTH) < 1e-12
    no_ci = ch.km_chart(km, show_ci=False, show_censor=False).to_dict()
    assert [layer["mark"]["type"] for layer in no_ci["layer"]] == ["line", "point"]


def test_risk_table_and_figure():
    from core.charts import survival as ch

    km = kaplan_meier(_lung(), "time", "status", "sex")
    ticks = ch.time_ticks(360)
    assert ticks == [0, 60, 120, 180, 240, 300, 360]
    assert ch.time_ticks(360, "months")[-1] == 10 * DAYS_PER_MONTH
    long = ch.risk_table_data(km, ticks)
    nar = n_at_risk(km, ticks)
    at_risk = long[long["metric"] == "at_risk"]["value"].to_numpy()
    np.testing.assert_array_equal(at_risk, nar["at_risk"].to_numpy())
    fig = ch.km_figure(km, "days", 360, title="OS").to_dict()
    assert len(fig["vconcat"]) == 2
    with pytest.raises(ValueError, match="time_unit"):
        ch.km_chart(km, time_unit="weeks")


def test_cif_chart_spec():
    from core.charts import survival as ch

    d = _competing_set(7)
    spec = ch.cif_chart(cumulative_incidence(d), "days", 90).to_dict()
    assert spec["mark"]["type"] == "area" and spec["encoding"]["y"]["stack"] == "zero"
    faceted = ch.cif_chart(cumulative_incidence(d, group="arm"), "months").to_dict()
    assert "facet" in faceted


# ------------------------------------------------------------------------------------------------
# page helpers
# ------------------------------------------------------------------------------------------------
def test_make_groups():
    d = _lung()
    g = make_groups(d, "age", 60)
    assert g.levels == ("age < 60", "age ≥ 60") and g.threshold == 60 and not g.ordered
    assert (g.df[g.column] == "age < 60").sum() == (d["age"] < 60).sum()
    assert make_groups(d, "age").threshold == d["age"].median()
    g = make_groups(d, "ph.ecog")
    assert g.n_missing == 1 and g.levels == (0.0, 1.0, 2.0, 3.0) and g.ordered
    assert len(g.df) == len(d) - 1
    g = make_groups(d, "sex")
    assert g.levels == (1, 2) and not g.ordered  # two levels: no separate trend test
    # cut above the maximum: only one group is left
    g = make_groups(d, "age", 1000)
    assert g.levels == ("age < 1000",)
    km = kaplan_meier(g.df, "time", "status", g.column)
    assert km.levels == g.levels


def test_cumulative_incidence_at_hand():
    d = pd.DataFrame(
        {
            "pfs_days": [1.0, 2, 3, 4],
            "pfs_event": [1, 1, 0, 1],
            "os_days": [5.0, 2, 3, 4],
            "os_event": [0, 1, 0, 1],
        }
    )
    # status: 1 progression at t=1, 2 death at t=2, censored at 3, 2 death at 4
    ci = cumulative_incidence(d)
    at = cumulative_incidence_at(ci, [0, 1, 2.5, 4, 9])
    np.testing.assert_allclose(at["cif_progression"][:4], [0, 0.25, 0.25, 0.25])
    np.testing.assert_allclose(at["cif_death"][:4], [0, 0, 0.25, 0.75])
    assert at["n_risk"].tolist() == [4, 4, 2, 1, 0] and np.isnan(at["cif_death"].iloc[4])


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


def test_sparse_counting_path_matches_dense(monkeypatch):
    """Large groups x times use np.unique instead of dense count matrices: same results."""
    d = _random_set(31, 4, n=400)
    d["time"] = d["time"] + np.random.default_rng(0).integers(0, 3, len(d)) / 4
    km_dense = kaplan_meier(d, "time", "status", "g", conf_type="log-log")
    lr_dense = logrank(d, "time", "status", "g")
    monkeypatch.setattr(stats_survival, "_DENSE_LIMIT", 0)
    km_sparse = kaplan_meier(d, "time", "status", "g", conf_type="log-log")
    lr_sparse = logrank(d, "time", "status", "g")
    pd.testing.assert_frame_equal(km_dense.table, km_sparse.table)
    pd.testing.assert_frame_equal(km_dense.medians, km_sparse.medians)
    assert abs(lr_dense.statistic - lr_sparse.statistic) < 1e-10
    np.testing.assert_allclose(lr_dense.table["expected"], lr_sparse.table["expected"])


def test_nullable_dtypes_from_duckdb():
    """DuckDB hands back nullable Int32 / boolean columns: accepted, NA groups dropped."""
    d = _random_set(41, 3, n=60)
    d["ps"] = pd.array(np.where(np.arange(60) % 7 == 0, None, np.arange(60) % 3), dtype="Int32")
    d["flag"] = pd.array(np.arange(60) % 2 == 0, dtype="boolean")
    d["status"] = d["status"].astype("Int32")
    g = make_groups(d, "ps")
    assert g.levels == (0, 1, 2) and g.ordered and g.n_missing == 9
    km = kaplan_meier(g.df, "time", "status", g.column)
    ref = kaplan_meier(g.df.astype({"ps": int, "status": int}), "time", "status", "ps")
    pd.testing.assert_frame_equal(km.medians, ref.medians)
    g = make_groups(d, "flag")
    assert g.levels == (False, True) and not g.ordered
    assert logrank(g.df, "time", "status", g.column).dof == 1


def test_make_groups_order_and_label():
    d = _random_set(51, 4, n=80)
    g = make_groups(d, "g", order=["G3", "G1"])
    assert g.levels == ("G3", "G1", "G0", "G2")
    km = kaplan_meier(g.df, "time", "status", g.column)
    assert km.levels == g.levels and km.medians["group"].tolist() == list(g.levels)
    d["x"] = np.arange(80) / 2
    assert make_groups(d, "x", 10, label="Dose").levels == ("Dose < 10", "Dose ≥ 10")


def test_cif_curve_data_runs_to_horizon():
    from core.charts import survival as ch

    # hand calculation: 4 patients, all progress on day 1 -> CIF(progression) = 1 from day 1 on;
    # nobody is left event-free, so the estimate is carried to the horizon (day 360)
    d = pd.DataFrame(
        {"pfs_days": [1.0] * 4, "pfs_event": [1] * 4, "os_days": [30.0] * 4, "os_event": [1] * 4}
    )
    cd = ch.cif_curve_data(cumulative_incidence(d), 360)
    assert cd["time"].tolist() == [0.0, 1.0, 360.0]
    assert cd["cif_progression"].tolist() == [0.0, 1.0, 1.0]
    spec = ch.cif_chart(cumulative_incidence(d), "days", 360).to_dict()
    assert spec["encoding"]["strokeDash"]["field"] == "state_label"  # not colour alone
    # a group censored before the horizon stops at its last follow-up (as R's plot.survfit)
    d2 = pd.DataFrame(
        {"pfs_days": [5.0, 50.0], "pfs_event": [1, 0], "os_days": [9.0, 50.0], "os_event": [1, 0]}
    )
    assert ch.cif_curve_data(cumulative_incidence(d2), 360)["time"].max() == 50.0
    # four groups wrap into rows of two panels
    d4 = _competing_set(3).assign(arm=lambda x: np.arange(len(x)) % 4)
    faceted = ch.cif_chart(cumulative_incidence(d4, group="arm"), "days", 90).to_dict()
    assert faceted["columns"] == 2


# ------------------------------------------------------------------------------------------------
# Aalen-Johansen standard errors and 95% CIs (one Rscript run)
# R survfit multi-state: infinitesimal-jackknife std.err of pstate (logse = FALSE), "log" CI
# ------------------------------------------------------------------------------------------------
def _cr_ties_set(seed: int, n: int = 240) -> pd.DataFrame:
    """Few distinct days (many ties, some at day 0), ~60% censored, both competing events.

    Ties mix progression, death and censoring on the same day; group "b" is smaller and
    has later times.
    """
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < 0.6, "a", "b")
    t = np.floor(rng.exponential(np.where(arm == "a", 8.0, 14.0))).astype(float)
    status = rng.choice(3, size=n, p=[0.6, 0.25, 0.15])  # 0 censored, 1 progression, 2 death
    return pd.DataFrame(
        {
            "pfs_days": t,
            "pfs_event": (status > 0).astype(int),
            "os_days": t + np.where(status == 1, 5.0, 0.0),
            "os_event": (status == 2).astype(int),
            "arm": arm,
        }
    )


def _cohort_cr() -> pd.DataFrame:
    from core.cohort import db

    df = db.connect().execute("select * from patients").df()
    return df.dropna(subset=["os_days", "os_event", "pfs_days", "pfs_event", "sex"])


CIF_CI_SETS = {"ties": ("arm", lambda: _cr_ties_set(17)), "cohort": ("sex", _cohort_cr)}
CIF_AT_TIMES = [0.0, 0.5, 1.0, 2.0, 3.5, 7.0, 12.0, 30.0, 90.0, 180.0, 360.0]
CIF_R_COLUMNS = {  # ours -> R column written by the oracle script below
    "time": "time",
    "n_risk": "n.risk",
    "cif_progression": "p1",
    "cif_death": "p2",
    "se_progression": "se1",
    "se_death": "se2",
    "lower_progression": "lo1",
    "lower_death": "lo2",
    "upper_progression": "up1",
    "upper_death": "up2",
}


@pytest.fixture(scope="module")
def r_cif_ci() -> pd.DataFrame:
    parts = []
    for name, (gcol, make) in CIF_CI_SETS.items():
        d = make()
        st = competing_status(d)
        parts.append(st.assign(set=name, grp=d[gcol].astype(str).to_numpy()))
    times = ", ".join(f"{t:g}" for t in CIF_AT_TIMES)
    return run_r(
        f"tt <- c({times})\n"
        + """
all <- read.csv(Sys.getenv("ORACLE_IN"))
out <- list()
ms <- function(x, kind, set, rhs, ct, strata) {
  data.frame(kind = kind, set = set, rhs = rhs, ct = ct, strata = strata, time = x$time,
    n.risk = x$n.risk[, 1], p1 = x$pstate[, 2], p2 = x$pstate[, 3],
    se1 = x$std.err[, 2], se2 = x$std.err[, 3], lo1 = x$lower[, 2], lo2 = x$lower[, 3],
    up1 = x$upper[, 2], up2 = x$upper[, 3])
}
for (s in unique(all$set)) {
  d <- all[all$set == s, ]
  for (rhs in c("1", "grp")) {
    for (ct in c("log", "log-log", "plain")) {
      fit <- survfit(as.formula(paste("Surv(time, factor(status)) ~", rhs)), data = d,
                     conf.type = ct)
      ns <- if (is.null(fit$strata)) length(fit$time) else fit$strata
      out[[length(out) + 1]] <- ms(fit, "fit", s, rhs, ct, rep(seq_along(ns), ns))
      if (ct == "log") {
        g <- if (rhs == "1") rep(1, nrow(d)) else d$grp
        sm <- summary(fit, times = tt[tt <= min(tapply(d$time, g, max))])
        st <- if (is.null(sm$strata)) rep(1L, length(sm$time)) else as.integer(sm$strata)
        out[[length(out) + 1]] <- ms(sm, "at", s, rhs, ct, st)
      }
    }
  }
}
write.csv(do.call(rbind, out), Sys.getenv("ORACLE_OUT"), row.names = FALSE)
""",
        pd.concat(parts, ignore_index=True),
    )


def _cif_body(cif: pd.DataFrame) -> pd.DataFrame:
    """Cumulative-incidence table without the origin rows (R's survfit has none)."""
    return cif[cif.groupby("group", sort=False).cumcount() > 0].reset_index(drop=True)


@pytest.mark.parametrize("conf_type", CONF_TYPES)
@pytest.mark.parametrize("grouped", [False, True], ids=["overall", "by_group"])
@pytest.mark.parametrize("name", list(CIF_CI_SETS))
def test_cif_se_ci_vs_r(r_cif_ci, name, grouped, conf_type):
    gcol, make = CIF_CI_SETS[name]
    d = make()
    if name == "ties":
        st = competing_status(d)
        assert set(st["status"]) == {0, 1, 2} and (st["status"] == 0).mean() > 0.5
        assert st["time"].duplicated().mean() > 0.8 and (st["time"] == 0).any()
    r = r_cif_ci[
        (r_cif_ci["kind"] == "fit")
        & (r_cif_ci["set"] == name)
        & (r_cif_ci["rhs"] == ("grp" if grouped else "1"))
        & (r_cif_ci["ct"] == conf_type)
    ]
    group = gcol if grouped else None
    body = _cif_body(cumulative_incidence(d, group=group, conf_type=conf_type))
    assert len(body) == len(r) > 0
    np.testing.assert_array_equal(
        pd.factorize(body["group"], sort=False)[0] + 1, r["strata"].to_numpy()
    )
    for ours, theirs in CIF_R_COLUMNS.items():
        _assert_close(body[ours], r[theirs], f"{name} {conf_type} {ours}")


@pytest.mark.parametrize("grouped", [False, True], ids=["overall", "by_group"])
@pytest.mark.parametrize("name", list(CIF_CI_SETS))
def test_cif_at_se_ci_vs_r(r_cif_ci, name, grouped):
    """cumulative_incidence_at = summary(survfit(...), times = ) for the CI columns too."""
    gcol, make = CIF_CI_SETS[name]
    d = make()
    r = r_cif_ci[
        (r_cif_ci["kind"] == "at")
        & (r_cif_ci["set"] == name)
        & (r_cif_ci["rhs"] == ("grp" if grouped else "1"))
    ]
    cif = cumulative_incidence(d, group=gcol if grouped else None)
    last = cif.groupby("group")["time"].max().min()
    at = cumulative_incidence_at(cif, [t for t in CIF_AT_TIMES if t <= last])
    assert len(at) == len(r) > 0
    for ours, theirs in CIF_R_COLUMNS.items():
        _assert_close(at[ours], r[theirs], f"{name} at {ours}")


def _survfitci_loop(time: np.ndarray, status: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Direct transcription of R's C routine ``survfitci`` (one curve, unit weights).

    Returns the distinct times and the std.err of (s0, 1, 2) at each: every subject's influence
    row ``U_i`` is updated as ``U_i H`` then, for subjects at risk, ``- H[0, :] p0 / n`` and
    ``+ p0 / n`` in the state they are in after the time.
    """
    n = len(time)
    u = np.zeros((n, 3))
    p = np.array([1.0, 0.0, 0.0])
    times = np.unique(time)
    out = np.zeros((len(times), 3))
    for j, t in enumerate(times):
        at_risk = time >= t
        here = time == t
        n_risk = at_risk.sum()
        d = np.array([np.sum(here & (status == k)) for k in (1, 2)])
        if d.sum() > 0:
            hmat = np.eye(3)
            hmat[0] = [1 - d.sum() / n_risk, d[0] / n_risk, d[1] / n_risk]
            u = u @ hmat
            after = np.where(here, status, 0)  # state just after t (0 = still event-free)
            u[at_risk] -= hmat[0] * p[0] / n_risk
            u[np.flatnonzero(at_risk), after[at_risk]] += p[0] / n_risk
            p = p @ hmat
        out[j] = np.sqrt((u**2).sum(axis=0))
    return times, out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cif_se_matches_survfitci_loop(seed):
    """The closed form (cumulative sums) = R's subject-by-subject recursion, ties and edge cases.

    Seed 3 ends with every remaining patient having an event on the last day (all-cause
    hazard 1: the closed form must not divide by zero).
    """
    rng = np.random.default_rng(seed)
    n = 300
    t = np.floor(rng.exponential(10, n)).astype(float)
    status = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    if seed == 3:
        status[t == t.max()] = 2
    d = pd.DataFrame(
        {
            "pfs_days": t,
            "pfs_event": (status > 0).astype(int),
            "os_days": t,
            "os_event": (status == 2).astype(int),
        }
    )
    times, se = _survfitci_loop(t, status)
    body = _cif_body(cumulative_incidence(d))
    _assert_close(body["time"], times, "time")
    _assert_close(body["se_progression"], se[:, 1], "se progression")
    _assert_close(body["se_death"], se[:, 2], "se death")


def test_cif_se_ci_hand():
    """Without censoring before t the CIF is a proportion and R's se is binomial.

    R 4.x, survival 3.5: survfit(Surv(c(1,2,2,3,4,4,5,6,6,7), factor(c(1,2,0,1,0,2,1,1,0,2)))
    ~ 1) gives at t = 2 pstate 0.1 / 0.1, std.err 0.0948683 / 0.0948683 = sqrt(0.1 * 0.9 / 10),
    lower 0.01557684, upper 0.6419788 (both states); at t = 1 the death CI is NA (F = 0); at
    t = 7 progression 0.5, std.err 0.17871423, upper 1 (capped).
    """
    t = np.array([1.0, 2, 2, 3, 4, 4, 5, 6, 6, 7])
    status = np.array([1, 2, 0, 1, 0, 2, 1, 1, 0, 2])
    d = pd.DataFrame(
        {"pfs_days": t, "pfs_event": status > 0, "os_days": t, "os_event": status == 2}
    )
    cif = cumulative_incidence(d)
    row = cif[cif["time"] == 2].iloc[0]
    se = np.sqrt(0.1 * 0.9 / 10)
    assert abs(row["se_progression"] - se) < 1e-12 and abs(row["se_death"] - se) < 1e-12
    lo, hi = np.exp(np.log(0.1) + np.array([-1, 1]) * ndtri(0.975) * se / 0.1)
    for state in ("progression", "death"):
        assert abs(row[f"lower_{state}"] - lo) < 1e-12 and abs(row[f"upper_{state}"] - hi) < 1e-12
    assert abs(lo - 0.01557684) < 1e-8 and abs(hi - 0.6419788) < 1e-7
    first = cif[cif["time"] == 1].iloc[0]
    assert first["se_death"] == 0 and np.isnan(first["lower_death"])
    last = cif.iloc[-1]
    assert abs(last["se_progression"] - 0.17871423) < 1e-8 and last["upper_progression"] == 1
    # origin row as survival::survfit0: se 0, lower = upper = 0
    assert (cif.iloc[0][CIF_CI_COLUMNS] == 0).all()
    at = cumulative_incidence_at(cif, [0.5, 2.5, 9])
    assert at["se_death"].iloc[1] == row["se_death"] and at["lower_death"].iloc[0] == 0
    assert np.isnan(at["upper_death"].iloc[2])
    with pytest.raises(ValueError, match="conf_type"):
        cumulative_incidence(d, conf_type="logit")


def test_cif_columns_kept():
    """The CI columns are appended: earlier columns and values are unchanged."""
    d = _competing_set(7)
    cif = cumulative_incidence(d, group="arm")
    first = ["group", "time", "n_risk", "n_progression", "n_death", "n_censor", "event_free"]
    assert cif.columns.tolist() == [*first, "cif_progression", "cif_death", *CIF_CI_COLUMNS]
    at = cumulative_incidence_at(cif, [30, 60])
    assert at.columns.tolist()[:6] == [
        "group",
        "time",
        "n_risk",
        "cif_progression",
        "cif_death",
        "event_free",
    ]
    # an older table without CI columns still works
    old = cumulative_incidence_at(cif.drop(columns=CIF_CI_COLUMNS), [30, 60])
    pd.testing.assert_frame_equal(old, at.drop(columns=CIF_CI_COLUMNS))


def test_cif_chart_curves_with_ci_spec():
    import altair as alt

    from core.charts import survival as ch

    d = _competing_set(7)
    cif = cumulative_incidence(d)
    # the default stays the stacked area chart
    assert ch.cif_chart(cif, "days", 90).to_dict()["mark"]["type"] == "area"
    chart = ch.cif_chart(cif, "months", 90, stacked=False, show_ci=True)
    assert isinstance(chart, alt.LayerChart)
    spec = chart.to_dict(validate=True)
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks[:2] == ["area", "line"]
    band, line = spec["layer"][0], spec["layer"][1]
    assert band["encoding"]["y"]["field"] == "lower_band"
    assert band["encoding"]["y2"]["field"] == "upper_band"
    assert line["mark"]["interpolate"] == "step-after"
    assert "stack" not in line["encoding"]["y"] or line["encoding"]["y"]["stack"] is None
    # states told apart by dash (solid progression, dashed death), not colour alone
    assert line["encoding"]["strokeDash"]["field"] == "state_label"
    assert line["encoding"]["strokeDash"]["scale"]["range"] == [[1, 0], [6, 3]]
    assert line["encoding"]["color"]["scale"]["range"] == [ch.OKABE_ITO[4], ch.OKABE_ITO[5]]
    # band data: undefined CIs (F = 0) drawn as zero width, the rest as R's limits
    data = ch.cif_ci_data(cif, "days", 90)
    assert data["lower_band"].notna().all() and (data["lower_band"] <= data["cif"] + 1e-12).all()
    assert (data["upper_band"] >= data["cif"] - 1e-12).all() and data["t"].max() == 90
    no_ci = ch.cif_chart(cif, stacked=False).to_dict(validate=True)
    assert [layer["mark"]["type"] for layer in no_ci["layer"]] == ["line", "point"]
    faceted = ch.cif_chart(
        cumulative_incidence(d, group="arm"), "days", 90, stacked=False, show_ci=True
    ).to_dict(validate=True)
    assert "facet" in faceted and faceted["spec"]["layer"][0]["mark"]["type"] == "area"
    with pytest.raises(ValueError, match="show_ci"):
        ch.cif_chart(cif, show_ci=True)


# --------------------------------------------------------------------------------------
# display tables (format_*): expectations worked out by hand
# --------------------------------------------------------------------------------------
def _three_deaths() -> pd.DataFrame:
    """Three patients, deaths at days 10, 20 and 30 (no censoring)."""
    return pd.DataFrame({"t": [10, 20, 30], "e": [1, 1, 1]})


def _km_with_medians(medians: pd.DataFrame) -> KMResult:
    """A Kaplan-Meier result holding only a given median table (all format_medians reads)."""
    return KMResult(
        table=pd.DataFrame(),
        medians=medians,
        conf_type="log",
        duration="t",
        event="e",
        group="g",
        levels=tuple(medians["group"]),
    )


def test_level_label_and_format_time():
    assert [level_label(v) for v in (2.0, np.float64(0.0), 2.5, "CRS", 3)] == [
        "2",
        "0",
        "2.5",
        "CRS",
        "3",
    ]
    # days: whole days; months: days / 30.4375 to one decimal
    assert format_time(183.0) == "183"
    assert format_time(183.0, "months") == "6.0"  # 183 / 30.4375 = 6.012
    assert format_time(365.0, "months") == "12.0"  # 11.992
    assert format_time(45.0, "months") == "1.5"  # 1.478
    assert format_time(float("nan")) == "NR" and format_time(np.nan, "months") == "NR"
    with pytest.raises(ValueError, match="unit"):
        format_time(30.0, "weeks")


def test_format_medians_hand():
    medians = pd.DataFrame(
        {
            "group": [1.0, 2.0],
            "n": [12, 7],
            "events": [5, 7],
            "median": [np.nan, 91.0],
            "lower": [200.0, 30.0],
            "upper": [np.nan, 365.0],
        }
    )
    shown = format_medians(_km_with_medians(medians), "days")
    assert shown.columns.tolist() == ["Group", "N", "Events", "Median (days)", "95% CI"]
    assert shown["Group"].tolist() == ["1", "2"]
    assert shown["N"].tolist() == [12, 7] and shown["Events"].tolist() == [5, 7]
    assert shown["Median (days)"].tolist() == ["NR", "91"]
    assert shown["95% CI"].tolist() == ["200 – NR", "30 – 365"]
    months = format_medians(_km_with_medians(medians), "months")
    # 91 / 30.4375 = 2.990; 200 -> 6.571; 30 -> 0.986; 365 -> 11.992
    assert months["Median (months)"].tolist() == ["NR", "3.0"]
    assert months["95% CI"].tolist() == ["6.6 – NR", "1.0 – 12.0"]


def test_format_medians_from_kaplan_meier_hand():
    """Deaths at 10, 20, 30: S = 2/3, 1/3, 0, so the median is 20 (first S <= 0.5).

    Log-scale Greenwood limits at day 10: S = 2/3, se(log S) = sqrt(1 / (3 * 2)) = 0.408, so
    lower = 2/3 * exp(-1.96 * 0.408) = 0.300 (<= 0.5: the median's lower limit is day 10) and
    upper = 2/3 * exp(+1.96 * 0.408) = 1.48, capped at 1; at day 20 the upper limit is still 1,
    so the upper limit of the median is not reached.
    """
    km = kaplan_meier(_three_deaths(), "t", "e")
    shown = format_medians(km, "days")
    assert shown.to_dict("list") == {
        "Group": ["All"],
        "N": [3],
        "Events": [3],
        "Median (days)": ["20"],
        "95% CI": ["10 – NR"],
    }


def test_format_landmarks_hand():
    # S(15) = 2/3 with 2 at risk; CI (0.300, 1) from the Greenwood calculation above
    at = survival_at(_three_deaths(), "t", "e", [15, 45])
    shown = format_landmarks(at, "days")
    assert shown.columns.tolist() == ["Group", "Time (days)", "At risk", "S(t)", "95% CI"]
    assert shown["Time (days)"].tolist() == ["15", "45"]
    assert shown["At risk"].tolist() == [2, 0]
    assert shown["S(t)"].iloc[0] == 0.667 and np.isnan(shown["S(t)"].iloc[1])
    assert shown["95% CI"].tolist() == ["0.300 – 1.000", "–"]  # beyond follow-up: no CI
    by_month = format_landmarks(at, "months")
    assert by_month["Time (months)"].tolist() == ["0.5", "1.5"]  # 0.493, 1.478
    frame = pd.DataFrame(
        {
            "group": ["CRS", 1.0],
            "time": [90.0, 180.0],
            "n_risk": [21, 4],
            "survival": [0.71649, 0.5],
            "lower": [0.5751, np.nan],
            "upper": [0.89249, np.nan],
        }
    )
    shown = format_landmarks(frame)
    assert shown["Group"].tolist() == ["CRS", "1"]
    assert shown["S(t)"].tolist() == [0.716, 0.5]
    assert shown["95% CI"].tolist() == ["0.575 – 0.892", "–"]


def test_format_n_at_risk_hand():
    # at risk at t = patients with time >= t; events / censored with time <= t
    km = kaplan_meier(_three_deaths().assign(e=[1, 0, 1]), "t", "e")
    nar = n_at_risk(km, [0, 15, 30])
    shown = format_n_at_risk(nar, "days")
    assert shown.columns.tolist() == ["group", "time", "at_risk", "events", "censored"]
    assert shown["group"].tolist() == ["All"] * 3
    assert shown["time"].tolist() == ["0", "15", "30"]
    assert shown["at_risk"].tolist() == [3, 2, 1]
    assert shown["events"].tolist() == [0, 1, 2]
    assert shown["censored"].tolist() == [0, 0, 1]
    # 15 / 30.4375 = 0.493, 30 / 30.4375 = 0.986
    assert format_n_at_risk(nar, "months")["time"].tolist() == ["0.0", "0.5", "1.0"]


def test_format_cif_table_hand():
    at = pd.DataFrame(
        {
            "group": [0.0, "All"],
            "time": [30.0, 365.0],
            "n_risk": [40, 9],
            "cif_progression": [0.0, 0.25049],
            "cif_death": [0.05, 0.1],
            "event_free": [0.95, 0.64951],
            "lower_progression": [np.nan, 0.1234],
            "upper_progression": [np.nan, 0.50849],
            "lower_death": [0.01, 0.04],
            "upper_death": [0.2, 0.25],
        }
    )
    shown = format_cif_table(at, "days")
    assert shown.columns.tolist() == [
        "Group",
        "Time (days)",
        "At risk",
        "Progression",
        "Prog. 95% CI",
        "Death w/o progression",
        "Death 95% CI",
        "Alive, no progression",
    ]
    assert shown["Group"].tolist() == ["0", "All"]
    assert shown["Time (days)"].tolist() == ["30", "365"]
    assert shown["At risk"].tolist() == [40, 9]
    assert shown["Progression"].tolist() == [0.0, 0.25]
    assert shown["Prog. 95% CI"].tolist() == ["–", "0.123 – 0.508"]  # no CI while F = 0
    assert shown["Death w/o progression"].tolist() == [0.05, 0.1]
    assert shown["Death 95% CI"].tolist() == ["0.010 – 0.200", "0.040 – 0.250"]
    assert shown["Alive, no progression"].tolist() == [0.95, 0.65]
    assert format_cif_table(at, "months")["Time (months)"].tolist() == ["1.0", "12.0"]


def test_format_pairwise_and_hazard_ratios_hand():
    pw = pd.DataFrame(
        {
            "group_a": [0.0, 0.0],
            "group_b": [1.0, 2.5],
            "n_a": [5, 5],
            "n_b": [6, 7],
            "statistic": [4.2, 0.3],
            "p_value": [0.04, 0.58],
            "p_adjusted": [0.08, 0.58],
            "warning": [None, None],
        }
    )
    shown = format_pairwise(pw)
    assert shown.to_dict("list") == {
        "group_a": ["0", "0"],
        "group_b": ["1", "2.5"],
        "statistic": [4.2, 0.3],
        "p_value": [0.04, 0.58],
        "p_adjusted": [0.08, 0.58],
    }
    hr = pd.DataFrame(
        {
            "level": [0.0, 1.0],
            "n": [10, 12],
            "events": [3, 8],
            "hr": [1.0, 2.5],
            "lower": [np.nan, 1.1],
            "upper": [np.nan, 5.7],
            "p_value": [np.nan, 0.03],
            "reference": [True, False],
        }
    )
    shown = format_hazard_ratios(hr)
    assert shown.columns.tolist() == ["level", "n", "events", "hr", "lower", "upper", "p_value"]
    assert shown["level"].tolist() == ["0", "1"]
    assert shown["hr"].tolist() == [1.0, 2.5] and shown["p_value"].iloc[1] == 0.03


def test_format_chi2_test_hand():
    assert format_chi2_test(7.8149, 3, 0.04999) == "χ² = 7.81, df = 3, p = 0.050"
    assert format_chi2_test(12.0, 1, 0.00053) == "χ² = 12.00, df = 1, p < 0.001"
    assert format_chi2_test(0.0, 1, float("nan")) == "χ² = 0.00, df = 1, p –"
