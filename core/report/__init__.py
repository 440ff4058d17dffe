"""A report of the current analysis: Word (.docx) or one self-contained HTML file (no Streamlit).

``build_report(cohort, request, fmt="docx")`` runs the chosen views on the cohort through the
same core functions as the pages (core.stats, core.tables, core.study), writes each view's
tables as real tables (the test of each row named in a footnote, as gtsummary does), its
chart (PNG in Word, inline SVG in HTML, both with a caption and alt text), and a methods and
a results paragraph generated from what was actually run.

A view that cannot run on the cohort is named in the document with the reason; the others
are built.
"""

from core.report.build import (
    CompareSpec,
    CoxSpec,
    ReportRequest,
    Section,
    SurvivalSpec,
    build_report,
    build_sections,
)

__all__ = [
    "CompareSpec",
    "CoxSpec",
    "ReportRequest",
    "Section",
    "SurvivalSpec",
    "build_report",
    "build_sections",
]
