"""core.study.validation: the published model validated on a cohort.

Expectations come from R (survival's concordance and coxph), from cohorts simulated from the
published model itself (known truth), and from hand calculations.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.paths import DATA_DIR
from core.study.model import paper_model
from core.study.validation import ValidationError, net_benefit, validate
from tests.r_oracle import run_r

TOL = 1e-6
REASONS = ("CRS", "Sepsis", "CRS or sepsis", "Disease progression")


def simulate(n: int, seed: int, *, coef_scale: float = 1.0, hazard_scale: float = 1.0):
    """Patients from the published model: its log-HRs (times ``coef_scale``), a Weibull
    baseline H0(t) = hazard_scale (t / 500)^1.2 and uniform censoring over two years."""
    rng = np.random.default_rng(seed)
    pub = paper_model()
    reason = rng.choice(len(REASONS), n, p=[0.45, 0.2, 0.2, 0.15])
    ps = rng.choice(4, n, p=[0.3, 0.4, 0.2, 0.1])
    sofa = rng.integers(0, 13, n)
    dp = (reason == 3).astype(float)
    b = np.array([pub.coef[c] for c in pub.covariates]) * coef_scale
    lp = np.column_stack([dp, ps, sofa]) @ b - 2.5
    # invert S(t|x) = exp(-hazard_scale (t / 500)^1.2 exp(lp))
    t_event = 500 * (rng.exponential(size=n) / (hazard_scale * np.exp(lp))) ** (1 / 1.2)
    t_cens = rng.uniform(30, 730, n)
    return pd.DataFrame(
        {
            "icu_reason": np.array(REASONS)[reason],
            "ecog_ps": ps,
            "sofa": sofa,
            "os_days": np.round(np.minimum(t_event, t_cens), 1),
            "os_event": (t_event <= t_cens).astype(int),
        }
    )


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    """A large cohort from the same model: its baseline plays the paper's."""
    return simulate(20_000, seed=99)


def test_a_cohort_from_the_published_model_is_calibrated(reference):
    v = validate(simulate(2_000, seed=1), reference=reference, n_boot=50)
    assert abs(v.slope.est - 1) < 0.1, v.slope
    assert abs(v.oe.est - 1) < 0.1, v.oe
    assert v.slope.lower < 1 < v.slope.upper
    assert v.ici < 0.03


def test_halved_coefficients_give_a_slope_near_one_half(reference):
    """Outcomes generated with half the published log-HRs: the published model is too
    extreme, and the slope says by how much."""
    v = validate(simulate(2_000, seed=2, coef_scale=0.5), reference=reference, n_boot=20)
    assert abs(v.slope.est - 0.5) < 0.1, v.slope


def test_a_doubled_baseline_hazard_moves_oe_not_the_slope(reference):
    base = validate(simulate(2_000, seed=3), reference=reference, n_boot=20)
    hot = validate(simulate(2_000, seed=3, hazard_scale=2.0), reference=reference, n_boot=20)
    assert hot.oe.est > base.oe.est * 1.2
    assert abs(hot.slope.est - 1) < 0.12
    # recalibrating the baseline on the cohort itself brings O/E back to 1
    recal = validate(simulate(2_000, seed=3, hazard_scale=2.0), baseline="recalibrate", n_boot=20)
    assert abs(recal.oe.est - 1) < 0.05


R_VALIDATE = """
d <- read.csv(Sys.getenv("ORACLE_IN"))
h <- 365
d$lp <- log(HR_DP) * (d$icu_reason == "Disease progression") + log(HR_PS) * d$ecog_ps +
        log(HR_SOFA) * d$sofa
d$t_h <- pmin(d$os_days, h)
d$e_h <- as.integer(d$os_event == 1 & d$os_days <= h)
a <- concordance(Surv(t_h, e_h) ~ lp, data = d, reverse = TRUE)
u <- concordance(Surv(os_days, os_event) ~ lp, data = d, reverse = TRUE, timewt = "n/G2",
                 ymax = h)
f <- coxph(Surv(t_h, e_h) ~ lp, data = d)
ci <- confint(f)
write.csv(data.frame(c = a$concordance, c_se = sqrt(a$var), u = u$concordance,
                     u_se = sqrt(u$var), slope = coef(f), lo = ci[1], hi = ci[2]),
          Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


@pytest.mark.parametrize("which", ["reconstructed", "simulated"])
def test_discrimination_and_slope_equal_r(which):
    d = (
        pd.read_csv(DATA_DIR / "cohort.csv")
        if which == "reconstructed"
        else simulate(1_500, seed=5)
    )
    hr = {t.name: t.hr for t in paper_model().terms}
    script = (
        R_VALIDATE.replace("HR_DP", repr(hr["reason_dp"]))
        .replace("HR_PS", repr(hr["ecog_ps"]))
        .replace("HR_SOFA", repr(hr["sofa"]))
    )
    r = run_r(script, d[["icu_reason", "ecog_ps", "sofa", "os_days", "os_event"]]).iloc[0]
    v = validate(d, n_boot=10)
    z = 1.959963984540054
    assert v.c_harrell.est == pytest.approx(r["c"], abs=TOL)
    assert v.c_harrell.upper - v.c_harrell.est == pytest.approx(z * r["c_se"], abs=TOL)
    assert v.c_uno.est == pytest.approx(r["u"], abs=TOL)
    assert v.c_uno.upper - v.c_uno.est == pytest.approx(z * r["u_se"], abs=TOL)
    assert v.slope.est == pytest.approx(r["slope"], abs=TOL)
    assert (v.slope.lower, v.slope.upper) == pytest.approx((r["lo"], r["hi"]), abs=TOL)


def test_net_benefit_by_hand():
    """No censoring before the horizon, so the Kaplan-Meier risk is a proportion.
    10 patients; deaths by day 365: patients 0-3. Predicted risks 0.9 ... 0.0."""
    t = np.array([10, 50, 100, 300, 400, 500, 600, 700, 800, 900], dtype=float)
    e = np.array([1, 1, 1, 1, 0, 1, 0, 0, 0, 0], dtype=float)
    risk = np.array([0.9, 0.8, 0.3, 0.6, 0.5, 0.2, 0.25, 0.1, 0.05, 0.0])
    nb = net_benefit(t, e, risk, 365, thresholds=(0.1, 0.3, 0.55)).set_index("threshold")
    # p = 0.1: treated = risk >= 0.1 -> 8 patients, 4 deaths: NB = 4/10 - 4/10 x 0.1/0.9
    assert nb.loc[0.1, "model"] == pytest.approx(0.4 - 0.4 * 0.1 / 0.9, abs=1e-12)
    # p = 0.3: risk >= 0.3 -> patients 0, 1, 2, 3, 4: 4 deaths, 1 survivor
    assert nb.loc[0.3, "model"] == pytest.approx(0.4 - 0.1 * 0.3 / 0.7, abs=1e-12)
    # p = 0.55: patients 0, 1, 3: 3 deaths
    assert nb.loc[0.55, "model"] == pytest.approx(0.3, abs=1e-12)
    # treat all: 4 deaths of 10
    assert nb.loc[0.3, "treat_all"] == pytest.approx(0.4 - 0.6 * 0.3 / 0.7, abs=1e-12)
    assert (nb["treat_none"] == 0).all()


def test_auc_without_censoring_is_the_case_control_proportion():
    """Every patient followed past the horizon or dead before it: the cumulative/dynamic AUC
    is the share of (death by h, alive at h) pairs ranked correctly (ties count 1/2)."""
    d = simulate(300, seed=8)
    d["os_days"] = np.where(d["os_event"] == 1, d["os_days"], 800.0)  # no censoring before h
    v = validate(d, n_boot=20)
    lp = v.patients["lp"].to_numpy()
    case = (v.patients["time"] <= 365) & (v.patients["event"] == 1)
    ctrl = v.patients["time"] > 365
    a, b = lp[case.to_numpy()][:, None], lp[ctrl.to_numpy()][None, :]
    expected = ((a > b).sum() + 0.5 * (a == b).sum()) / (a.size * b.size)
    assert v.auc.est == pytest.approx(expected, abs=1e-12)
    assert v.auc.lower < v.auc.est < v.auc.upper


def test_missing_predictors_are_counted_not_imputed_and_absent_ones_refused():
    d = pd.read_csv(DATA_DIR / "cohort.csv")
    d.loc[d.index[:3], "sofa"] = np.nan
    d.loc[d.index[2:5], "ecog_ps"] = np.nan
    v = validate(d, n_boot=10)
    assert v.n == len(d) - 5
    assert v.excluded == {"ecog_ps": 3, "sofa": 2}
    with pytest.raises(ValidationError, match="no values for sofa"):
        validate(d.drop(columns=["sofa"]))
    with pytest.raises(ValidationError, match="horizon"):
        validate(d, horizon=math.inf)
