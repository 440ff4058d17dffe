"""R parity and edge cases for core/stats/survival.py (kaplan_meier, survival_at, rmst, n_at_risk,
truncate_at).

Expected values come from R's survival package (survfit, summary.survfit, print.survfit with
rmean), either quoted (with the R call that produced them) or computed live through
``tests.r_oracle.run_r``.  lifelines' ``load_lung`` codes status 0 = censored / 1 = dead, R's
``lung`` 1 = censored / 2 = dead; ``Surv(time, status)`` reads both the same way, so the lifelines
copy is sent to R unchanged.

Also here: the log-rank checks (core/stats/logrank.py against survdiff, the coxph score test,
pairwise p.adjust and coxph HRs) that share the one Rscript run of ``r_lung`` or ``r_random`` with
the Kaplan-Meier checks, and the structure of the chart builders of core/charts/survival.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.cohort.variables import make_groups
from core.stats import survival as stats_survival
from core.stats.logrank import logrank, logrank_trend, pairwise_logrank, univariable_hr
from core.stats.survival import (
    DAYS_PER_MONTH,
    KMResult,
    kaplan_meier,
    n_at_risk,
    rmst,
    survival_at,
    truncate_at,
)
from tests.helpers_survival import TOL, _assert_close, _lung, _random_set
from tests.r_oracle import run_r

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


def _body(km: KMResult) -> pd.DataFrame:
    """KM table without the origin row of each group (R's survfit has none)."""
    t = km.table
    return t[t.groupby("group", sort=False).cumcount() > 0].reset_index(drop=True)


def _assert_table_matches_r(km: KMResult, r: pd.DataFrame) -> None:
    body = _body(km)
    assert len(body) == len(r)
    codes = pd.factorize(body["group"], sort=False)[0] + 1
    np.testing.assert_array_equal(codes, r["strata"].to_numpy())
    for ours, theirs in TABLE_MAP:
        _assert_close(body[ours], r[theirs], ours)


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
# R's lung: live R (one Rscript run, shared with the log-rank checks)
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


def test_screen_figure_fills_its_column_and_aligns_the_risk_table():
    from core.charts import survival as ch

    km = kaplan_meier(_lung(), "time", "status", "sex")
    curves, risk = (c.to_dict() for c in ch.km_screen(km, "days", 360, title="OS"))
    # each part sizes to its container (a vconcat cannot): a phone and a projector alike
    assert curves["width"] == "container" and risk["width"] == "container"
    # both y axes have the same fixed extent and the same (invisible in the table) title,
    # so the table's columns start where the curves' x axis does
    ax_curves = next(
        lay["encoding"]["y"]["axis"] for lay in curves["layer"] if "axis" in lay["encoding"]["y"]
    )
    ax_risk = risk["layer"][1]["encoding"]["y"]["axis"]
    for key in ("minExtent", "maxExtent"):
        assert ax_curves[key] == ax_risk[key] == ch.SCREEN_EXTENT
    assert ax_risk["titleOpacity"] == 0
    # the numbers are those of n_at_risk, one row per group and metric, under group headers
    numbers = pd.DataFrame(risk["datasets"][risk["layer"][1]["data"]["name"]])
    nar = n_at_risk(km, ch.time_ticks(360))
    got = numbers[numbers["metric"] == "at_risk"]["value"].to_numpy()
    np.testing.assert_array_equal(got, nar["at_risk"].to_numpy())
    heads = pd.DataFrame(risk["datasets"][risk["layer"][0]["data"]["name"]])
    assert heads["label"].tolist() == ["sex 1", "sex 2"]  # numeric levels are named
    assert risk["layer"][1]["encoding"]["y"]["scale"]["domain"][:4] == [
        "1", "1 · At risk", "1 · Events", "1 · Censored",
    ]  # fmt: skip


def test_scale_fonts_scales_type_and_leaves_data_alone():
    from core.charts import scale_fonts

    spec = {
        "title": {"text": "T", "fontSize": 16},
        "layer": [{"encoding": {"x": {"axis": {"labelFontSize": 13, "titleFontSize": 12}}}}],
        "datasets": {"d": [{"fontSize": 3}]},  # a column that happens to share the name
        "legend": {"symbolSize": 100},
    }
    big = scale_fonts(spec, 1.5)
    assert big["title"]["fontSize"] == 24
    assert big["layer"][0]["encoding"]["x"]["axis"] == {"labelFontSize": 19.5, "titleFontSize": 18}
    assert big["datasets"] == spec["datasets"]
    assert big["legend"]["symbolSize"] == 225  # an area: the square of the factor
    assert spec["title"]["fontSize"] == 16  # the cached spec is not changed in place
