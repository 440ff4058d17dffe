"""The reconstruction ensemble: every member fits the published aggregates, reconstruction 1 is
the shipped cohort, a member regenerates exactly, and the stored per-member tables (conclusions,
headline numbers) are what the app's functions compute on the members."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.paths import DATA_DIR
from core.study import ensemble as ens
from core.study.published import load_published

PUB = load_published()


@pytest.fixture(scope="module")
def ensemble() -> pd.DataFrame:
    return ens.load_ensemble()


@pytest.fixture(scope="module")
def headlines() -> pd.DataFrame:
    return ens.stored_headlines()


def test_layout_reconstruction_1_is_the_shipped_cohort(ensemble):
    from core.study.reconstruct import SEED

    ks = sorted(ensemble["reconstruction"].unique())
    assert ks == list(range(1, len(ks) + 1)) and len(ks) >= 8
    seeds = ensemble.groupby("reconstruction")["seed"].agg(["nunique", "first"])
    assert (seeds["nunique"] == 1).all()
    assert seeds["first"].iloc[0] == SEED
    rest = seeds["first"].iloc[1:].to_list()
    assert rest == sorted(rest) and len(set(rest)) == len(rest) and min(rest) >= ens.FIRST_SEED
    first = ens.member(ensemble, 1)
    text = first.to_csv(index=False, lineterminator="\n")
    assert text == (DATA_DIR / "cohort.csv").read_text()  # the shipped file, byte for byte


def test_every_member_is_a_faithful_reconstruction(ensemble):
    reasons = PUB["groupings"]["icu_reason"]["levels"]
    deaths_1y = PUB["survival"]["deaths_within_1y"]["value"]
    n = 0
    for k, _, m in ens.members(ensemble):
        assert len(m) == PUB["meta"]["n"], k
        assert m["icu_reason"].value_counts().to_dict() == reasons, k
        died = ((m["os_event"] == 1) & (m["os_days"] <= 365)).sum()
        assert died == deaths_1y, k
        n += 1
    # the members differ from each other (else the ensemble says nothing)
    sofa = ensemble.groupby("reconstruction")["sofa"].apply(tuple)
    assert sofa.nunique() == n


@pytest.mark.slow
def test_a_member_regenerates_exactly(ensemble):
    """Determinism: the generator run again with a member's seed gives exactly its rows (a fast
    seed, 105, about 20 s)."""
    from core.study.reconstruct import generate

    rows = ensemble[ensemble["seed"] == 105]
    assert rows["reconstruction"].nunique() == 1
    stored = ens.member(ensemble, int(rows["reconstruction"].iloc[0]))
    pd.testing.assert_frame_equal(generate(seed=105), stored)


def test_fidelity_check_catches_a_miss():
    shipped = pd.read_csv(DATA_DIR / "cohort.csv")
    assert ens.fidelity_failures(shipped) == []
    bad = shipped.copy()
    i = bad.index[bad["os_event"] == 1][0]
    bad.loc[i, "pfs_days"] = bad.loc[i, "os_days"] + 10
    assert "progression after death" in ens.fidelity_failures(bad)
    flat = shipped.assign(sofa=shipped["sofa"].sample(frac=1, random_state=1).to_numpy())
    assert any(f.startswith("HR sofa") for f in ens.fidelity_failures(flat))


@pytest.mark.slow
def test_stored_results_are_recomputed_from_the_members(ensemble):
    stored = ens.stored_results()
    few = ensemble[ensemble["reconstruction"].isin([1, 2])]
    _, per = ens.evaluate(few)
    merged = per.merge(stored, on=["reconstruction", "seed", "key"], suffixes=("", "_stored"))
    assert len(merged) == len(per) == 2 * len(ens.conclusions())
    assert (merged["holds"] == merged["holds_stored"]).all()
    pd.testing.assert_series_equal(
        merged["estimate"], merged["estimate_stored"], check_names=False, rtol=1e-9
    )


def test_the_summary_counts_members(ensemble):
    summary = ens.stored_summary()
    assert len(summary) == len(ens.conclusions())
    n = ensemble["reconstruction"].nunique()
    assert summary["Holds in"].str.endswith(f"of {n} reconstructions").all()
    assert set(summary["Survives"]) <= {"yes", "no", "depends on the reconstruction"}
    per = ens.stored_results()
    assert sorted(per["reconstruction"].unique()) == list(range(1, n + 1))


@pytest.mark.slow
def test_every_member_passes_the_fidelity_targets_in_r(ensemble):
    """Each member meets what the shipped cohort meets (tests/test_reconstruct.py, in R): the
    three HRs inside their published CIs, within 10%, CIs excluding 1; every Table 3 / 4 p
    within a factor of 3 except the paper's conflicts; no progression after death."""
    from tests.r_oracle import run_r
    from tests.test_reconstruct import CONFLICTED, P_FACTOR

    script = """
d <- read.csv(Sys.getenv("ORACLE_IN"))
d$t <- pmin(d$os_days, 365); d$e <- as.integer(d$os_event == 1 & d$os_days <= 365)
d$reason_dp <- as.integer(d$icu_reason == "Disease progression")
res <- do.call(rbind, lapply(split(d, d$reconstruction), function(m) {
  fit <- survival::coxph(survival::Surv(t, e) ~ reason_dp + ecog_ps + sofa, data = m,
                         ties = "efron")
  ci <- exp(confint(fit))
  data.frame(reconstruction = m$reconstruction[1], term = names(coef(fit)), hr = exp(coef(fit)),
             lower = ci[, 1], upper = ci[, 2])
}))
write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""
    cols = ["reconstruction", "os_days", "os_event", "icu_reason", "ecog_ps", "sofa"]
    r = run_r(script, ensemble[cols])
    assert r["reconstruction"].nunique() == ensemble["reconstruction"].nunique()
    rel = PUB["cox"]["hr_tolerance_relative"]
    for term in PUB["cox"]["terms"]:
        got = r[r["term"] == term["name"]]
        assert got["hr"].between(term["lower"], term["upper"]).all(), got
        assert ((got["hr"] / term["hr"] - 1).abs() <= rel).all(), got
        assert (got["lower"] > 1).all(), got  # as published: every CI excludes 1
    explained = {(v, g) for v, g, stat in CONFLICTED if stat == "p"}
    assert P_FACTOR == ens.P_FACTOR  # the build's filter and this test check the same bound
    p = _r_pvalues_by_member(ensemble)
    assert p["reconstruction"].nunique() == ensemble["reconstruction"].nunique()
    gap = (np.log10(p["p"]) - np.log10(p["published"])).abs()
    far = p[(gap > P_FACTOR).to_numpy()]
    far = far[[(v, g) not in explained for v, g in zip(far.variable, far.grouping, strict=True)]]
    assert far.empty, far.to_string()
    for k, _, m in ens.members(ensemble):
        assert (m["pfs_days"] <= m["os_days"]).all(), k
        assert (m.loc[m["os_event"] == 1, "pfs_event"] == 1).all(), k


def _r_pvalues_by_member(ensemble: pd.DataFrame) -> pd.DataFrame:
    """R p-values (wilcox.test / kruskal.test / fisher.test) for every published Table 3 / 4 p
    on every member, in one R session (as tests/test_reconstruct.py does for one cohort)."""
    from core.study.published import published_figures
    from tests.r_oracle import r_pvalue_call, run_r

    figs = published_figures()
    figs = figs[figs["statistic"] == "p"]
    lines = [
        'd <- read.csv(Sys.getenv("ORACLE_IN"))',
        "res <- data.frame(reconstruction=integer(), variable=character(), grouping=character(),"
        " p=numeric())",
        "for (k in unique(d$reconstruction)) {",
        "  m <- d[d$reconstruction == k, ]",
    ]
    for f in figs.itertuples():
        call = r_pvalue_call(f, "m")
        lines.append(f"  res[nrow(res)+1, ] <- list(k, '{f.variable}', '{f.grouping}', {call})")
    lines += ["}", "write.csv(res, Sys.getenv('ORACLE_OUT'), row.names = FALSE)"]
    data = ensemble.copy()
    data["outcome_1y"] = np.where(
        (data["os_event"] == 1) & (data["os_days"] <= 365), "1-year decedent", "1-year survivor"
    )
    for c in data.columns:
        if data[c].dtype == bool or str(data[c].dtype) == "boolean":
            data[c] = data[c].astype("Int64")
    r = run_r("\n".join(lines) + "\n", data)
    assert len(r) == len(figs) * data["reconstruction"].nunique()
    return r.merge(figs[["variable", "grouping", "published"]], on=["variable", "grouping"])


@pytest.mark.slow
def test_stored_headlines_are_recomputed_from_two_members(ensemble, headlines):
    """Two members' headline values (every key: KM, Cox, Table 3/4 p, calculator, stepwise)
    recomputed from the parquet with the core functions equal the stored table."""
    k_last = int(ensemble["reconstruction"].max())
    for k in (1, k_last):
        seed = int(ensemble.loc[ensemble["reconstruction"] == k, "seed"].iloc[0])
        got = ens.headline_rows(k, seed, ens.member(ensemble, k))
        want = headlines[headlines["reconstruction"] == k].reset_index(drop=True)
        assert list(got["key"]) == list(want["key"])
        assert list(got["text"]) == list(want["text"])
        pd.testing.assert_series_equal(got["value"], want["value"], rtol=1e-9)
        assert (want["seed"] == seed).all()


def test_robustness_of_the_stored_table_is_its_quantiles(headlines):
    """robustness() summarises the stored rows: two figures recomputed here with numpy."""
    table = ens.robustness().set_index("key")
    k = headlines["reconstruction"].nunique()
    assert set(table["Members"]) <= set(range(k + 1)) and table["Members"].max() == k
    for key in ("hr_sofa", "p_t4_ecog_ps"):
        rows = headlines[headlines["key"] == key]
        vals = rows["value"].to_numpy()
        lo, mid, hi = np.quantile(vals[np.isfinite(vals)], [0.025, 0.5, 0.975])
        r = table.loc[key]
        np.testing.assert_allclose(
            [r["2.5%"], r["Median over reconstructions"], r["97.5%"]], [lo, mid, hi]
        )
        assert r["Shipped cohort"] == rows.loc[rows["reconstruction"] == 1, "value"].iloc[0]


def test_robustness_covers_every_headline(headlines):
    from core.study.published import published_figures

    keys = set(ens.robustness()["key"])
    figs = published_figures().query("statistic == 'p'")
    for f in figs.itertuples():
        assert ens.table_p_key(f.variable, f.grouping) in keys
    for mode in ens.CALCULATOR_MODES:
        for name, *_ in ens.REFERENCE_PROFILES:
            assert ens.calculator_key(mode, name) in keys
    assert {"hr_sofa", "hr_ecog_ps", "hr_reason_dp", "median_os", "median_pfs"} <= keys


@pytest.mark.slow
def test_robustness_recomputes_two_headline_spreads_from_the_members(ensemble):
    """Two rows of robustness() rebuilt here from the ensemble file with the core estimators
    directly: the SOFA HR (Cox, 1-year) and 1-year OS for PS 1 (Kaplan-Meier at day 365)."""
    from core.cohort.variables import add_derived
    from core.stats.cox.fit import fit_cox
    from core.stats.survival import survival_at

    table = ens.robustness().set_index("key")
    hrs, os1 = [], []
    for _, m in ensemble.groupby("reconstruction"):
        d = add_derived(m.drop(columns=["reconstruction", "seed"]))
        fit = fit_cox(d, "os_days", "os_event", ["reason_dp", "ecog_ps", "sofa"], horizon_days=365)
        hrs.append(float(fit.summary.set_index("term").loc["sofa", "hr"]))
        at = survival_at(d[d["ecog_ps"] == 1], "os_days", "os_event", [365.0])
        os1.append(float(at["survival"].iloc[0]))
    for key, values in (("hr_sofa", hrs), ("os1y_ecog_ps_1", os1)):
        values = np.asarray(values)
        values = values[np.isfinite(values)]
        lo, mid, hi = np.quantile(values, [0.025, 0.5, 0.975])
        row = table.loc[key]
        assert row["Members"] == len(values)
        np.testing.assert_allclose(
            [row["2.5%"], row["Median over reconstructions"], row["97.5%"]], [lo, mid, hi]
        )
    assert table.loc["hr_sofa", "Members"] == ensemble["reconstruction"].nunique()


def test_stepwise_frequency_counts_the_stored_selections(headlines):
    freq = ens.stepwise_frequency()
    sw = headlines[headlines["key"] == ens.STEPWISE_KEY]
    k = len(sw)
    sets = freq[freq["Kind"] == "set"]
    assert sets["Members"].sum() == k and (freq["Of"] == k).all()
    covs = freq[freq["Kind"] == "covariate"].set_index("Selected")["Members"]
    for cov in ("sofa", "ecog_ps"):
        assert covs.get(cov, 0) == sum(cov in s.split(" + ") for s in sw["text"])
    shipped = sw.loc[sw["reconstruction"] == 1, "text"].iloc[0]
    assert sets.loc[sets["Shipped cohort"], "Selected"].to_list() == [shipped]


def test_unmatched_patients_of_two_small_cohorts():
    a = pd.DataFrame({"r": ["x", "x", "y", "y"], "s": [1, 2, 3, 3]})
    b = pd.DataFrame({"r": ["x", "y", "y", "y"], "s": [1, 3, 3, 4]})
    assert ens._unmatched(a, b, ["r"]) == 1  # one "x" of a has no "x" in b
    assert ens._unmatched(a, b, ["r", "s"]) == 1  # (x, 2)
    assert ens._unmatched(a, a, ["r", "s"]) == 0


def test_diversity_counts_equal_pairwise_matching(ensemble):
    few = ensemble[ensemble["reconstruction"] <= 4]
    d = ens.diversity(few)["unmatched"]
    cohorts = [ens._outcome(m) for _, _, m in ens.members(few)]
    for (_, keys), row in zip(ens.DIVERSITY_KEYS, d.itertuples(), strict=True):
        pairs = [ens._unmatched(cohorts[i], cohorts[j], keys)
                 for i in range(4) for j in range(i + 1, 4)]  # fmt: skip
        assert row.Pairs == 6
        assert (row.Median, row.Min, row.Max) == (np.median(pairs), min(pairs), max(pairs))
