"""R parity and edge cases for core/stats/competing.py (competing_status, cumulative_incidence,
cumulative_incidence_at).

Expected values come from R's survival package: the multi-state
``survfit(Surv(time, factor(status)) ~ ...)`` (Aalen-Johansen ``pstate``; infinitesimal-jackknife
``std.err``, logse = FALSE, and the conf.type CIs; ``summary(..., times = )``) computed live through
``tests.r_oracle.run_r`` (one Rscript run per fixture), a transcription of R's C routine
``survfitci``, or quoted R values and hand calculations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri

from core.stats.competing import (
    CIF_CI_COLUMNS,
    competing_status,
    cumulative_incidence,
    cumulative_incidence_at,
)
from core.stats.survival import CONF_TYPES
from tests.helpers_survival import _assert_close, _competing_set
from tests.r_oracle import run_r

# ------------------------------------------------------------------------------------------------
# Aalen-Johansen (one Rscript run)
# ------------------------------------------------------------------------------------------------
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


R_GRAY = """
suppressMessages(library(cmprsk))
d <- read.csv(Sys.getenv("ORACLE_IN"))
ci <- cuminc(d$time, d$status, d$g)
write.csv(data.frame(stat = ci$Tests[, "stat"], p = ci$Tests[, "pv"], df = ci$Tests[, "df"]),
          Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


@pytest.mark.parametrize("group", ["icu_reason", "ecog_ps"])
def test_gray_test_equals_r_cmprsk_cuminc(group):
    """Gray's test for progression and death without progression on the reconstructed cohort,
    equal to R cmprsk::cuminc(...)$Tests (rows 1 = progression, 2 = death)."""
    from core.paths import DATA_DIR
    from core.stats.competing import competing_status, gray_tests

    df = pd.read_csv(DATA_DIR / "cohort.csv")
    st = competing_status(df).assign(g=df[group].astype(str))
    r = run_r(R_GRAY, st)
    ours = gray_tests(df, group)
    for k, t in enumerate(ours):
        assert t.dof == int(r["df"][k]) == df[group].nunique() - 1
        if r["stat"][k] == -1:  # R: singular covariance (death, by reason: no DP patient left)
            assert np.isnan(t.statistic) and np.isnan(t.p_value)
            continue
        assert t.statistic == pytest.approx(r["stat"][k], abs=1e-6)
        assert t.p_value == pytest.approx(r["p"][k], abs=1e-6)
    if group == "icu_reason":
        assert np.isnan(ours[1].statistic)  # the case R cannot compute is exercised
