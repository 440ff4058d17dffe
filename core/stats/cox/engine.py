"""R's ``coxfit6`` Newton-Raphson for the Efron partial likelihood, vectorised with NumPy.

Risk-set sums by cumulative sums over time-sorted rows; start at 0, convergence when
``|1 - loglik_old / loglik_new| <= 1e-9``, at most 20 iterations, step halving when the
log-likelihood drops (``coxph.control()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


class CoxFitError(ValueError):
    """The Cox model cannot be fitted; the message says why in plain words."""


EPS = 1e-9  # coxph.control()$eps


TOLER_INF = EPS**0.5  # coxph.control()$toler.inf


ITER_MAX = 20  # coxph.control()$iter.max


# --------------------------------------------------------------------------------------
# the Efron partial likelihood (vectorised coxfit6_iter)
# --------------------------------------------------------------------------------------
class _RiskSets:
    """Sorted data and tied-time bookkeeping shared by every likelihood evaluation.

    Subjects are sorted by decreasing time; the risk set of a distinct time is a prefix of
    that order, so the risk-set sums are cumulative sums read at the end of each tie block.
    Each event time with ``d`` deaths contributes ``d`` Efron terms with the deaths' share
    ``j / d`` (``j = 0..d-1``) removed from the denominators (Breslow: one term of weight d).
    """

    def __init__(self, time: np.ndarray, status: np.ndarray, X: np.ndarray, method: str):
        if method not in ("efron", "breslow"):
            raise ValueError("ties must be 'efron' or 'breslow'")
        self.method = method
        order = np.argsort(-time, kind="stable")
        self.order = order
        self.time = time[order]
        self.status = status[order].astype(float)
        self.X = X[order]
        self.XF = np.asfortranarray(self.X)  # block_sums' column-wise products are contiguous
        self.sx = self.status @ self.X  # sum of x over the deaths
        n = len(time)
        new_block = np.r_[True, self.time[1:] != self.time[:-1]]
        self.starts = np.flatnonzero(new_block)
        self.ends = np.r_[self.starts[1:], n] - 1  # last index of each tie block
        self.block = np.cumsum(new_block) - 1
        d = np.add.reduceat(self.status, self.starts)
        self.d = d
        ev_blocks = np.flatnonzero(d > 0)
        self.ev_blocks = ev_blocks
        dd = d[ev_blocks].astype(int)
        self.dead_rows = np.flatnonzero(self.status == 1)  # grouped by block, in block order
        self.dead_starts = np.r_[0, np.cumsum(dd)[:-1]] if len(dd) else np.zeros(0, int)
        if method == "efron":
            self.term_block = np.repeat(np.arange(len(ev_blocks)), dd)
            first = np.repeat(np.cumsum(dd) - dd, dd)
            j = np.arange(dd.sum()) - first
            self.frac = j / np.repeat(dd, dd)
            self.term_w = np.ones(len(j))
        else:
            self.term_block = np.arange(len(ev_blocks))
            self.frac = np.zeros(len(ev_blocks))
            self.term_w = dd.astype(float)

    def block_sums(self, eta: np.ndarray):
        """Risk-set sums at each event block: full (S0, S1, S2) and the deaths' (S0d, ...).

        Column by column of r, r x, r x x': the risk-set sums are its cumulative sum read at
        the end of each event block, the deaths' sums a reduceat over the death rows, in the
        same order of additions as a whole (n, 1 + p + p^2) array would be (equal to the last
        bit). Only a few n-long vectors are held at a time: with 200,000 patients that array
        and its cumulative sum held ~40 MB (p = 3) at every iteration.
        """
        X = self.XF
        n, p = X.shape
        k = len(self.ev_blocks)
        full = np.empty((k, 1 + p + p * p))
        dead = np.empty((k, 1 + p + p * p))

        def put(col: int, v: np.ndarray) -> None:
            full[:, col] = np.cumsum(v)[self.ends[self.ev_blocks]]
            dead[:, col] = np.add.reduceat(v[self.dead_rows], self.dead_starts) if k else 0.0

        r = np.exp(eta)
        put(0, r)
        rx, rxx = np.empty(n), np.empty(n)
        for i in range(p):
            np.multiply(r, X[:, i], out=rx)
            put(1 + i, rx)
            for j in range(i, p):
                np.multiply(rx, X[:, j], out=rxx)
                put(1 + p + i * p + j, rxx)
                if j != i:  # x x' is symmetric
                    full[:, 1 + p + j * p + i] = full[:, 1 + p + i * p + j]
                    dead[:, 1 + p + j * p + i] = dead[:, 1 + p + i * p + j]
        return (
            full[:, 0],
            full[:, 1 : 1 + p],
            full[:, 1 + p :].reshape(k, p, p),
            dead[:, 0],
            dead[:, 1 : 1 + p],
            dead[:, 1 + p :].reshape(k, p, p),
        )

    def terms(self, eta: np.ndarray):
        """Per-Efron-term denominator, weighted sum of x and of x x' (for cox.zph)."""
        S0, S1, S2, S0d, S1d, S2d = self.block_sums(eta)
        b, f = self.term_block, self.frac
        den = S0[b] - f * S0d[b]
        a = S1[b] - f[:, None] * S1d[b]
        c = S2[b] - f[:, None, None] * S2d[b]
        return den, a, c

    def loglik(self, beta: np.ndarray, need_derivs: bool = True):
        """Log partial likelihood, score and information at ``beta`` (coxfit6_iter).

        The Efron terms of a block share S0, S1, S2 and differ only by the scalar share
        ``f = j/d`` of the deaths, so the sums over terms reduce to per-block scalar moments
        ``sum w f^k / den^m``.
        """
        eta = self.X @ beta
        if len(eta):
            eta = eta - eta.max()  # the partial likelihood is shift invariant
        S0, S1, S2, S0d, S1d, S2d = self.block_sums(eta)
        b, f, w = self.term_block, self.frac, self.term_w
        den = S0[b] - f * S0d[b]
        nb = len(S0)
        ll = float(self.status @ eta - w @ np.log(den))
        if not need_derivs:
            return ll, None, None

        def mom(v):
            return np.bincount(b, weights=v, minlength=nb)

        a0, a1 = mom(w / den), mom(w * f / den)
        b0, b1, b2 = mom(w / den**2), mom(w * f / den**2), mom(w * f * f / den**2)
        u = self.sx - (a0 @ S1 - a1 @ S1d)
        imat = np.einsum("b,bij->ij", a0, S2) - np.einsum("b,bij->ij", a1, S2d)
        imat -= np.einsum("b,bi,bj->ij", b0, S1, S1)
        cross = np.einsum("b,bi,bj->ij", b1, S1, S1d)
        imat += cross + cross.T
        imat -= np.einsum("b,bi,bj->ij", b2, S1d, S1d)
        return ll, u, imat


def _solve(imat: np.ndarray, u: np.ndarray) -> np.ndarray:
    try:
        chol = np.linalg.cholesky(imat)
    except np.linalg.LinAlgError as exc:
        raise CoxFitError(
            "the information matrix is singular: the covariates are collinear or one of "
            "them does not vary among the patients at risk"
        ) from exc
    y = np.linalg.solve(chol, u)
    return np.linalg.solve(chol.T, y)


@dataclass(frozen=True, eq=False)
class _EngineFit:
    beta: np.ndarray
    var: np.ndarray
    u: np.ndarray
    loglik0: float
    loglik: float
    score: float
    iterations: int
    converged: bool
    warnings: tuple[str, ...]


def _newton(
    rs: _RiskSets,
    init: np.ndarray,
    max_iter: int = ITER_MAX,
    eps: float = EPS,
    names: Sequence[str] = (),
) -> _EngineFit:
    """Newton-Raphson exactly as ``coxfit6.c`` (survival 3.x), plus ``coxph.fit``'s checks."""
    beta = np.asarray(init, dtype=float).copy()
    ll0, u, imat = rs.loglik(beta)
    if max_iter == 0:  # fixed coefficients: a singular information only loses the variance
        try:
            score = float(u @ _solve(imat, u))
            var = np.linalg.inv(imat)
        except (CoxFitError, np.linalg.LinAlgError):
            score, var = float("nan"), np.full_like(imat, np.nan)
        return _EngineFit(beta, var, u, ll0, ll0, score, 0, True, ())
    step = _solve(imat, u)
    score = float(u @ step)
    best = ll0
    newbeta = beta + step
    halving = 0
    converged = False
    iterations = 0
    newll = ll0
    for it in range(1, max_iter + 1):
        iterations = it
        newll, u, imat = rs.loglik(newbeta)
        finite = np.isfinite(newll) and np.isfinite(u).all() and np.isfinite(imat).all()
        rel = abs(1.0 - best / newll) if newll != 0 else abs(best)
        if finite and rel <= eps:
            beta = newbeta
            best = newll
            converged = True
            break
        if not finite or newll < best:
            halving += 1
            newbeta = (newbeta + halving * beta) / (halving + 1.0)
        else:
            halving = 0
            best = newll
            beta = newbeta
            newbeta = newbeta + _solve(imat, u)
    if not converged:  # ran out of iterations: last good beta (coxfit6 recomputes there)
        best, u, imat = rs.loglik(beta)
    try:
        var = np.linalg.inv(imat)
    except np.linalg.LinAlgError as exc:
        raise CoxFitError("the information matrix is singular at the solution") from exc
    warns: list[str] = []
    label = list(names) if names else [str(i + 1) for i in range(len(beta))]
    if not converged:
        warns.append(
            f"Ran out of iterations ({max_iter}) and did not converge: estimates are unreliable"
        )
    else:
        infs = np.abs(u @ var)
        bad = ~np.isfinite(u) | ((infs > eps) & (infs > TOLER_INF * np.abs(beta)))
        if bad.any():
            which = ", ".join(label[i] for i in np.flatnonzero(bad))
            warns.append(
                f"Loglik converged before variable(s) {which}; coefficient may be infinite "
                "(R: 'Loglik converged before variable ...'): typically a group with no "
                "events, or with every death occurring before any survivor's time"
            )
    return _EngineFit(beta, var, u, ll0, float(best), score, iterations, converged, tuple(warns))
