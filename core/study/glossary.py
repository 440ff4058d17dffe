"""Glossary and methods: the terms the app uses, as data.

Each :class:`Term` has a one-line ``short`` text (widget tooltips: :func:`help_text`) and a
longer ``definition`` (the *Glossary and methods* page, one section per term with a stable
``anchor`` so that other pages can link to ``glossary#<anchor>``, see :func:`glossary_url`).

The statistical definitions state what the app computes and which R function it matches
(survival package: ``survfit``, ``survdiff``, ``coxph``, ``concordance``; stats:
``wilcox.test``, ``kruskal.test``, ``fisher.test``), as ``docs/ARCHITECTURE.md`` describes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "GLOSSARY_PAGE",
    "SECTIONS",
    "TERMS",
    "Term",
    "glossary_url",
    "help_text",
    "markdown_link",
    "term",
    "terms_by_section",
]

GLOSSARY_PAGE = "glossary"  # url path of app_pages/glossary.py in the app's navigation


@dataclass(frozen=True)
class Term:
    """One glossary entry.

    Attributes
    ----------
    key : str
        Identifier, also the anchor on the glossary page (``glossary#<key>``).
    name : str
        Display name (heading on the glossary page).
    section : str
        One of :data:`SECTIONS`.
    short : str
        One sentence for a tooltip (``help=`` of a widget or metric).
    definition : str
        Markdown paragraph(s) for the glossary page.
    aliases : tuple of str
        Other spellings accepted by :func:`term` / :func:`help_text` (case-insensitive).
    in_this_study : str
        How the term appears in the paper / the app (optional, markdown).
    """

    key: str
    name: str
    section: str
    short: str
    definition: str
    aliases: tuple[str, ...] = ()
    in_this_study: str = ""

    @property
    def anchor(self) -> str:
        return self.key


SECTIONS = (
    "Clinical scores",
    "CAR-T cell complications",
    "CAR-T cell products",
    "Treatments",
    "Survival analysis",
    "Group comparisons",
    "Regression and model performance",
    "This app",
)

TERMS: tuple[Term, ...] = (
    # ------------------------------------------------------------------ clinical scores
    Term(
        "sofa",
        "SOFA score",
        "Clinical scores",
        "Sequential (sepsis-related) Organ Failure Assessment: 0-4 points for each of six "
        "organ systems, 0-24 in total; higher means more organ dysfunction.",
        "The **Sequential Organ Failure Assessment** (originally *Sepsis-related* Organ "
        "Failure Assessment) scores six organ systems from 0 (normal) to 4 (most severe): "
        "respiration (PaO₂/FiO₂ ratio), coagulation (platelets), liver (bilirubin), "
        "cardiovascular (mean arterial pressure and vasopressor doses), central nervous "
        "system (Glasgow coma scale) and kidney (creatinine or urine output). The total "
        "ranges from 0 to 24.",
        aliases=("sofa score", "sequential organ failure assessment"),
        in_this_study="Measured at ICU admission. One of the paper's three prognostic "
        "factors: the hazard ratio is per SOFA point (see the Cox model).",
    ),
    Term(
        "ecog_ps",
        "ECOG performance status (PS)",
        "Clinical scores",
        "Eastern Cooperative Oncology Group performance status: 0 = fully active … "
        "4 = completely disabled, confined to bed or chair (5 = dead).",
        "The **ECOG performance status** grades how a patient with cancer copes with daily "
        "life: **0** fully active, no restriction; **1** restricted in strenuous activity "
        "but ambulatory and able to do light work; **2** ambulatory and capable of all "
        "self-care but unable to work, up and about more than half of waking hours; "
        "**3** capable of only limited self-care, confined to bed or chair more than half "
        "of waking hours; **4** completely disabled; **5** dead.",
        aliases=("ecog", "ps", "performance status", "ecog ps"),
        in_this_study="Assessed at ICU admission. One of the paper's three prognostic "
        "factors: the hazard ratio is per PS point (see the Cox model).",
    ),
    # ------------------------------------------------------------------ complications
    Term(
        "crs",
        "Cytokine release syndrome (CRS)",
        "CAR-T cell complications",
        "Systemic inflammation caused by CAR-T cell activation and expansion: fever, then "
        "possibly low blood pressure and low oxygen; graded 1-4.",
        "**Cytokine release syndrome** is the most common complication after CAR-T cell "
        "infusion: activated CAR-T cells and recruited macrophages release inflammatory "
        "cytokines (notably interleukin-6). It starts with fever and may progress to "
        "hypotension and hypoxia. The ASBMT (ASTCT) consensus grades it from 1 (fever only) "
        "through 2 (hypotension without vasopressors and/or low-flow oxygen) and 3 (one "
        "vasopressor and/or high-flow oxygen) to 4 (several vasopressors and/or positive-"
        "pressure ventilation). Treatment relies on tocilizumab and steroids.",
        aliases=("cytokine release syndrome",),
        in_this_study="*Isolated* CRS (without documented or suspected infection) was the "
        "most frequent reason for ICU admission; “CRS or sepsis” groups patients who met the "
        "CRS definition but whose presentation could also suggest infection.",
    ),
    Term(
        "icans",
        "ICANS (neurotoxicity)",
        "CAR-T cell complications",
        "Immune effector cell-associated neurotoxicity syndrome: confusion, language "
        "disorders, tremor, seizures, cerebral oedema after CAR-T cells.",
        "**Immune effector cell-associated neurotoxicity syndrome** is the second specific "
        "complication of CAR-T cell therapy: encephalopathy, aphasia, tremor, impaired "
        "consciousness, seizures and, rarely, cerebral oedema. The paper graded it with the "
        "CARTOX score (CAR-T-cell-therapy-associated TOXicity); the later ASTCT grading uses "
        "the ICE score. Treatment relies on steroids, and on anakinra in refractory cases; "
        "tocilizumab does not help (it may raise interleukin-6 in the cerebrospinal fluid).",
        aliases=("neurotoxicity", "immune effector cell-associated neurotoxicity syndrome"),
        in_this_study="Never isolated in this cohort: every patient with ICANS also had "
        "features of CRS or sepsis.",
    ),
    Term(
        "sepsis",
        "Sepsis",
        "CAR-T cell complications",
        "Life-threatening organ dysfunction caused by a dysregulated response to infection.",
        "**Sepsis** is organ dysfunction caused by the body's dysregulated response to an "
        "infection. After CAR-T cells it is hard to tell apart from CRS (both cause fever "
        "and hypotension), so broad-spectrum antibiotics are started promptly.",
        in_this_study="The paper's “Sepsis” group is patients with a microbiologically "
        "documented bacterial infection, mostly catheter-related.",
    ),
    # ------------------------------------------------------------------ products
    Term(
        "car_t",
        "CAR-T cells",
        "CAR-T cell products",
        "T lymphocytes genetically modified to carry a chimeric antigen receptor that "
        "recognises a tumour antigen (CD19 or BCMA here).",
        "**Chimeric antigen receptor T cells** are T lymphocytes modified (usually with a "
        "viral vector) to express a receptor that combines an antibody fragment recognising "
        "a tumour antigen with T-cell signalling domains. *Autologous* products are made from "
        "the patient's own cells; *allogeneic* ones from a donor. They are infused after "
        "lymphodepleting chemotherapy (here cyclophosphamide and fludarabine).",
        aliases=("car-t", "cart", "car t", "chimeric antigen receptor"),
    ),
    Term(
        "axi_cel",
        "Axi-cel (axicabtagene ciloleucel)",
        "CAR-T cell products",
        "Axicabtagene ciloleucel (Yescarta): autologous anti-CD19 CAR-T cells (CD28 "
        "co-stimulation) for large B-cell lymphoma.",
        "**Axicabtagene ciloleucel** (Yescarta) is an autologous anti-CD19 CAR-T product with "
        "a CD28 co-stimulatory domain, licensed for relapsed or refractory large B-cell "
        "lymphoma (ZUMA-1 trial).",
        aliases=("axi-cel", "axicabtagene ciloleucel", "yescarta"),
    ),
    Term(
        "tisa_cel",
        "Tisa-cel (tisagenlecleucel)",
        "CAR-T cell products",
        "Tisagenlecleucel (Kymriah): autologous anti-CD19 CAR-T cells (4-1BB co-stimulation) "
        "for B-cell ALL in young patients and for DLBCL.",
        "**Tisagenlecleucel** (Kymriah) is an autologous anti-CD19 CAR-T product with a 4-1BB "
        "co-stimulatory domain, licensed for B-cell acute lymphoblastic leukaemia in "
        "children and young adults (ELIANA trial) and for diffuse large B-cell lymphoma "
        "(JULIET trial).",
        aliases=("tisa-cel", "tisagenlecleucel", "kymriah"),
    ),
    Term(
        "brexu_cel",
        "Brexu-cel (brexucabtagene autoleucel)",
        "CAR-T cell products",
        "Brexucabtagene autoleucel (Tecartus): autologous anti-CD19 CAR-T cells for mantle "
        "cell lymphoma and adult B-cell ALL.",
        "**Brexucabtagene autoleucel** (Tecartus) is an autologous anti-CD19 CAR-T product "
        "(CD28 co-stimulation, manufacturing that removes circulating tumour cells), "
        "licensed for mantle cell lymphoma (ZUMA-2) and adult B-cell acute lymphoblastic "
        "leukaemia (ZUMA-3).",
        aliases=("brexu-cel", "brexucabtagene autoleucel", "tecartus"),
        in_this_study="The reconstruction gives it to patients with ALL.",
    ),
    Term(
        "bb2121",
        "bb2121 / ide-cel (idecabtagene vicleucel)",
        "CAR-T cell products",
        "bb2121 = idecabtagene vicleucel (ide-cel, Abecma): autologous anti-BCMA CAR-T cells "
        "for multiple myeloma.",
        "**bb2121**, later named **idecabtagene vicleucel** (ide-cel, Abecma), is an autologous "
        "CAR-T product directed against BCMA (B-cell maturation antigen) with 4-1BB "
        "co-stimulation, licensed for relapsed or refractory multiple myeloma (KarMMa trial).",
        aliases=("ide-cel", "idecabtagene vicleucel", "abecma", "bb2121/ide-cel"),
        in_this_study="Given to the cohort's only patient with multiple myeloma.",
    ),
    Term(
        "ucart19",
        "UCART19",
        "CAR-T cell products",
        "Allogeneic (“off-the-shelf”, donor-derived) gene-edited anti-CD19 CAR-T cells, "
        "investigational, for B-cell ALL.",
        "**UCART19** is an investigational *allogeneic* anti-CD19 CAR-T product made from "
        "healthy-donor T cells that are gene-edited (TALEN) to remove the T-cell receptor "
        "(lowering the risk of graft-versus-host disease) and CD52 (allowing alemtuzumab "
        "lymphodepletion). It was studied in B-cell acute lymphoblastic leukaemia.",
        aliases=("ucart-19", "allogeneic car-t"),
        in_this_study="The two allogeneic CAR-T recipients of the cohort (Table 1).",
    ),
    # ------------------------------------------------------------------ treatments
    Term(
        "tocilizumab",
        "Tocilizumab",
        "Treatments",
        "Monoclonal antibody blocking the interleukin-6 receptor; first-line treatment of CRS.",
        "**Tocilizumab** is a humanised monoclonal antibody against the interleukin-6 "
        "receptor, the first-line specific treatment of CRS. It is not used for isolated "
        "neurotoxicity.",
        in_this_study="Usually given within hours of ICU admission (Table 2).",
    ),
    Term(
        "steroids",
        "Steroids (corticosteroids)",
        "Treatments",
        "Given for CRS not responding to tocilizumab, for the sickest patients and for ICANS.",
        "**Corticosteroids** (mostly dexamethasone in this study) are given when CRS does not "
        "respond to tocilizumab, in the most severe patients and as the main treatment of "
        "ICANS.",
        aliases=("steroid", "corticosteroids", "dexamethasone"),
    ),
    Term(
        "siltuximab",
        "Siltuximab",
        "Treatments",
        "Monoclonal antibody against interleukin-6 itself; second-line treatment of CRS.",
        "**Siltuximab** binds interleukin-6 itself (tocilizumab blocks its receptor); it was "
        "given as second-line CRS treatment, mostly within clinical-trial protocols.",
    ),
    Term(
        "anakinra",
        "Anakinra",
        "Treatments",
        "Recombinant interleukin-1 receptor antagonist, used for refractory neurotoxicity.",
        "**Anakinra** is a recombinant interleukin-1 receptor antagonist (IL-1ra), used for "
        "neurotoxicity that does not respond to steroids.",
    ),
    # ------------------------------------------------------------------ survival analysis
    Term(
        "censoring",
        "Censoring",
        "Survival analysis",
        "A patient alive (event-free) at last follow-up: the event time is only known to be "
        "later than the censoring time.",
        "A survival time is **(right-)censored** when follow-up ends before the event: the "
        "patient was alive at the last contact, so the time of death is only known to be "
        "later. Censored patients count in the risk set until they leave it. The methods "
        "assume *non-informative* censoring: patients lost to follow-up have the same "
        "prognosis as those still followed. Administrative censoring at a horizon (e.g. one "
        "year) treats everyone still alive at that day as censored there.",
        aliases=("censored", "right censoring"),
        in_this_study="Censor ticks (|) on the survival curves. The 1-year Cox model censors "
        "follow-up at day 365.",
    ),
    Term(
        "immortal_time",
        "Immortal-time bias",
        "Survival analysis",
        "Bias from grouping patients by something that happens after time zero: they had to "
        "survive long enough for it to happen, which flatters that group's survival.",
        "Survival is counted from ICU admission (time zero). A patient can only be in a group "
        "defined by a later event (e.g. *received tocilizumab*, *worst ICANS grade*, "
        "*mechanical ventilation during the stay*) if they lived until that event; the time "
        "before it is *immortal* for that group. Comparing such groups from time zero makes "
        "the exposed group look better than it is. Remedies: landmark analysis (start the "
        "clock at a fixed later day, among those still alive) or a time-dependent covariate.",
        aliases=("immortal time", "immortal-time", "guarantee-time bias"),
        in_this_study="The Survival page warns when the grouping is measured after ICU "
        "admission; the paper's prognostic factors (reason for admission, ECOG PS, SOFA at "
        "admission) are all known at time zero.",
    ),
    Term(
        "kaplan_meier",
        "Kaplan–Meier estimator",
        "Survival analysis",
        "Estimate of the probability of surviving beyond time t that accounts for censoring; "
        "drawn as a step curve.",
        "The **Kaplan–Meier** (product-limit) estimator multiplies, over the event times up "
        "to *t*, the fraction of patients at risk who do not have the event: "
        "S(t) = ∏ (1 − dᵢ / nᵢ). Its 95% confidence band uses Greenwood's variance on the log "
        "scale, and the **median survival** is the first time the curve reaches 0.5 (“not "
        "reached”, NA, when it never does; the same rule on the band gives the median's "
        'confidence interval). The app matches R `survfit(..., conf.type = "log")`.',
        aliases=("kaplan-meier", "km", "kaplan meier", "product-limit", "median survival"),
    ),
    Term(
        "logrank",
        "Log-rank test",
        "Survival analysis",
        "Test of identical survival curves across groups: observed vs expected deaths at "
        "every event time (chi-square with groups − 1 df).",
        "The **log-rank test** compares survival between groups: at every event time it "
        "compares each group's observed deaths with those expected if all groups shared one "
        "survival curve, and sums over time into a chi-square statistic with (groups − 1) "
        "degrees of freedom. It is most powerful when hazards are proportional. For ordered "
        "groups (e.g. PS 0-3) the *test for trend* uses one degree of freedom. The app "
        "matches R `survdiff`.",
        aliases=("log-rank", "log rank", "logrank test", "survdiff"),
    ),
    Term(
        "hazard_ratio",
        "Hazard ratio (HR)",
        "Survival analysis",
        "Ratio of instantaneous death rates: HR 2 = twice the risk of dying at any moment; "
        "1 = no difference. Not a ratio of probabilities.",
        "The **hazard** is the instantaneous event rate among patients still at risk. A "
        "**hazard ratio** compares it between two groups, or per one-unit increase of a "
        "covariate, and is assumed constant over time (proportional hazards). HR = 1 means "
        "no association; the 95% confidence interval excludes 1 when p < 0.05. Per-point "
        "HRs multiply: two extra points at an HR of 1.2 per point give 1.2² = 1.44.",
        aliases=("hr", "hazard ratios", "hazard"),
    ),
    Term(
        "os_pfs",
        "Overall and progression-free survival",
        "Survival analysis",
        "OS: time to death from any cause. PFS: time to disease progression or death, "
        "whichever comes first. Both from ICU admission here.",
        "**Overall survival (OS)** is the time from a starting point (here ICU admission) to "
        "death from any cause. **Progression-free survival (PFS)** ends at disease "
        "progression or death, whichever comes first. **One-year mortality**, the paper's "
        "primary outcome, is death within 365 days of ICU admission.",
        aliases=("os", "pfs", "overall survival", "progression-free survival", "1-year mortality"),
    ),
    Term(
        "follow_up",
        "Median follow-up",
        "Survival analysis",
        "Typical length of observation; the paper gives quantiles of observed follow-up times.",
        "**Follow-up** is how long patients were observed. The paper reports the median and "
        "quartiles of the observed times; another common definition, the "
        "reverse Kaplan–Meier estimate, treats death as censoring and gives longer values.",
        aliases=("follow-up", "followup"),
    ),
    # ------------------------------------------------------------------ comparisons
    Term(
        "median_iqr",
        "Median [IQR]",
        "Group comparisons",
        "Middle value and interquartile range (25th-75th percentile) of a continuous variable.",
        "Continuous variables are described as **median [first quartile – third quartile]**. "
        "Quartiles use R's default definition (`quantile(type = 7)`), so they can be "
        "half-way between two patients' values.",
        aliases=("iqr", "median", "interquartile range", "quartiles"),
    ),
    Term(
        "p_value",
        "p-value",
        "Group comparisons",
        "Probability of a difference at least as large as observed if there were truly none; "
        "the paper calls p < 0.05 significant.",
        "A **p-value** is the probability, if there were no true difference or association, "
        "of data at least as extreme as observed. The paper calls p < 0.05 significant. With "
        "many tests some small p-values arise by chance; the compare page can adjust them "
        "(Holm, Benjamini-Hochberg).",
        aliases=("p", "p value", "significance"),
    ),
    Term(
        "fisher",
        "Fisher's exact test",
        "Group comparisons",
        "Exact test of association for counts in a contingency table (categorical variables).",
        "**Fisher's exact test** computes the probability of tables at least as unusual as "
        "the observed one given its row and column totals (hypergeometric distribution), "
        "without a large-sample approximation, so it suits small counts. For tables larger "
        "than 2×2 it is the Freeman–Halton extension. The app matches R `fisher.test`.",
        aliases=("fisher exact test", "fisher test", "fisher's exact", "fisher.test"),
    ),
    Term(
        "wilcoxon",
        "Wilcoxon rank-sum test",
        "Group comparisons",
        "Non-parametric comparison of a continuous variable between two groups, on ranks "
        "(= Mann–Whitney U).",
        "The **Wilcoxon rank-sum test** (Mann–Whitney U test) ranks all values and asks "
        "whether one group tends to have higher ranks; it needs no normal distribution. "
        "Like R `wilcox.test`, the app uses the exact distribution when both groups have "
        "fewer than 50 values and there are no ties, otherwise the normal approximation with "
        "continuity correction.",
        aliases=("wilcoxon", "mann-whitney", "mann whitney", "rank-sum", "wilcox.test"),
    ),
    Term(
        "kruskal_wallis",
        "Kruskal–Wallis test",
        "Group comparisons",
        "Rank-based comparison of a continuous variable across three or more groups.",
        "The **Kruskal–Wallis test** extends the rank-sum test to three or more groups "
        "(chi-square approximation with groups − 1 degrees of freedom, corrected for ties). "
        "The paper's Table 3 (four reasons for admission) uses it for continuous variables. "
        "The app matches R `kruskal.test`.",
        aliases=("kruskal-wallis", "kruskal wallis", "kruskal", "kruskal.test"),
    ),
    # ------------------------------------------------------------------ regression
    Term(
        "cox_model",
        "Cox proportional-hazards model",
        "Regression and model performance",
        "Regression of the hazard on several covariates at once; each coefficient gives an "
        "adjusted hazard ratio.",
        "The **Cox model** writes the hazard as an unspecified baseline hazard multiplied by "
        "exp(β₁x₁ + … + βₖxₖ); each exp(β) is a hazard ratio adjusted for the other "
        "covariates. It assumes proportional hazards (checked with Schoenfeld residuals, R "
        "`cox.zph`) and, with few events, is unstable beyond about one covariate per 10 "
        "events. Ties are handled with Efron's method, as R `coxph`. The paper chose its "
        "covariates by stepwise selection (entry p < 0.2, removal p > 0.1).",
        aliases=("cox", "cox model", "coxph", "proportional hazards", "stepwise selection"),
    ),
    Term(
        "c_index",
        "C-index (concordance)",
        "Regression and model performance",
        "Share of patient pairs in which the model gives the higher risk to the patient who "
        "died first: 0.5 = chance, 1 = perfect.",
        "**Harrell's concordance index** takes every usable pair of patients (the shorter "
        "time is a death) and counts the pairs in which the model predicts a higher risk for "
        "the patient who died first. 0.5 is no better than chance and 1 is perfect ranking. "
        "Measured on the data used to fit the model it is optimistic; the Cox page "
        "bootstraps it. The app matches R `concordance`.",
        aliases=("c-index", "concordance", "harrell's c", "c index", "c statistic"),
    ),
    Term(
        "ci95",
        "95% confidence interval",
        "Regression and model performance",
        "Range of values compatible with the data; it would contain the true value in 95% of "
        "repeated studies.",
        "A **95% confidence interval** is built so that, over many repetitions of the study, "
        "95% of such intervals contain the true value. Wide intervals (e.g. the hazard ratio "
        "of the few patients admitted for disease progression) mean imprecise estimates.",
        aliases=("ci", "confidence interval", "95% ci"),
    ),
    # ------------------------------------------------------------------ this app
    Term(
        "reconstructed_cohort",
        "Reconstructed cohort",
        "This app",
        "Synthetic patients generated to match the paper's published aggregates — not "
        "patient data.",
        "The paper publishes aggregates only (tables, medians, hazard ratios). The app ships "
        "**synthetic** patients, as many as in the study, built so that every published "
        "count, median, IQR, p-value "
        "side, survival median and hazard ratio is reproduced. Associations the paper does "
        "not report are not meaningful. See *About the data*.",
        aliases=("reconstruction", "synthetic cohort", "reconstructed"),
    ),
)


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-–]+", " ", text.strip().lower().replace("’", "'"))


@lru_cache(maxsize=1)
def _index() -> dict[str, Term]:
    out: dict[str, Term] = {}
    for t in TERMS:
        for name in (t.key, t.name, *t.aliases):
            out.setdefault(_norm(name), t)
    return out


def term(name: str) -> Term:
    """The glossary entry for ``name`` (key, display name or alias; case-insensitive).

    Raises
    ------
    ValueError
        When ``name`` is not a glossary term (the message lists the keys).
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a glossary term must be a non-empty string")
    found = _index().get(_norm(name))
    if found is None:
        keys = ", ".join(t.key for t in TERMS)
        raise ValueError(f"{name!r} is not a glossary term; known terms: {keys}")
    return found


def help_text(name: str, *, link: bool = False) -> str:
    """One-sentence definition of ``name`` for a widget tooltip (``help=``).

    With ``link=True`` a markdown link to the glossary entry is appended (tooltips render
    markdown).
    """
    t = term(name)
    if not link:
        return t.short
    return f"{t.short} [More in the glossary]({glossary_url(t.key)})"


def glossary_url(name: str) -> str:
    """Relative URL of the term's entry on the glossary page (``glossary#<anchor>``)."""
    return f"{GLOSSARY_PAGE}#{term(name).anchor}"


def markdown_link(name: str, text: str | None = None) -> str:
    """Markdown link ``[text](glossary#anchor)`` to the term's glossary entry."""
    t = term(name)
    return f"[{text or t.name}]({glossary_url(t.key)})"


def terms_by_section() -> dict[str, list[Term]]:
    """Terms grouped by :data:`SECTIONS`, in the order of :data:`TERMS`."""
    out: dict[str, list[Term]] = {s: [] for s in SECTIONS}
    for t in TERMS:
        if t.section not in out:
            raise ValueError(f"term {t.key!r} has an unknown section {t.section!r}")
        out[t.section].append(t)
    return out
