"""core/stats/adjust.py (p_adjust) against R's p.adjust (quoted, with the R call)."""

from __future__ import annotations

import numpy as np

from core.stats.adjust import p_adjust


def testp_adjust_holm_hand():
    # R: p.adjust(c(0.01, 0.04, 0.03), "holm") -> 0.03 0.06 0.06
    np.testing.assert_allclose(p_adjust(np.array([0.01, 0.04, 0.03]), "holm"), [0.03, 0.06, 0.06])
