"""What an uploaded cohort costs the server: only the columns holding a value are stored as
pandas columns and fetched, the rows are fetched once per filter, and no page writes into them.

The figures (peak RSS for a 200,000-row upload) are measured by ``python -m bench.bench_memory``;
these tests check the mechanisms those figures rest on.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from core.cohort import db, ingest
from core.cohort.schema import load_dictionary
from core.paths import DATA_DIR
from tests.apptest import USER_KEY, run_page

MINIMAL = ["patient_id", "age", "sex", "ecog_ps", "icu_reason", "sofa", "os_days", "os_event"]


def _minimal_upload() -> ingest.IngestReport:
    raw = pd.read_csv(DATA_DIR / "cohort.csv", usecols=MINIMAL).to_csv(index=False).encode()
    return ingest.read_cohort(raw, "minimal.csv")


def _types(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'patients_raw' ORDER BY ordinal_position"
    ).fetchall()
    return dict(rows)


def test_empty_schema_columns_are_the_nulls_duckdb_would_have_typed():
    """The columns a file lacks become typed NULL columns in SQL; the table has the same
    columns, order and types as when every pandas column (empty ones too) is scanned."""
    report = _minimal_upload()
    con = ingest.load_into_session(report)
    # the reference: DuckDB scanning the whole accepted frame, text as pandas strings
    full = report.full_table().reset_index(drop=True)
    for c in full.columns:
        if full[c].dtype == object:
            full[c] = full[c].astype("string")
    ref = duckdb.connect(":memory:")
    ref.register("full_df", full)
    ref.execute("CREATE TABLE patients_raw AS SELECT * FROM full_df")
    assert _types(con) == _types(ref)
    assert list(_types(con)) == list(load_dictionary())  # the schema's columns, in order
    # only the file's columns are stored: the absent ones are NULLs of a view, not a table's
    stored = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
    ).fetchall()
    assert stored == [("patients_filled",)]
    assert db.table_columns(con, "patients_filled") == [
        c for c in load_dictionary() if full[c].notna().any()
    ]
    got = con.execute("SELECT * FROM patients_raw").df()
    want = ref.execute("SELECT * FROM patients_raw").df()
    pd.testing.assert_frame_equal(got, want)


def test_only_filled_columns_are_fetched():
    con = ingest.load_into_session(_minimal_upload())
    filled = db.filled_columns(con)
    assert set(MINIMAL) <= set(filled)
    assert {"death_1y", "outcome_1y"} <= set(filled)  # the view's derived columns
    assert "bacterium" not in filled and "lactate_mmol_l" not in filled
    rows = db.fetch_cohort(con, columns=filled)
    assert list(rows.columns) == filled and len(rows) == 71
    with pytest.raises(KeyError):
        db.fetch_cohort(con, columns=['x" FROM patients; --'])


PAGES = ["overview", "compare", "survival", "cox", "calculator", "validation", "story"]


@pytest.mark.slow
def test_pages_never_write_into_the_uploaded_rows():
    """The upload's rows are kept in the session for the filter and handed to every page, so
    no page may write into them: each page runs on the same session and the rows are compared
    with a copy taken before."""
    report = _minimal_upload()
    user = {"con": ingest.load_into_session(report), "name": "minimal.csv", "mode": "paper"}
    run_page(f"app_pages/{PAGES[0]}.py", session_state={USER_KEY: user})
    _, rows = user["rows"]
    before = rows.copy(deep=True)
    assert "bacterium" not in rows.columns  # empty schema columns are not fetched
    for page in PAGES:
        run_page(f"app_pages/{page}.py", session_state={USER_KEY: user})
        assert user["rows"][1] is rows, page  # fetched once for this filter
        pd.testing.assert_frame_equal(rows, before, obj=page)


def test_fetched_text_columns_share_their_repeated_values():
    """DuckDB makes one Python string per cell; the fetched rows hold one per distinct value
    (same values and dtype), and the rows DuckDB handed over are let go."""
    import gc
    import tracemalloc

    n = 20_000
    con = db.session_connection(
        pd.DataFrame(
            {
                "patient_id": [f"P{i}" for i in range(n)],
                "sex": pd.array(["F", "M"] * (n // 2), dtype="string"),
                "os_days": [float(i % 400) for i in range(n)],
                "os_event": [i % 2 for i in range(n)],
            }
        )
    )
    plain = con.execute("SELECT * FROM patients").df()
    tracemalloc.start()
    rows = db.fetch_cohort(con)
    gc.collect()
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    pd.testing.assert_frame_equal(rows, plain)
    assert len({id(v) for v in rows["sex"]}) == 2
    assert len({id(v) for v in rows["outcome_1y"]}) == 2
    # kept: the unique ids' strings and the pointer arrays, not a second string per cell of sex
    # and outcome_1y (~55 bytes each: 2.2 MB more)
    assert held < sum(map(len, rows["patient_id"])) + 60 * n + 8 * n * rows.shape[1]


def _risk_sets(n: int, p: int, seed: int = 3):
    import numpy as np

    from core.stats.cox.engine import _RiskSets

    rng = np.random.default_rng(seed)
    time = rng.integers(1, 40, n).astype(float)  # many ties, as days are
    status = (rng.random(n) < 0.6).astype(float)
    X = rng.normal(size=(n, p))
    return _RiskSets(time, status, X, "efron"), time, status, X


def test_risk_set_sums_equal_the_sums_over_each_risk_set():
    """block_sums against its definition, summed patient by patient: at each event time, over
    those still at risk (time >= t) and over the deaths at t, of r, r x and r x x'."""
    import numpy as np

    rs, time, status, X = _risk_sets(300, 3)
    eta = X @ np.array([0.3, -0.2, 0.1])
    S0, S1, S2, S0d, S1d, S2d = rs.block_sums(eta[rs.order])
    r = np.exp(eta)
    for b, t in enumerate(sorted(set(time[status == 1]), reverse=True)):
        for sel, (s0, s1, s2) in (
            (time >= t, (S0, S1, S2)),
            ((time == t) & (status == 1), (S0d, S1d, S2d)),
        ):
            w = r[sel]
            assert s0[b] == pytest.approx(w.sum(), rel=1e-12)
            np.testing.assert_allclose(s1[b], w @ X[sel], rtol=1e-12)
            np.testing.assert_allclose(s2[b], (X[sel] * w[:, None]).T @ X[sel], rtol=1e-12)


def test_cox_likelihood_holds_no_patients_by_products_array():
    """One Newton step of a 100,000-patient, 3-covariate fit holds a few patient-long vectors,
    not an (n, 1 + p + p^2) array of r, r x, r x x' and its cumulative sum (26 such vectors,
    ~21 MB: with a 200,000-row upload it lifted every Cox fit's peak by ~40 MB)."""
    import tracemalloc

    import numpy as np

    n = 100_000
    rs, *_ = _risk_sets(n, 3)
    tracemalloc.start()
    rs.loglik(np.zeros(3))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * (8 * n)  # eta, r, r x, r x x', the deaths' rows: at most 8 vectors
