"""Step 2 of the reconstruction: every published count by integer programming (scipy milp), then
the complications assigned level by level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, sparse


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
