"""Run R (the paper's software) as a test oracle.

``run_r(script, data)`` writes ``data`` to a temporary CSV that the script reads as
``d <- read.csv(Sys.getenv("ORACLE_IN"))`` and whose result it writes with
``write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)``; the result comes back as
a DataFrame. Numbers are written with 15 significant digits (``options(digits = 15)``).

Locally the R parity tests skip when ``Rscript`` is missing; with ``CI=true`` they fail
instead, because `.ci/run` installs R (``r-base-core r-cran-survival``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest

RSCRIPT = shutil.which("Rscript")


def require_r() -> str:
    """Return the Rscript path, or skip (locally) / fail (CI=true) when R is absent."""
    if RSCRIPT is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Rscript not found but CI=true: R parity tests must run in CI")
        pytest.skip("Rscript not installed (apt-get install -y r-base-core r-cran-survival)")
    return RSCRIPT


def run_r(script: str, data: pd.DataFrame | None = None) -> pd.DataFrame:
    """Run an R script with ``data`` as ORACLE_IN and return ORACLE_OUT as a DataFrame."""
    rscript = require_r()
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        inp, out, src = tmpdir / "in.csv", tmpdir / "out.csv", tmpdir / "script.R"
        if data is not None:
            data.to_csv(inp, index=False)
        src.write_text("options(digits = 15)\nsuppressMessages(library(survival))\n" + script)
        env = {**os.environ, "ORACLE_IN": str(inp), "ORACLE_OUT": str(out)}
        proc = subprocess.run(
            [rscript, "--vanilla", str(src)], capture_output=True, text=True, env=env, timeout=300
        )
        if proc.returncode != 0:
            raise RuntimeError(f"Rscript failed:\n{proc.stderr}")
        return pd.read_csv(out)


def r_pvalue_call(figure, frame: str = "d") -> str:
    """The R expression for one published p-value (a row of ``published_figures()``) on the
    data frame named ``frame``: wilcox.test by 1-year outcome (two groups) or kruskal.test for
    a continuous variable, fisher.test for a categorical one — the paper's tests."""
    col, grp = f"{frame}${figure.column}", f"{frame}${figure.grouping}"
    if figure.kind == "continuous":
        test = "wilcox.test" if figure.grouping == "outcome_1y" else "kruskal.test"
        return f"{test}({col} ~ factor({grp}))$p.value"
    return f"fisher.test(table({col}, {grp}))$p.value"
