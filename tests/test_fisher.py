"""core.stats.fisher against R's fisher.test (exact, two-sided)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.stats.fisher import METHOD_EXACT, fisher_test
from tests.r_oracle import run_r

# R: Job <- matrix(c(1,2,1,0, 3,3,6,1, 10,10,14,9, 6,7,12,11), 4, 4)  (?fisher.test example)
JOB = np.array([1, 2, 1, 0, 3, 3, 6, 1, 10, 10, 14, 9, 6, 7, 12, 11]).reshape(4, 4).T
# R 4.2.2: print(fisher.test(Job)$p.value, digits = 15)
JOB_P_R = 0.782684938965639

# (shape, n, kind): kind "indep" = uniform cell probabilities, "assoc" = Dirichlet(1)
SPECS = [
    ((2, 3), 30, "indep"),
    ((2, 3), 150, "assoc"),
    ((2, 5), 150, "indep"),
    ((3, 2), 60, "assoc"),
    ((3, 3), 20, "indep"),
    ((3, 3), 100, "indep"),
    ((3, 3), 150, "assoc"),
    ((3, 4), 60, "indep"),
    ((3, 4), 120, "assoc"),
    ((4, 3), 90, "indep"),
    ((3, 5), 80, "indep"),
    ((4, 4), 40, "assoc"),
    ((4, 4), 71, "indep"),
    ((4, 4), 100, "indep"),
    ((5, 4), 50, "assoc"),
    ((5, 4), 71, "indep"),
    ((4, 5), 80, "indep"),
    ((5, 3), 120, "indep"),
    ((2, 2), 40, "indep"),
    ((2, 2), 16, "indep"),
]


def _tables() -> list[np.ndarray]:
    rng = np.random.default_rng(20240611)
    out = []
    for shape, n, kind in SPECS:
        cells = shape[0] * shape[1]
        prob = np.full(cells, 1 / cells) if kind == "indep" else rng.dirichlet(np.ones(cells))
        out.append(rng.multinomial(n, prob).reshape(shape))
    # symmetric 2 x 2 (ties between tables) and a sparse 3 x 4 with small counts
    out.append(np.array([[3, 5], [5, 3]]))
    out.append(np.array([[1, 0, 2, 0], [0, 3, 0, 1], [2, 0, 0, 4]]))
    return out


def _long(tables: list[np.ndarray]) -> pd.DataFrame:
    rows = []
    for k, t in enumerate(tables):
        for i in range(t.shape[0]):
            for j in range(t.shape[1]):
                rows.append({"id": k, "i": i, "j": j, "count": int(t[i, j])})
    return pd.DataFrame(rows)


R_FISHER = """
d <- read.csv(Sys.getenv("ORACLE_IN"))
ids <- sort(unique(d$id))
p <- sapply(ids, function(k) {
  s <- d[d$id == k, ]
  m <- matrix(0, max(s$i) + 1, max(s$j) + 1)
  m[cbind(s$i + 1, s$j + 1)] <- s$count
  fisher.test(m, workspace = 2e8)$p.value
})
res <- data.frame(id = ids, p = p)
write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
"""


@pytest.fixture(scope="module")
def r_pvalues() -> pd.DataFrame:
    tables = _tables()
    return tables, run_r(R_FISHER, _long(tables))


def test_job_table_literal():
    res = fisher_test(JOB, time_budget=math.inf)
    assert res.method == METHOD_EXACT
    assert res.p_value == pytest.approx(JOB_P_R, rel=1e-9, abs=0)
    assert res.shape == (4, 4)


def test_job_table_differs_from_scipy_monte_carlo_default():
    # the reason this module exists: scipy's r x c default is Monte Carlo (~0.780)
    res = fisher_test(JOB)
    assert abs(res.p_value - 0.7802) > 1e-3


def test_random_tables_match_r(r_pvalues):
    tables, r = r_pvalues
    worst = 0.0
    for k, t in enumerate(tables):
        ours = fisher_test(t, time_budget=math.inf)
        assert ours.method == METHOD_EXACT
        expected = float(r.loc[r["id"] == k, "p"].iloc[0])
        assert ours.p_value == pytest.approx(expected, rel=1e-6, abs=1e-12), (k, t.tolist())
        worst = max(worst, abs(ours.p_value - expected) / expected)
    assert worst < 1e-6


def test_transpose_and_permutation_invariant():
    rng = np.random.default_rng(3)
    t = rng.multinomial(60, np.ones(12) / 12).reshape(3, 4)
    base = fisher_test(t).p_value
    assert fisher_test(t.T).p_value == pytest.approx(base, rel=1e-9)
    assert fisher_test(t[::-1, [2, 0, 3, 1]]).p_value == pytest.approx(base, rel=1e-9)


def test_zero_rows_and_columns_are_dropped_like_r():
    # R: fisher.test(matrix(c(3,0,5,2,0,4,1,0,2), 3, 3))$p.value -> 0.999999999999995
    m = np.array([[3, 2, 1], [0, 0, 0], [5, 4, 2]])
    res = fisher_test(m)
    assert res.p_value == pytest.approx(0.999999999999995, rel=1e-9)
    assert res.shape == (2, 3)
    with_zero_col = np.array([[3, 0, 2], [5, 0, 4], [1, 0, 6]])
    assert fisher_test(with_zero_col).shape == (3, 2)


def test_fewer_than_two_nonempty_rows_gives_nan_with_reason():
    res = fisher_test([[3, 5], [0, 0]])
    assert math.isnan(res.p_value)
    assert "at least 2" in res.note
    assert math.isnan(fisher_test([[4], [2]]).p_value)
    assert math.isnan(fisher_test(np.zeros((3, 3))).p_value)


def test_monte_carlo_fallback_is_seeded_and_close():
    t = np.array([[8, 2, 3, 5], [1, 5, 4, 2], [3, 3, 6, 1]])
    exact = fisher_test(t, time_budget=math.inf).p_value
    a = fisher_test(t, time_budget=0.0)
    b = fisher_test(t, time_budget=0.0)
    assert a.method == "Fisher exact (Monte Carlo, 100000 tables)"
    assert a.p_value == b.p_value  # same seed, same answer
    assert abs(a.p_value - exact) < 0.01  # MC standard error ~0.0016 at p ~ 0.3
    assert "Monte Carlo" in a.note


@pytest.mark.parametrize(
    "bad, msg",
    [
        ([1, 2, 3], "2-dimensional"),
        ([[1, -1], [2, 3]], "non-negative"),
        ([[1.5, 1], [2, 3]], "integers"),
        ([[np.nan, 1], [2, 3]], "finite"),
    ],
)
def test_bad_input_raises(bad, msg):
    with pytest.raises(ValueError, match=msg):
        fisher_test(bad)
