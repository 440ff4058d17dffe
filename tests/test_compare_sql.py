"""core.stats.compare_sql: the DuckDB path gives the pandas path's table (core.stats.compare,
itself checked against R in tests/test_compare.py) and refuses unknown columns and tables."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from core.stats.compare import compare_groups
from core.stats.compare_sql import compare_groups_sql
from tests.helpers_compare import _data


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _data()


def test_sql_path_equals_pandas_path(data):
    con = duckdb.connect()
    con.register("src", data)
    con.execute("CREATE TABLE pts AS SELECT * FROM src")
    variables = ["cont", "score", "lab", "cat3", "flag"]
    a = compare_groups(data, "g4", variables, adjust="BH")
    b = compare_groups_sql(con, "pts", "g4", variables, adjust="BH")
    pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9)
    with pytest.raises(ValueError, match="not in"):
        compare_groups_sql(con, "pts", "g4", ['cont"; DROP TABLE pts; --'])
    with pytest.raises(ValueError, match="not found"):
        compare_groups_sql(con, "nope", "g4", ["cont"])
