"""core/stats/adjust.py (p_adjust) against R's p.adjust (quoted, with the R call)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.stats.adjust import p_adjust


def testp_adjust_holm_hand():
    # R: p.adjust(c(0.01, 0.04, 0.03), "holm") -> 0.03 0.06 0.06
    np.testing.assert_allclose(p_adjust(np.array([0.01, 0.04, 0.03]), "holm"), [0.03, 0.06, 0.06])


def test_p_adjust_equals_r_on_ties_and_missing_values():
    """Every method against R's p.adjust on the same vectors (ties, NA, values near 1)."""
    from tests.r_oracle import require_r, run_r

    require_r()
    rng = np.random.default_rng(3)
    p = np.round(rng.uniform(0, 0.2, 40), 3)  # rounded: many ties
    p[[3, 17]] = np.nan
    p[[5, 9]] = [0.9, 1.0]
    data = pd.DataFrame({"i": np.arange(len(p)), "p": p})  # two columns: no blank lines
    r = run_r(
        """
        d <- read.csv(Sys.getenv("ORACLE_IN"))
        res <- data.frame(holm = p.adjust(d$p, "holm"), bonferroni = p.adjust(d$p, "bonferroni"),
                          BH = p.adjust(d$p, "BH"))
        write.csv(res, Sys.getenv("ORACLE_OUT"), row.names = FALSE)
        """,
        data,
    )
    for method in ("holm", "bonferroni", "BH"):
        np.testing.assert_allclose(p_adjust(p, method), r[method].to_numpy(), atol=1e-12)


def test_holm_does_not_collect_garbage(monkeypatch):
    """Holm runs on every rerun of Compare and Survival: no full garbage collection in it
    (statsmodels' Holm calls gc.collect(), 100-250 ms in a busy server)."""
    import gc

    def refuse():
        raise AssertionError("gc.collect() called")

    monkeypatch.setattr(gc, "collect", refuse)
    np.testing.assert_allclose(p_adjust([0.01, 0.04, 0.03], "holm"), [0.03, 0.06, 0.06])
