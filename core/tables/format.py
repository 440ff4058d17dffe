"""Text of numbers in result tables: p-values, confidence intervals and percentages.

Presentation only, shared by the table builders of :mod:`core.stats.cox.fit` and
:mod:`core.study.calculator`
(``format_*`` functions); exports keep the raw numbers.  :mod:`core.stats.compare` prints p-values
as the paper does (``fmt_p``: two significant digits), a different convention kept there.

Intervals use an en dash with spaces (``0.91 – 1.32``); a value that is not a number is shown
as a lone en dash (:data:`MISSING`).
"""

from __future__ import annotations

import math

__all__ = [
    "MISSING",
    "estimate_interval",
    "interval",
    "p_phrase",
    "p_value",
    "percent",
]

#: Shown in place of a number that cannot be computed.
MISSING = "–"


def _finite(x: float) -> bool:
    return x is not None and math.isfinite(x)


def p_value(p: float) -> str:
    """p-value as a table cell: three decimals, ``< 0.001`` below 0.001.

    Parameters
    ----------
    p : float
        A p-value; NaN or infinite when no test was possible.

    Returns
    -------
    str
        ``'0.042'``, ``'< 0.001'``, or :data:`MISSING` when ``p`` is not finite.

    Examples
    --------
    >>> p_value(0.04249), p_value(0.0004), p_value(float("nan"))
    ('0.042', '< 0.001', '–')
    """
    if not _finite(p):
        return MISSING
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_phrase(p: float) -> str:
    """p-value in running text: ``p = 0.042`` or ``p < 0.001``.

    Parameters
    ----------
    p : float
        A p-value.

    Returns
    -------
    str
        ``'p = ' + p_value(p)`` from 0.001 on, ``'p < 0.001'`` below; ``'p –'`` when ``p`` is
        not a number.

    Examples
    --------
    >>> p_phrase(0.5), p_phrase(1e-5)
    ('p = 0.500', 'p < 0.001')
    """
    return f"p {'= ' if _finite(p) and p >= 0.001 else ''}{p_value(p)}"


def _bound(x: float, spec: str) -> str:
    return f"{x:{spec}}" if _finite(x) else "NA"


def interval(lower: float, upper: float, spec: str = ".2f") -> str:
    """A confidence interval ``'lower – upper'``, both bounds in the format ``spec``.

    Parameters
    ----------
    lower, upper : float
        Bounds of the interval.
    spec : str, default ``".2f"``
        Python format specification of each bound (``".1%"`` for proportions).

    Returns
    -------
    str
        e.g. ``'1.10 – 14.65'``. A bound that could not be estimated prints as ``NA``, as R
        prints it (the paper's median OS: ``17.1–NA``); with neither bound, :data:`MISSING`.

    Examples
    --------
    >>> interval(1.1, 14.654), interval(17.1, float("nan"), ".1f")
    ('1.10 – 14.65', '17.1 – NA')
    """
    if not _finite(lower) and not _finite(upper):
        return MISSING
    return f"{_bound(lower, spec)} – {_bound(upper, spec)}"


def estimate_interval(estimate: float, lower: float, upper: float, spec: str = ".2f") -> str:
    """An estimate with its interval in brackets: ``'4.02 [1.10 – 14.65]'``.

    Parameters
    ----------
    estimate, lower, upper : float
        Point estimate and bounds.
    spec : str, default ``".2f"``
        Python format specification of the three numbers.

    Returns
    -------
    str
        The estimate alone when neither bound exists; :data:`MISSING` without an estimate.

    Examples
    --------
    >>> estimate_interval(0.5, 0.25, 0.75, ".1%")
    '50.0% [25.0% – 75.0%]'
    """
    if not _finite(estimate):
        return MISSING
    if not _finite(lower) and not _finite(upper):
        return f"{estimate:{spec}}"
    return f"{estimate:{spec}} [{interval(lower, upper, spec)}]"


def percent(value: float, digits: int = 1) -> str:
    """A proportion as a percentage (``0.1234 -> '12.3%'``); :data:`MISSING` when not finite.

    Parameters
    ----------
    value : float
        Proportion between 0 and 1 (NaN when not estimable, e.g. beyond the follow-up).
    digits : int, default 1
        Decimals of the percentage.

    Returns
    -------
    str

    Examples
    --------
    >>> percent(0.1234), percent(float("nan"))
    ('12.3%', '–')
    """
    if not _finite(value):
        return MISSING
    return f"{100 * value:.{digits}f}%"
