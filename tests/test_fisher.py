"""core.stats.fisher against R's fisher.test (exact, two-sided)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.stats.fisher import METHOD_EXACT, fisher_test, random_tables
from tests.r_oracle import run_r

# R: Job <- matrix(c(1,2,1,0, 3,3,6,1, 10,10,14,9, 6,7,12,11), 4, 4)  (?fisher.test example)
JOB = np.array([1, 2, 1, 0, 3, 3, 6, 1, 10, 10, 14, 9, 6, 7, 12, 11]).reshape(4, 4).T
# R 4.2.2: print(fisher.test(Job)$p.value, digits = 15)
JOB_P_R = 0.782684938965639

BEYOND_THE_OLD_SEARCH = [
    [[19, 21, 23, 21], [2, 1, 2, 1], [2, 2, 0, 1], [1, 1, 1, 0]],
    [[32, 31, 29, 33], [4, 1, 0, 5], [4, 2, 3, 0], [2, 2, 1, 1]],
    [[0, 0, 7, 0], [2, 52, 4, 2], [3, 0, 0, 0], [1, 0, 16, 1]],
]

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
    # the tables the hand-written search answered by Monte Carlo (0.918431, 0.223698, 1.0e-05)
    out.extend(np.array(t) for t in BEYOND_THE_OLD_SEARCH)
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
    res = fisher_test(JOB)
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
        ours = fisher_test(t)
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
    exact = fisher_test(t).p_value
    a = fisher_test(t, workspaces=())
    b = fisher_test(t, workspaces=())
    assert a.method == "Fisher exact (Monte Carlo, 100000 tables)"
    assert a.p_value == b.p_value  # same seed, same answer
    assert abs(a.p_value - exact) < 0.01  # MC standard error ~0.0016 at p ~ 0.3
    assert "Monte Carlo" in a.note


def _every_table(rows, cols):
    """Every table with these margins and its null probability (hand enumeration):
    prod(r_i!) prod(c_j!) / (n! prod(x_ij!))."""
    from itertools import product

    n = sum(rows)
    const = sum(math.lgamma(v + 1) for v in (*rows, *cols)) - math.lgamma(n + 1)
    free = [range(min(r, c) + 1) for r in rows[:-1] for c in cols[:-1]]
    out = {}
    for cells in product(*free):
        x = np.zeros((len(rows), len(cols)), dtype=int)
        x[:-1, :-1] = np.array(cells).reshape(len(rows) - 1, len(cols) - 1)
        x[:-1, -1] = np.array(rows[:-1]) - x[:-1, :-1].sum(axis=1)
        x[-1, :] = np.array(cols) - x[:-1, :].sum(axis=0)
        if (x < 0).any():
            continue
        out[x.tobytes()] = math.exp(const - sum(math.lgamma(v + 1) for v in x.ravel()))
    return out


@pytest.mark.parametrize(
    "rows, cols",
    [((3, 4, 5), (2, 4, 6)), ((5, 7), (3, 4, 5)), ((2, 3, 4, 3), (6, 6))],
)
def test_random_tables_follow_the_null_distribution_of_the_margins(rows, cols):
    """The Monte Carlo sampler draws each table with its exact null probability: 200,000
    draws against every table's probability by enumeration (chi-squared goodness of fit,
    seeded), and every draw keeps the margins.  The 4 x 2 case checks the transposed
    orientation, which the sampler returns as 2 x 4."""
    from scipy.stats import chisquare

    exact = _every_table(rows, cols)
    assert sum(exact.values()) == pytest.approx(1.0, abs=1e-12)
    sims = random_tables(np.array(rows), np.array(cols), 200_000, np.random.default_rng(5))
    if len(rows) > len(cols):
        sims = sims.transpose(0, 2, 1)
    assert (sims.sum(axis=2) == rows).all() and (sims.sum(axis=1) == cols).all()
    keys, counts = np.unique(sims.reshape(len(sims), -1), axis=0, return_counts=True)
    seen = {k.astype(int).tobytes(): int(c) for k, c in zip(keys, counts, strict=True)}
    assert set(seen) <= set(exact)  # no impossible table
    observed = np.array([seen.get(k, 0) for k in exact], dtype=float)

    def fit(probs):
        expected = probs / probs.sum() * len(sims)
        big = expected >= 5  # the rare tables pooled, as the test needs
        obs, exp = observed[big], expected[big]
        if (~big).any():
            obs, exp = np.append(obs, observed[~big].sum()), np.append(exp, expected[~big].sum())
        return chisquare(obs, exp).pvalue

    probs = np.array(list(exact.values()))
    assert fit(probs) > 1e-3
    assert fit(probs**0.9) < 1e-6  # the test has the power to see a slightly wrong sampler


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


def test_a_table_beyond_fexact_gets_a_labelled_monte_carlo_and_a_sentence():
    """7 x 4 with 5,000 patients: FEXACT's hash keys overflow (R's fisher.test stops with an
    error there too); the result is a seeded Monte Carlo estimate, named as such, with the
    reason in words and never FEXACT's negative error code."""
    rng = np.random.default_rng(11)
    t = rng.multinomial(5000, rng.dirichlet(np.ones(28))).reshape(7, 4)
    res = fisher_test(t, n_resamples=2_000)
    assert res.method == "Fisher exact (Monte Carlo, 2000 tables)"
    assert 0 < res.p_value <= 1
    assert "cannot finish this 7 x 4 table of 5,000 patients" in res.note
    assert "too large for the exact algorithm" in res.note
    assert "error" not in res.note.split(":")[1]  # a sentence, not a code


def test_the_stack_error_of_a_small_workspace_is_retried_larger():
    """The 7 x 4 table of 71 patients needs more than R's default workspace (R's
    fisher.test(m) stops with 'FEXACT error 7 ... LDSTP is too small'; workspace = 2e6
    gives the p-value): the retry reaches the exact answer, the first try alone does not."""
    t = [[2, 2, 0, 0], [1, 2, 1, 3], [10, 11, 7, 0], [5, 0, 2, 3], [4, 1, 0, 5], [0, 0, 3, 0],
         [3, 0, 1, 5]]  # fmt: skip
    small = fisher_test(t, workspaces=(200_000,), n_resamples=1_000)
    assert "Monte Carlo" in small.method and "stack (LDSTP) is too small" in small.note
    full = fisher_test(t)
    assert full.method == METHOD_EXACT
    r = run_r(
        "m <- matrix(c(" + ",".join(str(v) for v in np.array(t).T.ravel()) + "), 7)\n"
        "write.csv(data.frame(p = fisher.test(m, workspace = 2e7)$p.value),"
        " Sys.getenv('ORACLE_OUT'), row.names = FALSE)"
    )
    assert full.p_value == pytest.approx(float(r["p"].iloc[0]), rel=1e-9)


# cart_product x age (5 x 41) of the reconstructed cohort: R's fisher.test stops with
# "FEXACT error 30 ... Stack length exceeded"; fisher-rxc's FEXACT crashes on it
# (segmentation fault), in its worker process, never in the caller's.
CRASHES_FEXACT = [
    [
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ],
    [
        2,
        0,
        0,
        2,
        0,
        1,
        0,
        1,
        1,
        0,
        1,
        1,
        1,
        0,
        1,
        0,
        1,
        2,
        0,
        0,
        0,
        1,
        0,
        1,
        1,
        1,
        2,
        2,
        0,
        2,
        1,
        1,
        2,
        0,
        0,
        0,
        1,
        2,
        2,
        0,
        0,
    ],
    [
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ],
    [
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
    ],
    [
        0,
        2,
        1,
        1,
        0,
        1,
        2,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        0,
        1,
        0,
        0,
        1,
        1,
        1,
        0,
        1,
        3,
        2,
        0,
        0,
        0,
        0,
        2,
        2,
        2,
        0,
        1,
        2,
        1,
        0,
        1,
        1,
        1,
        0,
    ],
]


def test_a_crash_of_fexact_costs_its_worker_not_the_app():
    res = fisher_test(CRASHES_FEXACT, n_resamples=2_000)
    assert res.method == "Fisher exact (Monte Carlo, 2000 tables)"
    assert "stopped unexpectedly" in res.note
    assert 0 < res.p_value <= 1
    assert fisher_test(JOB).p_value == pytest.approx(JOB_P_R, rel=1e-9)  # a new worker answers
