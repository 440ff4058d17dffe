"""The variable registry: derived columns, roles and groupings of the cohort's variables."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Indicator columns derived on the fly when a covariate of that name is not in the data:
#: name -> (source column, level coded 1; every other non-missing level is 0).
DERIVED_INDICATORS: dict[str, tuple[str, str]] = {
    "reason_dp": ("icu_reason", "Disease progression"),
}


# --------------------------------------------------------------------------------------
# design matrix
# --------------------------------------------------------------------------------------
def add_derived(df: pd.DataFrame, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Return ``df`` with the derived indicator columns of :data:`DERIVED_INDICATORS` added.

    ``reason_dp`` is 1 for ``icu_reason == "Disease progression"`` and 0 for every other
    reason (missing stays missing).  Columns already present are left untouched.
    """
    out = df
    for name in names if names is not None else DERIVED_INDICATORS:
        if name in df.columns or name not in DERIVED_INDICATORS:
            continue
        source, level = DERIVED_INDICATORS[name]
        if source not in df.columns:
            continue
        if out is df:
            out = df.copy()
        src = df[source]
        out[name] = np.where(src.isna(), np.nan, (src == level).astype(float))
    return out
