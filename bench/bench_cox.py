"""Benchmark: Cox model with 3 covariates on 100,000 synthetic patients (goal < 1 s).

Run from the repository root::

    python -m bench.bench_cox            # or: python bench/bench_cox.py [n]

Prints one table: best-of-``REPEATS`` wall time for

* ``core.stats.cox.fit.fit_cox`` (complete result: Efron Newton-Raphson, Wald table, global tests,
  concordance), its pieces (Newton-Raphson only, concordance only), ``ph_test`` (cox.zph);
* lifelines ``CoxPHFitter`` (default, and with ``fit_options={"step_size": 1.0}``: undamped
  Newton steps, as R);
* R ``coxph`` (``system.time`` inside R, so R start-up and CSV reading are excluded), when
  Rscript is installed;

with the largest coefficient difference from ``fit_cox``.  No timing is asserted anywhere.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.stats.cox.concordance import concordance_index
from core.stats.cox.diagnostics import ph_test
from core.stats.cox.engine import _newton, _RiskSets
from core.stats.cox.fit import fit_cox

REPEATS = 3
COVS = ["age", "ecog_ps", "sofa"]


def synthetic(n: int, seed: int = 20240601) -> pd.DataFrame:
    """n patients: age (years), ECOG PS 0-4, SOFA 0-24; exponential times in whole days."""
    rng = np.random.default_rng(seed)
    age = rng.normal(58, 14, n).round()
    ps = rng.choice(5, n, p=[0.15, 0.45, 0.3, 0.08, 0.02])
    sofa = np.clip(rng.poisson(4.5, n), 0, 24)
    lp = 0.01 * (age - 58) + np.log(1.97) * ps + np.log(1.16) * sofa
    t = np.ceil(rng.exponential(900 * np.exp(-lp)))
    c = np.ceil(rng.uniform(30, 1100, n))
    return pd.DataFrame(
        {
            "age": age,
            "ecog_ps": ps,
            "sofa": sofa,
            "os_days": np.minimum(t, c),
            "os_event": (t <= c).astype(int),
        }
    )


def best_of(fn, repeats: int = REPEATS):
    out = None
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def r_coxph(df: pd.DataFrame) -> tuple[float, np.ndarray] | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "in.csv", Path(tmp) / "out.csv"
        df.to_csv(inp, index=False)
        script = f"""
suppressMessages(library(survival))
d <- read.csv("{inp}")
best <- Inf
for (i in 1:{REPEATS}) {{
  tm <- system.time(fit <- coxph(Surv(os_days, os_event) ~ age + ecog_ps + sofa, data = d))
  best <- min(best, tm[["elapsed"]])
}}
write.csv(data.frame(t = best, b1 = coef(fit)[1], b2 = coef(fit)[2], b3 = coef(fit)[3]),
          "{out}", row.names = FALSE)
"""
        proc = subprocess.run(
            [rscript, "--vanilla", "-e", script],
            check=False,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            return None
        res = pd.read_csv(out)
    return float(res["t"][0]), res[["b1", "b2", "b3"]].to_numpy()[0]


def main(n: int = 100_000) -> pd.DataFrame:
    df = synthetic(n)
    rows = []

    def full():  # the C-index and its SE are computed when read: read, as R computes them
        fit = fit_cox(df, "os_days", "os_event", COVS)
        _ = fit.concordance, fit.concordance_se
        return fit

    t_fit, res = best_of(full)
    ref = res.model.coef
    rows.append(
        ("core.stats.cox.fit.fit_cox (full result, C-index read)", t_fit, 0.0, res.iterations)
    )
    t_coef, _ = best_of(lambda: fit_cox(df, "os_days", "os_event", COVS))
    rows.append(("fit_cox, coefficients only (C-index not read)", t_coef, 0.0, res.iterations))

    Xc = df[COVS].to_numpy(float)
    Xc = Xc - Xc.mean(axis=0)
    t_arr, e_arr = df["os_days"].to_numpy(float), df["os_event"].to_numpy(float)

    def engine():
        return _newton(_RiskSets(t_arr, e_arr, Xc, "efron"), np.zeros(3))

    t_eng, eng = best_of(engine)
    rows.append(
        ("  Newton-Raphson only", t_eng, float(np.abs(eng.beta - ref).max()), eng.iterations)
    )
    lp = res.model.linear_predictor()
    t_c, _ = best_of(lambda: concordance_index(t_arr, e_arr, lp))
    rows.append(("  concordance only", t_c, np.nan, np.nan))
    t_z, _ = best_of(lambda: ph_test(res), repeats=1)
    rows.append(("core.stats.cox.fit.ph_test (cox.zph)", t_z, np.nan, np.nan))

    try:
        from lifelines import CoxPHFitter

        cols = [*COVS, "os_days", "os_event"]
        for label, opts in (
            ("lifelines CoxPHFitter (default)", None),
            ('lifelines CoxPHFitter fit_options={"step_size": 1.0}', {"step_size": 1.0}),
        ):
            t_l, cph = best_of(
                lambda opts=opts: CoxPHFitter().fit(
                    df[cols], "os_days", "os_event", fit_options=opts
                )
            )
            diff = float(np.abs(cph.params_[COVS].to_numpy() - ref).max())
            rows.append((label, t_l, diff, np.nan))
    except ImportError:  # pragma: no cover
        pass

    r = r_coxph(df)
    if r is not None:
        rows.append(
            ("R survival::coxph (in-R system.time)", r[0], float(np.abs(r[1] - ref).max()), np.nan)
        )

    table = pd.DataFrame(rows, columns=["method", "seconds", "max |coef diff| vs fit_cox", "iter"])
    print(
        f"Cox PH, 3 covariates, n = {n:,} synthetic patients, {int(res.events):,} events, "
        f"{len(np.unique(t_arr)):,} distinct times (best of {REPEATS})"
    )
    with pd.option_context("display.width", 140, "display.max_colwidth", 60):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    return table


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
