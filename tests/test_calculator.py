"""core.study.calculator: profiles, published / refit survival vs R, relative-hazard breakdown."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from core.stats.cox.predict import predict_survival
from core.study.calculator import (
    ICU_REASONS,
    ProfileError,
    build_model,
    make_profile,
    predict_profiles,
    range_warnings,
    relative_hazard,
)
from core.study.model import paper_model
from tests.r_oracle import run_r

TOL = 1e-6
# The paper (abstract and Results): HR 4.02 [1.10-14.65] disease progression vs other reasons,
# 1.97 [1.14-3.41] per ECOG PS point, 1.16 [1.01-1.33] per SOFA point.
PAPER = {
    "reason_dp": (4.02, 1.10, 14.65),
    "ecog_ps": (1.97, 1.14, 3.41),
    "sofa": (1.16, 1.01, 1.33),
}


def cohort(seed: int = 1, n: int = 71) -> pd.DataFrame:
    """Cohort-shaped synthetic data with tied day-resolution times (not the reconstruction)."""
    rng = np.random.default_rng(seed)
    reasons = np.array(
        ["CRS"] * 33 + ["CRS or sepsis"] * 13 + ["Sepsis"] * 21 + ["Disease progression"] * 4
    )
    reasons = rng.permutation(np.resize(reasons, n))
    ps = rng.choice([0, 1, 2, 3], n, p=[0.155, 0.45, 0.31, 0.085])
    sofa = rng.integers(0, 13, n)
    lp = np.log(4.02) * (reasons == "Disease progression") + np.log(1.97) * ps + np.log(1.16) * sofa
    t = np.ceil(rng.exponential(900 * np.exp(-lp)) / 7) * 7  # weekly -> many ties
    c = rng.uniform(30, 800, n).round()
    return pd.DataFrame(
        {
            "patient_id": [f"P{i:02d}" for i in range(n)],
            "icu_reason": reasons,
            "ecog_ps": ps,
            "sofa": sofa,
            "age": rng.integers(20, 80, n),
            "os_days": np.minimum(t, c),
            "os_event": (t <= c).astype(int),
        }
    )


# --------------------------------------------------------------------------------------
# profiles
# --------------------------------------------------------------------------------------
def test_valid_profile():
    p = make_profile(icu_reason="Disease progression", ecog_ps=2, sofa=6)
    assert p.reason_dp == 1 and p.label == "Patient"


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"icu_reason": "Sepsis", "ecog_ps": 7, "sofa": 4}, "ECOG performance status [ecog_ps]"),
        ({"icu_reason": "Sepsis", "ecog_ps": 1, "sofa": -1}, "SOFA score [sofa]"),
        ({"icu_reason": "Stroke", "ecog_ps": 1, "sofa": 4}, "Reason for ICU admission"),
        ({"icu_reason": "Sepsis", "ecog_ps": 1.5, "sofa": 4}, "ecog_ps"),
        ({"icu_reason": "Sepsis", "ecog_ps": True, "sofa": 4}, "ecog_ps"),
        ({"icu_reason": "Sepsis", "ecog_ps": 1, "sofa": 25}, "less than or equal to 24"),
        ({"icu_reason": "Sepsis", "ecog_ps": 1, "sofa": 4, "lactate": 3}, "not an input"),
    ],
)
def test_invalid_profiles_refused(values, needle):
    with pytest.raises(ProfileError) as exc:
        make_profile(**values)
    assert needle in str(exc.value)
    assert "Traceback" not in str(exc.value)


def test_unknown_reason_lists_the_four():
    with pytest.raises(ProfileError) as exc:
        make_profile(icu_reason="Stroke", ecog_ps=1, sofa=4)
    for r in ICU_REASONS:
        assert repr(r) in str(exc.value)
    assert "'Stroke'" in str(exc.value)


def test_published_yaml_equals_paper():
    hrs = paper_model().hrs
    for k, v in PAPER.items():
        assert hrs[k] == pytest.approx(v)


# --------------------------------------------------------------------------------------
# published mode vs R: coxph(init = b, iter.max = 0) + survfit(newdata)
# --------------------------------------------------------------------------------------
R_PUBLISHED = """
d <- read.csv(Sys.getenv("ORACLE_IN"))
d$t <- pmin(d$os_days, 365)
d$e <- as.integer(d$os_event == 1 & d$os_days <= 365)
d$reason_dp <- as.integer(d$icu_reason == "Disease progression")
b <- log(c(4.02, 1.97, 1.16))  # the paper's HRs
fit <- coxph(Surv(t, e) ~ reason_dp + ecog_ps + sofa, data = d, init = b,
             control = coxph.control(iter.max = 0))
nd <- data.frame(reason_dp = c(0, 1, 0), ecog_ps = c(1, 3, 0), sofa = c(4, 10, 0))
fit0 <- fit
fit0$var[] <- 0  # coefficients treated as known: baseline-hazard variance only
fit1 <- fit
ci <- matrix(c(CIS), ncol = 2, byrow = TRUE)  # the published 95% CIs (lower, upper)
fit1$var <- diag(((log(ci[, 2]) - log(ci[, 1])) / (2 * qnorm(0.975)))^2)
out <- NULL
for (v in c("baseline", "full", "ci")) {
  sf <- survfit(switch(v, baseline = fit0, full = fit, ci = fit1), newdata = nd)
  k <- ncol(sf$surv)
  out <- rbind(out, data.frame(var = v, time = rep(sf$time, k),
                               profile = rep(1:k, each = length(sf$time)),
                               surv = c(sf$surv), se = c(sf$std.err),
                               lower = c(sf$lower), upper = c(sf$upper)))
}
write.csv(out, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


def _compare(pred, r):
    k = pred.surv.shape[1]
    np.testing.assert_allclose(np.tile(pred.time, k), r["time"], atol=1e-12)
    np.testing.assert_allclose(pred.surv.T.ravel(), r["surv"], rtol=0, atol=TOL)
    np.testing.assert_allclose(pred.std_err.T.ravel(), r["se"], rtol=0, atol=TOL)
    for ours, col in ((pred.lower, "lower"), (pred.upper, "upper")):
        rv = r[col].to_numpy(dtype=float)
        ok = ~np.isnan(rv)
        np.testing.assert_allclose(ours.T.ravel()[ok], rv[ok], rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", [1, 2])
def test_published_mode_baseline_vs_r(seed):
    d = cohort(seed)
    model = build_model(d, "published")
    assert model.result.fixed
    np.testing.assert_allclose(model.result.model.coef, np.log([4.02, 1.97, 1.16]), atol=1e-15)
    nd = pd.DataFrame(
        {
            "icu_reason": ["CRS", "Disease progression", "Sepsis"],
            "ecog_ps": [1, 3, 0],
            "sofa": [4, 10, 0],
        }
    )
    cis = ", ".join(f"{t.lower}, {t.upper}" for t in paper_model().terms)  # data/published
    r = run_r(R_PUBLISHED.replace("CIS", cis), d)
    _compare(predict_survival(model.result, nd), r[r["var"] == "baseline"])
    _compare(predict_survival(model.result, nd, coef_variance=True), r[r["var"] == "full"])
    # the calculator's default band: the published CIs' variance (diagonal)
    _compare(predict_survival(model.result, nd, var=model.coef_var), r[r["var"] == "ci"])
    base = dataclasses.replace(model, uncertainty="baseline")
    np.testing.assert_array_equal(base.coef_var, np.zeros((3, 3)))
    profiles = [make_profile(label=f"p{i}", **row) for i, row in enumerate(nd.to_dict("records"))]
    for m, var in ((model, "ci"), (base, "baseline")):
        table = predict_profiles(m, profiles, days=[30]).table
        rv = r[r["var"] == var]
        for j in range(3):
            rj = rv[(rv["profile"] == j + 1) & (rv["time"] <= 30)].iloc[-1]
            got = table.iloc[j]
            assert got["surv"] == pytest.approx(rj["surv"], abs=TOL)
            assert got["lower"] == pytest.approx(rj["lower"], abs=TOL)
            assert got["upper"] == pytest.approx(rj["upper"], abs=TOL)


def test_refit_mode_vs_r():
    d = cohort(3)
    model = build_model(d, "refit")
    nd = pd.DataFrame(
        {"icu_reason": ["CRS", "Disease progression"], "ecog_ps": [1, 3], "sofa": [4, 10]}
    )
    r = run_r(
        """
d <- read.csv(Sys.getenv("ORACLE_IN"))
d$t <- pmin(d$os_days, 365)
d$e <- as.integer(d$os_event == 1 & d$os_days <= 365)
d$reason_dp <- as.integer(d$icu_reason == "Disease progression")
fit <- coxph(Surv(t, e) ~ reason_dp + ecog_ps + sofa, data = d)
sf <- survfit(fit, newdata = data.frame(reason_dp = c(0, 1), ecog_ps = c(1, 3), sofa = c(4, 10)))
out <- data.frame(time = rep(sf$time, 2), surv = c(sf$surv), se = c(sf$std.err),
                  lower = c(sf$lower), upper = c(sf$upper))
write.csv(out, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
""",
        d,
    )
    _compare(predict_survival(model.result, nd), r)


def test_predict_profiles_table_and_limits():
    d = cohort(4)
    model = build_model(d, "published")
    profs = [
        make_profile(label="A", icu_reason="CRS", ecog_ps=0, sofa=2),
        make_profile(label="B", icu_reason="Disease progression", ecog_ps=3, sofa=10),
    ]
    pred = predict_profiles(model, profs)
    assert list(pred.table["day"].unique()) == [30, 90, 180, 365]
    assert pred.curves["time"].max() <= 365
    sp = predict_survival(
        model.result, pd.DataFrame([{"icu_reason": "CRS", "ecog_ps": 0, "sofa": 2}])
    )
    at = sp.at([30, 90, 180, 365])["surv"][:, 0]
    np.testing.assert_allclose(pred.table[pred.table["profile"] == "A"]["surv"], at)
    # the worse profile has lower survival everywhere
    a = pred.table[pred.table["profile"] == "A"]["surv"].to_numpy()
    b = pred.table[pred.table["profile"] == "B"]["surv"].to_numpy()
    assert (b < a).all()
    with pytest.raises(ValueError, match="at most 4"):
        predict_profiles(model, profs * 3)
    assert "held fixed" in model.method and "active cohort" in model.method


def test_refit_with_extra_covariate():
    d = cohort(5)
    model = build_model(d, "refit", covariates=["reason_dp", "ecog_ps", "sofa", "age"])
    p = make_profile(icu_reason="Sepsis", ecog_ps=1, sofa=3, extra={"age": 60})
    pred = predict_profiles(model, [p])
    assert len(pred.table) == 4
    with pytest.raises(ProfileError, match="age"):
        predict_profiles(model, [make_profile(icu_reason="Sepsis", ecog_ps=1, sofa=3)])


# --------------------------------------------------------------------------------------
# relative hazard
# --------------------------------------------------------------------------------------
def test_breakdown_published_by_hand():
    p = make_profile(icu_reason="Disease progression", ecog_ps=3, sofa=9)
    ref = make_profile(icu_reason="CRS", ecog_ps=1, sofa=4)
    rh = relative_hazard(p, ref)
    # hand calculation from the paper: 4.02 x 1.97^2 x 1.16^5
    expected = 4.02 * 1.97**2 * 1.16**5
    assert rh.hr == pytest.approx(expected, rel=1e-12)
    assert float(np.prod(rh.breakdown["factor"])) == pytest.approx(rh.hr, rel=1e-14)
    np.testing.assert_allclose(rh.breakdown["factor"], [4.02, 1.97**2, 1.16**5], rtol=1e-14)
    assert rh.formula == f"4.02 x 1.97^2 x 1.16^5 = {expected:.2f}"
    # identical profiles -> 1; swapped -> reciprocal
    assert relative_hazard(ref, ref).hr == 1.0
    assert relative_hazard(ref, p).hr == pytest.approx(1 / expected, rel=1e-12)


def test_breakdown_refit_matches_linear_predictor():
    d = cohort(6)
    model = build_model(d, "refit", covariates=["icu_reason", "ecog_ps", "sofa"])
    p = make_profile(icu_reason="Sepsis", ecog_ps=2, sofa=7)
    ref = make_profile(icu_reason="CRS", ecog_ps=0, sofa=1)
    rh = relative_hazard(p, ref, model)
    m = model.result.model
    frame = pd.DataFrame(
        [
            {"icu_reason": "Sepsis", "ecog_ps": 2, "sofa": 7},
            {"icu_reason": "CRS", "ecog_ps": 0, "sofa": 1},
        ]
    )
    lp = m.linear_predictor(frame)
    assert rh.hr == pytest.approx(math.exp(lp[0] - lp[1]), rel=1e-12)
    assert float(np.prod(rh.breakdown["factor"])) == pytest.approx(rh.hr, rel=1e-12)
    assert rh.lower < rh.hr < rh.upper


# --------------------------------------------------------------------------------------
# extrapolation warnings
# --------------------------------------------------------------------------------------
def test_range_warnings():
    d = cohort(7)
    inside = make_profile(
        icu_reason="CRS", ecog_ps=int(d["ecog_ps"].min()), sofa=int(d["sofa"].max())
    )
    assert range_warnings(inside, d) == []
    out = make_profile(icu_reason="CRS", ecog_ps=4, sofa=20)
    msgs = range_warnings(out, d)
    assert any("ECOG" in m and "outside" in m for m in msgs)
    assert any("SOFA" in m and "outside" in m for m in msgs)
    few = make_profile(icu_reason="Disease progression", ecog_ps=1, sofa=3)
    assert any("only 4 patient" in m for m in range_warnings(few, d))
    none = range_warnings(few, d[d["icu_reason"] != "Disease progression"])
    assert any("no patient" in m for m in none)


def test_published_mode_without_disease_progression_patients():
    # a filter can leave no disease-progression patient: the fixed-coefficient baseline is still
    # estimable (reason_dp is constant but not estimated), the profile is flagged
    d = cohort(8)
    d = d[d["icu_reason"] != "Disease progression"]
    model = build_model(d, "published")
    p = make_profile(icu_reason="Disease progression", ecog_ps=2, sofa=5)
    pred = predict_profiles(model, [p])
    assert np.isfinite(pred.table["surv"]).all()
    assert any("no patient" in m for m in range_warnings(p, d))
    with pytest.raises(ValueError, match="constant"):
        build_model(d, "refit")


def test_published_model_coefficients_are_log_hr():
    for k, (hr, _, _) in PAPER.items():
        assert paper_model().coef[k] == pytest.approx(math.log(hr), abs=1e-15)


# --------------------------------------------------------------------------------------
# display tables (hand-written expectations)
# --------------------------------------------------------------------------------------
def test_format_survival_table_wide_in_profile_order():
    from core.study.calculator import ProfilePrediction
    from core.tables.calculator import format_survival_table

    table = pd.DataFrame(
        {
            "profile": ["A", "A", "B", "B"],
            "day": [30, 365, 30, 365],
            "surv": [0.8123, 0.5, 0.9, np.nan],
            "lower": [0.7031, 0.25, 0.85, np.nan],
            "upper": [0.9384, 0.75, 0.95, np.nan],
        }
    )
    pred = ProfilePrediction(curves=pd.DataFrame(), table=table, labels=("B", "A"), model=None)
    wide = format_survival_table(pred)
    assert wide.index.tolist() == ["B", "A"]
    assert wide.columns.tolist() == ["Day 30", "Day 365"]
    assert wide.loc["A", "Day 30"] == "81.2% [70.3% – 93.8%]"
    assert wide.loc["A", "Day 365"] == "50.0% [25.0% – 75.0%]"
    assert wide.loc["B", "Day 30"] == "90.0% [85.0% – 95.0%]"
    assert wide.loc["B", "Day 365"] == "– [– – –]"  # beyond the last follow-up


def test_relative_hazard_table_published_by_hand():
    from core.tables.calculator import RELATIVE_HAZARD_COLUMNS, relative_hazard_table

    ref = make_profile(label="Ref", icu_reason="CRS", ecog_ps=1, sofa=4)
    other = make_profile(label="Other", icu_reason="Disease progression", ecog_ps=2, sofa=5)
    table = relative_hazard_table([ref, other], ref)
    assert table.columns.tolist() == list(RELATIVE_HAZARD_COLUMNS)
    assert len(table) == 1  # the reference itself is left out
    row = table.iloc[0]
    # 4.02 x 1.97 x 1.16 = 9.186504 (the paper's HRs, one unit apart each)
    assert (row["Profile"], row["vs"], row["HR"]) == ("Other", "Ref", 9.19)
    # the CI from the published CIs by hand: se_k = (log hi - log lo) / (2 x 1.96), no
    # covariances; one unit apart on each term -> se = sqrt(se_1^2 + se_2^2 + se_3^2)
    import math

    from core.study.model import paper_model

    ses = [(math.log(t.upper) - math.log(t.lower)) / (2 * 1.959963984540054)
           for t in paper_model().terms]  # fmt: skip
    se = math.sqrt(sum(v * v for v in ses))
    hr = 4.02 * 1.97 * 1.16
    lo, hi = hr * math.exp(-1.959963984540054 * se), hr * math.exp(1.959963984540054 * se)
    assert row["95% CI"] == f"{lo:.2f} – {hi:.2f}"
    assert row["Breakdown"] == "4.02 x 1.97 x 1.16 = 9.19"
    only_ref = relative_hazard_table([ref], ref)
    assert only_ref.empty and only_ref.columns.tolist() == list(RELATIVE_HAZARD_COLUMNS)


def test_relative_hazard_table_interval_when_a_ci_exists(monkeypatch):
    import core.study.calculator as calc_mod
    import core.tables.calculator as calc_tables

    def fake(profile, reference, model=None):
        return calc_mod.RelativeHazard(2.3456, 1.234, 4.5678, pd.DataFrame(), "2.35")

    monkeypatch.setattr(calc_tables, "relative_hazard", fake)
    a = make_profile(label="A", icu_reason="CRS", ecog_ps=0, sofa=0)
    b = make_profile(label="B", icu_reason="CRS", ecog_ps=1, sofa=0)
    table = calc_tables.relative_hazard_table([a, b], a)
    assert table["HR"].tolist() == [2.35]
    assert table["95% CI"].tolist() == ["1.23 – 4.57"]


def test_observed_range():
    from core.tables.calculator import observed_range

    cohort = pd.DataFrame({"ps": [0, 4, None, 2], "x": [1.5, 2.0, 1.75, None], "t": list("abcd")})
    assert observed_range(cohort, "ps") == "0-4"
    assert observed_range(cohort, "x") == "1.5-2"
    assert observed_range(cohort, "t") == "no data"


def test_time_points_typed_by_a_clinician():
    from core.study.calculator import parse_times

    # by hand: 6 months = 6 x 30.4375 = 182.6 -> 183 days; 1 year = 365.25 -> 365 days
    assert parse_times("28, 6 months, 1 year") == (28, 183, 365)
    assert parse_times("12 mo; 90 d") == (90, 365)
    assert parse_times("1,5 months") == (46,)  # decimal comma: 1.5 x 30.4375 = 45.7
    assert parse_times("") == ()
    with pytest.raises(ValueError, match="'abc' is not a time"):
        parse_times("28, abc")
    with pytest.raises(ValueError, match="after the model's horizon"):
        parse_times("2 years", horizon_days=365)
