"""Deterministic reconstruction of the 71-patient cohort from the paper's aggregates.

The paper publishes aggregates only. This module generates 71 synthetic patients whose
tables, survival curves and Cox model reproduce the published figures. It is run once by
``python -m core.study.reconstruct`` (writes ``data/cohort.csv``); the output is never edited by
hand.

Method (see ``data/README.md``)
------------------------------
1. **Cells.** Each patient gets a reason for ICU admission and a 1-year outcome from the
   reason x outcome cells implied by Tables 3 and 4 (CRS 22/11, CRS or sepsis 10/3,
   Sepsis 13/8, Disease progression 0/4).
2. **Categorical variables: integer programming.** One binary variable per patient and
   category; every published count (overall, per reason, per outcome) is an equality
   constraint, clinical logic (products by malignancy, hospital deaths among decedents,
   ICANS never isolated, ...) are linear constraints. Solved with ``scipy.optimize.milp``
   (HiGHS) with seeded random costs so the solution is one feasible table among many.
3. **Continuous variables: constrained local search.** For each variable, values are drawn
   per subgroup from a piecewise-linear quantile function through the published quartiles,
   then a seeded search (swaps and small moves) drives every published median and IQR
   (R type-7 quantiles) inside its printed rounding and every published p-value
   (Wilcoxon / Kruskal-Wallis) to the same side of 0.05.
4. **Survival times: constrained local search** on death, censoring and progression times
   until the Kaplan-Meier medians (OS, PFS), the median follow-up and the Cox hazard ratios
   (1-year mortality: disease progression, ECOG PS, SOFA) fall inside their targets.

Everything is seeded: running the generator twice gives the same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, sparse, stats

from core.paths import DATA_DIR
from core.study.published import DAYS_PER_MONTH, load_published, tolerance

SEED = 20170701
COHORT_PATH = DATA_DIR / "cohort.csv"

REASONS = tuple(load_published()["groupings"]["icu_reason"]["levels"])  # Table 3 columns
OUTCOMES = tuple(load_published()["groupings"]["outcome_1y"]["levels"])  # Table 4 columns
# reason x 1-year outcome cells implied by Table 3 (group sizes) and Table 4 (reason by outcome)
CELLS = {
    ("CRS", "1-year survivor"): 22,
    ("CRS", "1-year decedent"): 11,
    ("CRS or sepsis", "1-year survivor"): 10,
    ("CRS or sepsis", "1-year decedent"): 3,
    ("Sepsis", "1-year survivor"): 13,
    ("Sepsis", "1-year decedent"): 8,
    ("Disease progression", "1-year decedent"): 4,
}


# --------------------------------------------------------------------------------------
# Step 1: cells
# --------------------------------------------------------------------------------------
def build_cells() -> pd.DataFrame:
    rows = []
    for (reason, outcome), n in CELLS.items():
        rows += [{"icu_reason": reason, "outcome_1y": outcome}] * n
    cells = pd.DataFrame(rows)
    cells["dead"] = cells["outcome_1y"] == "1-year decedent"
    return cells


# --------------------------------------------------------------------------------------
# Step 2: categorical variables by integer programming
# --------------------------------------------------------------------------------------
class _Milp:
    """Tiny builder over scipy.optimize.milp: named binary vectors, linear constraints."""

    def __init__(self, n_patients: int):
        self.n = n_patients
        self.index: dict[str, int] = {}
        self.size = 0
        self.rows: list[tuple[dict[int, float], float, float]] = []

    def var(self, name: str) -> np.ndarray:
        if name not in self.index:
            self.index[name] = self.size
            self.size += self.n
        return np.arange(self.index[name], self.index[name] + self.n)

    def add(self, terms: dict[int, float], lo: float, hi: float) -> None:
        self.rows.append((terms, lo, hi))

    def count(self, name: str, mask: np.ndarray, lo: float, hi: float | None = None) -> None:
        """lo <= number of patients in ``mask`` with ``name`` = 1 <= hi (default: == lo)."""
        idx = self.var(name)[mask]
        self.add({int(i): 1.0 for i in idx}, lo, lo if hi is None else hi)

    def imply(self, a: str, b: str, mask: np.ndarray | None = None) -> None:
        """a_i <= b_i for every patient (in mask)."""
        va, vb = self.var(a), self.var(b)
        for i in range(self.n) if mask is None else np.flatnonzero(mask):
            self.add({int(va[i]): 1.0, int(vb[i]): -1.0}, -np.inf, 0.0)

    def fix(self, name: str, mask: np.ndarray, value: int) -> None:
        for i in self.var(name)[mask]:
            self.add({int(i): 1.0}, value, value)

    def one_of(self, names: list[str]) -> None:
        vs = [self.var(n) for n in names]
        for i in range(self.n):
            self.add({int(v[i]): 1.0 for v in vs}, 1.0, 1.0)

    def solve(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        a = sparse.lil_matrix((len(self.rows), self.size))
        lo = np.empty(len(self.rows))
        hi = np.empty(len(self.rows))
        for r, (terms, l_, h_) in enumerate(self.rows):
            for j, coef in terms.items():
                a[r, j] = coef
            lo[r], hi[r] = l_, h_
        cost = rng.uniform(0.0, 1.0, self.size)
        res = optimize.milp(
            cost,
            constraints=optimize.LinearConstraint(a.tocsr(), lo, hi),
            integrality=np.ones(self.size),
            bounds=optimize.Bounds(0, 1),
            options={"presolve": True},
        )
        if res.status != 0:
            raise RuntimeError(f"categorical reconstruction infeasible: {res.message}")
        x = np.round(res.x).astype(int)
        return {name: x[start : start + self.n] for name, start in self.index.items()}


def _published_counts(pub: dict, name: str, level) -> dict:
    for var in pub["variables"]:
        if var["name"] == name:
            return var["levels"][level]
    raise KeyError(name)


def solve_categorical(cells: pd.DataFrame, pub: dict, rng: np.random.Generator) -> pd.DataFrame:
    """Assign every categorical column with all published counts as exact constraints."""
    n = len(cells)
    m = _Milp(n)
    everyone = np.ones(n, dtype=bool)
    reason = cells["icu_reason"].to_numpy()
    outcome = cells["outcome_1y"].to_numpy()
    dead = cells["dead"].to_numpy()
    dp = reason == "Disease progression"

    def counts_from_table(var: str, name: str, level) -> None:
        spec = _published_counts(pub, name, level)
        if "icu_reason" in spec:
            for grp, (k, _) in spec["icu_reason"].items():
                m.count(var, reason == grp, k)
        if "outcome_1y" in spec:
            for grp, (k, _) in spec["outcome_1y"].items():
                m.count(var, outcome == grp, k)
        if "overall" in spec and name not in _OVERALL_OVERRIDDEN:
            m.count(var, everyone, spec["overall"][0])

    counts_from_table("male", "male", "M")
    counts_from_table("hypertension", "hypertension", True)
    counts_from_table("diabetes", "diabetes", True)  # conflict (b): Table 4 (3 + 1) is used
    counts_from_table("ckd", "chronic_kidney_disease", True)
    counts_from_table("neutropenia", "neutropenia", True)
    counts_from_table("vaso1", "vasopressors_day1", True)
    counts_from_table("mv1", "mech_vent_day1", True)
    counts_from_table("rrt1", "rrt_day1", True)
    counts_from_table("icu_death", "icu_death", True)
    counts_from_table("hospital_death", "hospital_death", True)
    for mal in ("DLBCL", "ALL", "MM"):
        counts_from_table(f"mal_{mal}", "malignancy", mal)
    m.one_of(["mal_DLBCL", "mal_ALL", "mal_MM"])

    # CAR-T products: counts from Table 1; each product's licensed indications in 2017-2020
    products = {
        "axi-cel": "DLBCL",
        "tisa-cel": None,
        "brexu-cel": "ALL",
        "bb2121": "MM",
        "UCART19": "ALL",
    }
    for prod, mal in products.items():
        counts_from_table(f"prod_{prod}", "cart_product", prod)
        if mal is not None:
            m.imply(f"prod_{prod}", f"mal_{mal}")
    m.imply("prod_tisa-cel", "mal_notMM")
    m.count("mal_notMM", everyone, n - 1)
    for i in range(n):  # mal_notMM = 1 - mal_MM
        m.add({int(m.var("mal_notMM")[i]): 1.0, int(m.var("mal_MM")[i]): 1.0}, 1.0, 1.0)
    m.one_of([f"prod_{p}" for p in products])

    # previous treatments: ASCT in lymphoma, allogeneic BMT and blinatumomab in leukemia (text)
    counts_from_table("prior_asct", "prior_asct", True)
    counts_from_table("prior_allo_bmt", "prior_allo_bmt", True)
    counts_from_table("prior_blinatumomab", "prior_blinatumomab", True)
    m.imply("prior_asct", "mal_DLBCL")
    m.imply("prior_allo_bmt", "mal_ALL")
    m.imply("prior_blinatumomab", "mal_ALL")

    # organ support over the whole ICU stay contains day-1 support
    counts_from_table("vaso_icu", "vasopressors_icu", True)
    counts_from_table("mv_icu", "mech_vent_icu", True)
    counts_from_table("rrt_icu", "rrt_icu", True)
    m.imply("vaso1", "vaso_icu")
    m.imply("mv1", "mv_icu")
    m.imply("rrt1", "rrt_icu")

    # deaths in the ICU / hospital are 1-year deaths; an ICU death is a hospital death
    m.fix("hospital_death", ~dead, 0)
    m.imply("icu_death", "hospital_death")
    m.imply("icu_death", "vaso_icu")

    # specific treatments (Table 2); tocilizumab + steroids together in 30 (text)
    counts_from_table("tocilizumab", "tocilizumab", True)
    counts_from_table("steroids", "steroids", True)
    counts_from_table("siltuximab", "siltuximab", True)
    counts_from_table("anakinra", "anakinra", True)
    counts_from_table("antibiotics", "antibiotics", True)
    counts_from_table("icans", "icans", True)
    tb, st, both = m.var("tocilizumab"), m.var("steroids"), m.var("both")
    for i in range(n):  # both = tocilizumab AND steroids
        m.add({int(both[i]): 1.0, int(tb[i]): -1.0}, -np.inf, 0)
        m.add({int(both[i]): 1.0, int(st[i]): -1.0}, -np.inf, 0)
        m.add({int(both[i]): 1.0, int(tb[i]): -1.0, int(st[i]): -1.0}, -1, np.inf)
    m.count("both", everyone, pub_text(pub, "both_tocilizumab_steroids"))
    m.fix("tocilizumab", dp, 0)  # no CRS in disease progression
    m.fix("icans", dp, 0)  # ICANS was never isolated: always with CRS or sepsis (text)
    m.imply("siltuximab", "tocilizumab")  # second line during CRS
    m.imply("anakinra", "icans")  # refractory neurotoxicity
    m.imply("icans", "steroids")  # ICANS is treated with steroids
    m.fix("antibiotics", reason == "Sepsis", 1)
    m.fix("antibiotics", reason == "CRS or sepsis", 1)

    sol = m.solve(rng)
    out = cells.copy()
    out["sex"] = np.where(sol["male"] == 1, "M", "F")
    out["hypertension"] = sol["hypertension"] == 1
    out["diabetes"] = sol["diabetes"] == 1
    out["chronic_kidney_disease"] = sol["ckd"] == 1
    out["malignancy"] = np.select(
        [sol["mal_DLBCL"] == 1, sol["mal_ALL"] == 1], ["DLBCL", "ALL"], default="MM"
    )
    out["prior_asct"] = sol["prior_asct"] == 1
    out["prior_allo_bmt"] = sol["prior_allo_bmt"] == 1
    out["prior_blinatumomab"] = sol["prior_blinatumomab"] == 1
    out["cart_product"] = np.select(
        [sol[f"prod_{p}"] == 1 for p in products], list(products), default="?"
    )
    out["cart_allogeneic"] = out["cart_product"] == "UCART19"
    out["neutropenia"] = sol["neutropenia"] == 1
    for col, key in [
        ("vasopressors_day1", "vaso1"),
        ("mech_vent_day1", "mv1"),
        ("rrt_day1", "rrt1"),
        ("vasopressors_icu", "vaso_icu"),
        ("mech_vent_icu", "mv_icu"),
        ("rrt_icu", "rrt_icu"),
        ("icu_death", "icu_death"),
        ("hospital_death", "hospital_death"),
        ("tocilizumab", "tocilizumab"),
        ("steroids", "steroids"),
        ("siltuximab", "siltuximab"),
        ("anakinra", "anakinra"),
        ("antibiotics", "antibiotics"),
        ("icans", "icans"),
    ]:
        out[col] = sol[key] == 1
    out["bacterial_infection"] = out["icu_reason"] == "Sepsis"  # definition of the group
    return out


_OVERALL_OVERRIDDEN = {"diabetes"}  # conflict (b): Table 4's subgroup counts win


def pub_text(pub: dict, name: str) -> int:
    return next(t["value"] for t in pub["text_counts"] if t["name"] == name)


def _assign_levels(
    df: pd.DataFrame, mask: np.ndarray, counts: dict, rng: np.random.Generator, first=None
) -> np.ndarray:
    """Spread categorical levels with given counts over the patients in ``mask``.

    ``first`` optionally lists patient positions that must take the levels in order first.
    """
    labels = [lvl for lvl, k in counts.items() for _ in range(k)]
    idx = np.flatnonzero(mask)
    if len(labels) != len(idx):
        raise ValueError(f"{len(labels)} labels for {len(idx)} patients")
    order = rng.permutation(idx)
    if first is not None:
        order = np.concatenate([first, [i for i in order if i not in set(first)]])
    out = np.full(len(df), None, dtype=object)
    out[order] = labels
    return out


def assign_complications(df: pd.DataFrame, pub: dict, rng: np.random.Generator) -> pd.DataFrame:
    """Table 2 categorical detail within the groups it describes."""
    out = df.copy()

    def level_counts(name: str) -> dict:
        var = next(v for v in pub["variables"] if v["name"] == name)
        return {lvl: spec["overall"][0] for lvl, spec in var["levels"].items()}

    # ASBMT grade of the isolated CRS (33): vasopressor-dependent CRS is grade 3 first
    crs = (out["icu_reason"] == "CRS").to_numpy()
    grades = level_counts("crs_grade")
    vaso_crs = np.flatnonzero(crs & out["vasopressors_day1"].to_numpy())
    ordered = sorted(grades, reverse=True)  # 3, 2, 1
    labels = _assign_levels(out, crs, {g: grades[g] for g in ordered}, rng, first=vaso_crs)
    out["crs_grade"] = pd.array(labels, dtype="Int64")
    # worst ICANS grade among the 26: anakinra (refractory) patients are grade 4
    icans = out["icans"].to_numpy()
    ig = level_counts("icans_grade")
    refr = np.flatnonzero(out["anakinra"].to_numpy())
    labels = _assign_levels(out, icans, {g: ig[g] for g in sorted(ig, reverse=True)}, rng, refr)
    out["icans_grade"] = pd.array(labels, dtype="Int64")
    # infection site and bacterium in the Sepsis group: CoNS are catheter infections (text)
    sepsis = out["bacterial_infection"].to_numpy()
    sites = level_counts("infection_site")
    bact = level_counts("bacterium")
    idx = rng.permutation(np.flatnonzero(sepsis))
    site_labels = [s for s, k in sites.items() for _ in range(k)]
    out["infection_site"] = None
    out.loc[out.index[idx], "infection_site"] = site_labels
    # catheter infections get CoNS first (13/15), others the remaining bacteria
    cath = [i for i in idx if out.at[out.index[i], "infection_site"] == "Catheter"]
    other = [i for i in idx if i not in set(cath)]
    bact_labels = [b for b, k in bact.items() for _ in range(k)]
    out["bacterium"] = None
    out.loc[out.index[cath + other], "bacterium"] = bact_labels
    return out


# --------------------------------------------------------------------------------------
# Step 3: continuous variables by constrained local search
# --------------------------------------------------------------------------------------
def q7(x: np.ndarray) -> tuple[float, float, float]:
    """Median, first and third quartile as R's default quantile (type 7)."""
    q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    return float(med), float(q1), float(q3)


def group_test_p(values: np.ndarray, labels: np.ndarray) -> float:
    """Wilcoxon rank-sum (2 groups, R wilcox.test defaults) or Kruskal-Wallis (>2)."""
    groups = [values[labels == g] for g in pd.unique(labels)]
    if len(groups) == 2:
        x, y = groups
        ties = len(np.unique(values)) < len(values)
        method = "exact" if (len(x) < 50 and len(y) < 50 and not ties) else "asymptotic"
        return float(stats.mannwhitneyu(x, y, method=method, use_continuity=True).pvalue)
    if len(np.unique(values)) == 1:
        return 1.0
    return float(stats.kruskal(*groups).pvalue)


@dataclass
class ContinuousSpec:
    column: str
    name: str  # entry in published.yaml
    step: float  # data resolution (1 for integers, 0.1 for one decimal, ...)
    lo: float
    hi: float
    subset: str | None = None  # boolean column restricting who has a value
    fixed_counts: bool = False  # only swaps (keeps the overall multiset, e.g. ECOG PS counts)
    extra: dict = field(default_factory=dict)


P_MARGIN = 0.005  # keep reconstructed p-values at least this far from 0.05


class _Targets:
    """Loss of a candidate column against its published quartiles and p-value sides.

    Evaluated ~10^5 times per column, so quartiles and rank tests are computed with the
    closed forms below (type-7 quantiles; Kruskal-Wallis and the normal-approximation
    Wilcoxon with tie and continuity corrections, chi-square tails for 1 and 3 df in closed
    form). The final column is re-checked with the R-equivalent tests in ``group_test_p``.
    """

    def __init__(self, spec: ContinuousSpec, var: dict, df: pd.DataFrame, mask: np.ndarray):
        self.penalty = spec.extra.get("penalty")
        self.sub = df[mask]
        n = len(self.sub)
        self.groups: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.tests: list[tuple[list[np.ndarray], float]] = []
        if "overall" in var:
            self._add_group(np.arange(n), var["overall"])
        for grouping in ("icu_reason", "outcome_1y"):
            if grouping not in var:
                continue
            lab = self.sub[grouping].to_numpy()
            for grp, target in var[grouping].items():
                self._add_group(np.flatnonzero(lab == grp), target)
            if grouping in var.get("p", {}):
                idx = [np.flatnonzero(lab == g) for g in pd.unique(lab)]
                self.tests.append((idx, var["p"][grouping]))

    def _add_group(self, idx: np.ndarray, target) -> None:
        med, q1, q3 = target
        t = np.array([q1, med, q3], dtype=float)
        tol = np.array([_tol(q1), _tol(med), _tol(q3)]) * 0.999
        self.groups.append((idx, t, tol, max(q3 - q1, 1e-9)))

    def quartile_loss(self, x: np.ndarray) -> float:
        total = 0.0
        for idx, t, tol, iqr in self.groups:
            got = _q7_fast(x[idx])
            excess = np.abs(got - t) - tol
            bad = excess > 0
            if bad.any():
                total += float(0.05 * bad.sum() + excess[bad].sum() / (0.2 * iqr))
        return total

    def violations(self, x: np.ndarray) -> list[tuple[np.ndarray, int, float]]:
        """(group indices, quartile position 0/1/2, signed gap target - got) of every miss."""
        out = []
        for idx, t, tol, _ in self.groups:
            got = _q7_fast(x[idx])
            for k in range(3):
                if abs(got[k] - t[k]) > tol[k]:
                    out.append((idx, k, float(t[k] - got[k])))
        return out

    def test_loss(self, x: np.ndarray, exact: bool = False) -> float:
        total = 0.0
        for idx, p_pub in self.tests:
            if exact:
                values = np.concatenate([x[i] for i in idx])
                labels = np.concatenate([np.full(len(i), k) for k, i in enumerate(idx)])
                p = group_test_p(values, labels)
            else:
                p = _rank_test_fast(x, idx)
            if p_pub < 0.05 and p > 0.05 - P_MARGIN:
                total += 1.0 + (p - 0.05 + P_MARGIN) * 10
            elif p_pub >= 0.05 and p < 0.05 + P_MARGIN:
                total += 1.0 + (0.05 + P_MARGIN - p) * 10
        return total

    def loss(self, x: np.ndarray, bound: float = math.inf) -> float:
        """Loss of ``x``; returns early (a value > bound) once it exceeds ``bound``."""
        total = 0.0 if self.penalty is None else float(self.penalty(x, self.sub))
        total += self.quartile_loss(x)
        if total > bound:
            return total
        return total + self.test_loss(x)


def _q7_fast(v: np.ndarray) -> np.ndarray:
    s = np.sort(v)
    h = (len(s) - 1) * np.array([0.25, 0.5, 0.75])
    lo = np.floor(h).astype(int)
    hi = np.minimum(lo + 1, len(s) - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


def _rank_test_fast(x: np.ndarray, idx: list[np.ndarray]) -> float:
    values = np.concatenate([x[i] for i in idx])
    big_n = len(values)
    # average ranks through a sort: values are few (<= 71), argsort + run lengths is fastest
    order = np.argsort(values, kind="stable")
    sv = values[order]
    starts = np.flatnonzero(np.r_[True, sv[1:] != sv[:-1]])
    counts = np.diff(np.r_[starts, big_n])
    avg = starts + (counts + 1) / 2.0
    ranks = np.empty(big_n)
    ranks[order] = np.repeat(avg, counts)
    ties = float(np.sum(counts**3 - counts))
    if ties == big_n**3 - big_n:
        return 1.0
    sizes = [len(i) for i in idx]
    bounds = np.cumsum([0, *sizes])
    rsums = [ranks[bounds[k] : bounds[k + 1]].sum() for k in range(len(sizes))]
    if len(idx) == 2:
        n1, n2 = sizes
        w = rsums[0] - n1 * (n1 + 1) / 2
        sigma = math.sqrt(n1 * n2 / 12 * ((big_n + 1) - ties / (big_n * (big_n - 1))))
        z = max(abs(w - n1 * n2 / 2) - 0.5, 0.0) / sigma
        return math.erfc(z / math.sqrt(2))
    h = 12 / (big_n * (big_n + 1)) * sum(r * r / m for r, m in zip(rsums, sizes, strict=True))
    h = (h - 3 * (big_n + 1)) / (1 - ties / (big_n**3 - big_n))
    df = len(idx) - 1
    if df == 3:  # chi-square survival function with 3 degrees of freedom, closed form
        return math.erfc(math.sqrt(h / 2)) + math.sqrt(2 * h / math.pi) * math.exp(-h / 2)
    return float(stats.chi2.sf(h, df))


@cache
def _tol(t: float) -> float:
    return tolerance(t)


def _quantile_draw(
    n: int, med: float, q1: float, q3: float, lo: float, hi: float, tail: float = 0.9
) -> np.ndarray:
    """n values on the piecewise-linear quantile function through the published quartiles."""
    iqr = max(q3 - q1, 1e-9)
    vmin = max(lo, q1 - 0.9 * iqr)
    vmax = min(hi, q3 + tail * iqr)
    probs = np.linspace(0, 1, n) if n > 1 else np.array([0.5])
    return np.interp(probs, [0, 0.25, 0.5, 0.75, 1], [vmin, q1, med, q3, vmax])


def _four_values(med: float, q1: float, q3: float, spec: ContinuousSpec) -> list[np.ndarray]:
    """All quadruples a<=b<=c<=d on the grid with type-7 quartiles exactly (q1, med, q3).

    Type 7 on four values: q1 = a + 0.75 (b - a), median = (b + c) / 2, q3 = c + 0.25 (d - c),
    so for each b between q1 and the median, c = 2 med - b, a = 4 q1 - 3 b, d = 4 q3 - 3 c.
    """
    step = spec.step
    b_grid = np.arange(np.floor(med / step + 1e-9), np.ceil(q1 / step - 1e-9) - 1, -1) * step
    found = []
    for b in b_grid:
        c = 2 * med - b
        a, d = 4 * q1 - 3 * b, 4 * q3 - 3 * c
        vals = np.array([a, b, c, d])
        on_grid = np.allclose(_snap(vals, spec), vals, atol=1e-9)
        if a <= b <= c <= d and on_grid and spec.lo <= a and d <= spec.hi:
            found.append(np.round(vals / step) * step)
    if not found:
        raise RuntimeError(f"{spec.column}: no four grid values with quartiles {q1}, {med}, {q3}")
    return found


def _snap(x: np.ndarray, spec: ContinuousSpec) -> np.ndarray:
    return np.clip(np.round(x / spec.step) * spec.step, spec.lo, spec.hi)


def fit_continuous(
    df: pd.DataFrame,
    spec: ContinuousSpec,
    var: dict,
    rng: np.random.Generator,
    max_iter: int = 60000,
    strict: bool = True,
) -> np.ndarray:
    """Values for one continuous column meeting its published quartiles and p-value sides."""
    mask = np.ones(len(df), dtype=bool) if spec.subset is None else df[spec.subset].to_numpy()
    sub = df[mask]
    n = len(sub)
    x = np.empty(n)
    # initial draw: per reason group if Table 3 has it, else per outcome group, else overall
    for grouping in ("icu_reason", "outcome_1y", "overall"):
        if grouping in var:
            break
    tail = spec.extra.get("tail", 0.9)
    if grouping == "overall":
        x[:] = rng.permutation(_quantile_draw(n, *var["overall"], spec.lo, spec.hi))
    else:
        lab = sub[grouping].to_numpy()
        for grp, (med, q1, q3) in var[grouping].items():
            g = lab == grp
            draw = _quantile_draw(int(g.sum()), med, q1, q3, spec.lo, spec.hi, tail)
            x[g] = rng.permutation(draw)
    if "initial" in spec.extra:
        x[:] = spec.extra["initial"](sub, rng)
    x = _snap(x, spec)
    # groups of four (Disease progression) are solved exactly and then frozen
    frozen = np.zeros(n, dtype=bool)
    fours: list[tuple[np.ndarray, list[np.ndarray]]] = []
    for grp, target in var.get("icu_reason", {}).items():
        g = np.flatnonzero(sub["icu_reason"].to_numpy() == grp)
        if len(g) == 4 and not spec.fixed_counts:  # (fixed counts: swaps only)
            options = _four_values(*target, spec)
            x[g] = rng.permutation(options[rng.integers(len(options))])
            frozen[g] = True
            fours.append((g, options))
    free = np.flatnonzero(~frozen)
    targets = _Targets(spec, var, df, mask)
    reason = sub["icu_reason"].to_numpy()
    by_reason = {r: np.flatnonzero(reason == r) for r in np.unique(reason)}
    loss = targets.loss(x)
    best_x, best = x.copy(), loss
    cycle_len = max_iter // 4
    for it in range(max_iter):
        if loss == 0:
            break
        if it % cycle_len == 0:  # re-heat from the best state found so far
            x, loss = best_x.copy(), best
        temp = 0.5 * (1 - (it % cycle_len) / cycle_len) + 1e-3  # annealing schedule
        y = x.copy()
        move = rng.random()
        i = rng.choice(free)
        viol = targets.violations(x) if (move < 0.25 and not spec.fixed_counts) else []
        if fours and move > 0.97:
            # another exact solution for a group of four
            g, options = fours[rng.integers(len(fours))]
            y[g] = rng.permutation(options[rng.integers(len(options))])
        elif viol:
            # targeted move: shift one of the order statistics behind a missed quartile
            idx, k, gap = viol[rng.integers(len(viol))]
            h = (len(idx) - 1) * (0.25, 0.5, 0.75)[k]
            order = idx[np.argsort(x[idx], kind="stable")]
            cands = [p for p in {order[int(np.floor(h))], order[int(np.ceil(h))]} if not frozen[p]]
            if cands:
                p = cands[rng.integers(len(cands))]
                size = max(spec.step, abs(gap) * rng.uniform(0.5, 2.0))
                y[p] = _snap(np.array([y[p] + math.copysign(size, gap)]), spec)[0]
        elif move < 0.45 or spec.fixed_counts:
            pool = by_reason[reason[i]] if move < 0.3 else free
            j = rng.choice(pool)
            y[i], y[j] = y[j], y[i]
        elif move < 0.9:
            scale = max(spec.step, 0.05 * (spec.hi - spec.lo) * rng.random())
            y[i] = _snap(np.array([y[i] + rng.normal(0, scale)]), spec)[0]
        else:  # occasional jump anywhere in the plausible range (moves tails)
            y[i] = _snap(np.array([rng.uniform(spec.lo, spec.hi)]), spec)[0]
        threshold = loss - temp * math.log(max(rng.random(), 1e-300))
        new = targets.loss(y, bound=threshold)
        if new <= threshold:
            x, loss = y, new
            if loss < best:
                best_x, best = x.copy(), loss
    x, loss = best_x, best
    if strict and (loss > 0 or targets.test_loss(x, exact=True) > 0):
        detail = (targets.quartile_loss(x), targets.test_loss(x, exact=True))
        raise _SearchFailed(f"{spec.column}: search stopped with loss {loss:.3f} {detail}")
    full = np.full(len(df), np.nan)
    full[mask] = x
    return full


class _SearchFailed(RuntimeError):
    pass


def fit_continuous_retry(
    df: pd.DataFrame, spec: ContinuousSpec, var: dict, rng: np.random.Generator, attempts=8
) -> np.ndarray:
    """``fit_continuous`` restarted from a fresh draw (same seeded stream) until it succeeds."""
    for _ in range(attempts - 1):
        try:
            return fit_continuous(df, spec, var, rng)
        except _SearchFailed:
            continue
    return fit_continuous(df, spec, var, rng)


# --------------------------------------------------------------------------------------
# Step 4: survival times
# --------------------------------------------------------------------------------------
# The search below evaluates a Kaplan-Meier median and a 3-covariate Cox model tens of
# thousands of times; lifelines takes ~30 ms per Cox fit, so the inner loop uses the small
# numpy versions below (same estimators: Greenwood/log CI, Efron ties). The shipped cohort is
# then checked with lifelines and R in tests/test_reconstruct.py.
def km_median(time: np.ndarray, event: np.ndarray) -> tuple[float, float, float]:
    """KM median with R's log-CI limits (first time the curve / band is <= 0.5); nan = NA."""
    order = np.argsort(time, kind="stable")
    t, e = time[order], event[order]
    uniq, first = np.unique(t, return_index=True)
    n_risk = len(t) - first
    d = np.add.reduceat(e, first)
    has = d > 0
    uniq, n_risk, d = uniq[has], n_risk[has], d[has]
    s = np.cumprod(1 - d / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.cumsum(d / (n_risk * (n_risk - d)))
        se = np.sqrt(var)
        lower = np.exp(np.log(s) - 1.959963984540054 * se)
        upper = np.minimum(np.exp(np.log(s) + 1.959963984540054 * se), 1.0)

    def first_below(curve: np.ndarray) -> float:
        hit = np.flatnonzero(curve <= 0.5 + 1e-12)
        return float(uniq[hit[0]]) if len(hit) else math.nan

    return first_below(s), first_below(lower), first_below(upper)


def km_min(time: np.ndarray, event: np.ndarray, before: float = math.inf) -> tuple[float, float]:
    """Lowest KM survival and lower log-CI limit at event times < ``before`` (search guide)."""
    order = np.argsort(time, kind="stable")
    t, e = time[order], event[order]
    uniq, first = np.unique(t, return_index=True)
    n_risk = len(t) - first
    d = np.add.reduceat(e, first)
    has = d > 0
    uniq, n_risk, d = uniq[has], n_risk[has], d[has]
    s = np.cumprod(1 - d / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(np.cumsum(d / (n_risk * (n_risk - d))))
        lower = np.exp(np.log(s) - 1.959963984540054 * se)
    keep = uniq < before
    if not keep.any():
        return 1.0, 1.0
    return float(s[keep].min()), float(np.nanmin(lower[keep]))


def cox_efron(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, beta0: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Cox partial-likelihood fit with Efron ties by Newton-Raphson; returns (beta, se).

    Build-time only, inside the cohort search (thousands of warm-started fits).  The app's
    fitter (:mod:`core.stats.cox.engine`, R's ``coxfit6``) gives the same estimates to ~1e-9,
    but its different stopping rule changes the search path and so the committed cohort
    (tried: the regenerated file differs); it replaces this copy when the cohort is next
    regenerated (reconstruction issue).

    Vectorised over the tied-death "slots" of Efron's approximation: for the k-th of d deaths
    at a time, the risk-set sums are reduced by k/d of the tied deaths' sums.
    """
    p = x.shape[1]
    beta = np.zeros(p) if beta0 is None else beta0.copy()
    order = np.argsort(time, kind="stable")
    t, e, xs = time[order], event[order].astype(bool), x[order]
    te, d = np.unique(t[e], return_counts=True)
    if len(te) == 0:
        return np.full(p, np.nan), np.full(p, np.nan)
    start = np.searchsorted(t, te, side="left")  # first index of each risk set
    death_group = np.searchsorted(te, t[e])  # event time of each death
    slot_group = np.repeat(np.arange(len(te)), d)
    slot_frac = np.concatenate([np.arange(k) / k for k in d])
    with np.errstate(all="ignore"):  # the search visits degenerate states: NaN is rejected
        beta, hess = _efron_newton(beta, xs, e, te, start, death_group, slot_group, slot_frac)
    if np.any(~np.isfinite(beta)):
        return np.full(p, np.nan), np.full(p, np.nan)
    try:
        cov = np.linalg.inv(-hess)
    except np.linalg.LinAlgError:
        return beta, np.full(p, np.nan)
    return beta, np.sqrt(np.abs(np.diag(cov)))


def _efron_newton(beta, xs, e, te, start, death_group, slot_group, slot_frac):
    p = xs.shape[1]
    xx = xs[:, :, None] * xs[:, None, :]
    sum_x_dead = xs[e].sum(axis=0)
    hess = np.zeros((p, p))
    for _ in range(50):
        eta = xs @ beta
        w = np.exp(eta - eta.max())
        rc0 = np.cumsum(w[::-1])[::-1]
        rc1 = np.cumsum((w[:, None] * xs)[::-1], axis=0)[::-1]
        rc2 = np.cumsum((w[:, None, None] * xx)[::-1], axis=0)[::-1]
        s0, s1, s2 = rc0[start], rc1[start], rc2[start]
        we = w[e]
        d0 = np.bincount(death_group, weights=we, minlength=len(te))
        d1 = np.stack([np.bincount(death_group, weights=we * xs[e][:, j], minlength=len(te))
                       for j in range(p)], axis=1)  # fmt: skip
        d2 = np.zeros((len(te), p, p))
        np.add.at(d2, death_group, we[:, None, None] * xx[e])
        f = slot_frac
        a0 = s0[slot_group] - f * d0[slot_group]
        a1 = s1[slot_group] - f[:, None] * d1[slot_group]
        a2 = s2[slot_group] - f[:, None, None] * d2[slot_group]
        grad = sum_x_dead - (a1 / a0[:, None]).sum(axis=0)
        hess = -(a2 / a0[:, None, None]).sum(axis=0) + np.einsum(
            "si,sj->ij", a1 / a0[:, None], a1 / a0[:, None]
        )
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return np.full(p, np.nan), hess
        beta = beta - step
        if np.max(np.abs(step)) < 1e-9:
            break
    return beta, hess


@dataclass
class SurvivalTargets:
    os_median: float
    os_lower: float
    pfs_median: float
    pfs_lower: float
    fu: tuple[float, float, float]  # median, q1, q3 in months
    hr: dict[str, float]


def _survival_loss(tg: SurvivalTargets, st: dict, x: np.ndarray, beta0) -> tuple[float, np.ndarray]:
    m = DAYS_PER_MONTH
    os_t, os_e, pfs_t, pfs_e = st["os_days"], st["os_event"], st["pfs_days"], st["pfs_event"]
    loss = 0.0
    for tt, ee, med_target, lo_target in (
        (os_t, os_e, tg.os_median, tg.os_lower),
        (pfs_t, pfs_e, tg.pfs_median, tg.pfs_lower),
    ):
        med, lo, up = km_median(tt, ee)
        loss += _band(med / m, med_target, 0.25) + _band(lo / m, lo_target, 0.4)
        loss += 0.0 if math.isnan(up) else 1.0
        if math.isnan(med) or math.isnan(lo):  # not reached: distance of the curve from 0.5
            s_min, lower_min = km_min(tt, ee)
            loss += 10 * max(0.0, s_min - 0.5) + 10 * max(0.0, lower_min - 0.5)
        if not math.isnan(lo) and lo / m < lo_target - 0.4:  # band crosses 0.5 too early
            _, lower_early = km_min(tt, ee, before=(lo_target - 0.4) * m)
            loss += 10 * max(0.0, 0.505 - lower_early)
    fmed, fq1, fq3 = q7(os_t / m)
    loss += _band(fmed, tg.fu[0], 0.4) + _band(fq1, tg.fu[1], 0.4) + _band(fq3, tg.fu[2], 0.4)
    t1 = np.minimum(os_t, 365.0)
    e1 = ((os_e == 1) & (os_t <= 365)).astype(float)
    beta, _ = cox_efron(t1, e1, x, beta0)
    if np.any(~np.isfinite(beta)):
        return loss + 10, np.zeros(x.shape[1])
    for b, target in zip(np.exp(beta), tg.hr.values(), strict=True):
        loss += _band(math.log(b), math.log(target), math.log(1.08)) * 5
    return loss, beta


def _band(value: float, target: float, tol: float) -> float:
    if math.isnan(value):
        return 2.0
    excess = abs(value - target) - tol
    return 0.0 if excess <= 0 else 1.0 + excess


def fit_survival(df: pd.DataFrame, pub: dict, rng: np.random.Generator, max_iter=60000) -> dict:
    """Death, censoring and progression times meeting the survival targets."""
    n = len(df)
    sv = pub["survival"]
    hrs = {t["name"]: t["hr"] for t in pub["cox"]["terms"]}
    tg = SurvivalTargets(
        os_median=sv["median_os_months"]["value"],
        os_lower=sv["median_os_months"]["lower"],
        pfs_median=sv["median_pfs_months"]["value"],
        pfs_lower=sv["median_pfs_months"]["lower"],
        fu=(
            sv["median_followup_months"]["value"],
            sv["median_followup_months"]["q1"],
            sv["median_followup_months"]["q3"],
        ),
        hr=hrs,
    )
    dead = df["dead"].to_numpy()
    dp = (df["icu_reason"] == "Disease progression").to_numpy()
    hosp = df["hospital_death"].to_numpy()
    icu_death = df["icu_death"].to_numpy()
    x = np.column_stack([dp.astype(float), df["ecog_ps"].to_numpy(), df["sofa"].to_numpy()])

    # windows (days) for each patient's death / censoring time
    lo = np.full(n, 14.0)
    hi = np.full(n, 1250.0)  # follow-up to the end of 2020 at most ~3.4 years
    kind = np.array(["censored"] * n, dtype=object)
    kind[dead] = "death"
    lo[dead], hi[dead] = 20, 365
    lo[dead & hosp], hi[dead & hosp] = 8, 60
    lo[icu_death], hi[icu_death] = 3, 12
    dp_idx = np.flatnonzero(dp)
    early, late_dp = dp_idx[:3], dp_idx[3]  # text: 3 of 4 deceased at 3 months, all 4 dead
    lo[early], hi[early] = 5, 89
    lo[late_dp], hi[late_dp] = 95, 365
    # two deaths after one year (conflict a): among 1-year survivors with PS >= 1
    alive = np.flatnonzero(~dead & (df["ecog_ps"].to_numpy() >= 1))
    late = rng.choice(alive, size=2, replace=False)
    kind[late] = "late death"
    lo[late], hi[late] = 366, 640
    # progressions among patients alive at last follow-up (text: 11)
    censored = np.flatnonzero(kind == "censored")
    prog = rng.choice(censored, size=sv["progression_alive"]["value"], replace=False)

    t = np.round(rng.uniform(lo, hi)).astype(float)
    # deaths start early (the paper: most deaths from early progression), then move freely
    t[dead] = np.round(rng.uniform(lo[dead], np.minimum(hi[dead], 180)))
    # start the late deaths where the text puts the median OS and its lower limit
    t[late] = np.round(np.array([tg.os_lower, tg.os_median]) * DAYS_PER_MONTH)
    # progression time as a fraction of the follow-up for progressions and for decedents
    frac = rng.uniform(0.2, 0.9, n)
    dies = kind != "censored"

    def state(t: np.ndarray, frac: np.ndarray) -> dict:
        os_e = dies.astype(int)
        pfs_t = t.copy()
        pfs_e = os_e.copy()
        progressed = np.zeros(n, dtype=bool)
        progressed[prog] = True
        # decedents whose death followed a progression (primary cause of death, text)
        progressed |= dies & (frac < 0.6) & ~hosp
        pfs_t[progressed] = np.maximum(1.0, np.round(t[progressed] * frac[progressed]))
        pfs_e[progressed] = 1
        pfs_t[dp] = 1.0  # progression documented at ICU admission
        return {"os_days": t, "os_event": os_e, "pfs_days": pfs_t, "pfs_event": pfs_e}

    loss, beta = _survival_loss(tg, state(t, frac), x, None)
    for _ in range(max_iter):
        if loss == 0:
            break
        t2, f2 = t.copy(), frac.copy()
        i = rng.integers(n)
        r = rng.random()
        if r < 0.5:
            t2[i] = np.clip(np.round(t2[i] * math.exp(rng.normal(0, 0.35))), lo[i], hi[i])
        elif r < 0.75:
            same = np.flatnonzero(kind == kind[i])
            j = rng.choice(same)
            ti, tj = np.clip(t2[j], lo[i], hi[i]), np.clip(t2[i], lo[j], hi[j])
            t2[i], t2[j] = ti, tj
        else:
            f2[i] = rng.uniform(0.05, 0.95)
        new, b2 = _survival_loss(tg, state(t2, f2), x, beta)
        if new <= loss:
            t, frac, loss, beta = t2, f2, new, b2
    if loss > 0:
        if "_show" in globals():
            globals()["_show"](tg, state(t, frac), x)
        raise RuntimeError(f"survival search stopped with loss {loss:.3f}")
    return state(t, frac)


# --------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------
def _ps_initial(sub: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """ECOG PS with Table 1's exact counts; decedents drawn from the higher levels."""
    values = np.array([0] * 11 + [1] * 32 + [2] * 22 + [3] * 6, dtype=float)
    score = sub["dead"].to_numpy() * 1.0 + (sub["icu_reason"] == "Disease progression") * 2.0
    order = np.argsort(score + rng.uniform(0, 0.9, len(sub)), kind="stable")
    out = np.empty(len(sub))
    out[order] = values
    return out


def _ps_penalty(x: np.ndarray, sub: pd.DataFrame) -> float:
    # Conclusions: survival is constant in patients with very good PS -> no PS 0 decedent
    return float(np.sum((x == 0) & sub["dead"].to_numpy()))


def _los_penalty(x: np.ndarray, sub: pd.DataFrame) -> float:
    # an ICU death happens on the last ICU day; other deaths happen after ICU discharge
    os_days = sub["os_days"].to_numpy()
    icu_death = sub["icu_death"].to_numpy()
    died = sub["os_event"].to_numpy() == 1
    bad = np.sum(icu_death & (x != os_days)) + np.sum(died & ~icu_death & (x >= os_days))
    return float(bad)


CONTINUOUS = [
    ContinuousSpec("age", "age", 1, 18, 80),
    ContinuousSpec(
        "ecog_ps",
        "ecog_ps",
        1,
        0,
        4,
        fixed_counts=True,
        extra={"initial": _ps_initial, "penalty": _ps_penalty},
    ),
    ContinuousSpec("bmi_kg_m2", "bmi", 0.1, 16, 40),
    ContinuousSpec("months_diagnosis_to_icu", "months_diagnosis_to_icu", 0.1, 3, 120),
    ContinuousSpec("prior_lines", "prior_lines", 1, 1, 8),
    ContinuousSpec("days_infusion_to_icu", "days_infusion_to_icu", 1, -1, 30),
    ContinuousSpec("map_mmhg", "map", 1, 40, 120),
    ContinuousSpec("temperature_c", "temperature", 0.1, 35.5, 41.5),
    ContinuousSpec("leukocytes_g_l", "leukocytes", 0.01, 0.01, 30),
    ContinuousSpec("hemoglobin_g_dl", "hemoglobin", 0.1, 6, 14),
    ContinuousSpec("platelets_g_l", "platelets", 1, 5, 400),
    ContinuousSpec("fibrinogen_g_l", "fibrinogen", 0.1, 0.5, 10),
    ContinuousSpec("creatinine_umol_l", "creatinine", 1, 25, 400),
    ContinuousSpec("bilirubin_umol_l", "bilirubin", 0.1, 2, 60),
    ContinuousSpec("ferritin_ug_l", "ferritin", 1, 50, 30000, extra={"tail": 6}),
    ContinuousSpec("ldh_ui_l", "ldh", 1, 100, 3000),
    ContinuousSpec("lactate_mmol_l", "lactate", 0.1, 0.4, 8),
    ContinuousSpec("sofa", "sofa", 1, 0, 18),
    ContinuousSpec("fluid_day1_ml", "fluid_day1", 250, 0, 4000),
    ContinuousSpec("days_crs_to_icu", "days_crs_to_icu", 1, 0, 10, subset="_crs"),
    ContinuousSpec("days_icu_to_worst_icans", "days_icu_to_worst_icans", 1, 0, 7, "icans"),
    ContinuousSpec("tocilizumab_dose_mg", "tocilizumab_dose_mg", 40, 320, 2400, "tocilizumab"),
    ContinuousSpec("tocilizumab_injections", "tocilizumab_injections", 1, 1, 4, "tocilizumab"),
    ContinuousSpec("hours_icu_to_tocilizumab", "hours_icu_to_tocilizumab", 1, 0, 96, "tocilizumab"),
    ContinuousSpec("hours_icu_to_steroids", "hours_icu_to_steroids", 1, 0, 200, "steroids"),
]
LOS_SPEC = ContinuousSpec("icu_los_days", "icu_los_days", 1, 1, 30, extra={"penalty": _los_penalty})

INTEGER_COLUMNS = [
    "age",
    "ecog_ps",
    "prior_lines",
    "days_infusion_to_icu",
    "map_mmhg",
    "platelets_g_l",
    "creatinine_umol_l",
    "ferritin_ug_l",
    "ldh_ui_l",
    "sofa",
    "days_crs_to_icu",
    "days_icu_to_worst_icans",
    "tocilizumab_dose_mg",
    "tocilizumab_injections",
    "hours_icu_to_tocilizumab",
    "hours_icu_to_steroids",
    "icu_los_days",
    "os_days",
    "pfs_days",
]

COLUMN_ORDER = [
    "patient_id", "age", "sex", "hypertension", "diabetes", "chronic_kidney_disease",
    "bmi_kg_m2", "ecog_ps", "malignancy", "months_diagnosis_to_icu", "prior_lines",
    "prior_asct", "prior_allo_bmt", "prior_blinatumomab", "cart_product", "cart_allogeneic",
    "days_infusion_to_icu", "icu_reason", "map_mmhg", "temperature_c", "neutropenia",
    "leukocytes_g_l", "hemoglobin_g_dl", "platelets_g_l", "fibrinogen_g_l",
    "creatinine_umol_l", "bilirubin_umol_l", "ferritin_ug_l", "ldh_ui_l", "lactate_mmol_l",
    "sofa", "crs_grade", "days_crs_to_icu", "icans", "icans_grade", "days_icu_to_worst_icans",
    "bacterial_infection", "infection_site", "bacterium", "fluid_day1_ml",
    "vasopressors_day1", "mech_vent_day1", "rrt_day1", "vasopressors_icu", "mech_vent_icu",
    "rrt_icu", "antibiotics", "tocilizumab", "tocilizumab_dose_mg", "tocilizumab_injections",
    "hours_icu_to_tocilizumab", "steroids", "hours_icu_to_steroids", "siltuximab", "anakinra",
    "icu_los_days", "icu_death", "hospital_death", "os_days", "os_event", "pfs_days",
    "pfs_event",
]  # fmt: skip


def generate(seed: int = SEED, log=None) -> pd.DataFrame:
    """Build the reconstructed cohort (deterministic for a given seed)."""
    pub = load_published()
    variables = {v["name"]: v for v in pub["variables"]}
    rng = np.random.default_rng(seed)
    say = log or (lambda msg: None)
    df = build_cells()
    df = solve_categorical(df, pub, rng)
    say("categorical cells solved (MILP)")
    df = assign_complications(df, pub, rng)
    df["_crs"] = df["icu_reason"] == "CRS"
    for spec in CONTINUOUS:
        df[spec.column] = fit_continuous_retry(df, spec, variables[spec.name], rng)
        say(f"continuous {spec.column} fitted")
    for attempt in range(3):
        try:
            times = fit_survival(df, pub, rng)
            break
        except RuntimeError:
            if attempt == 2:
                raise
    for key, value in times.items():
        df[key] = value
    say("survival times fitted")
    df[LOS_SPEC.column] = fit_continuous_retry(df, LOS_SPEC, variables[LOS_SPEC.name], rng)
    # one row per patient in random order, then identifiers R01..R71
    df = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
    df["patient_id"] = [f"R{i + 1:02d}" for i in range(len(df))]
    for col in INTEGER_COLUMNS:
        df[col] = pd.array(np.round(df[col]), dtype="Int64")
    for col in ("bmi_kg_m2", "months_diagnosis_to_icu", "temperature_c", "hemoglobin_g_dl",
                "fibrinogen_g_l", "bilirubin_umol_l", "lactate_mmol_l"):  # fmt: skip
        df[col] = df[col].round(1)
    df["leukocytes_g_l"] = df["leukocytes_g_l"].round(2)
    df["fluid_day1_ml"] = df["fluid_day1_ml"].round(0)
    return df[COLUMN_ORDER]


def write_cohort(path: Path = COHORT_PATH, seed: int = SEED) -> Path:
    df = generate(seed, log=print)
    df.to_csv(path, index=False, lineterminator="\n")
    return path


if __name__ == "__main__":
    print(f"wrote {write_cohort()}")
