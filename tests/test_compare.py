"""core.stats.compare against R (wilcox.test, kruskal.test, fisher.test, quantile, p.adjust,
t.test, oneway.test)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.stats.compare import (
    OVERALL,
    TEST_KRUSKAL,
    TEST_WILCOX_APPROX,
    TEST_WILCOX_EXACT,
    VariableSpec,
    compare_groups,
)
from core.tables.compare import format_table
from tests.helpers_compare import _data
from tests.r_oracle import run_r

TOL = 1e-6


R_TESTS = """
d <- read.csv(Sys.getenv("ORACLE_IN"), stringsAsFactors = FALSE, na.strings = c("", "NA"))
r2 <- function(v) wilcox.test(d[[v]] ~ d$g2)$p.value
r4 <- function(v) kruskal.test(d[[v]] ~ factor(d$g4))$p.value
f <- function(v, g) fisher.test(table(d[[v]], d[[g]]), workspace = 2e8)$p.value
small <- d[d$g4 %in% c("A", "B"), ]
small <- small[c(which(small$g4 == "A")[1:14], which(small$g4 == "B")[1:11]), ]
res <- data.frame(
  what = c("w_cont", "w_score", "w_lab", "k_cont", "k_score", "k_lab", "f_cat3_g2",
           "f_cat3_g4", "f_flag_g2", "f_flag_g4", "w_small_exact"),
  p = c(r2("cont"), r2("score"), r2("lab"), r4("cont"), r4("score"), r4("lab"),
        f("cat3", "g2"), f("cat3", "g4"), f("flag", "g2"), f("flag", "g4"),
        wilcox.test(cont ~ g4, data = small)$p.value))
write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _data()


@pytest.fixture(scope="module")
def r_tests(data) -> dict[str, float]:
    out = run_r(R_TESTS, data)
    return dict(zip(out["what"], out["p"], strict=True))


def _p(res: pd.DataFrame, var: str) -> float:
    return float(res.loc[res["variable"] == var, "p_value"].iloc[0])


def _test(res: pd.DataFrame, var: str) -> str:
    return str(res.loc[res["variable"] == var, "test"].iloc[0])


def test_two_groups_wilcoxon_matches_r(data, r_tests):
    res = compare_groups(data, "g2", ["cont", "score", "lab"])
    for var in ("cont", "score", "lab"):
        assert _p(res, var) == pytest.approx(r_tests[f"w_{var}"], rel=TOL)
    # n >= 50 in a group / ties -> normal approximation with continuity correction
    assert _test(res, "score") == TEST_WILCOX_APPROX
    assert _test(res, "cont") == TEST_WILCOX_APPROX


def test_small_groups_wilcoxon_exact_matches_r(data, r_tests):
    small = data[data["g4"].isin(["A", "B"])]
    idx = list(small.index[small["g4"] == "A"][:14]) + list(small.index[small["g4"] == "B"][:11])
    res = compare_groups(data.loc[idx], "g4", ["cont"])
    assert _test(res, "cont") == TEST_WILCOX_EXACT
    assert _p(res, "cont") == pytest.approx(r_tests["w_small_exact"], rel=TOL)


def test_kruskal_matches_r(data, r_tests):
    res = compare_groups(data, "g4", ["cont", "score", "lab"])
    for var in ("cont", "score", "lab"):
        assert _test(res, var) == TEST_KRUSKAL
        assert _p(res, var) == pytest.approx(r_tests[f"k_{var}"], rel=TOL)


def test_fisher_rows_match_r(data, r_tests):
    for g in ("g2", "g4"):
        res = compare_groups(data, g, ["cat3", "flag"])
        assert _p(res, "cat3") == pytest.approx(r_tests[f"f_cat3_{g}"], rel=TOL)
        assert _p(res, "flag") == pytest.approx(r_tests[f"f_flag_{g}"], rel=TOL)
        assert set(res.loc[res["variable"] == "cat3", "test"]) == {"Fisher exact"}


R_QUANT = """
d <- read.csv(Sys.getenv("ORACLE_IN"), stringsAsFactors = FALSE, na.strings = c("", "NA"))
rows <- list()
for (g in sort(unique(d$g4))) {
  x <- d$lab[d$g4 == g]
  q <- quantile(x, c(.25, .5, .75), na.rm = TRUE, type = 7)
  rows[[g]] <- data.frame(g = g, q1 = q[1], med = q[2], q3 = q[3], miss = sum(is.na(x)),
                          n = sum(!is.na(x)))
}
x <- d$lab
q <- quantile(x, c(.25, .5, .75), na.rm = TRUE)
rows[["Overall"]] <- data.frame(g = "Overall", q1 = q[1], med = q[2], q3 = q[3],
                                miss = sum(is.na(x)), n = sum(!is.na(x)))
res <- do.call(rbind, rows)
write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


def test_quantiles_and_missing_match_r(data):
    r = run_r(R_QUANT, data).set_index("g")
    res = compare_groups(data, "g4", ["lab"]).iloc[0]
    for g in [OVERALL, "A", "B", "C", "D"]:
        assert res[f"{g}__q1"] == pytest.approx(r.loc[g, "q1"], abs=1e-12)
        assert res[f"{g}__median"] == pytest.approx(r.loc[g, "med"], abs=1e-12)
        assert res[f"{g}__q3"] == pytest.approx(r.loc[g, "q3"], abs=1e-12)
        assert res[f"{g}__missing"] == r.loc[g, "miss"]
        assert res[f"{g}__n"] == r.loc[g, "n"]
    assert res["n_missing"] == 9


def test_type7_example_from_paper():
    # Table 3, disease progression: 4 delays -1, 0, 1, 1 print as 0.5 [-0.25 to 1]
    # R: quantile(c(-1, 0, 1, 1)) -> 25%: -0.25, 50%: 0.5, 75%: 1
    d = pd.DataFrame({"days": [-1, 0, 1, 1]})
    res = compare_groups(d, None, ["days"])
    row = res.iloc[0]
    assert (row["Overall__q1"], row["Overall__median"], row["Overall__q3"]) == (-0.25, 0.5, 1.0)
    assert format_table(res).iloc[-1, 1] == "0.5 [-0.25–1]"


def test_missing_values_counted_per_group_never_dropped():
    d = pd.DataFrame(
        {
            "g": ["a", "a", "a", "b", "b", "b", None],
            "x": [1.0, np.nan, 3.0, np.nan, np.nan, 6.0, 7.0],
            "c": ["u", None, "v", "u", "u", None, "v"],
        }
    )
    res = compare_groups(d, "g", ["x", "c"])
    x = res[res["variable"] == "x"].iloc[0]
    assert (x["a__missing"], x["b__missing"], x["Overall__missing"]) == (1, 2, 3)
    assert (x["a__n"], x["b__n"], x["Overall__n"]) == (2, 1, 4)
    assert x["n_missing"] == 3
    assert "1 with missing g" in x["note"]
    c_u = res[(res["variable"] == "c") & (res["level"] == "u")].iloc[0]
    assert (c_u["a__n"], c_u["a__N"], c_u["a__missing"]) == (1, 2, 1)
    assert (c_u["b__n"], c_u["b__N"], c_u["b__missing"]) == (2, 2, 1)
    assert c_u["b__pct"] == pytest.approx(100.0)
    assert (c_u["Overall__N"], c_u["Overall__missing"]) == (5, 2)


def test_a_single_patient_group_is_tested_where_r_tests_it():
    """Rank and Fisher tests take a group of one patient (R gives a p-value), with a caution;
    Welch's t-test cannot (R's t.test stops) and gives no p-value with the reason."""
    d = pd.DataFrame({"g": ["a", "a", "a", "b"], "x": [1.0, 2.0, 3.0, 4.0], "c": list("uvuv")})
    res = compare_groups(d, "g", ["x", "c"])
    # by hand: wilcox.test(c(1, 2, 3), 4) exact, W = 0, P(W <= 0) = 1/4, two-sided 0.5;
    # fisher.test(matrix(c(2, 1, 0, 1), 2)) = 1 (every table of these margins is as likely)
    assert _p(res, "x") == pytest.approx(0.5, rel=TOL)
    assert _p(res, "c") == pytest.approx(1.0, rel=TOL)
    assert res["note"].str.contains("includes b (n=1): a single patient", regex=False).all()
    welch = compare_groups(d, "g", ["x"], nonnormal=[])
    assert math.isnan(_p(welch, "x")) and "group size < 2" in welch["note"].iloc[0]
    # a group whose values are all missing counts as size 0: no test
    d2 = pd.DataFrame({"g": list("aaabb"), "x": [1.0, 2.0, 3.0, np.nan, np.nan]})
    out = compare_groups(d2, "g", ["x"])
    assert math.isnan(_p(out, "x")) and "group size < 1" in out["note"].iloc[0]


R_ADJUST = """
d <- read.csv(Sys.getenv("ORACLE_IN"))
res <- data.frame(p = d$p, holm = p.adjust(d$p, "holm"), bh = p.adjust(d$p, "BH"))
write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


def test_holm_and_bh_match_r_p_adjust(data):
    for method, col in (("holm", "holm"), ("BH", "bh")):
        res = compare_groups(data, "g4", ["cont", "score", "lab", "cat3", "flag"], adjust=method)
        first = res.drop_duplicates("variable")
        r = run_r(R_ADJUST, first[["p_value"]].rename(columns={"p_value": "p"}))
        np.testing.assert_allclose(first["p_adjusted"].to_numpy(), r[col].to_numpy(), rtol=TOL)
        # every level row of a variable carries the variable's adjusted p
        assert res.groupby("variable")["p_adjusted"].nunique().max() == 1


R_PARAM = """
d <- read.csv(Sys.getenv("ORACLE_IN"), stringsAsFactors = FALSE, na.strings = c("", "NA"))
res <- data.frame(t = t.test(cont ~ g2, data = d)$p.value,
                  f = oneway.test(cont ~ g4, data = d, var.equal = TRUE)$p.value)
write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


def test_normal_variables_use_welch_and_anova_like_r(data):
    r = run_r(R_PARAM, data).iloc[0]
    two = compare_groups(data, "g2", ["cont", "score"], nonnormal=["score"])
    assert _test(two, "cont") == "Welch t-test"
    assert _p(two, "cont") == pytest.approx(r["t"], rel=TOL)
    assert two.loc[two["variable"] == "cont", "stat"].iloc[0] == "mean (SD)"
    four = compare_groups(data, "g4", ["cont"], nonnormal=[])
    assert _p(four, "cont") == pytest.approx(r["f"], rel=TOL)


def test_smd_by_hand():
    d = pd.DataFrame({"g": list("aaaabbbb"), "x": [1, 2, 3, 4, 2, 4, 6, 8], "f": [1, 1, 0, 0] * 2})
    d["f"] = d["f"].astype(bool)
    res = compare_groups(d, "g", ["x", "f"])
    # x: means 2.5 vs 5, sd^2 = 5/3 and 20/3 -> |2.5| / sqrt(25/6)
    assert res.loc[res["variable"] == "x", "smd"].iloc[0] == pytest.approx(2.5 / math.sqrt(25 / 6))
    # f: p = 0.5 in both groups -> 0
    assert res.loc[res["variable"] == "f", "smd"].iloc[0] == pytest.approx(0.0)


def test_bad_input_raises():
    d = pd.DataFrame({"g": list("aabb"), "x": [1.0, 2, 3, 4]})
    with pytest.raises(ValueError, match="grouping column"):
        compare_groups(d, "nope", ["x"])
    with pytest.raises(ValueError, match="not in the data"):
        compare_groups(d, "g", ["zz"])
    with pytest.raises(ValueError, match="grouping column itself"):
        compare_groups(d, "g", ["g"])
    with pytest.raises(ValueError, match="adjust"):
        compare_groups(d, "g", ["x"], adjust="sidak2")
    with pytest.raises(ValueError, match="duplicate"):
        compare_groups(d, "g", ["x", VariableSpec("x")])


R_SINGLE = """
d <- read.csv(Sys.getenv("ORACLE_IN"), stringsAsFactors = FALSE, na.strings = c("", "NA"))
k <- d[d$g4 != "E", ]
res <- data.frame(
  what = c("k_cont", "f_cat3", "anova_without_e"),
  p = c(kruskal.test(cont ~ factor(g4), data = d)$p.value,
        fisher.test(table(d$cat3, d$g4), workspace = 2e7)$p.value,
        oneway.test(cont ~ factor(g4), data = k, var.equal = TRUE)$p.value))
write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


def test_a_one_patient_group_stays_in_rank_and_fisher_tests_like_r(data):
    d = data.copy()
    d.loc[d.index[0], "g4"] = "E"  # a 1-patient group
    r = run_r(R_SINGLE, d)
    r = dict(zip(r["what"], r["p"], strict=True))
    for exclude in (False, True):
        res = compare_groups(d, "g4", ["cont", "cat3"], exclude_small_groups=exclude)
        assert _p(res, "cont") == pytest.approx(r["k_cont"], rel=TOL)
        assert _p(res, "cat3") == pytest.approx(r["f_cat3"], rel=TOL)
        assert _test(res, "cont") == TEST_KRUSKAL
        assert res["note"].str.startswith("includes E (n=1): a single patient").all()
    # the descriptive columns keep the small group
    assert "E__n" in res.columns and int(res.loc[res["variable"] == "cont", "E__n"].iloc[0]) == 1
    # ANOVA (means) leaves it out when asked to, else gives no p-value
    anova = compare_groups(d, "g4", ["cont"], nonnormal=[], exclude_small_groups=True)
    assert _p(anova, "cont") == pytest.approx(r["anova_without_e"], rel=TOL)
    assert _test(anova, "cont").endswith(", excluding E (n=1)")
    plain = compare_groups(d, "g4", ["cont"], nonnormal=[])
    assert plain["p_value"].isna().all()
    assert plain["note"].str.contains("group size < 2 (E (n=1))", regex=False).all()


def test_an_empty_group_is_left_out_and_two_groups_left_use_wilcoxon():
    d = pd.DataFrame(
        {"g": list("aaaabbbbbc"), "x": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, np.nan]}
    )  # c has no value of x
    res = compare_groups(d, "g", ["x"], exclude_small_groups=True)
    # R: wilcox.test(c(1, 2, 3, 4), c(5, 6, 7, 8, 9))$p.value = 2/choose(9, 4) = 0.015873...
    assert _p(res, "x") == pytest.approx(2 / math.comb(9, 4), rel=TOL)
    assert _test(res, "x") == f"{TEST_WILCOX_EXACT}, excluding c (n=0)"
    # only one group left -> no test, said why
    one = compare_groups(d[d["g"] != "b"], "g", ["x"], exclude_small_groups=True)
    assert math.isnan(_p(one, "x")) and "fewer than 2 groups left" in one["note"].iloc[0]


def test_shipped_cohort_prior_lines_by_icu_reason_is_exact_as_r():
    """The 7 x 4 table the hand-written search answered by Monte Carlo (0.124159): now FEXACT,
    equal to R's fisher.test on the same cohort file."""
    from core.paths import DATA_DIR

    df = pd.read_csv(DATA_DIR / "cohort.csv")
    res = compare_groups(df, "icu_reason", ["prior_lines"], categorical=["prior_lines"])
    row = res[res["p_value"].notna()].iloc[0]
    assert row["test"] == "Fisher exact"
    r = run_r(
        "d <- read.csv(Sys.getenv('ORACLE_IN'))\n"
        "p <- fisher.test(table(d$prior_lines, d$icu_reason), workspace = 2e7)$p.value\n"
        "write.csv(data.frame(p = p), Sys.getenv('ORACLE_OUT'), row.names = FALSE)",
        df[["prior_lines", "icu_reason"]],
    )
    assert row["p_value"] == pytest.approx(float(r["p"].iloc[0]), rel=1e-9)


def test_level_counts_are_the_same_for_every_column_type():
    """Counts per level, by hand, for plain, nullable (DuckDB's) and categorical columns; a
    pandas categorical keeps a level no patient has as a row of zeros (the filtered-out PS
    level), other columns list the levels seen."""
    g = ["a", "a", "b", "b", "b", None]
    cols = {
        "flag": pd.Series([True, False, True, True, None, False], dtype="boolean"),
        "ps": pd.Series([0, 1, 1, None, 1, 0], dtype="Int64"),
        "sex": pd.Series(["F", "M", None, "M", "M", "F"], dtype="string"),
        "obj": pd.Series(["F", "M", None, "M", "M", "F"], dtype=object),
        "cat": pd.Series(
            pd.Categorical(["x", "x", "y", None, "y", "x"], categories=["x", "y", "z"])
        ),
    }
    d = pd.DataFrame({"g": g, **cols})
    res = compare_groups(d, "g", list(cols), categorical=["ps"])
    got = {
        (r.variable, r.level): (r.Overall__n, r.a__n, r.b__n, r.a__N, r.b__N, r.b__missing)
        for r in res.itertuples()
    }
    assert got[("flag", "True")] == (3, 1, 2, 2, 2, 1)
    assert got[("flag", "False")] == (2, 1, 0, 2, 2, 1)
    assert got[("ps", "1")] == (3, 1, 2, 2, 2, 1)
    assert got[("ps", "0")] == (2, 1, 0, 2, 2, 1)
    for v in ("sex", "obj"):
        assert got[(v, "M")] == (3, 1, 2, 2, 2, 1)
        assert got[(v, "F")] == (2, 1, 0, 2, 2, 1)
    assert got[("cat", "x")] == (3, 2, 0, 2, 2, 1)
    assert got[("cat", "y")] == (2, 0, 2, 2, 2, 1)
    assert got[("cat", "z")] == (0, 0, 0, 2, 2, 1)
    assert set(res.loc[res["variable"] == "sex", "level"]) == {"F", "M"}
