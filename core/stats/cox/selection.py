"""Stepwise selection of Cox covariates (entry / removal p-values), as the paper's model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from core.stats.cox.engine import _RiskSets
from core.stats.cox.fit import CoxResult, _complete, endpoint, fit_cox


# --------------------------------------------------------------------------------------
# stepwise selection
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class StepwiseResult:
    """Bidirectional stepwise selection.

    Attributes
    ----------
    final : CoxResult or None
        The selected model refitted on its complete cases (None when nothing was selected).
    trace : DataFrame
        step, variable, action ("enter" / "remove"), p (the p-value that triggered the
        action), test ("wald" / "lrt"), model (covariates after the step).
    selected : tuple of str
    stop_reason : str
    candidates_table : DataFrame
        Last p-value seen for every candidate (in = in the final model).
    """

    final: CoxResult | None
    trace: pd.DataFrame
    selected: tuple[str, ...]
    stop_reason: str
    test: str
    entry: float
    removal: float
    candidates_table: pd.DataFrame


def _term_p(res: CoxResult, term: str, test: str, base: CoxResult | None, full_ll=None) -> float:
    if test == "wald":
        return res.term_test(term)[2]
    # likelihood ratio: compare with the model without the term
    df_ = len(res.model.design.term_columns(term))
    ll_without = base.loglik if base is not None else full_ll
    chisq = 2.0 * (res.loglik - ll_without)
    return float(stats.chi2.sf(max(chisq, 0.0), df_))


def _null_loglik(t: np.ndarray, e: np.ndarray) -> float:
    rs = _RiskSets(t, e, np.zeros((len(t), 1)), "efron")
    return rs.loglik(np.zeros(1), need_derivs=False)[0]


def stepwise(
    df: pd.DataFrame,
    duration: str,
    event: str,
    candidates: Sequence[str],
    *,
    entry: float = 0.2,
    removal: float = 0.1,
    test: Literal["wald", "lrt"] = "wald",
    horizon_days: float | None = None,
    reference: Mapping[str, str] | None = None,
    forced: Sequence[str] = (),
    max_steps: int = 100,
) -> StepwiseResult:
    """Bidirectional stepwise Cox selection (the paper: entry p < 0.2, removal p > 0.1).

    Each step (i) enters the candidate with the smallest p below ``entry`` and then
    (ii) removes the model variable with the largest p above ``removal``.  p-values are Wald
    p-values from ``coxph`` (``test="wald"``, the usual ``summary(coxph)`` column; a
    multi-level categorical is tested jointly, df = levels - 1) or likelihood-ratio p-values
    (``test="lrt"``).  Because ``entry > removal``, a variable with 0.1 < p < 0.2 could enter
    and leave for ever; as SAS PROC PHREG does, selection stops when the variable to enter is
    the one just removed.  Selection runs on the patients complete for every candidate (so
    that models are comparable); the final model is refitted on its own complete cases.
    Candidates whose model cannot be fitted (e.g. an infinite coefficient) are skipped and
    reported in ``candidates_table``.
    """
    cands = list(dict.fromkeys(candidates))
    forced = list(forced)
    if not cands and not forced:
        raise ValueError("no candidate covariates")
    if not (0 < removal <= 1 and 0 < entry <= 1):
        raise ValueError("entry and removal must be probabilities")
    if test not in ("wald", "lrt"):
        raise ValueError("test must be 'wald' or 'lrt'")
    sub, _, _, _ = _complete(df, duration, event, [*forced, *cands], horizon_days)
    ref = {k: v for k, v in (reference or {}).items() if k in [*forced, *cands]}
    t_all, e_all = endpoint(sub, duration, event, horizon_days)
    null_ll = _null_loglik(t_all, e_all)

    def fit(covs):
        r = {k: v for k, v in ref.items() if k in covs}
        return fit_cox(sub, duration, event, covs, horizon_days=horizon_days, reference=r)

    current: list[str] = list(forced)
    cur_fit = fit(current) if current else None
    trace: list[dict] = []
    last_p: dict[str, tuple[float, str]] = {}
    last_removed: str | None = None
    stop_reason = "no candidate meets the entry criterion and no variable the removal one"
    step = 0
    seen_models: set[frozenset] = {frozenset(current)}
    while step < max_steps:
        changed = False
        # ---- forward
        best: tuple[float, str] | None = None
        for cand in cands:
            if cand in current:
                continue
            try:
                res = fit([*current, cand])
            except ValueError as exc:
                last_p[cand] = (float("nan"), f"not fitted: {exc}")
                continue
            if not res.ok:
                last_p[cand] = (float("nan"), "; ".join(res.warnings[:1]))
                continue
            pv = _term_p(res, cand, test, cur_fit, null_ll)
            last_p[cand] = (pv, "")
            if best is None or pv < best[0]:
                best = (pv, cand)
        if best is not None and best[0] < entry:
            if best[1] == last_removed:
                stop_reason = (
                    f"{best[1]} would re-enter right after its removal (p between the removal "
                    f"{removal} and entry {entry} thresholds): stopped as SAS PROC PHREG does"
                )
                break
            step += 1
            current.append(best[1])
            cur_fit = fit(current)
            trace.append(
                {
                    "step": step,
                    "variable": best[1],
                    "action": "enter",
                    "p": best[0],
                    "test": test,
                    "model": " + ".join(current),
                }
            )
            changed = True
        # ---- backward
        if cur_fit is not None:
            worst: tuple[float, str] | None = None
            for var in current:
                if var in forced:
                    continue
                if test == "wald":
                    pv = cur_fit.term_test(var)[2]
                else:
                    others = [v for v in current if v != var]
                    base_ll = fit(others).loglik if others else null_ll
                    df_ = len(cur_fit.model.design.term_columns(var))
                    pv = float(stats.chi2.sf(max(2 * (cur_fit.loglik - base_ll), 0), df_))
                last_p[var] = (pv, "")
                if worst is None or pv > worst[0]:
                    worst = (pv, var)
            if worst is not None and worst[0] > removal:
                step += 1
                current.remove(worst[1])
                last_removed = worst[1]
                cur_fit = fit(current) if current else None
                trace.append(
                    {
                        "step": step,
                        "variable": worst[1],
                        "action": "remove",
                        "p": worst[0],
                        "test": test,
                        "model": " + ".join(current) if current else "(none)",
                    }
                )
                changed = True
        if not changed:
            break
        if trace and trace[-1]["action"] == "remove" and len(trace) >= 2:
            entered, removed = trace[-2], trace[-1]
            if entered["action"] == "enter" and entered["variable"] == removed["variable"]:
                stop_reason = (
                    f"{removed['variable']} entered (p < {entry}) and was removed at once "
                    f"(p > {removal}); it would re-enter next: stopped, as SAS PROC PHREG does"
                )
                break
        key = frozenset(current)
        if key in seen_models and trace and trace[-1]["action"] == "remove":
            stop_reason = "the selection cycled back to an earlier model: stopped"
            break
        seen_models.add(key)
    else:
        stop_reason = f"stopped after {max_steps} steps"
    final = None
    if current:
        r = {k: v for k, v in ref.items() if k in current}
        final = fit_cox(
            df, duration, event, current, horizon_days=horizon_days, reference=r or None
        )
    cand_rows = [
        {
            "variable": v,
            "in_model": v in current,
            "p": last_p.get(v, (float("nan"), ""))[0],
            "note": last_p.get(v, (float("nan"), ""))[1],
        }
        for v in [*forced, *cands]
    ]
    return StepwiseResult(
        final=final,
        trace=pd.DataFrame(trace, columns=["step", "variable", "action", "p", "test", "model"]),
        selected=tuple(current),
        stop_reason=stop_reason,
        test=test,
        entry=entry,
        removal=removal,
        candidates_table=pd.DataFrame(cand_rows, columns=["variable", "in_model", "p", "note"]),
    )
