"""A printable one-page summary per calculator profile: one self-contained HTML file (inline
CSS with an A4 print layout, inline SVG icon arrays, no script, nothing fetched).

Every number comes from the calculator's core (:func:`core.study.risk.absolute_risks`,
:func:`core.study.risk.factor_table`, :func:`core.study.calculator.relative_hazard`,
:func:`core.study.risk.scope_card`); every user string (profile labels, an upload's name and
columns) is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence

import pandas as pd

from core.charts.cox import chart_svg
from core.charts.risk import icon_array
from core.report.writers import CSS, _html_table
from core.study.calculator import (
    PatientProfile,
    ProfilePrediction,
    describe_profile,
    relative_hazard,
)
from core.study.risk import (
    PLACE_WORDS,
    absolute_risks,
    factor_table,
    input_place,
    scope_card,
    support_warning,
)

__all__ = ["profile_summary_html"]

TITLE = "Predicted survival after ICU admission — one profile"
NOT_CLINICAL = (
    "Teaching and research tool, not for clinical decisions: predictions are illustrative only."
)
# one A4 page per profile: the report's CSS, tighter, and a page break after each profile
PAGE_CSS = """
body { font-size: 9.5pt; max-width: none; }
@page { size: A4; margin: 12mm; }
h1 { font-size: 14pt; margin: 0 0 0.3em; } h2 { font-size: 11pt; margin: 0.7em 0 0.2em; }
section.profile { break-after: page; page-break-after: always; }
section.profile:last-of-type { break-after: auto; page-break-after: auto; }
.warn { border: 1px solid #a33; padding: 2px 6px; font-weight: bold; }
.sentence { font-size: 11pt; font-weight: bold; }
.top { display: flex; gap: 6mm; align-items: flex-start; }
.top figure { flex: 0 0 76mm; margin: 0; }
/* drawn at its own size, text free to spill: vl-convert measures text in Liberation Sans
   (Arial's metrics); a wider fallback font must not clip a legend label */
.top figure svg { max-width: none; overflow: visible; }
svg text { font-family: Arial, 'Liberation Sans', Helvetica, sans-serif; }
.top .inputs { flex: 1 1 auto; }
table { width: 100%; } table.scope td:first-child { width: 34%; }
table.scope { font-size: 7.5pt; } .note { font-size: 7.5pt; }
"""
_XMLNS = re.compile(r'\s+xmlns(?::xlink)?="[^"]*"')  # inline SVG needs no namespace URL


def _svg(spec, alt: str) -> str:
    """The chart as inline SVG with an accessible name (no namespace URLs: HTML sets them)."""
    svg = _XMLNS.sub("", chart_svg(spec).decode("utf-8"))
    label = html.escape(alt, quote=True)
    return svg.replace("<svg", f"<svg role='img' aria-label='{label}'", 1)


def _inputs(profile: PatientProfile, cohort: pd.DataFrame) -> pd.DataFrame:
    rows = []
    k = int((cohort["icu_reason"] == profile.icu_reason).sum()) if len(cohort) else 0
    rows.append(("Reason for ICU admission", profile.icu_reason, f"{k} patient(s) in the cohort"))
    for col, name, value in (
        ("ecog_ps", "ECOG performance status", profile.ecog_ps),
        ("sofa", "SOFA score", profile.sofa),
    ):
        place = input_place(value, cohort[col] if col in cohort.columns else pd.Series([]))
        rows.append((name, f"{value:g}", f"{PLACE_WORDS[place.band]}: {place.text}"))
    for col, value in profile.extra.items():
        rows.append((col, str(value), "extra covariate (refit mode)"))
    return pd.DataFrame(rows, columns=["Input", "Value", "In the active cohort"])


def _factors(profile: PatientProfile, reference: PatientProfile, model) -> tuple[str, str]:
    """The factor table vs the reference (HTML) and the relative hazard in one sentence."""
    f = factor_table(profile, reference, model)
    if profile == reference or f.empty:
        return "", f"Same inputs as the reference ({describe_profile(reference)}): factor 1."
    rh = relative_hazard(profile, reference, model)
    ci = "" if rh.lower != rh.lower else f" (95% CI {rh.lower:.2f}–{rh.upper:.2f})"
    sentence = (
        f"Relative hazard vs {reference.label} ({describe_profile(reference)}): "
        f"{rh.hr:.2f}{ci} = {rh.formula.rsplit(' = ', 1)[0]}."
    )
    shown = pd.DataFrame(
        {
            "Term": f["label"],
            "This profile": [f"{v:g}" for v in f["value"]],
            "Reference": [f"{v:g}" for v in f["reference"]],
            "HR per unit": [f"{v:.2f}" for v in f["hr_per_unit"]],
            "Factor [95% CI]": [
                f"{x:.2f}" + ("" if lo != lo else f" [{lo:.2f}–{hi:.2f}]")
                for x, lo, hi in zip(f["factor"], f["lower"], f["upper"], strict=True)
            ],
        }
    )
    return _html_table("What drives it: each factor vs the reference", shown), sentence


def profile_summary_html(
    pred: ProfilePrediction,
    profiles: Sequence[PatientProfile],
    cohort: pd.DataFrame,
    day: float,
    reference: PatientProfile,
    *,
    data_statement: str,
    date: str | None = None,
) -> str:
    """One HTML page per profile: inputs against the cohort, the absolute risk at ``day`` in
    words and as an icon array, the factors vs ``reference``, the scope card (with the model's
    C-index) and the data statement. Print it (A4) or keep it as a file."""
    e = html.escape
    model = pred.model
    date = date or dt.date.today().isoformat()
    risks = absolute_risks(pred, day)
    scope = scope_card(cohort, model.horizon_days, model)
    scope_html = _html_table("Scope of the model", scope).replace(
        "<table>", "<table class='scope'>"
    )
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(TITLE)}</title><style>{CSS}{PAGE_CSS}</style></head><body>",
    ]
    for risk, profile in zip(risks, profiles, strict=True):
        warning = support_warning(profile, cohort)
        sentence = risk.sentence(warning is not None)
        factors, rh_sentence = _factors(profile, reference, model)
        title = f"Day {day:g}"  # the profile's label is the page's heading
        out += [
            "<section class='profile'>",
            f"<h1>{e(profile.label)}</h1>",
            f"<p class='warn'>{e(NOT_CLINICAL)}</p>",
            "<div class='top'>",
            f"<figure>{_svg(icon_array(risk.icons(), title), f'Icon array: {sentence}')}</figure>",
            "<div class='inputs'>",
            f"<p class='sentence'>{e(sentence)}</p>",
            f"<p class='warn'>{e(warning)}</p>" if warning else "",
            _html_table("Inputs against the active cohort", _inputs(profile, cohort)),
            "</div></div>",
            "<h2>Relative hazard</h2>",
            f"<p>{e(rh_sentence)}</p>",
            factors,
            f"<p class='note'>{e(model.method)}</p>",
            scope_html,
            f"<p class='note'>Data: {e(data_statement)}. Printed {e(date)}.</p>",
            "</section>",
        ]
    out.append("</body></html>")
    return "\n".join(part for part in out if part)
