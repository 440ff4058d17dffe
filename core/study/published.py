"""Published figures of the paper, read from ``data/published.yaml``.

The YAML file is the single source of every published number the app shows; nothing
published is typed anywhere else. :func:`published_figures` flattens it to one row per
printed number so the reproduction page and the tests can compare them with the values
recomputed from the active cohort.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from core.paths import DATA_DIR

PUBLISHED_PATH = DATA_DIR / "published.yaml"
DAYS_PER_MONTH = 30.4375  # 365.25 / 12
GROUPINGS = ("overall", "icu_reason", "outcome_1y")


def load_published(path: str | Path = PUBLISHED_PATH) -> dict[str, Any]:
    """Load ``data/published.yaml`` as a dict (cached; treat the result as read-only)."""
    return _load(str(Path(path).resolve()))


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)  # a safe loader (CSafeLoader or SafeLoader)


def printed_decimals(value: float | int) -> int:
    """Number of decimals a figure was printed with (``67.5`` -> 1, ``60`` -> 0)."""
    exponent = Decimal(repr(value)).as_tuple().exponent
    return max(0, -int(exponent))


def tolerance(value: float | int) -> float:
    """Half a unit of the last printed digit: the rounding tolerance of a printed figure.

    Give the value as typed in the YAML (``2`` -> 0.5, ``2.0`` -> 0.05); for the flattened
    figures use :func:`tolerance_for` with their ``decimals`` column.
    """
    return tolerance_for(printed_decimals(value))


def tolerance_for(decimals: int) -> float:
    """Rounding tolerance of a figure printed with ``decimals`` decimals."""
    return 0.5 * 10.0 ** (-int(decimals))


def _figure_rows(var: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    source = var.get("source", {})
    base = {
        "variable": var["name"],
        "column": var["column"],
        "label": var["label"],
        "section": var.get("section", ""),
        "kind": var["kind"],
    }

    def add(grouping: str, group: str, level: Any, statistic: str, value: Any) -> None:
        if value is None:
            return
        rows.append(
            {
                **base,
                "grouping": grouping,
                "group": group,
                "level": level,
                "statistic": statistic,
                "published": float(value),
                "decimals": printed_decimals(value),
                "source": source.get(grouping, ""),
            }
        )

    if var["kind"] == "continuous":
        for grouping in GROUPINGS:
            spec = var.get(grouping)
            if spec is None:
                continue
            groups = {"Overall": spec} if grouping == "overall" else spec
            for group, (med, q1, q3) in groups.items():
                add(grouping, group, None, "median", med)
                add(grouping, group, None, "q1", q1)
                add(grouping, group, None, "q3", q3)
    else:
        for level, per in var["levels"].items():
            for grouping in GROUPINGS:
                spec = per.get(grouping)
                if spec is None:
                    continue
                groups = {"Overall": spec} if grouping == "overall" else spec
                for group, (n, pct) in groups.items():
                    add(grouping, group, level, "n", n)
                    add(grouping, group, level, "pct", pct)
    for grouping, p in var.get("p", {}).items():
        add(grouping, "", None, "p", p)
    return rows


def published_figures(path: str | Path = PUBLISHED_PATH) -> pd.DataFrame:
    """One row per published table figure.

    Returns
    -------
    DataFrame with columns ``variable, column, label, section, kind, grouping, group, level,
    statistic, published, decimals, source``. ``statistic`` is one of ``n, pct, median, q1,
    q3, p``; ``grouping`` is ``overall`` (Tables 1-2), ``icu_reason`` (Table 3) or
    ``outcome_1y`` (Table 4).
    """
    pub = load_published(path)
    rows = [row for var in pub["variables"] for row in _figure_rows(var)]
    return pd.DataFrame(rows)


def conflicted_figures(path: str | Path = PUBLISHED_PATH) -> dict[tuple[str, str, str], str]:
    """``{(variable, grouping, statistic): conflict id}`` for figures a conflict explains."""
    out: dict[tuple[str, str, str], str] = {}
    for conflict in load_published(path)["conflicts"]:
        for fig in conflict.get("figures", []):
            out[(fig["variable"], fig["grouping"], fig["statistic"])] = conflict["id"]
    return out
